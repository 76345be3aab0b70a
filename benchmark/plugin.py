"""Everything a plugin author needs, from one module: config base, registries, the task and adapter contracts and tiers, callbacks.

    from benchmark.plugin import EDMAdapter, EDMConfig, register_adapter, require

Importing it imports torch (the adapter tiers are torch modules). The names here are the public, stable plugin API of 1.x.
"""

from __future__ import annotations

from adapters import (
    CausalLMAdapter,
    EDMAdapter,
    EDMConfig,
    MaskedDiffusionAdapter,
    MaskedDiffusionConfig,
    NetworkConfig,
    TorchAdapter,
    register_adapter,
)
from benchmark.core.adapter import Adapter, AdapterConfig, DataSpec, Denoiser, Exportable
from benchmark.core.config import BaseConfig, ConfigError, require
from benchmark.core.registry import Registry, RegistryError
from benchmark.core.task import SAMPLE_DTYPE, GridTask, Task, TaskConfig
from benchmark.report.trackers import register_callback
from benchmark.run.callbacks import Callback
from tasks import register_task

__all__ = [
    "SAMPLE_DTYPE",
    "Adapter",
    "AdapterConfig",
    "BaseConfig",
    "Callback",
    "CausalLMAdapter",
    "ConfigError",
    "DataSpec",
    "Denoiser",
    "EDMAdapter",
    "EDMConfig",
    "Exportable",
    "GridTask",
    "MaskedDiffusionAdapter",
    "MaskedDiffusionConfig",
    "NetworkConfig",
    "Registry",
    "RegistryError",
    "Task",
    "TaskConfig",
    "TorchAdapter",
    "register_adapter",
    "register_callback",
    "register_task",
    "require",
]
