"""The tiers under the bundled adapters: the U-Net on EDM (padding, sampler), the masked-diffusion maths, tier subclasses."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import adapters
from adapters import DataSpec, MaskedDiffusionAdapter, MaskedDiffusionConfig
from benchmark.core.config import ConfigError
from benchmark.run.protocol import check_spec
from benchmark.run.spec import resolve_spec

BINARY = DataSpec((6, 6), 2)
UNET = dict(width=16, channel_mult=(1, 2), layers_per_block=1, norm_groups=8, attention_head_dim=8, sampling_steps=6)
MDLM = dict(depth=1, width=32, heads=2, sampling_steps=40)


def test_the_tiers_are_exported_and_the_bundled_adapters_use_them():
    assert issubclass(adapters.get_class("gpt"), adapters.CausalLMAdapter)
    assert issubclass(adapters.get_class("hf_causal_lm"), adapters.CausalLMAdapter)
    assert issubclass(adapters.get_class("dit"), adapters.EDMAdapter) and issubclass(adapters.get_class("unet"), adapters.EDMAdapter)
    assert issubclass(adapters.get_class("mdlm"), adapters.MaskedDiffusionAdapter)
    for tier in (adapters.CausalLMAdapter, adapters.EDMAdapter, adapters.MaskedDiffusionAdapter):
        assert issubclass(tier, adapters.TorchAdapter)
    for name in ("dit", "unet"):
        assert isinstance(adapters.build(name, BINARY, **(UNET if name == "unet" else dict(depth=1, width=32, heads=2))), adapters.Denoiser)


# --- unet ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "channel_mult", "padded"),
    [((6, 6), (1, 2), (6, 6)), ((6, 6), (1, 2, 2), (8, 8)), ((4, 6), (1, 2, 2), (4, 8)), ((5, 3), (1, 1), (6, 4))],
)
def test_unet_pads_what_its_down_sampling_cannot_divide_and_crops_back(shape, channel_mult, padded):
    data = DataSpec(shape, 2)
    adapter = adapters.build("unet", data, **{**UNET, "channel_mult": channel_mult})
    assert adapter.padded_shape == padded
    seen = []
    adapter.model.register_forward_hook(lambda module, args, output: seen.append((tuple(args[0].shape[2:]), tuple(output[0].shape[2:]))))
    assert math.isfinite(adapter.train_step(torch.randint(0, 2, (4, *shape))))
    assert seen == [(padded, padded)]
    assert adapter.sample(5, torch.Generator().manual_seed(0)).shape == (5, *shape)
    x = torch.randn(3, 1, *shape)
    out = adapter.call_network(adapter.model, x, torch.zeros(3))
    assert out.shape == x.shape  # cropped back: the loss and the samples see only the real cells


def test_unet_padding_is_zeros_at_the_bottom_and_right():
    adapter = adapters.build("unet", BINARY, **{**UNET, "channel_mult": (1, 2, 2)})
    inputs = []
    adapter.model.register_forward_pre_hook(lambda module, args: inputs.append(args[0]))
    x = torch.randn(2, 1, 6, 6)
    adapter.call_network(adapter.model, x, torch.zeros(2))
    (padded,) = inputs
    assert torch.equal(padded[:, :, :6, :6], x) and not padded[:, :, 6:].any() and not padded[:, :, :, 6:].any()


def test_unet_refuses_data_that_is_not_a_grid_before_training():
    with pytest.raises(ValueError, match=r"unet adapter needs 2-D samples \(H, W\), got shape \(36,\)"):
        adapters.build("unet", DataSpec((36,), 2))
    spec = resolve_spec("automaton", {}, "unet", {"channel_mult": (1, 2, 2, 2, 2)}, 8, 0)  # 6x16: padded to 16x16, fine
    check_spec(spec)


def test_unet_sampling_is_the_edm_euler_integration_of_the_probability_flow_ode():
    """An independent Euler loop on the Karras σ grid (ρ = 7), same weights and noise, gives the same symbols."""
    adapter = adapters.build("unet", BINARY, seed=0, **{**UNET, "channel_mult": (1, 2, 2)})  # padded 8x8
    for _ in range(5):
        adapter.train_step(torch.randint(0, 2, (16, 6, 6), generator=torch.Generator().manual_seed(0)))
    steps, rho, sd = UNET["sampling_steps"], 7.0, 0.5
    ramp = torch.linspace(0, 1, steps, dtype=torch.float64)
    sigmas = torch.cat([((80 ** (1 / rho) + ramp * (0.002 ** (1 / rho) - 80 ** (1 / rho))) ** rho).float(), torch.zeros(1)])
    x = torch.randn(32, 1, 6, 6, generator=torch.Generator().manual_seed(4)) * sigmas[0]
    with torch.no_grad():
        for s, s_next in zip(sigmas[:-1], sigmas[1:]):
            padded = torch.nn.functional.pad(x / (s**2 + sd**2).sqrt(), (0, 2, 0, 2))
            raw = adapter.model(padded, timestep=(250 * s.log() / 4).expand(32)).sample[:, :, :6, :6]
            denoised = sd**2 / (s**2 + sd**2) * x + s * sd / (s**2 + sd**2).sqrt() * raw
            x = x + (x - denoised) / s * (s_next - s)
    assert torch.equal(adapter.sample(32, torch.Generator().manual_seed(4)), (x[:, 0] > 0).long())


def test_unet_denoise_from_a_small_sigma_returns_clean_inputs_and_fits_the_basin_analysis():
    adapter = adapters.build("unet", BINARY, **UNET)
    symbols = torch.randint(0, 2, (8, 6, 6))
    assert torch.equal(adapter.denoise(adapter.encode(symbols), 0.001), symbols)  # at or below σ_min: decoded as it is
    assert adapter.denoise(adapter.encode(symbols) + 0.3 * torch.randn(8, 1, 6, 6), 0.3).shape == (8, 6, 6)


# --- masked diffusion ------------------------------------------------------------------------------


def test_mdlm_loss_is_the_subs_elbo_with_antithetic_times():
    """Recompute the loss from MDLM's formulas (loglinear: mask with probability t, weight 1/t) with the adapter's own draws."""
    adapter = adapters.build("mdlm", BINARY, seed=0, **MDLM)
    batch = torch.randint(0, 2, (8, 6, 6), generator=torch.Generator().manual_seed(0))
    state = adapter.generator.get_state()
    with torch.no_grad():
        loss = adapter.loss(batch)
    generator = torch.Generator().set_state(state)
    t = (torch.rand(8, generator=generator) / 8 + torch.arange(8) / 8) % 1 * (1 - 1e-3) + 1e-3
    assert sorted((t * 8).floor().long().tolist()) == list(range(8))  # antithetic: one t in each eighth of [0, 1]
    x0 = batch.reshape(8, 36)
    masked = torch.rand(8, 36, generator=generator) < t[:, None]
    xt = torch.where(masked, 2, x0)
    with torch.no_grad():
        logits = adapter.model(input_ids=xt).logits
    logits[..., 2] = -math.inf  # SUBS: the mask token is never predicted
    log_p = logits.log_softmax(-1).gather(-1, x0[..., None]).squeeze(-1)
    expected = -(log_p * masked / t[:, None]).sum() / (8 * 36)  # unmasked cells are carried over: they add nothing
    assert torch.allclose(loss, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("schedule", ["loglinear", "cosine"])
def test_mdlm_reveal_steps_follow_the_ancestral_samplers_per_step_probabilities(schedule):
    """P(revealed at step j) must equal Π_{i<j}(1 − q_i)·q_j with MDLM's q_i = (move_t − move_s)/move_t, move = 1 − α."""
    steps = 10
    adapter = adapters.build("mdlm", BINARY, **{**MDLM, "schedule": schedule, "sampling_steps": steps})
    times = 1 - torch.arange(steps + 1, dtype=torch.float64) / steps
    move = 1 - (1 - times if schedule == "loglinear" else torch.cos(times * math.pi / 2))
    q = (move[:-1] - move[1:]) / move[:-1]
    survive = torch.cat([torch.ones(1, dtype=torch.float64), torch.cumprod(1 - q, 0)[:-1]])
    expected = survive * q
    drawn = adapter.reveal_steps(torch.rand(400_000, generator=torch.Generator().manual_seed(0), dtype=torch.float64))
    observed = torch.bincount(drawn, minlength=steps).double() / len(drawn)
    assert torch.allclose(expected.sum(), torch.tensor(1.0, dtype=torch.float64))
    assert (observed - expected).abs().max() < 0.004  # 400k draws: standard error below 0.0008


def test_mdlm_sampler_equals_a_plain_loop_that_evaluates_every_sample_at_every_step():
    """Skipping the network where a sample reveals nothing changes no draw: MDLM's sampler written naively agrees."""
    adapter = adapters.build("mdlm", BINARY, seed=0, **{**MDLM, "sampling_steps": 12})
    for _ in range(5):
        adapter.train_step(torch.randint(0, 2, (16, 6, 6), generator=torch.Generator().manual_seed(1)))
    generator = torch.Generator().manual_seed(3)
    uniforms = torch.rand((16, 36), generator=generator, dtype=torch.float64)
    gumbel = -torch.log(-torch.log(torch.rand((16, 36, 2), generator=generator, dtype=torch.float64)))
    reveal = (uniforms * 12).floor().long()  # loglinear: each cell's reveal step is uniform over the 12 steps
    x = torch.full((16, 36), 2)
    adapter.model.eval()
    with torch.no_grad():
        for step in range(12):
            log_p = adapter.model(input_ids=x).logits[..., :2].float().log_softmax(-1)
            x = torch.where(reveal == step, (log_p.double() + gumbel).argmax(-1), x)
    assert (x < 2).all()  # the last step reaches t = 0: nothing stays masked
    assert torch.equal(adapter.sample(16, torch.Generator().manual_seed(3)), x.reshape(16, 6, 6))


def test_mdlm_evaluates_each_sample_at_most_once_per_revealed_cell():
    adapter = adapters.build("mdlm", BINARY, **{**MDLM, "sampling_steps": 1000})
    rows = []
    adapter.model.register_forward_hook(lambda module, args, kwargs, output: rows.append(len(kwargs["input_ids"])), with_kwargs=True)
    adapter.sample(10, torch.Generator().manual_seed(0))
    assert sum(rows) <= 10 * 36 and len(rows) <= 1000
    few = adapters.build("mdlm", BINARY, **{**MDLM, "sampling_steps": 4})
    calls = []
    few.model.register_forward_hook(lambda module, args, output: calls.append(1))
    few.sample(10, torch.Generator().manual_seed(0))
    assert len(calls) == 4  # four steps: every sample reveals something at each, one batched call per step


@pytest.mark.parametrize("encoder", ["bert", "modernbert"])
def test_mdlm_encoders_are_bidirectional_and_have_no_padding_token(encoder):
    adapter = adapters.build("mdlm", BINARY, encoder=encoder, **MDLM)
    embeddings = adapter.model.get_input_embeddings()
    assert embeddings.num_embeddings == 3 and embeddings.padding_idx is None  # symbol 0 is data, not padding
    tokens = torch.randint(0, 2, (2, 36))
    changed = tokens.clone()
    changed[:, -1] = 1 - changed[:, -1]
    adapter.model.eval()
    with torch.no_grad():
        first, second = adapter.model(input_ids=tokens).logits, adapter.model(input_ids=changed).logits
    assert not torch.allclose(first[:, 0], second[:, 0])  # the first cell sees the last one: not causal


class TinyMLPDiffusion(MaskedDiffusionAdapter):
    """A network that is not a transformers model: one-hot cells through an MLP, called through `logits`."""

    config_class = MaskedDiffusionConfig

    def build_model(self) -> torch.nn.Module:
        size, vocab = self.data.size, self.vocab_size
        return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(size * vocab, 64), torch.nn.GELU(), torch.nn.Linear(64, size * vocab))

    def logits(self, model, tokens):
        one_hot = torch.nn.functional.one_hot(tokens, self.vocab_size).float()
        return model(one_hot).reshape(len(tokens), self.data.size, self.vocab_size)


def test_a_masked_diffusion_subclass_with_its_own_network_memorises_one_sample():
    from benchmark.core.config import build_config

    data = DataSpec((3, 3), 2)
    adapter = TinyMLPDiffusion(build_config(MaskedDiffusionConfig, {"lr": 1e-2, "batch_size": 16, "sampling_steps": 100}), data, seed=0)
    target = torch.tensor([[1, 0, 1], [0, 0, 1], [1, 1, 0]])
    for _ in range(150):
        adapter.train_step(target.expand(16, 3, 3))
    samples = adapter.sample(64, torch.Generator().manual_seed(0))
    assert (samples == target).all(dim=(1, 2)).float().mean() > 0.9


def test_masked_diffusion_config_errors_name_the_field():
    with pytest.raises(ConfigError, match="MaskedDiffusionConfig.schedule must be one of loglinear, cosine, got 'geometric'"):
        MaskedDiffusionConfig(schedule="geometric").validate()


def test_sampling_leaves_the_global_rng_alone():
    for name, knobs in (("mdlm", MDLM), ("unet", UNET)):
        adapter = adapters.build(name, BINARY, **knobs)
        state = torch.get_rng_state()
        adapter.sample(4, torch.Generator().manual_seed(0))
        assert torch.equal(torch.get_rng_state(), state), name
    assert np.isfinite(adapter.train_step(torch.randint(0, 2, (4, 6, 6))))
