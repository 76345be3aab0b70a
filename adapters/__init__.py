"""The registry of adapters. `adapters.build("gpt", data, depth=4)` builds one; `adapters.names()` lists them.

Bundled adapters are registered lazily as `"module:Class"` strings; third-party adapters arrive through
the entry-point group `two_clocks.adapters` or as `"package.module:Class"` strings in configs.

Four ways to write one, most help first (README, "Adapters"): a network on a tier — `CausalLMAdapter`
(next-token models), `EDMAdapter` (continuous diffusion), `MaskedDiffusionAdapter` (absorbing-state
discrete diffusion) — or on `TorchAdapter` (any torch network and loss), or the raw `Adapter` contract.
"""

from __future__ import annotations

from typing import Any

from adapters.causal_lm import CausalLMAdapter
from adapters.edm import EDMAdapter, EDMConfig
from adapters.masked_diffusion import MaskedDiffusionAdapter, MaskedDiffusionConfig
from adapters.torch_adapter import NetworkConfig, TorchAdapter
from benchmark.core.adapter import Adapter, AdapterConfig, DataSpec, Denoiser, resolve_device
from benchmark.core.config import build_config
from benchmark.core.registry import Registry, RegistryError
from benchmark.core.task import Task

ADAPTERS: Registry[type[Adapter]] = Registry("adapter", entry_point_group="two_clocks.adapters")

register_adapter = ADAPTERS.register

# Bundled adapters: name -> "module:Class", imported on first use.
ADAPTERS.register("memorizer", "adapters.baselines:MemorizerAdapter")
ADAPTERS.register("oracle", "adapters.baselines:OracleAdapter")
ADAPTERS.register("uniform", "adapters.baselines:UniformAdapter")
ADAPTERS.register("dit", "adapters.dit:DiTAdapter")
ADAPTERS.register("gpt", "adapters.gpt:GPTAdapter")
ADAPTERS.register("hf_causal_lm", "adapters.hf_causal_lm:HFCausalLMAdapter")
ADAPTERS.register("unet", "adapters.unet:UNetAdapter")
ADAPTERS.register("mdlm", "adapters.mdlm:MDLMAdapter")


def get_class(name: str) -> type[Adapter]:
    """The adapter class for `name` (registered name, plugin, or `"module:Class"`)."""
    adapter_class = ADAPTERS.get(name)
    if not (isinstance(adapter_class, type) and issubclass(adapter_class, Adapter)):
        raise RegistryError(f"{name!r} resolved to {adapter_class!r}, which is not an adapters.Adapter subclass")
    return adapter_class


def make_config(name: str, **knobs: Any) -> AdapterConfig:
    """The validated config of adapter `name` built from `knobs` (strings are coerced)."""
    return build_config(get_class(name).config_class, knobs)


def build(name: str, data: DataSpec, *, seed: int = 0, device: str = "cpu", task: Task | None = None, **knobs: Any) -> Adapter:
    """Build adapter `name` for `data` with validated `knobs`."""
    adapter_class = get_class(name)
    return adapter_class(build_config(adapter_class.config_class, knobs), data, seed=seed, device=device, task=task)


def names() -> list[str]:
    """Every registered adapter name, plugins included."""
    return ADAPTERS.names()


__all__ = [
    "ADAPTERS",
    "Adapter",
    "AdapterConfig",
    "CausalLMAdapter",
    "DataSpec",
    "Denoiser",
    "EDMAdapter",
    "EDMConfig",
    "MaskedDiffusionAdapter",
    "MaskedDiffusionConfig",
    "NetworkConfig",
    "TorchAdapter",
    "build",
    "get_class",
    "make_config",
    "names",
    "register_adapter",
    "resolve_device",
]
