"""Reading the two clocks off a training curve: pure functions of (steps, values) arrays, no model needed.

A clock fires at the first eval that starts a run of `hold` consecutive evals at or above the threshold
(a one-eval blip never fires it). Its step is interpolated linearly in log10(step) between the last eval
below and that first eval at/above; when the eval below is step 0 (where log-step has no finite value)
the clock is the first eval at/above. A clock that never fires is right-censored at the last step seen:
the true value is larger, never NaN or zero. See benchmark/PROTOCOL.md for the reasons.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np

from benchmark.records import Clock, Window

CLOCK_METRICS = {"tau_rule": "valid_norm", "tau_mem": "mem_excess", "tau_mem_strong": "mem_excess"}


def first_held_index(values: Sequence[float] | np.ndarray, threshold: float, hold: int) -> int | None:
    """Index of the first eval starting `hold` consecutive evals with value ≥ threshold; None if there is none."""
    if hold < 1:
        raise ValueError(f"hold must be a positive integer, got {hold}")
    above = np.asarray(values, dtype=float) >= threshold  # NaN counts as below
    if len(above) < hold:
        return None
    runs = np.convolve(above.astype(np.int64), np.ones(hold, dtype=np.int64), mode="valid")  # evals above in each window
    starts = np.flatnonzero(runs == hold)
    return int(starts[0]) if starts.size else None


def crossing_step(steps: np.ndarray, values: np.ndarray, threshold: float, index: int) -> float:
    """Step where the curve crosses `threshold` between eval `index − 1` (below) and eval `index` (at/above), in log-step."""
    steps = np.asarray(steps, dtype=float)
    values = np.asarray(values, dtype=float)
    if index == 0 or steps[index - 1] <= 0:
        return float(steps[index])
    below, above = values[index - 1], values[index]
    if not below < threshold <= above:
        raise ValueError(f"eval {index - 1} must be below and eval {index} at/above {threshold}, got {below} and {above}")
    fraction = (threshold - below) / (above - below)
    if fraction >= 1.0:
        return float(steps[index])  # exactly at the threshold on the eval: no rounding error from the logs
    return float(steps[index - 1] * (steps[index] / steps[index - 1]) ** fraction)  # linear in log(step)


def read_clock(
    steps: Sequence[float] | np.ndarray,
    values: Sequence[float] | np.ndarray,
    threshold: float,
    hold: int,
    *,
    metric: str,
    batch_size: int,
    n_train: int,
) -> Clock:
    """The clock of one curve: interpolated crossing step, or censored at the last step evaluated."""
    steps = np.asarray(steps, dtype=float)
    values = np.asarray(values, dtype=float)
    if steps.shape != values.shape or steps.ndim != 1 or len(steps) == 0:
        raise ValueError(f"steps and values must be equal-length non-empty 1-D arrays, got {steps.shape} and {values.shape}")
    if np.any(np.diff(steps) <= 0):
        raise ValueError("eval steps must be strictly increasing")
    index = first_held_index(values, threshold, hold)
    censored = index is None
    step = float(steps[-1]) if index is None else crossing_step(steps, values, threshold, index)
    return Clock(step=step, censored=censored, epoch=to_epochs(step, batch_size, n_train), metric=metric, threshold=float(threshold))


def to_epochs(step: float, batch_size: int, n_train: int) -> float:
    """Steps to epochs (passes over the N training samples): the axis on which τ_mem is expected to be flat."""
    return float(step) * batch_size / n_train


def read_window(rule: Clock, mem: Clock) -> Window:
    """The innovation window [τ_rule, τ_mem]: open, vanished or censored, with bounds where a clock is censored."""
    if not mem.censored and not rule.censored:
        steps = mem.step - rule.step
        log_window = math.log10(max(mem.step, 1.0) / max(rule.step, 1.0))
        status = "open" if rule.step < mem.step else "vanished"
        return Window(status=status, steps=steps, log_window=log_window, lower=None, upper=None)
    if not mem.censored:
        # Memorization fired but the rule never did: τ_rule > last step ≥ τ_mem, so the window is below τ_mem − last.
        return Window(status="vanished", steps=None, log_window=None, lower=None, upper=mem.step - rule.step)
    if not rule.censored:
        # The rule fired and memorization not yet: τ_mem > last step, so the window is at least last − τ_rule.
        return Window(status="censored", steps=None, log_window=None, lower=mem.step - rule.step, upper=None)
    return Window(status="censored", steps=None, log_window=None, lower=None, upper=None)


def read_clocks(rows: Sequence[Mapping[str, Any]], protocol: Any, *, batch_size: int, n_train: int) -> dict[str, Any]:
    """τ_rule, τ_mem, τ_mem_strong (Clock) and the window (Window) from eval rows under `protocol`'s thresholds."""
    steps = np.array([row["step"] for row in rows], dtype=float)
    thresholds = {"tau_rule": protocol.theta_rule, "tau_mem": protocol.theta_mem, "tau_mem_strong": protocol.theta_mem_strong}
    clocks: dict[str, Any] = {}
    for name, metric in CLOCK_METRICS.items():
        values = np.array([row[metric] for row in rows], dtype=float)
        clocks[name] = read_clock(
            steps, values, thresholds[name], protocol.hold, metric=metric, batch_size=batch_size, n_train=n_train
        )
    clocks["window"] = read_window(clocks["tau_rule"], clocks["tau_mem"])
    return clocks
