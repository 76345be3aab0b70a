"""The training and control sets of a run, drawn from the task's exact sampler at seeds derived from the run seed.

Training set: N *distinct* valid samples (duplicates are redrawn), so N is exactly the number of things
there are to memorize and a uniform sampler of the valid set hits one with probability N/|valid|.
Control set: N further distinct valid samples, disjoint from the training set when the valid set holds at
least 2N samples; otherwise (tiny valid sets, e.g. 4×4 Sudoku) N distinct samples drawn independently of
the training set. Either way `control` measures what a sampler of the valid set that never saw the
training data scores on `mem`; see benchmark/PROTOCOL.md.
"""

from __future__ import annotations

import math
import zlib
from typing import TYPE_CHECKING

import numpy as np

from benchmark.core.config import ConfigError
from benchmark.run.metrics import KeySet

if TYPE_CHECKING:  # pragma: no cover
    from benchmark.core.task import Task

MAX_DRAWS_PER_SAMPLE = 100  # coupon collecting a valid set of size V takes about V·ln V draws: 100 covers V < e^100
MIN_DRAW = 256  # a small top-up batch still draws at least this many, so a near-full set needs few rounds


def derived_seed(seed: int, stream: str) -> int:
    """A 63-bit seed for the named stream ("train", "control", "batches", "adapter"), independent across streams."""
    state = np.random.SeedSequence([seed, zlib.crc32(stream.encode())]).generate_state(1, dtype=np.uint64)[0]
    return int(state >> np.uint64(1))


def check_n_train(task: Task, n_train: int) -> None:
    """N distinct training samples need a valid set of at least N: fail before anything is drawn or trained."""
    name = getattr(task, "registered_name", "") or type(task).__name__
    try:
        num_valid = float(task.num_valid())
    except OverflowError:  # records hold the count as a float
        digits = math.floor(math.log10(task.num_valid()))
        raise ConfigError(f"task {name!r} has about 10^{digits} valid samples, more than a record can hold (at most 1.8e308): choose a smaller shape") from None
    if n_train > num_valid:
        raise ConfigError(f"n_train must be at most the number of valid samples of task {name!r} ({num_valid:.6g}), got {n_train}")


def draw_distinct(task: Task, n: int, rng: np.random.Generator, exclude: KeySet | None = None) -> np.ndarray:
    """`n` distinct samples from `task.sample`, in first-drawn order, none of them in `exclude`."""
    kept: list[np.ndarray] = []
    kept_keys: np.ndarray | None = None
    have, drawn, limit = 0, 0, MAX_DRAWS_PER_SAMPLE * n + 10 * MIN_DRAW
    while have < n:
        size = max(n - have, MIN_DRAW) if have else n
        if drawn + size > limit:
            raise ConfigError(f"could not draw {n} distinct valid samples in {drawn} draws (have {have}): the valid set is too small for this n_train")
        batch = task.sample(size, rng)
        drawn += size
        keys = task.key(batch)
        _, first = np.unique(keys, return_index=True)
        first.sort()  # keep first occurrences, in the order they were drawn
        fresh = first if kept_keys is None else first[~np.isin(keys[first], kept_keys)]
        if exclude is not None:
            fresh = fresh[~exclude.contains(keys[fresh])]
        fresh = fresh[: n - have]
        kept.append(batch[fresh])
        kept_keys = keys[fresh] if kept_keys is None else np.concatenate([kept_keys, keys[fresh]])
        have += len(fresh)
    return np.concatenate(kept)


def draw_sets(task: Task, n_train: int, seed: int) -> tuple[np.ndarray, np.ndarray, bool]:
    """(training set, control set, whether the control set is disjoint from the training set)."""
    check_n_train(task, n_train)
    train = draw_distinct(task, n_train, np.random.default_rng(derived_seed(seed, "train")))
    disjoint = float(task.num_valid()) >= 2 * n_train
    exclude = KeySet(task.key(train)) if disjoint else None
    control = draw_distinct(task, n_train, np.random.default_rng(derived_seed(seed, "control")), exclude)
    return train, control, disjoint


__all__ = ["MAX_DRAWS_PER_SAMPLE", "MIN_DRAW", "derived_seed", "check_n_train", "draw_distinct", "draw_sets"]
