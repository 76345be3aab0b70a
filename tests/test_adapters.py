"""The bundled network adapters: real learning, exact resume, sampling contract, config errors.

The contract tests run every network adapter (dit, gpt, hf_causal_lm, unet, mdlm) at a tiny size; the
tests of one architecture's internals (EDM loss, label dropout, GPT-2 config) follow them. More on the
tiers and the new adapters: test_adapters_tiers.py, test_adapters_hf.py.
"""

from __future__ import annotations

import io
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import adapters
import tasks
from adapters import DataSpec
from benchmark.core.config import ConfigError

BINARY = DataSpec((6, 6), 2)
FOUR_SYMBOLS = DataSpec((4, 4), 4)

# Tiny configs that memorise 4 samples in a few hundred CPU steps (the DiT with one 6×6 patch is an MLP-like token).
TINY = {
    "dit": dict(depth=1, width=64, heads=2, patch_size=6, lr=5e-3, batch_size=32, sampling_steps=10),
    "gpt": dict(depth=2, width=32, heads=2, lr=3e-3, batch_size=16),
    "hf_causal_lm": dict(model_type="llama", depth=2, width=32, heads=2, lr=3e-3, batch_size=16),
    "unet": dict(width=16, channel_mult=(1, 2), layers_per_block=1, norm_groups=8, attention_head_dim=8, lr=3e-3, batch_size=16, sampling_steps=6),
    "mdlm": dict(depth=2, width=32, heads=2, lr=3e-3, batch_size=16, sampling_steps=50),
}
NETWORKS = list(TINY)
# Sequence models read any shape; the 2-D diffusion models need a grid (the DiT a square one, patch 2 divides 4).
KNOBS_4x4 = {"dit": {"patch_size": 2}}
MEMORISE_STEPS = {"dit": 400, "gpt": 500}  # gpt: at 250 steps one lr-3e-3 loss spike left seed 0 at 1 % copies on an AVX-512 CPU


def training_set(task_name: str = "parity", n: int = 4, seed: int = 0, **knobs) -> tuple[torch.Tensor, set]:
    task = tasks.get(task_name, **knobs)
    samples = task.sample(n, np.random.default_rng(seed))
    return torch.from_numpy(samples.astype(np.int64)), set(task.key(samples).tolist())


def fraction_in(samples: torch.Tensor, keys: set, num_symbols: int = 2) -> float:
    return float(np.mean([k in keys for k in tasks.sample_keys(samples.numpy(), num_symbols).tolist()]))


def batches(data: DataSpec, count: int, batch_size: int, seed: int) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return [torch.randint(0, data.num_symbols, (batch_size, *data.shape), generator=generator) for _ in range(count)]


def test_bundled_adapters_are_registered_lazily():
    code = (
        "import sys, adapters; names = adapters.names(); assert {'dit', 'gpt'} <= set(names), names; "
        "assert 'diffusers' not in sys.modules and 'transformers' not in sys.modules, 'heavy import at import time'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=str(Path(__file__).parents[1]))


@pytest.mark.parametrize("name", ["dit", "gpt"])
def test_samples_reproduce_a_tiny_training_set(name):
    train, keys = training_set()
    adapter = adapters.build(name, BINARY, seed=0, **TINY[name])
    before = adapter.sample(256, torch.Generator().manual_seed(1))
    assert fraction_in(before, keys) < 0.05  # untrained: the training set is not what it samples
    batch = train.repeat(adapter.batch_size // len(train), 1, 1)
    for _ in range(MEMORISE_STEPS[name]):
        adapter.train_step(batch)
    after = adapter.sample(256, torch.Generator().manual_seed(1))
    assert fraction_in(after, keys) >= 0.8


@pytest.mark.parametrize("name", NETWORKS)
def test_resume_from_state_dict_is_bit_identical(name):
    knobs = {**TINY[name], "ema": True, "ema_decay": 0.9, "batch_size": 8}
    data_batches = batches(BINARY, 6, 8, seed=3)
    straight = adapters.build(name, BINARY, seed=0, **knobs)
    for batch in data_batches[:3]:
        straight.train_step(batch)
    buffer = io.BytesIO()
    torch.save(straight.state_dict(), buffer)  # taken mid-run, then training continues: the state must not alias
    losses = [straight.train_step(batch) for batch in data_batches[3:]]

    resumed = adapters.build(name, BINARY, seed=99, **knobs)  # another seed: everything must come from the state
    buffer.seek(0)
    resumed.load_state_dict(torch.load(buffer))
    assert [resumed.train_step(batch) for batch in data_batches[3:]] == losses
    for (key, a), b in zip(straight.model.state_dict().items(), resumed.model.state_dict().values()):
        assert torch.equal(a, b), key
    for a, b in zip(straight.ema.model.parameters(), resumed.ema.model.parameters()):
        assert torch.equal(a, b)
    assert straight.steps == resumed.steps == 6
    assert torch.equal(straight.sample(32, torch.Generator().manual_seed(5)), resumed.sample(32, torch.Generator().manual_seed(5)))


@pytest.mark.parametrize("name", NETWORKS)
@pytest.mark.parametrize("data", [BINARY, FOUR_SYMBOLS], ids=["binary6x6", "4symbols4x4"])
def test_sample_shape_dtype_range_and_determinism(name, data):
    knobs = {**TINY[name], **KNOBS_4x4.get(name, {})}
    adapter = adapters.build(name, data, seed=0, **knobs)
    loss = adapter.train_step(batches(data, 1, 4, seed=0)[0])
    assert math.isfinite(loss) and loss > 0
    global_state = torch.get_rng_state()
    first = adapter.sample(50, torch.Generator().manual_seed(7))
    assert torch.equal(torch.get_rng_state(), global_state)  # sampling draws only from the given generator
    assert first.shape == (50, *data.shape) and first.dtype == torch.long and first.device.type == "cpu"
    assert int(first.min()) >= 0 and int(first.max()) < data.num_symbols
    assert len(torch.unique(first.reshape(50, -1), dim=0)) > 1
    assert torch.equal(first, adapter.sample(50, torch.Generator().manual_seed(7)))
    assert not torch.equal(first, adapter.sample(50, torch.Generator().manual_seed(8)))
    assert adapter.sample(0, torch.Generator()).shape == (0, *data.shape)


@pytest.mark.parametrize("name", NETWORKS)
def test_chunked_sampling_is_deterministic_and_for_the_diffusion_models_independent_of_the_chunk_size(name):
    whole = adapters.build(name, BINARY, seed=0, **TINY[name])
    chunked = adapters.build(name, BINARY, seed=0, **TINY[name], sample_batch_size=7)
    a = whole.sample(20, torch.Generator().manual_seed(1))
    b = chunked.sample(20, torch.Generator().manual_seed(1))
    assert b.shape == a.shape == (20, 6, 6)
    assert torch.equal(b, chunked.sample(20, torch.Generator().manual_seed(1)))
    if name in ("dit", "unet", "mdlm"):  # all noise is drawn up front, so chunking only bounds memory
        assert torch.equal(a, b)
    else:  # the causal LMs seed generate() once per chunk: the chunks are distinct draws
        assert not torch.equal(b[:7], b[7:14])


@pytest.mark.parametrize("name", ["dit", "gpt"])
def test_four_symbol_data_is_learned(name):
    generator = torch.Generator().manual_seed(0)
    train = torch.randint(0, 4, (4, 4, 4), generator=generator)
    keys = set(tasks.sample_keys(train.numpy(), 4).tolist())
    knobs = {**TINY[name], "patch_size": 4} if name == "dit" else TINY[name]
    adapter = adapters.build(name, FOUR_SYMBOLS, seed=0, **knobs)
    batch = train.repeat(adapter.batch_size // 4, 1, 1)
    for _ in range(MEMORISE_STEPS[name]):
        adapter.train_step(batch)
    assert fraction_in(adapter.sample(128, torch.Generator().manual_seed(2)), keys, num_symbols=4) >= 0.8


@pytest.mark.parametrize(
    ("name", "knobs", "message"),
    [
        ("dit", {"width": 30}, "DiTConfig.width must be a positive multiple of 4 and of heads=4, got 30"),
        ("dit", {"width": 64, "heads": 3}, "DiTConfig.width must be a positive multiple of 4 and of heads=3, got 64"),
        ("dit", {"sampler": "heun"}, "DiTConfig.sampler must be one of euler, dpmsolver, got 'heun'"),
        ("dit", {"precision": "fp16"}, "DiTConfig.precision must be one of fp32, bf16, got 'fp16'"),
        ("dit", {"sampling_steps": 1}, "DiTConfig.sampling_steps must be an integer >= 2, got 1"),
        ("dit", {"ema_decay": 1.0}, r"DiTConfig.ema_decay must be a number in \(0, 1\), got 1.0"),
        ("gpt", {"attention": "flash"}, "GPTConfig.attention must be one of sdpa, eager, got 'flash'"),
        ("gpt", {"lr": 0}, "GPTConfig.lr must be a positive number, got 0"),
        ("gpt", {"depth": "two"}, "GPTConfig.depth must be an integer, got 'two'"),
        ("gpt", {"dept": 2}, "unknown knob 'dept' for GPTConfig; did you mean 'depth'"),
        ("unet", {"width": 48}, r"UNetConfig.width must be such that norm_groups=32 divides every level's width \[48, 96\], got 48"),
        ("unet", {"channel_mult": "1x0"}, r"UNetConfig.channel_mult must be one or more positive integers \(e.g. 1x2\), got \(1, 0\)"),
        ("unet", {"attention_head_dim": 24}, r"UNetConfig.attention_head_dim must be a divisor of every level's width \[32, 64\], got 24"),
        ("unet", {"sampler": "heun"}, "UNetConfig.sampler must be one of euler, dpmsolver, got 'heun'"),
        ("mdlm", {"encoder": "roberta"}, "MDLMConfig.encoder must be one of bert, modernbert, got 'roberta'"),
        ("mdlm", {"schedule": "linear"}, "MDLMConfig.schedule must be one of loglinear, cosine, got 'linear'"),
        ("mdlm", {"sampling_steps": 0}, "MDLMConfig.sampling_steps must be a positive integer, got 0"),
        ("mdlm", {"t_min": 1.0}, r"MDLMConfig.t_min must be a number in \(0, 1\), got 1.0"),
        ("mdlm", {"encoder": "modernbert", "width": 36, "heads": 4}, r"MDLMConfig.width must be a multiple of 2\*heads=8 for modernbert"),
        ("hf_causal_lm", {"width": 30}, "HFCausalLMConfig.width must be a positive multiple of heads=4, got 30"),
        ("hf_causal_lm", {"model_type": "lama"}, "HFCausalLMConfig.model_type must be a transformers causal-LM model type; did you mean 'llama'"),
    ],
)
def test_bad_config_values_name_the_field_and_the_allowed_values(name, knobs, message):
    with pytest.raises(ConfigError, match=message):
        adapters.build(name, BINARY, **knobs)


def test_dit_refuses_shapes_it_cannot_model():
    with pytest.raises(ValueError, match=r"square 2-D samples \(H, H\), got shape \(4, 6\)"):
        adapters.build("dit", DataSpec((4, 6), 2))
    with pytest.raises(ValueError, match=r"square 2-D samples \(H, H\), got shape \(36,\)"):
        adapters.build("dit", DataSpec((36,), 2))
    with pytest.raises(ValueError, match=r"DiTConfig.patch_size must divide the grid side 6 \(allowed: 1, 2, 3, 6\), got 4"):
        adapters.build("dit", BINARY, patch_size=4)


def test_dit_has_no_label_dropout_and_one_class():
    adapter = adapters.build("dit", BINARY, **TINY["dit"])
    for block in adapter.model.transformer_blocks:
        labels = block.norm1.emb.class_embedder
        assert labels.dropout_prob == 0 and labels.embedding_table.num_embeddings == 1
    x = torch.randn(16, 1, 6, 6)
    timestep, classes = torch.full((16,), 10.0), torch.zeros(16, dtype=torch.long)
    adapter.model.train()
    with torch.no_grad():
        first = adapter.model(x, timestep=timestep, class_labels=classes).sample
        second = adapter.model(x, timestep=timestep, class_labels=classes).sample
    assert torch.equal(first, second)  # train mode is deterministic: no label is ever dropped


def test_dit_loss_is_the_edm_objective():
    """Recompute the loss from the EDM formulas (Karras et al. 2022, table 1) with the adapter's own noise draws."""
    adapter = adapters.build("dit", BINARY, seed=0, **TINY["dit"])
    batch = batches(BINARY, 1, 8, seed=0)[0]
    generator_state = adapter.generator.get_state()
    with torch.no_grad():
        loss = adapter.loss(batch)
    generator = torch.Generator().set_state(generator_state)
    clean = (batch.float() * 2 - 1).unsqueeze(1) * 0.5
    sigma = (torch.randn(8, generator=generator) * 1.2 - 1.2).exp().view(-1, 1, 1, 1)
    noisy = clean + sigma * torch.randn(clean.shape, generator=generator)
    s2, d2 = sigma**2, 0.25
    c_skip, c_out, c_in = d2 / (s2 + d2), sigma * 0.5 / (s2 + d2).sqrt(), 1 / (s2 + d2).sqrt()
    c_noise = sigma.log().flatten() / 4
    with torch.no_grad():
        raw = adapter.model(c_in * noisy, timestep=250.0 * c_noise, class_labels=torch.zeros(8, dtype=torch.long)).sample
    expected = ((s2 + d2) / (sigma * 0.5) ** 2 * (c_skip * noisy + c_out * raw - clean) ** 2).mean()
    assert torch.allclose(loss, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("data", [BINARY, FOUR_SYMBOLS])
def test_dit_encoding_round_trips_at_sigma_data(data):
    adapter = adapters.build("dit", data, patch_size=2, depth=1, width=32, heads=2)
    symbols = batches(data, 1, 20, seed=1)[0]
    encoded = adapter.encode(symbols)
    assert encoded.shape[1] == (1 if data.num_symbols == 2 else data.num_symbols)
    assert set(encoded.unique().tolist()) == {-0.5, 0.5}
    assert torch.equal(adapter.decode(encoded), symbols)


def test_dit_sampling_is_the_edm_euler_integration_of_the_probability_flow_ode():
    """An independent Euler loop on the Karras σ grid (ρ = 7), same weights and noise, gives the same symbols."""
    adapter = adapters.build("dit", BINARY, seed=0, **TINY["dit"])
    for batch in batches(BINARY, 20, 32, seed=0):
        adapter.train_step(batch)
    steps, rho, sd = TINY["dit"]["sampling_steps"], 7.0, 0.5
    ramp = torch.linspace(0, 1, steps, dtype=torch.float64)
    sigmas = torch.cat([((80 ** (1 / rho) + ramp * (0.002 ** (1 / rho) - 80 ** (1 / rho))) ** rho).float(), torch.zeros(1)])
    x = torch.randn(64, 1, 6, 6, generator=torch.Generator().manual_seed(4)) * sigmas[0]
    with torch.no_grad():
        for s, s_next in zip(sigmas[:-1], sigmas[1:]):
            raw = adapter.model(x / (s**2 + sd**2).sqrt(), timestep=(250 * s.log() / 4).expand(64), class_labels=torch.zeros(64, dtype=torch.long)).sample
            denoised = sd**2 / (s**2 + sd**2) * x + s * sd / (s**2 + sd**2).sqrt() * raw
            x = x + (x - denoised) / s * (s_next - s)
    assert torch.equal(adapter.sample(64, torch.Generator().manual_seed(4)), (x[:, 0] > 0).long())


@pytest.mark.parametrize("sampler", ["euler", "dpmsolver"])
def test_dit_samplers_run_the_configured_number_of_network_evaluations(sampler):
    adapter = adapters.build("dit", BINARY, sampler=sampler, sampling_steps=5, **{k: v for k, v in TINY["dit"].items() if k != "sampling_steps"})
    calls = []
    adapter.model.register_forward_hook(lambda module, args, output: calls.append(args[0].shape[0]))
    adapter.sample(3, torch.Generator().manual_seed(0))
    assert calls == [3] * 5


def test_gpt_config_replaces_gpt2_special_ids_and_sizes_positions_from_the_task():
    adapter = adapters.build("gpt", FOUR_SYMBOLS, **TINY["gpt"])
    config = adapter.model.config
    assert config.vocab_size == 5 and config.bos_token_id == 4 and config.eos_token_id == 4
    assert config.n_positions == 17 and config.activation_function == "gelu"
    assert config.resid_pdrop == config.embd_pdrop == config.attn_pdrop == 0.0
    assert config._attn_implementation == "sdpa"
    generation = adapter._generation_config()
    assert (generation.do_sample, generation.temperature, generation.top_k, generation.top_p) == (True, 1.0, 0, 1.0)
    assert generation.suppress_tokens == [4] and generation.max_new_tokens == generation.min_new_tokens == 16
    assert generation.eos_token_id is None and adapter.model.generation_config.eos_token_id is None  # never stops early
    assert adapters.build("gpt", BINARY, attention="eager", **TINY["gpt"]).model.config._attn_implementation == "eager"


def test_gpt_loss_is_next_symbol_cross_entropy():
    adapter = adapters.build("gpt", BINARY, **TINY["gpt"])
    batch = batches(BINARY, 1, 4, seed=0)[0]
    with torch.no_grad():
        loss = adapter.loss(batch)
        sequence = torch.cat([torch.full((4, 1), 2), batch.reshape(4, -1)], dim=1)
        log_probs = adapter.model(input_ids=sequence).logits[:, :-1].log_softmax(-1)
    expected = -log_probs.gather(-1, sequence[:, 1:, None]).mean()
    assert torch.allclose(loss, expected, atol=1e-6)


@pytest.mark.parametrize("name", NETWORKS)
def test_describe_records_architecture_sizes_and_sampled_weights(name):
    raw = adapters.build(name, BINARY, **TINY[name])
    averaged = adapters.build(name, BINARY, ema=True, **TINY[name])
    assert raw.describe()["sampled_weights"] == "raw" and averaged.describe()["sampled_weights"] == "ema"
    description = json.loads(json.dumps(raw.describe()))
    assert description["name"] == name and description["config"]["width"] == TINY[name]["width"] and description["architecture"]
    assert description["num_parameters"] == raw.num_parameters() == sum(p.numel() for p in raw.model.parameters())
    assert raw.device.type == adapters.build(name, BINARY, device="auto", **TINY[name]).device.type == ("cuda" if torch.cuda.is_available() else "cpu")


@pytest.mark.parametrize("name", NETWORKS)
def test_ema_samples_from_the_average_and_tracks_it(name):
    adapter = adapters.build(name, BINARY, ema=True, ema_decay=0.75, **TINY[name])
    before = [p.detach().clone() for p in adapter.model.parameters()]
    adapter.train_step(batches(BINARY, 1, 8, seed=0)[0])
    for ema, old, new in zip(adapter.ema.model.parameters(), before, adapter.model.parameters()):
        assert torch.allclose(ema, 0.75 * old + 0.25 * new.detach(), atol=1e-7)
    assert adapter.sampling_model is adapter.ema.model


def test_loading_state_with_a_different_ema_setting_is_refused():
    state = adapters.build("gpt", BINARY, ema=True, **TINY["gpt"]).state_dict()
    with pytest.raises(ValueError, match="saved with ema=True, this adapter has ema=False"):
        adapters.build("gpt", BINARY, **TINY["gpt"]).load_state_dict(state)


def test_train_step_refuses_a_batch_of_the_wrong_shape():
    adapter = adapters.build("gpt", BINARY, **TINY["gpt"])
    with pytest.raises(ValueError, match=r"batch of shape \(B, 6, 6\), got \(4, 4, 4\)"):
        adapter.train_step(torch.zeros(4, 4, 4, dtype=torch.long))
