"""The adapter contract, re-exported where adapters have always imported it (it lives in `benchmark.core.adapter`)."""

from benchmark.core.adapter import Adapter, AdapterConfig, DataSpec, Denoiser, Exportable, resolve_device

__all__ = ["Adapter", "AdapterConfig", "DataSpec", "Denoiser", "Exportable", "resolve_device"]
