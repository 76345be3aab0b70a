"""Eval schedules: the training steps at which the protocol samples the model and reads its curves.

Every schedule starts at step 0 (the untrained model), ends at `max_steps`, and has `points` distinct
integer steps after 0 (fewer only when `max_steps < points`: then every step is evaluated). The log
schedule is a geometric sequence ending at `max_steps` whose first gap is one step: the earliest point
is as early as distinctness allows, and no eval is wasted on rounding collisions near step 1.
"""

from __future__ import annotations

import numpy as np

from benchmark.run.spec import EVAL_SCHEDULES


def eval_steps(max_steps: int, points: int, schedule: str = "log") -> np.ndarray:
    """Sorted distinct int64 eval steps: 0, then `points` steps up to and including `max_steps`."""
    if max_steps < 1 or points < 1:
        raise ValueError(f"max_steps and points must be positive, got {max_steps} and {points}")
    if schedule not in EVAL_SCHEDULES:
        raise ValueError(f"schedule must be one of {', '.join(EVAL_SCHEDULES)}, got {schedule!r}")
    if points >= max_steps:
        after_zero = np.arange(1, max_steps + 1, dtype=np.int64)
    elif schedule == "linear":
        after_zero = _round_half_up(np.linspace(0, max_steps, points + 1)[1:])
    else:
        after_zero = _distinct(_round_half_up(np.geomspace(_log_start(max_steps, points), max_steps, points)), max_steps)
    return np.concatenate([[0], after_zero]).astype(np.int64)


def _log_start(max_steps: int, points: int) -> float:
    """Smallest start s ≥ 1 whose geometric sequence to `max_steps` has a first gap ≥ 1 (so rounding keeps points distinct).

    The first gap g(s) = s·((max/s)^(1/(P−1)) − 1) rises from s = 1 to a peak, then falls to 0 at s = max;
    we bisect on the rising side. If even the peak is below 1, no geometric sequence fits and we start at 1
    (`_distinct` then spaces the early points one step apart).
    """
    if points == 1:
        return float(max_steps)
    alpha = 1.0 / (points - 1)

    def first_gap(start: float) -> float:
        return start * ((max_steps / start) ** alpha - 1.0)

    peak = min(max(max_steps * (1.0 - alpha) ** (1.0 / alpha), 1.0), float(max_steps))
    if first_gap(1.0) >= 1.0 or first_gap(peak) < 1.0:
        return 1.0
    low, high = 1.0, peak
    for _ in range(100):
        middle = 0.5 * (low + high)
        low, high = (low, middle) if first_gap(middle) >= 1.0 else (middle, high)
    return high


def _round_half_up(values: np.ndarray) -> np.ndarray:
    """Round to the nearest integer with halves up (np.round's banker's rounding could merge neighbours)."""
    return np.floor(values + 0.5).astype(np.int64)


def _distinct(steps: np.ndarray, max_steps: int) -> np.ndarray:
    """Force strictly increasing steps in [1, max_steps] ending at max_steps: each at least one past the last."""
    count = len(steps)
    floor = np.arange(1, count + 1)  # the i-th point (0-based) can be no earlier than step i + 1
    ceiling = max_steps - np.arange(count - 1, -1, -1)  # and must leave room for the points after it
    steps = np.clip(steps, floor, ceiling)
    steps = np.maximum.accumulate(steps - np.arange(count)) + np.arange(count)  # one step apart at least
    return np.minimum(steps, ceiling)


__all__ = ["eval_steps"]
