"""Per-eval metrics of a batch of generated samples: validity, memorization against a hashed training set, intervals.

Pure functions of arrays (no model, no files): `SampleMetrics.measure` turns M decoded samples into one row
of `metrics.jsonl`. Memorization is an exact match of canonical keys (`Task.key`) looked up in a `KeySet`
built once per run: O(M log N) with numpy for keys up to 8 bytes (every binary task up to 64 cells), a
Python hash set beyond — never an O(M·N) comparison.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from benchmark.stats import WILSON_Z, wilson_interval  # noqa: F401 - re-exported: callers import it from here

if TYPE_CHECKING:  # pragma: no cover
    from tasks.base import Task

# Binomial fractions: each gets a Wilson interval `<name>_ci`. `unique` (distinct/M) is not a binomial count, so it gets none.
FRACTIONS = ("valid", "mem", "control", "novel_valid")


class KeySet:
    """An immutable set of sample keys (`Task.key` output) with vectorised membership tests."""

    def __init__(self, keys: np.ndarray) -> None:
        keys = np.asarray(keys)
        if keys.dtype.kind != "S":
            raise TypeError(f"KeySet needs a numpy bytes (S) array from Task.key, got dtype {keys.dtype}")
        self.width = keys.dtype.itemsize
        self._sorted: np.ndarray | None = None
        self._hashed: frozenset[bytes] | None = None
        if self.width <= 8:
            self._sorted = np.unique(_as_uint64(keys))
        else:
            self._hashed = frozenset(keys.tolist())
        self.size = len(self._sorted) if self._sorted is not None else len(self._hashed or ())

    def __len__(self) -> int:
        return self.size

    def contains(self, keys: np.ndarray) -> np.ndarray:
        """bool[len(keys)]: True where a key is in the set."""
        keys = np.asarray(keys)
        if keys.dtype.itemsize != self.width or keys.dtype.kind != "S":
            raise ValueError(f"keys must be S{self.width} like the set's, got dtype {keys.dtype}")
        if self._sorted is not None:
            values = _as_uint64(keys)
            if len(self._sorted) == 0:
                return np.zeros(len(values), dtype=bool)
            index = np.searchsorted(self._sorted, values)
            return self._sorted[np.minimum(index, len(self._sorted) - 1)] == values
        hashed = self._hashed or frozenset()
        return np.fromiter((key in hashed for key in keys.tolist()), dtype=bool, count=len(keys))


def _as_uint64(keys: np.ndarray) -> np.ndarray:
    """Zero-pad fixed-width keys of ≤ 8 bytes into uint64 (injective: every key has the same width)."""
    width = keys.dtype.itemsize
    raw = np.ascontiguousarray(keys).view(np.uint8).reshape(len(keys), width)
    padded = np.zeros((len(keys), 8), dtype=np.uint8)
    padded[:, :width] = raw
    return padded.view(np.uint64).reshape(len(keys))


@dataclass(frozen=True)
class SampleMetrics:
    """What one eval measures, bound to a run's task, training set and control set."""

    task: Task
    train: KeySet
    control: KeySet

    @classmethod
    def for_sets(cls, task: Task, train: np.ndarray, control: np.ndarray) -> SampleMetrics:
        return cls(task, KeySet(task.key(train)), KeySet(task.key(control)))

    def measure(self, samples: np.ndarray) -> dict[str, Any]:
        """One eval row (without step, epoch, loss, wall time): fractions, their Wilson intervals, `mem_excess`."""
        total = len(samples)
        if total == 0:
            raise ValueError("cannot measure an empty batch of samples")
        keys = self.task.key(samples)
        valid = self.task.is_valid(samples)
        memorized = self.train.contains(keys)
        counts = {
            "valid": int(valid.sum()),
            "mem": int(memorized.sum()),
            "control": int(self.control.contains(keys).sum()),
            "novel_valid": int((valid & ~memorized).sum()),
            "unique": len(np.unique(keys)),
        }
        chance = float(self.task.chance_valid())
        row: dict[str, Any] = {
            "valid": counts["valid"] / total,
            "valid_norm": normalise_validity(counts["valid"] / total, chance),
            "constraints": float(np.mean(self.task.constraint_satisfaction(samples))),
            "mem": counts["mem"] / total,
            "control": counts["control"] / total,
        }
        row["mem_excess"] = row["mem"] - row["control"]
        row["novel_valid"] = counts["novel_valid"] / total
        row["unique"] = counts["unique"] / total
        for name in FRACTIONS:
            row[f"{name}_ci"] = list(wilson_interval(counts[name], total))
        low, high = row["valid_ci"]
        row["valid_norm_ci"] = [normalise_validity(low, chance), normalise_validity(high, chance)]
        return row


def normalise_validity(valid: float, chance: float) -> float:
    """(valid − chance)/(1 − chance): 0 at chance, 1 when every sample is valid, comparable across rule sizes."""
    if chance >= 1.0:
        return 1.0  # every array is valid: the rule is vacuous and validity carries no information
    return (valid - chance) / (1.0 - chance)
