"""`hf_causal_lm`: any transformers causal LM by model_type — size mapping, pass-through knobs in the run id, errors."""

from __future__ import annotations

import json
import math

import pytest
import torch

import adapters
from adapters import DataSpec
from adapters.hf_causal_lm import TESTED_MODEL_TYPES
from benchmark.core.config import ConfigError
from benchmark.run.protocol import check_spec
from benchmark.run.spec import RunSpec, resolve_spec
from benchmark.sweep.files import parse_choice

BINARY = DataSpec((6, 6), 2)
SMALL = dict(depth=2, width=32, heads=2, batch_size=8)


@pytest.mark.parametrize("model_type", TESTED_MODEL_TYPES)
def test_every_tested_model_type_trains_and_samples_deterministically(model_type):
    adapter = adapters.build("hf_causal_lm", BINARY, seed=0, model_type=model_type, **SMALL)
    batch = torch.randint(0, 2, (8, 6, 6), generator=torch.Generator().manual_seed(0))
    first = adapter.train_step(batch)
    assert math.isfinite(first) and adapter.train_step(batch) < first  # a step on the same batch lowers its loss
    samples = adapter.sample(6, torch.Generator().manual_seed(1))
    assert samples.shape == (6, 6, 6) and samples.dtype == torch.long and 0 <= int(samples.min()) and int(samples.max()) <= 1
    assert torch.equal(samples, adapter.sample(6, torch.Generator().manual_seed(1)))
    config = adapter.model.config
    assert config.vocab_size == 3 and config.bos_token_id == 2 and config.eos_token_id is None and config.pad_token_id is None
    assert adapter.model.get_input_embeddings().padding_idx is None  # no symbol is a frozen padding row


@pytest.mark.parametrize(
    ("model_type", "expected"),
    [
        ("llama", {"num_hidden_layers": 3, "hidden_size": 64, "num_attention_heads": 4, "num_key_value_heads": 4, "intermediate_size": 256, "head_dim": 16}),
        ("qwen2", {"num_key_value_heads": 4, "intermediate_size": 256}),  # Qwen2's default has 32 key-value heads
        ("mistral", {"num_key_value_heads": 4, "intermediate_size": 256, "head_dim": 16}),  # Mistral's default has 8
        ("qwen3", {"head_dim": 16}),  # Qwen3 fixes head_dim = 128 by default
        ("gpt2", {"n_layer": 3, "n_embd": 64, "n_head": 4, "n_positions": 37, "resid_pdrop": 0.0, "attn_pdrop": 0.0, "embd_pdrop": 0.0}),
        ("mamba", {"num_hidden_layers": 3, "hidden_size": 64, "intermediate_size": 128}),  # expand = 2 derives the inner width
        ("rwkv", {"num_hidden_layers": 3, "hidden_size": 64, "intermediate_size": 256, "attention_hidden_size": 64, "context_length": 37}),
    ],
)
def test_depth_width_heads_map_onto_each_configs_own_names(model_type, expected):
    adapter = adapters.build("hf_causal_lm", BINARY, model_type=model_type, depth=3, width=64, heads=4)
    config = adapter.model.config
    assert {name: getattr(config, name) for name in expected} == expected
    if model_type == "mamba":
        assert "num_attention_heads" not in adapter.describe()["transformers_config"]  # no attention: heads is unused


def test_passed_through_keys_reach_the_model_and_the_run_id():
    plain = resolve_spec("parity", {}, "hf_causal_lm", {"model_type": "llama"}, 8, 0)
    from_cli = resolve_spec("parity", {}, "hf_causal_lm", {"model_type": "llama", "rope_theta": "5e5", "num_key_value_heads": "2"}, 8, 0)
    from_yaml = resolve_spec("parity", {}, "hf_causal_lm", {"num_key_value_heads": 2, "model_type": "llama", "rope_theta": 500000}, 8, 0)
    assert from_cli.run_id == from_yaml.run_id != plain.run_id  # coerced to the config's types, sorted: one id
    assert from_cli.adapter.config["config_args"] == (("num_key_value_heads", 2), ("rope_theta", 500000.0))
    round_trip = RunSpec.from_dict(json.loads(json.dumps(from_cli.to_dict())))
    assert round_trip.run_id == from_cli.run_id
    check_spec(round_trip)
    adapter = adapters.build("hf_causal_lm", BINARY, **{**round_trip.adapter.config, "depth": 1, "width": 32})
    assert adapter.model.config.rope_parameters["rope_theta"] == 500000.0 and adapter.model.config.num_key_value_heads == 2


def test_the_cli_syntax_sweeps_a_passed_through_key():
    choice = parse_choice("hf_causal_lm:model_type=llama,rope_theta=1e4,1e5")
    assert dict(choice.knobs) == {"model_type": ("llama",), "rope_theta": ("1e4", "1e5")}
    ids = {resolve_spec("parity", {}, "hf_causal_lm", {"model_type": "llama", "rope_theta": value}, 8, 0).run_id for value in ("1e4", "1e5")}
    assert len(ids) == 2


@pytest.mark.parametrize(
    ("knobs", "message"),
    [
        ({"model_type": "qwen"}, r"HFCausalLMConfig.model_type must be a transformers causal-LM model type; did you mean 'qwen3'\? \(tested here: gemma, gpt2, llama"),
        ({"model_type": "bart"}, "HFCausalLMConfig.model_type 'bart' is an encoder-decoder model"),
        ({"model_type": "llama", "rope_thetta": "1"}, "unknown knob 'rope_thetta' for HFCausalLMConfig: neither a knob of the adapter nor a key of the llama config; did you mean 'rope_theta'"),
        ({"model_type": "llama", "dpth": 2}, "unknown knob 'dpth' for HFCausalLMConfig.*; did you mean 'depth'"),
        ({"model_type": "llama", "hidden_size": 64}, "'hidden_size' cannot be passed through to the llama config \\(use the width knob\\)"),
        ({"model_type": "gpt2", "n_layer": 2}, "'n_layer' cannot be passed through to the gpt2 config \\(use the depth knob\\)"),
        ({"model_type": "llama", "vocab_size": 9}, "'vocab_size' cannot be passed through .* \\(the adapter sets it from the data\\)"),
        ({"model_type": "llama", "num_key_value_heads": "two"}, r"HFCausalLMConfig.config_args\['num_key_value_heads'\] must be an integer like the config's default 32, got 'two'"),
        ({"model_type": "llama", "tie_word_embeddings": "maybe"}, r"config_args\['tie_word_embeddings'\] must be true or false, got 'maybe'"),
    ],
)
def test_bad_knobs_fail_at_resolve_time_in_one_line(knobs, message):
    with pytest.raises(ConfigError, match=message) as error:
        resolve_spec("parity", {}, "hf_causal_lm", knobs, 8, 0)
    assert "\n" not in str(error.value)


def test_a_model_type_that_does_not_run_here_is_refused_before_training_naming_what_does():
    spec = resolve_spec("parity", {}, "hf_causal_lm", {"model_type": "codegen", "depth": 1, "width": 64}, 8, 0)  # rotary_dim 64 > head size 16
    state = torch.get_rng_state()
    with pytest.raises(ConfigError, match=r"hf_causal_lm cannot run model_type='codegen' here .*RuntimeError.*use a model type tested here: gemma, gpt2, llama, mamba") as error:
        check_spec(spec)  # the checks --dry-run makes (through the sweep's plan)
    assert "\n" not in str(error.value) and torch.equal(torch.get_rng_state(), state)
    fixed = resolve_spec("parity", {}, "hf_causal_lm", {"model_type": "codegen", "depth": 1, "width": 64, "rotary_dim": 8}, 8, 0)
    check_spec(fixed)  # the error's advice works: pass the key the model needs


def test_describe_records_what_the_adapter_set_on_the_transformers_config():
    adapter = adapters.build("hf_causal_lm", BINARY, model_type="llama", rope_theta=1000.0, **SMALL)
    description = json.loads(json.dumps(adapter.describe()))
    assert description["architecture"] == "transformers.LlamaForCausalLM from AutoConfig.for_model('llama')"
    assert description["transformers_config"]["intermediate_size"] == 128 and description["transformers_config"]["rope_theta"] == 1000.0
    assert description["config"]["config_args"] == [["rope_theta", 1000.0]]
