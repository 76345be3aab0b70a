"""Per-eval metrics of a batch of generated samples: validity, copies and near-copies of the training set, intervals.

Pure functions of arrays (no model, no files): `SampleMetrics.measure` turns M decoded samples into one row
of `metrics.jsonl`. A copy is a sample at Hamming distance 0 from a training sample (the same array after
decoding), a near-copy one at distance 1…d; distances come from `benchmark.run.neighbours` (packed bits, XOR,
popcount, vectorised). `KeySet` (exact-match lookup of canonical keys, O(M log N)) serves the data draws.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from benchmark.run.neighbours import HammingIndex

if TYPE_CHECKING:  # pragma: no cover
    from benchmark.core.task import Task

WILSON_Z = 1.959963984540054  # two-sided 95 %


def wilson_interval(successes: np.ndarray | float, total: int, z: float = WILSON_Z) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion: sensible at 0 and 1, where the normal interval collapses."""
    if total <= 0:
        raise ValueError(f"total must be positive, got {total}")
    p = float(successes) / total
    z2 = z * z
    denominator = 1.0 + z2 / total
    centre = (p + z2 / (2 * total)) / denominator
    half = z / denominator * math.sqrt(p * (1.0 - p) / total + z2 / (4.0 * total * total))
    return max(0.0, centre - half), min(1.0, centre + half)


# Binomial fractions: each gets a Wilson interval `<name>_ci`. `unique` (distinct/M) is not a binomial count, so it gets none.
FRACTIONS = ("valid", "mem", "control", "near", "novel_valid")
# Fields that need a training set: null in stream mode (recorded as not applicable, never as 0).
TRAINING_SET_FIELDS = ("mem", "control", "mem_excess", "near", "near_control", "near_excess", "copy_excess_near", "nearest_train", "nearest_control")


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


NEAREST_BINS = 5  # `nearest_train` / `nearest_control`: fractions at distance 0, 1, 2, 3 and ≥ 4 cells


@dataclass(frozen=True)
class SampleMetrics:
    """What one eval measures, bound to a run's task, training set and control set (none in stream mode).

    Copies are samples equal to a training sample; near-copies differ from one in 1…`near_distance`
    cells; non-copies are neither. `noncopy_valid` (q in benchmark/PROTOCOL.md) is the validity of the
    non-copies: copying cannot raise it, so the rule clock is read on it. It is undefined (null) when
    fewer than `min_noncopy` non-copies are left to measure it on.
    """

    task: Task
    train: HammingIndex | None  # None: stream mode, no training set to copy
    control: HammingIndex | None
    near_distance: int
    min_noncopy: int

    @classmethod
    def for_sets(cls, task: Task, train: np.ndarray | None, control: np.ndarray | None, *, near_distance: int = 1, min_noncopy: int = 64) -> SampleMetrics:
        def index(samples: np.ndarray | None) -> HammingIndex | None:
            return None if samples is None else HammingIndex(samples, task.num_symbols)

        return cls(task, index(train), index(control), near_distance, min_noncopy)

    def measure(self, samples: np.ndarray) -> dict[str, Any]:
        """One eval row (without step, epoch, loss, wall time): fractions, their Wilson intervals, the clock curves."""
        total = len(samples)
        if total == 0:
            raise ValueError("cannot measure an empty batch of samples")
        task, chance = self.task, float(self.task.chance_valid())
        valid = task.is_valid(samples)
        constraints = np.asarray(task.constraint_satisfaction(samples), dtype=float)
        row: dict[str, Any] = {
            "samples": total,
            "valid": valid.sum() / total,
            "valid_norm": normalise_validity(valid.sum() / total, chance),
            "constraints": float(constraints.mean()),
            "unique": len(np.unique(task.key(samples))) / total,
        }
        counts = {"valid": int(valid.sum())}
        if self.train is None or self.control is None:  # stream: nothing to copy, every sample is new
            noncopy = np.ones(total, dtype=bool)
            row.update(dict.fromkeys(TRAINING_SET_FIELDS))
            row["novel_valid"] = row["valid"]
            counts["novel_valid"] = counts["valid"]
        else:
            to_train, to_control = self.train.nearest(samples), self.control.nearest(samples)
            copy, copy_control = to_train == 0, to_control == 0
            near = (to_train >= 1) & (to_train <= self.near_distance)
            near_control = (to_control >= 1) & (to_control <= self.near_distance)
            noncopy = ~copy & ~near
            counts.update(mem=int(copy.sum()), control=int(copy_control.sum()), near=int(near.sum()), novel_valid=int((valid & ~copy).sum()))
            row.update(
                mem=counts["mem"] / total,
                control=counts["control"] / total,
                mem_excess=(counts["mem"] - counts["control"]) / total,
                near=counts["near"] / total,
                near_control=int(near_control.sum()) / total,
                novel_valid=counts["novel_valid"] / total,
                nearest_train=_histogram(to_train, total),
                nearest_control=_histogram(to_control, total),
            )
            row["near_excess"] = row["near"] - row["near_control"]
            row["copy_excess_near"] = float((copy | near).sum() - (copy_control | near_control).sum()) / total
        kept = int(noncopy.sum())
        row["noncopy"] = kept / total
        row["noncopy_count"] = kept
        if kept >= self.min_noncopy:
            kept_valid = int((valid & noncopy).sum())
            low, high = wilson_interval(kept_valid, kept)
            row["noncopy_valid"] = kept_valid / kept
            row["noncopy_valid_norm"] = normalise_validity(kept_valid / kept, chance)
            row["noncopy_valid_norm_ci"] = [normalise_validity(low, chance), normalise_validity(high, chance)]
            row["noncopy_constraints"] = float(constraints[noncopy].mean())
        else:
            row.update(noncopy_valid=None, noncopy_valid_norm=None, noncopy_valid_norm_ci=None, noncopy_constraints=None)
        for name in FRACTIONS:
            row[f"{name}_ci"] = list(wilson_interval(counts[name], total)) if name in counts else None
        low, high = row["valid_ci"]
        row["valid_norm_ci"] = [normalise_validity(low, chance), normalise_validity(high, chance)]
        row["valid"] = float(row["valid"])
        return row


def _histogram(distances: np.ndarray, total: int) -> list[float]:
    """Fractions of samples whose nearest reference is 0, 1, 2, 3 or ≥ 4 cells away."""
    return (np.bincount(np.minimum(distances, NEAREST_BINS - 1), minlength=NEAREST_BINS) / total).tolist()


def normalise_validity(valid: float, chance: float) -> float:
    """(valid − chance)/(1 − chance): 0 at chance, 1 when every sample is valid, comparable across rule sizes."""
    if chance >= 1.0:
        return 1.0  # every array is valid: the rule is vacuous and validity carries no information
    return (valid - chance) / (1.0 - chance)


__all__ = ["WILSON_Z", "wilson_interval", "FRACTIONS", "TRAINING_SET_FIELDS", "KeySet", "NEAREST_BINS", "SampleMetrics", "normalise_validity"]
