"""Speed of the bundled adapters beside a minimal hand-written PyTorch loop of the same network.

Run `python tests/perf/bench_adapters.py` (add `--help` for knobs). For each size it interleaves rounds of
adapter steps and hand-written steps in one process (same model class, same loss, same AdamW) and reports
median train steps/s of each and their ratio (goal: ≥ 0.9, i.e. the adapter adds no overhead of its own). With one thread (the default) rates are per second of this process's CPU
time, which other jobs on a shared machine distort less than wall time; still, compare only within one run.
Then samples/s of the adapter and of a hand-written sampler on the same weights, also in alternating rounds
(EDM Euler loop for the DiT and the U-Net, a cache loop for the causal LMs, MDLM's own `ddpm_cache` loop for
mdlm at 100 steps; at its default 1000 steps that loop is too slow to time here). The hand loops of the DiT and
GPT build their own network from the same config; those of hf_causal_lm, unet and mdlm train a copy of the
adapter's network.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import adapters  # noqa: E402
from adapters import DataSpec  # noqa: E402

DATA = DataSpec((6, 6), 2)
DIT_SIZES = [dict(depth=4, width=128, heads=4), dict(depth=2, width=64, heads=4), dict(depth=6, width=256, heads=4)]
GPT_SIZES = [dict(depth=4, width=128, heads=4), dict(depth=4, width=64, heads=4), dict(depth=6, width=256, heads=4)]
HF_MODEL_TYPES = ["llama", "qwen2", "mamba"]
HF_SIZE = dict(depth=4, width=128, heads=4)
UNET_SIZES = [dict(), dict(channel_mult=(1, 2, 2))]  # the default (6x6 as it is), and three levels (padded to 8x8)
MDLM_SIZES = [dict(), dict(sampling_steps=100), dict(width=128)]


# --- hand-written loops: what a user would write without this library -----------------------------
def hand_dit(depth: int, width: int, heads: int, patch_size: int = 2, lr: float = 1e-3, precision: str = "fp32") -> Callable[[torch.Tensor], float]:
    """One EDM step of a DiTTransformer2DModel, written inline."""
    from diffusers import DiTTransformer2DModel

    torch.manual_seed(0)
    model = DiTTransformer2DModel(
        num_attention_heads=heads, attention_head_dim=width // heads, in_channels=1, out_channels=1, num_layers=depth, sample_size=6, patch_size=patch_size, num_embeds_ada_norm=1
    )
    for block in model.transformer_blocks:
        block.norm1.emb.class_embedder.dropout_prob = 0.0
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    labels = torch.zeros(64, dtype=torch.long)
    sd = 0.5

    def step(batch: torch.Tensor) -> float:
        x0 = (batch.unsqueeze(1).float() * 2 - 1) * sd
        sigma = (torch.randn(len(x0)) * 1.2 - 1.2).exp().view(-1, 1, 1, 1)
        noisy = x0 + sigma * torch.randn_like(x0)
        c_skip, c_out, c_in = sd**2 / (sigma**2 + sd**2), sigma * sd / (sigma**2 + sd**2).sqrt(), 1 / (sigma**2 + sd**2).sqrt()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            out = model(c_in * noisy, timestep=250 * sigma.log().flatten() / 4, class_labels=labels[: len(x0)]).sample
        denoised = c_skip * noisy + c_out * out.float()
        loss = ((sigma**2 + sd**2) / (sigma * sd) ** 2 * (denoised - x0) ** 2).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


def hand_gpt(depth: int, width: int, heads: int, lr: float = 1e-3, attention: str = "sdpa") -> Callable[[torch.Tensor], float]:
    """One next-token step of a GPT2LMHeadModel, written inline."""
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    model = GPT2LMHeadModel(
        GPT2Config(
            vocab_size=3,
            n_positions=37,
            n_embd=width,
            n_layer=depth,
            n_head=heads,
            activation_function="gelu",
            resid_pdrop=0.0,
            embd_pdrop=0.0,
            attn_pdrop=0.0,
            bos_token_id=2,
            eos_token_id=2,
            attn_implementation=attention,
        )
    )
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)

    def step(batch: torch.Tensor) -> float:
        targets = batch.reshape(len(batch), -1)
        inputs = torch.cat([torch.full((len(batch), 1), 2), targets[:, :-1]], dim=1)
        logits = model(input_ids=inputs).logits
        loss = F.cross_entropy(logits.reshape(-1, 3), targets.reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


def hand_dit_sampler(model: torch.nn.Module, steps: int = 18) -> Callable[[int, torch.Generator], torch.Tensor]:
    """EDM Euler integration of the probability-flow ODE on the Karras σ grid, written inline."""
    sd, rho = 0.5, 7.0
    ramp = torch.linspace(0, 1, steps, dtype=torch.float64)
    sigmas = torch.cat([((80.0 ** (1 / rho) + ramp * (0.002 ** (1 / rho) - 80.0 ** (1 / rho))) ** rho).float(), torch.zeros(1)])

    @torch.no_grad()
    def sample(n: int, generator: torch.Generator) -> torch.Tensor:
        x = torch.randn(n, 1, 6, 6, generator=generator) * sigmas[0]
        labels = torch.zeros(n, dtype=torch.long)
        for s, s_next in zip(sigmas[:-1], sigmas[1:]):
            out = model(x / (s**2 + sd**2).sqrt(), timestep=(250 * s.log() / 4).expand(n), class_labels=labels).sample
            denoised = sd**2 / (s**2 + sd**2) * x + s * sd / (s**2 + sd**2).sqrt() * out
            x = x + (x - denoised) / s * (s_next - s)
        return (x[:, 0] > 0).long()

    return sample


def hand_causal_lm(model: torch.nn.Module, lr: float = 1e-3) -> Callable[[torch.Tensor], float]:
    """One next-token step of any transformers causal LM (BOS = 2), written inline."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)

    def step(batch: torch.Tensor) -> float:
        targets = batch.reshape(len(batch), -1)
        logits = model(input_ids=torch.cat([torch.full((len(batch), 1), 2), targets[:, :-1]], dim=1)).logits
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


def hand_unet(model: torch.nn.Module, padded: int, lr: float = 1e-3) -> Callable[[torch.Tensor], float]:
    """One EDM step of a UNet2DModel on a 6x6 grid zero-padded to `padded`, written inline."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    sd, pad = 0.5, padded - 6

    def step(batch: torch.Tensor) -> float:
        x0 = (batch.unsqueeze(1).float() * 2 - 1) * sd
        sigma = (torch.randn(len(x0)) * 1.2 - 1.2).exp().view(-1, 1, 1, 1)
        noisy = x0 + sigma * torch.randn_like(x0)
        c_skip, c_out, c_in = sd**2 / (sigma**2 + sd**2), sigma * sd / (sigma**2 + sd**2).sqrt(), 1 / (sigma**2 + sd**2).sqrt()
        out = model(F.pad(c_in * noisy, (0, pad, 0, pad)), timestep=250 * sigma.log().flatten() / 4).sample[:, :, :6, :6]
        loss = ((sigma**2 + sd**2) / (sigma * sd) ** 2 * (c_skip * noisy + c_out * out - x0) ** 2).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


def hand_mdlm(model: torch.nn.Module, lr: float = 1e-3) -> Callable[[torch.Tensor], float]:
    """One MDLM step (loglinear schedule, antithetic t, SUBS ELBO; mask id 2) of a masked LM, written inline."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)

    def step(batch: torch.Tensor) -> float:
        x0 = batch.reshape(len(batch), -1)
        n = len(x0)
        t = ((torch.rand(n) / n + torch.arange(n) / n) % 1) * (1 - 1e-3) + 1e-3
        masked = torch.rand(x0.shape) < t[:, None]
        log_p = model(input_ids=torch.where(masked, 2, x0)).logits[..., :2].log_softmax(-1).gather(-1, x0[..., None]).squeeze(-1)
        loss = -(log_p * masked / t[:, None]).sum() / x0.numel()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


def hand_cache_sampler(model: torch.nn.Module) -> Callable[[int, torch.Generator], torch.Tensor]:
    """Temperature-1 ancestral sampling with the model's cache (attention KV or recurrent state), written inline."""

    @torch.no_grad()
    def sample(n: int, generator: torch.Generator) -> torch.Tensor:
        model.eval()
        token, cache, out = torch.full((n, 1), 2), None, []
        for _ in range(36):
            result = model(input_ids=token, cache=cache, use_cache=True)
            cache = result.cache
            token = torch.multinomial(result.logits[:, -1, :2].softmax(-1), 1, generator=generator)
            out.append(token)
        model.train()
        return torch.cat(out, dim=1).reshape(n, 6, 6)

    return sample


def hand_unet_sampler(model: torch.nn.Module, padded: int, steps: int = 18) -> Callable[[int, torch.Generator], torch.Tensor]:
    """EDM Euler integration for the padded U-Net, written inline."""
    sd, rho, pad = 0.5, 7.0, padded - 6
    ramp = torch.linspace(0, 1, steps, dtype=torch.float64)
    sigmas = torch.cat([((80.0 ** (1 / rho) + ramp * (0.002 ** (1 / rho) - 80.0 ** (1 / rho))) ** rho).float(), torch.zeros(1)])

    @torch.no_grad()
    def sample(n: int, generator: torch.Generator) -> torch.Tensor:
        model.eval()
        x = torch.randn(n, 1, 6, 6, generator=generator) * sigmas[0]
        for s, s_next in zip(sigmas[:-1], sigmas[1:]):
            out = model(F.pad(x / (s**2 + sd**2).sqrt(), (0, pad, 0, pad)), timestep=(250 * s.log() / 4).expand(n)).sample[:, :, :6, :6]
            denoised = sd**2 / (s**2 + sd**2) * x + s * sd / (s**2 + sd**2).sqrt() * out
            x = x + (x - denoised) / s * (s_next - s)
        model.train()
        return (x[:, 0] > 0).long()

    return sample


def hand_mdlm_sampler(model: torch.nn.Module, steps: int) -> Callable[[int, torch.Generator], torch.Tensor]:
    """MDLM's own sampler (`_ddpm_caching_update`, loglinear, no time input), written inline: the whole batch
    goes through the network at every step unless no sample changed at the last one."""

    @torch.no_grad()
    def sample(n: int, generator: torch.Generator) -> torch.Tensor:
        model.eval()
        x, p_x0 = torch.full((n, 36), 2), None
        times = torch.linspace(1, 0, steps + 1)
        for t, s in zip(times[:-1], times[1:]):
            if p_x0 is None:
                p_x0 = model(input_ids=x).logits[..., :2].double().softmax(-1)
            q = torch.cat([p_x0 * (t - s), torch.full((n, 36, 1), float(s), dtype=torch.float64)], dim=-1)
            gumbel = -torch.log(torch.rand(q.shape, generator=generator, dtype=torch.float64))
            drawn = (q / gumbel).argmax(-1)
            x_next = torch.where(x == 2, drawn, x)
            if not torch.equal(x_next, x):
                p_x0 = None
            x = x_next
        model.train()
        return x.reshape(n, 6, 6)

    return sample


# --- measurement ------------------------------------------------------------------------------------
def clock() -> float:
    """This process's CPU time with one torch thread (other jobs on a shared machine do not count against it);
    wall time with more threads, whose spin-waiting would inflate CPU time."""
    return time.process_time() if torch.get_num_threads() == 1 else time.perf_counter()


def rate(step: Callable[[torch.Tensor], float], batch: torch.Tensor, steps: int) -> float:
    start = clock()
    for _ in range(steps):
        step(batch)
    return steps / (clock() - start)


def compare(adapter_step: Callable, hand_step: Callable, batch: torch.Tensor, steps: int, rounds: int) -> tuple[float, float]:
    """Median steps/s of each, measured in alternating rounds after one warm-up round each."""
    rate(adapter_step, batch, max(2, steps // 2))
    rate(hand_step, batch, max(2, steps // 2))
    ours, theirs = [], []
    for i in range(rounds):
        order = [(adapter_step, ours), (hand_step, theirs)]
        for step, rates in order if i % 2 == 0 else order[::-1]:
            rates.append(rate(step, batch, steps))
    return statistics.median(ours), statistics.median(theirs)


def samples_per_second(sample: Callable[[int, torch.Generator], torch.Tensor], n: int) -> float:
    start = clock()
    sample(n, torch.Generator().manual_seed(1))
    return n / (clock() - start)


def compare_sampling(ours: Callable, theirs: Callable | None, n: int, rounds: int) -> tuple[float, float]:
    """Median samples/s of each, in alternating rounds after one small warm-up each."""
    for sample in filter(None, (ours, theirs)):
        sample(min(n, 64), torch.Generator().manual_seed(0))
    mine, hand = [], []
    for i in range(rounds):
        order = [(ours, mine), (theirs, hand)]
        for sample, rates in order if i % 2 == 0 else order[::-1]:
            if sample is not None:
                rates.append(samples_per_second(sample, n))
    return statistics.median(mine), statistics.median(hand) if hand else float("nan")


# name, knobs, hand-written train step for the adapter, hand-written sampler for the adapter (None: none comparable)
Case = tuple[str, dict, Callable[[adapters.Adapter], Callable], Callable[[adapters.Adapter], Callable] | None]


def cases(only: str | None, variants: bool) -> list[Case]:
    """Every benchmarked configuration; the DiT and GPT hand loops build their own network, the others reuse a copy of the adapter's."""
    chosen: list[Case] = []
    if only in (None, "dit"):
        chosen += [("dit", size, lambda a, s=size: hand_dit(**s), lambda a: hand_dit_sampler(a.model)) for size in DIT_SIZES]
        if variants:  # the hand sampler is fp32 only
            chosen += [("dit", {**size, "precision": "bf16"}, lambda a, s=size: hand_dit(**s, precision="bf16"), None) for size in DIT_SIZES]
    if only in (None, "gpt"):
        chosen += [("gpt", size, lambda a, s=size: hand_gpt(**s), lambda a: hand_cache_sampler(a.model)) for size in GPT_SIZES]
        if variants:
            chosen.append(("gpt", {**GPT_SIZES[0], "attention": "eager"}, lambda a: hand_gpt(**GPT_SIZES[0], attention="eager"), lambda a: hand_cache_sampler(a.model)))
    if only in (None, "hf_causal_lm"):
        for model_type in HF_MODEL_TYPES:
            chosen.append(("hf_causal_lm", {"model_type": model_type, **HF_SIZE}, lambda a: hand_causal_lm(copy.deepcopy(a.model)), lambda a: hand_cache_sampler(a.model)))
    if only in (None, "unet"):
        for size in UNET_SIZES:
            chosen.append(("unet", size, lambda a: hand_unet(copy.deepcopy(a.model), a.padded_shape[0]), lambda a: hand_unet_sampler(a.model, a.padded_shape[0])))
    if only in (None, "mdlm"):
        for size in MDLM_SIZES:
            hand_sampler = (lambda a: hand_mdlm_sampler(a.model, a.config.sampling_steps)) if size.get("sampling_steps", 1000) <= 128 else None
            chosen.append(("mdlm", size, lambda a: hand_mdlm(copy.deepcopy(a.model)), hand_sampler))
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10, help="train steps per timed round")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds per size")
    parser.add_argument("--samples", type=int, default=512, help="samples per sampling measurement")
    parser.add_argument("--sample-rounds", type=int, default=3, help="interleaved sampling rounds per size")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the machine is shared)")
    parser.add_argument("--only", choices=["dit", "gpt", "hf_causal_lm", "unet", "mdlm"], help="benchmark one adapter")
    parser.add_argument("--no-variants", action="store_true", help="skip the bf16 (dit) and eager-attention (gpt) rows")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    batch = torch.randint(0, 2, (64, 6, 6), generator=torch.Generator().manual_seed(0))

    rows = []
    for name, knobs, make_hand_step, make_hand_sampler in cases(args.only, not args.no_variants):
        adapter = adapters.build(name, DATA, seed=0, batch_size=64, **knobs)
        ours, theirs = compare(adapter.train_step, make_hand_step(adapter), batch, args.steps, args.rounds)
        sampled, hand_sampled = compare_sampling(adapter.sample, make_hand_sampler(adapter) if make_hand_sampler else None, args.samples, args.sample_rounds)
        label = " ".join(f"{k}={'x'.join(map(str, v)) if isinstance(v, tuple) else v}" for k, v in knobs.items())
        rows.append(
            [name, label, f"{adapter.num_parameters() / 1e6:.2f}M", f"{ours:.2f}", f"{theirs:.2f}", f"{ours / theirs:.2f}", f"{sampled:.0f}", f"{hand_sampled:.0f}", f"{sampled / hand_sampled:.2f}"]
        )
        print(" | ".join(rows[-1]), flush=True)

    from tabulate import tabulate

    print()
    print(
        f"batch 64, 6x6 binary, {args.threads} thread(s), per {'CPU' if args.threads == 1 else 'wall'}-second, median of {args.rounds} interleaved rounds of {args.steps} steps "
        f"and {args.sample_rounds} of {args.samples} samples; EDM models sampled with 18 Euler steps, mdlm with sampling_steps"
    )
    print(tabulate(rows, headers=["adapter", "knobs", "params", "adapter steps/s", "hand steps/s", "ratio", "adapter samples/s", "hand samples/s", "ratio"], tablefmt="github"))


if __name__ == "__main__":
    main()
