"""The adapter contract: the only way the protocol talks to a generative model.

An adapter is built from the data's description (`DataSpec`: shape, number of symbols), its own
validated config, a seed and a device; the task itself is passed too, for reference baselines that
need it (a real model must not use it). Heavy libraries (diffusers, transformers) are imported
inside the adapter, never at module import, so `python -m benchmark list` stays instant.
"""

from __future__ import annotations

import inspect
import math
import os
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

import torch

from benchmark.core.config import BaseConfig, ConfigError, require

if TYPE_CHECKING:  # pragma: no cover
    from benchmark.core.task import Task


@dataclass(frozen=True)
class DataSpec:
    """What an adapter may know about the data: the shape of one sample and the alphabet size."""

    shape: tuple[int, ...]
    num_symbols: int

    @property
    def size(self) -> int:
        return math.prod(self.shape)


@dataclass(frozen=True)
class AdapterConfig(BaseConfig):
    """Base of adapter configs: every adapter has a batch size (the protocol draws batches of it)."""

    batch_size: int = field(default=64, metadata={"help": "training batch size", "max": 2**20})

    def validate(self) -> None:
        super().validate()
        require(self.batch_size >= 1, self, "batch_size", "a positive integer", self.batch_size)


class Adapter(ABC):
    """A generative model under test: one optimiser step at a time, unconditional samples as symbols."""

    config_class: ClassVar[type[AdapterConfig]] = AdapterConfig
    registered_name: ClassVar[str] = ""

    def __init__(
        self,
        config: AdapterConfig,
        data: DataSpec,
        *,
        seed: int = 0,
        device: str | torch.device = "cpu",
        task: Task | None = None,
    ) -> None:
        config.validate()
        require_classmethod_check_data(type(self))
        type(self).check_data(config, data)
        self.config = config
        self.data = data
        self.seed = seed
        self.device = resolve_device(device)
        self.task = task

    @classmethod  # noqa: B027 - a hook: the default accepts any data
    def check_data(cls, config: AdapterConfig, data: DataSpec) -> None:
        """Refuse data this adapter cannot model (ValueError saying what would work); needs no model.

        Called by `__init__` and, before anything trains, by the sweep's plan (`benchmark.sweep.plan`, also on `--dry-run`).
        """

    @property
    def batch_size(self) -> int:
        return self.config.batch_size

    @abstractmethod
    def train_step(self, batch: torch.Tensor) -> float:
        """One optimiser step on a LongTensor batch `(B, *shape)` of symbols; returns the training loss."""

    @abstractmethod
    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """`n` unconditional samples, LongTensor `(n, *shape)` on the CPU, deterministic in the CPU `generator`."""

    @abstractmethod
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume bit-identically: model, optimiser, EMA and RNG state."""

    @abstractmethod
    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what `state_dict()` returned."""

    def num_parameters(self) -> int:
        """Trainable parameter count (0 for baselines without a network)."""
        return 0

    def describe(self) -> dict[str, Any]:
        """JSON-able description for records: architecture, sizes, which weights are sampled."""
        return {
            "name": self.registered_name or type(self).__name__,
            "config": self.config.to_dict(),
            "num_parameters": self.num_parameters(),
        }


@runtime_checkable
class Denoiser(Protocol):
    """Optional capability of diffusion adapters, used by the basin analysis (`benchmark.analysis.basins`).

    `encode` maps symbols to the model's clean continuous space, `decode` maps back, and `denoise`
    integrates the probability-flow ODE deterministically from noise level σ down to σ = 0 and decodes.
    """

    def encode(self, symbols: torch.Tensor) -> torch.Tensor: ...

    def decode(self, values: torch.Tensor) -> torch.Tensor: ...

    def denoise(self, noisy: torch.Tensor, sigma: float) -> torch.Tensor: ...


@runtime_checkable
class Exportable(Protocol):
    """Optional capability of adapters whose model can leave the suite (`python -m benchmark export`).

    `export` writes the sampled weights into `directory` in the model library's own format
    (`save_pretrained`, so that the library's `from_pretrained` loads them) with whatever sampling
    needs beside them, and returns a JSON-able description: at least `library` and `class`.
    """

    def export(self, directory: str | os.PathLike[str]) -> dict[str, Any]: ...


def require_classmethod_check_data(adapter_class: type[Adapter], name: str = "") -> None:
    """Refuse an adapter whose `check_data` is the 0.1 instance method `check_data(self, data)`: one line naming the fix.

    Since 1.0 the hook is a classmethod (checked before any model is built); the 0.1 form would die in a TypeError.
    """
    for owner in adapter_class.__mro__:
        method = owner.__dict__.get("check_data")
        if method is None:
            continue
        if inspect.isfunction(method):  # a plain function in the class body: an instance method
            label = f"adapter {name!r} ({owner.__module__}.{owner.__qualname__})" if name else f"adapter {owner.__module__}.{owner.__qualname__}"
            raise ConfigError(
                f"{label}: check_data(self, data) is the 0.1 form; since 1.0 check_data is a classmethod: "
                "write `@classmethod def check_data(cls, config, data)` and call `super().check_data(config, data)`"
            )
        return


def resolve_device(device: str | torch.device) -> torch.device:
    """`"auto"` picks CUDA when present, else CPU; anything else is passed to `torch.device`."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError as error:
        raise ValueError(f"device must be auto, cpu, cuda or cuda:N, got {device!r}") from error
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} was requested but CUDA is not available (use device=auto or cpu)")
    return resolved


__all__ = ["DataSpec", "AdapterConfig", "Adapter", "Denoiser", "Exportable", "require_classmethod_check_data", "resolve_device"]
