"""The task contract: an exact sampler of a rule's valid set and a vectorised verifier.

A task family is one file: a frozen config dataclass (knobs, `version`, `validate()`) and a `Task`
subclass registered with `@register_task("name")`. Samples are integer arrays `(n, *shape)` with
values in `[0, num_symbols)`; the protocol never needs anything beyond this class.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np

from benchmark.config import BaseConfig

SAMPLE_DTYPE = np.uint8  # compact storage; verifiers accept any integer dtype


class TaskConfig(BaseConfig):
    """Base of task configs; `version` is bumped whenever the same knobs would produce different data."""

    version: ClassVar[int] = 1


class Task(ABC):
    """A rule over fixed-shape symbol arrays. Subclasses set `config_class` and implement the abstract methods."""

    config_class: ClassVar[type[TaskConfig]]
    registered_name: ClassVar[str] = ""

    def __init__(self, config: TaskConfig | None = None) -> None:
        config = config if config is not None else self.config_class()
        if not isinstance(config, self.config_class):
            raise TypeError(f"{type(self).__name__} needs a {self.config_class.__name__}, got {type(config).__name__}")
        config.validate()
        self.config = config

    # --- what the rule looks like -------------------------------------------------------------
    @property
    @abstractmethod
    def shape(self) -> tuple[int, ...]:
        """Shape of one sample, e.g. (6, 6)."""

    @property
    def num_symbols(self) -> int:
        """Alphabet size: 2 for binary rules, k for k-symbol puzzles."""
        return 2

    @property
    @abstractmethod
    def complexity(self) -> float:
        """The knob that makes the rule harder (G for parity); the x-axis of τ_rule scaling fits."""

    @property
    def size(self) -> int:
        """Number of symbols in one sample."""
        return math.prod(self.shape)

    # --- sampler and verifier -----------------------------------------------------------------
    @abstractmethod
    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """`n` samples drawn uniformly from the valid set (uint8, shape `(n, *shape)`), deterministic in `rng`."""

    @abstractmethod
    def is_valid(self, x: np.ndarray) -> np.ndarray:
        """Vectorised verifier: bool[n], True where the sample satisfies every constraint."""

    @abstractmethod
    def constraint_satisfaction(self, x: np.ndarray) -> np.ndarray:
        """float[n]: the fraction of the rule's constraints each sample satisfies (group-level accuracy)."""

    @abstractmethod
    def num_valid(self) -> float:
        """Size of the valid set: exact where countable, else a documented estimate."""

    def chance_valid(self) -> float:
        """Probability that a uniformly random array of the right shape is valid."""
        return float(self.num_valid()) / float(self.num_symbols) ** self.size

    def key(self, x: np.ndarray) -> np.ndarray:
        """Canonical fixed-width bytes per sample (numpy `S` array) for exact-match hash lookup."""
        return sample_keys(x, self.num_symbols)

    # --- records ------------------------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        """JSON-able description for run records: name, knobs, version and the arithmetic of the rule."""
        return {
            "name": self.registered_name or type(self).__name__,
            "config": self.config.to_dict(),
            "version": self.config.version,
            "shape": list(self.shape),
            "num_symbols": self.num_symbols,
            "complexity": float(self.complexity),
            "num_valid": float(self.num_valid()),
            "chance_valid": float(self.chance_valid()),
        }

    def check_samples(self, x: np.ndarray) -> np.ndarray:
        """Validate an input array's shape and range; return it as a 2-D `(n, size)` integer view."""
        x = np.asarray(x)
        if x.shape[1:] != tuple(self.shape):
            raise ValueError(f"{type(self).__name__} expects samples of shape (n, {', '.join(map(str, self.shape))}), got {x.shape}")
        if not np.issubdtype(x.dtype, np.integer):
            raise ValueError(f"{type(self).__name__} expects integer symbols, got dtype {x.dtype}")
        return x.reshape(len(x), -1)


def sample_keys(x: np.ndarray, num_symbols: int) -> np.ndarray:
    """Pack each sample into fixed-width bytes: bits for binary alphabets, one byte per symbol otherwise."""
    x = np.asarray(x)
    flat = x.reshape(len(x), -1)
    if num_symbols <= 2:
        packed = np.packbits(flat.astype(np.uint8, copy=False), axis=1)
    else:
        packed = np.ascontiguousarray(flat.astype(np.uint8 if num_symbols <= 256 else np.uint16, copy=False))
    packed = np.ascontiguousarray(packed)
    width = packed.shape[1] * packed.itemsize
    # Fixed width makes numpy's stripping of trailing NUL bytes injective, so equality stays exact.
    return packed.view(f"S{width}").reshape(len(x))
