"""Any `transformers` causal LM by its `model_type`, built from a config, on the causal-LM tier.

`hf_causal_lm:model_type=llama,depth=4,width=64` builds `AutoModelForCausalLM.from_config(AutoConfig.for_model(
"llama", ...))`. The three size knobs are mapped onto each config's own names (`num_hidden_layers`/`n_layer`,
`hidden_size`/`n_embd`/`d_model`, `num_attention_heads`/`n_head`); where the config fixes a size that
should follow the width instead of deriving it (Llama's 11008-wide MLP, Qwen3's head_dim 128, Mistral's 8
key-value heads), it is set to 4 × width, width / heads and heads. Any other key of that config is passed
through unchanged (`rope_theta=500000`, `num_key_value_heads=2`, `attn_implementation=eager`), as in
lm-eval's `--model_args`: unknown knobs are collected into `config_args`, checked against the config's
attributes (with a did-you-mean) and coerced to the type of the config's default, so they are part of the run id.

The vocabulary is the symbols plus BOS (no EOS, no padding), positions = size + 1, and every float
dropout of the config is 0. A model type that does not build, train and sample in a one-step smoke
test on the CPU is refused before training, in one line naming the model types tested here.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch

from adapters.causal_lm import CausalLMAdapter
from adapters.torch_adapter import NetworkConfig
from benchmark.core.adapter import DataSpec
from benchmark.core.config import ConfigError, did_you_mean, require

# Each size knob's name in the configs that have it, most common first.
SIZE_NAMES = {
    "depth": ("num_hidden_layers", "n_layer", "num_layers", "n_layers"),
    "width": ("hidden_size", "n_embd", "d_model", "dim"),
    "heads": ("num_attention_heads", "n_head", "num_heads", "n_heads"),
}
MLP_NAMES = ("intermediate_size", "n_inner", "ffn_dim", "d_ff", "ffn_hidden_size")
# Set by the adapter from the data; passing them through would break the tokenisation.
RESERVED = ("vocab_size", "bos_token_id", "eos_token_id", "pad_token_id", "max_position_embeddings")
# Each is built, trained and sampled by tests/test_adapters_hf.py (transformers 5.24); Mamba has no attention.
# RWKV builds and trains too, but its generate() samples did not follow what it learned (README), so it is not listed.
TESTED_MODEL_TYPES = ("gemma", "gpt2", "llama", "mamba", "mistral", "phi3", "qwen2", "qwen3")


@dataclass(frozen=True)
class HFCausalLMConfig(NetworkConfig):
    """Knobs of a transformers causal LM built from its config; unknown knobs go to its config (`config_args`)."""

    passthrough_field: ClassVar[str] = "config_args"

    model_type: str = field(default="llama", metadata={"help": f"a transformers causal-LM model type (tested: {', '.join(TESTED_MODEL_TYPES)})"})
    depth: int = field(default=4, metadata={"help": "layers (num_hidden_layers, n_layer, ... in the model's config)", "max": 256})
    width: int = field(default=128, metadata={"help": "hidden size (hidden_size, n_embd, d_model, ...); MLP 4x width unless the config derives it", "max": 16384})
    heads: int = field(default=4, metadata={"help": "attention heads, also key-value heads (unused by models without attention)", "max": 1024})
    config_args: tuple[tuple[str, Any], ...] = field(default=(), metadata={"help": "any other key of the model's transformers config, given as a knob: rope_theta=500000"})

    def __post_init__(self) -> None:
        pairs = _pairs(self.config_args)
        if self.model_type in _causal_lm_types():
            defaults = _defaults(self.model_type)
            pairs = tuple((key, _coerce(value, _default_of(defaults, key), key)) for key, value in pairs)
        object.__setattr__(self, "config_args", pairs)

    def validate(self) -> None:
        super().validate()
        known = _causal_lm_types()
        if self.model_type not in known:
            raise ConfigError(
                f"HFCausalLMConfig.model_type must be a transformers causal-LM model type{did_you_mean(self.model_type, sorted(known))} "
                f"(tested here: {', '.join(TESTED_MODEL_TYPES)}; all {len(known)}: transformers.models.auto.modeling_auto.MODEL_FOR_CAUSAL_LM_MAPPING_NAMES), got {self.model_type!r}"
            )
        if _defaults(self.model_type).get("is_encoder_decoder"):
            raise ConfigError(f"HFCausalLMConfig.model_type {self.model_type!r} is an encoder-decoder model, not one causal sequence; use a model type tested here: {', '.join(TESTED_MODEL_TYPES)}")
        require(self.depth >= 1, self, "depth", "a positive integer", self.depth)
        require(self.width >= 1, self, "width", "a positive integer", self.width)
        require(self.heads >= 1, self, "heads", "a positive integer", self.heads)
        names = _size_names(self.model_type)
        if names["heads"]:
            require(self.width % self.heads == 0, self, "width", f"a positive multiple of heads={self.heads}", self.width)
        defaults = _defaults(self.model_type)
        own = [item.name for item in dataclasses.fields(self) if item.name != "config_args"]
        aliases = _attribute_map(self.model_type)
        for key, value in self.config_args:
            if key in RESERVED or key in names.values() or key in [aliases.get(name) for name in names.values() if name]:
                knob = next((k for k, v in names.items() if v and key in (v, aliases.get(v))), None)
                instead = f"use the {knob} knob" if knob else "the adapter sets it from the data"
                raise ConfigError(f"HFCausalLMConfig: {key!r} cannot be passed through to the {self.model_type} config ({instead})")
            if key not in defaults and not _consumed(self.model_type, key, value):
                raise ConfigError(
                    f"unknown knob {key!r} for HFCausalLMConfig: neither a knob of the adapter nor a key of the {self.model_type} config"
                    f"{did_you_mean(key, own + sorted(defaults) + _nested_keys(defaults))} (adapter knobs: {', '.join(own)})"
                )


class HFCausalLMAdapter(CausalLMAdapter):
    """Any transformers causal LM (Llama, Qwen2, Mistral, Mamba, ...) built from its config by model_type."""

    config_class = HFCausalLMConfig
    config: HFCausalLMConfig

    @classmethod
    def check_data(cls, config: HFCausalLMConfig, data: DataSpec) -> None:  # type: ignore[override]  # called with this class's config_class only
        """Build the model as configured and run one forward pass and a two-token generate(): errors come before training."""
        super().check_data(config, data)
        from transformers import AutoModelForCausalLM, GenerationConfig

        bos = data.num_symbols
        try:
            hf_config, _ = transformers_config(config, data)
            with torch.random.fork_rng(devices=[]), _quiet():
                model = AutoModelForCausalLM.from_config(hf_config).eval()
                prompt = torch.full((2, 2), bos, dtype=torch.long)
                with torch.no_grad():
                    logits = model(input_ids=prompt).logits
                    generation = GenerationConfig(do_sample=True, max_new_tokens=2, min_new_tokens=2, eos_token_id=None, pad_token_id=bos, bos_token_id=bos)
                    tokens = model.generate(prompt[:, :1], attention_mask=torch.ones_like(prompt[:, :1]), generation_config=generation)
            if tuple(logits.shape) != (2, 2, data.num_symbols + 1) or tuple(tokens.shape) != (2, 3):
                raise ValueError(f"logits {tuple(logits.shape)} and tokens {tuple(tokens.shape)} have unexpected shapes")
        except Exception as error:  # noqa: BLE001 - any failure inside transformers is the model type not working here
            reason = " ".join(f"{type(error).__name__}: {error}".split())[:300]
            raise ValueError(
                f"hf_causal_lm cannot run model_type={config.model_type!r} here at depth={config.depth}, width={config.width}, heads={config.heads} "
                f"({reason}); pass the config key it needs, or use a model type tested here: {', '.join(TESTED_MODEL_TYPES)}"
            ) from None

    def build_model(self) -> torch.nn.Module:
        from transformers import AutoModelForCausalLM

        hf_config, self.config_set = transformers_config(self.config, self.data)
        return AutoModelForCausalLM.from_config(hf_config)

    def architecture(self) -> str:
        return f"transformers.{type(self.model).__name__} from AutoConfig.for_model({self.config.model_type!r})"

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "transformers_config": dict(self.config_set)}


def transformers_config(config: HFCausalLMConfig, data: DataSpec) -> tuple[Any, dict[str, Any]]:
    """The transformers config for `config` on `data`, and the keys this adapter set on it (for records)."""
    from transformers import AutoConfig

    names = _size_names(config.model_type)
    settings: dict[str, Any] = {names["depth"]: config.depth, names["width"]: config.width}  # type: ignore[dict-item]  # _size_names raises where depth or width is None
    defaults = _defaults(config.model_type)
    if names["heads"]:
        settings[names["heads"]] = config.heads
        if "num_key_value_heads" in defaults:
            settings["num_key_value_heads"] = config.heads
    # Sizes the config fixes instead of deriving from the width (compare two widths) follow it here.
    narrow = AutoConfig.for_model(config.model_type, **settings)
    wide = AutoConfig.for_model(config.model_type, **{**settings, names["width"]: 2 * config.width})  # type: ignore[misc]  # as above: width is never None here
    for name in MLP_NAMES:
        if name in defaults and getattr(narrow, name) is not None and getattr(narrow, name) == getattr(wide, name):
            settings[name] = 4 * config.width
    if names["heads"] and "head_dim" in defaults and narrow.head_dim == wide.head_dim:
        settings["head_dim"] = config.width // config.heads
    settings.update(vocab_size=data.num_symbols + 1, bos_token_id=data.num_symbols, eos_token_id=None, pad_token_id=None)
    if "max_position_embeddings" in defaults:
        settings["max_position_embeddings"] = data.size + 1
    for name, value in defaults.items():
        if ("dropout" in name or "pdrop" in name) and isinstance(value, float):
            settings[name] = 0.0
    settings.update(config.config_args)
    return AutoConfig.for_model(config.model_type, **settings), settings


def _size_names(model_type: str) -> dict[str, str | None]:
    """Which attribute of `model_type`'s config each size knob sets (None: the model has no such size)."""
    defaults = _defaults(model_type)
    names = {knob: next((name for name in candidates if name in defaults), None) for knob, candidates in SIZE_NAMES.items()}
    for knob in ("depth", "width"):
        if names[knob] is None:
            raise ConfigError(f"HFCausalLMConfig: the {model_type} config has none of {', '.join(SIZE_NAMES[knob])} for {knob}; use a model type tested here: {', '.join(TESTED_MODEL_TYPES)}")
    return names


def _causal_lm_types() -> frozenset[str]:
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    return frozenset(MODEL_FOR_CAUSAL_LM_MAPPING_NAMES)


def _defaults(model_type: str) -> dict[str, Any]:
    """Every key of the default config of `model_type` (aliases in its attribute_map included) with its value."""
    from transformers import AutoConfig

    try:
        config = AutoConfig.for_model(model_type)
    except Exception as error:  # noqa: BLE001 - a config that cannot even be built at its defaults
        raise ConfigError(
            f"HFCausalLMConfig: the {model_type} config cannot be built here ({type(error).__name__}: {' '.join(str(error).split())[:200]}); "
            f"use a model type tested here: {', '.join(TESTED_MODEL_TYPES)}"
        ) from None
    values = config.to_dict()
    for alias, target in getattr(config, "attribute_map", {}).items():
        if target in values:
            values.setdefault(alias, values[target])
    values.setdefault("attn_implementation", None)  # not an attribute, but every config takes it
    return values


def _attribute_map(model_type: str) -> dict[str, str]:
    """The config's aliases: standard name → its own (GPT-2: hidden_size → n_embd)."""
    from transformers import AutoConfig

    return dict(getattr(AutoConfig.for_model(model_type), "attribute_map", {}))


def _nested_keys(defaults: Mapping[str, Any]) -> list[str]:
    """Keys inside the config's dict-valued defaults (rope_parameters: rope_theta, rope_type)."""
    nested = [value for name, value in defaults.items() if isinstance(value, Mapping) and name not in ("id2label", "label2id")]
    return sorted({key for value in nested for key in value if isinstance(key, str)})


def _default_of(defaults: Mapping[str, Any], key: str) -> Any:
    """The default of `key`, at the top level or inside a nested dict (rope_theta lives in rope_parameters)."""
    if key in defaults:
        return defaults[key]
    nested = [value[key] for name, value in defaults.items() if isinstance(value, Mapping) and name not in ("id2label", "label2id") and key in value]
    return nested[0] if nested else None


def _consumed(model_type: str, key: str, value: Any) -> bool:
    """Whether the config's constructor uses `key` (a legacy name such as rope_theta) rather than storing it as a stray attribute."""
    from transformers import AutoConfig

    try:
        return key not in AutoConfig.for_model(model_type, **{key: value}).to_dict()
    except Exception:  # noqa: BLE001 - it reached the constructor's checks, so the key means something; the smoke test reports the value
        return True


def _pairs(value: Any) -> tuple[tuple[str, Any], ...]:
    """A mapping or pairs (a JSON round trip gives lists) as sorted (key, value) pairs with hashable values."""
    items: Iterable[Any] = value.items() if isinstance(value, Mapping) else (value or ())
    pairs = {}
    for item in items:
        key, item_value = item
        pairs[str(key)] = _freeze(item_value)
    return tuple(sorted(pairs.items()))


def _freeze(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(item) for item in value)
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), _freeze(v)) for k, v in value.items()))
    return value


def _coerce(value: Any, default: Any, key: str) -> Any:
    """A CLI string as the type of the config's default for `key` (int, float, bool; a literal when the default is None)."""
    where = f"HFCausalLMConfig.config_args[{key!r}]"
    if not isinstance(value, str):
        return float(value) if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool) else value
    text, lowered = value.strip(), value.strip().lower()
    if isinstance(default, str):
        return value
    if isinstance(default, bool) or (default is None and lowered in ("true", "false")):
        if lowered not in _BOOLEANS:
            raise ConfigError(f"{where} must be true or false, got {value!r}")
        return _BOOLEANS[lowered]
    if isinstance(default, (int, float)):
        try:
            return type(default)(text)
        except ValueError:
            raise ConfigError(f"{where} must be {'an integer' if isinstance(default, int) else 'a number'} like the config's default {default!r}, got {value!r}") from None
    if default is None:
        if lowered in ("none", "null"):
            return None
        for kind in (int, float):
            with contextlib.suppress(ValueError):
                return kind(text)
        return value
    raise ConfigError(f"{where} is a {type(default).__name__} in the {key} default ({default!r}): give it as a list in a YAML sweep file, got {value!r}")


_BOOLEANS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}


@contextlib.contextmanager
def _quiet() -> Any:
    """transformers' one-time notices (slow CPU paths, cache warnings) stay out of the CLI's output."""
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            yield
    finally:
        hf_logging.set_verbosity(level)


__all__ = ["SIZE_NAMES", "MLP_NAMES", "RESERVED", "TESTED_MODEL_TYPES", "HFCausalLMConfig", "HFCausalLMAdapter", "transformers_config"]
