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

from benchmark.core.config import BaseConfig

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
        """Size of the valid set: exact (a Python int) where countable, else a documented estimate."""

    def chance_valid(self) -> float:
        """Probability that a uniformly random array of the right shape is valid (log-space: no overflow)."""
        count = self.num_valid()
        if count <= 0:
            return 0.0
        return math.exp(math.log(count) - self.size * math.log(self.num_symbols))

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
        return x.reshape(len(x), self.size)

    def as_symbols(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """`(n, size)` uint8 symbols with out-of-range cells set to 0, and the out-of-range cell mask (None if none).

        Verifiers treat a sample with any symbol outside `[0, num_symbols)` as invalid; the common
        in-range case costs one global min/max pass and no copy for uint8 input.
        """
        flat = self.check_samples(x)
        bad = out_of_range(flat, self.num_symbols)
        if bad is not None:
            flat = np.where(bad, 0, flat)
        return np.ascontiguousarray(flat.astype(SAMPLE_DTYPE, copy=False)), bad


def out_of_range(flat: np.ndarray, num_symbols: int) -> np.ndarray | None:
    """Boolean mask of cells outside `[0, num_symbols)`, or None when every cell is in range (the fast path)."""
    if flat.size == 0:
        return None
    low_ok = flat.dtype.kind == "u" or int(flat.min()) >= 0
    if low_ok and int(flat.max()) < num_symbols:
        return None
    return (flat < 0) | (flat >= num_symbols)


class GridTask(Task):
    """A height×width binary grid whose rule complexity is the knob G (configs with `height`, `width`, `G`)."""

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.config.height, self.config.width)  # type: ignore[attr-defined]  # grid configs have height and width; TaskConfig does not

    @property
    def complexity(self) -> float:
        return float(self.config.G)  # type: ignore[attr-defined]  # as above: grid configs have G


def sample_keys(x: np.ndarray, num_symbols: int) -> np.ndarray:
    """Pack each sample into fixed-width bytes: bits for binary alphabets, one byte per symbol otherwise.

    A sample with a symbol outside `[0, num_symbols)` gets one extra trailing byte 0x01, so it can never
    equal the key of an in-range sample (in-range keys in that batch get a trailing NUL, which numpy
    ignores when comparing `S` strings): a malformed generation is never counted as a copy.
    """
    x = np.asarray(x)
    flat = x.reshape(len(x), math.prod(x.shape[1:]))
    bad = out_of_range(flat, num_symbols)
    if bad is not None:
        flat = np.where(bad, 0, flat)
    if num_symbols <= 2:
        packed = np.packbits(flat.astype(np.uint8, copy=False), axis=1)
    else:
        packed = flat.astype(np.uint8 if num_symbols <= 256 else np.uint16, copy=False)
    packed = np.ascontiguousarray(packed)
    packed = packed.view(np.uint8).reshape(len(flat), packed.shape[1] * packed.itemsize)
    if bad is not None:
        packed = np.concatenate([packed, bad.any(axis=1, keepdims=True).astype(np.uint8)], axis=1)
    width = packed.shape[1]
    # Fixed width makes numpy's stripping of trailing NUL bytes injective, so equality stays exact.
    return np.ascontiguousarray(packed).view(f"S{max(width, 1)}").reshape(len(x))


__all__ = ["SAMPLE_DTYPE", "TaskConfig", "Task", "out_of_range", "GridTask", "sample_keys"]
