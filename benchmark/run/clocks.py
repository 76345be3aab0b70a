"""Reading the clocks off a training curve: pure functions of (steps, values) arrays, no model needed.

A clock fires at the first eval that starts a run of `hold` consecutive evals at or above the threshold
(a one-eval blip never fires it; an undefined value counts as below). Its step is interpolated linearly
in log10(step) between the last eval below and that first eval at/above; when the eval below is step 0
(where log-step has no finite value) or its value is undefined, the clock is the first eval at/above.
A clock that never fires is right-censored at the last step seen: the true value is larger, never NaN
or zero. A clock whose curve does not exist for the run (τ_mem of a stream run) is not applicable.
See benchmark/PROTOCOL.md for the reasons.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from benchmark.core.records import Clock, Window

if TYPE_CHECKING:  # annotations only
    from benchmark.run.spec import ProtocolConfig

# clock -> (curve in metrics.jsonl, the protocol knob holding its threshold)
CLOCK_CURVES = {
    "tau_rule": ("noncopy_valid_norm", "theta_rule"),
    "tau_mem": ("mem_excess", "theta_mem"),
    "tau_mem_strong": ("mem_excess", "theta_mem_strong"),
    "tau_mem_near": ("copy_excess_near", "theta_mem"),
}
COPY_CLOCKS = ("tau_mem", "tau_mem_strong", "tau_mem_near")  # not applicable without a training set


def first_held_index(values: Sequence[float] | np.ndarray, threshold: float, hold: int) -> int | None:
    """Index of the first eval starting `hold` consecutive evals with value ≥ threshold; None if there is none."""
    if hold < 1:
        raise ValueError(f"hold must be a positive integer, got {hold}")
    above = np.asarray(values, dtype=float) >= threshold  # NaN (undefined) counts as below
    if len(above) < hold:
        return None
    runs = np.convolve(above.astype(np.int64), np.ones(hold, dtype=np.int64), mode="valid")  # evals above in each window
    starts = np.flatnonzero(runs == hold)
    return int(starts[0]) if starts.size else None


def crossing_step(steps: np.ndarray, values: np.ndarray, threshold: float, index: int) -> float:
    """Step where the curve crosses `threshold` between eval `index − 1` (below) and eval `index` (at/above), in log-step."""
    steps = np.asarray(steps, dtype=float)
    values = np.asarray(values, dtype=float)
    if index == 0 or steps[index - 1] <= 0 or not math.isfinite(values[index - 1]):
        return float(steps[index])  # nothing to interpolate from: the first eval at/above (an upper estimate)
    below, above = values[index - 1], values[index]
    if not below < threshold <= above:
        raise ValueError(f"eval {index - 1} must be below and eval {index} at/above {threshold}, got {below} and {above}")
    fraction = (threshold - below) / (above - below)
    if fraction >= 1.0:
        return float(steps[index])  # exactly at the threshold on the eval: no rounding error from the logs
    return float(steps[index - 1] * (steps[index] / steps[index - 1]) ** fraction)  # linear in log(step)


def read_clock(
    steps: Sequence[float] | np.ndarray,
    values: Sequence[float | None] | np.ndarray,
    threshold: float,
    hold: int,
    *,
    metric: str,
    batch_size: int,
    n_train: int | None,
) -> Clock:
    """The clock of one curve: interpolated crossing step, or censored at the last step evaluated."""
    steps = np.asarray(steps, dtype=float)
    values = np.array([math.nan if v is None else v for v in values], dtype=float)
    if steps.shape != values.shape or steps.ndim != 1 or len(steps) == 0:
        raise ValueError(f"steps and values must be equal-length non-empty 1-D arrays, got {steps.shape} and {values.shape}")
    if np.any(np.diff(steps) <= 0):
        raise ValueError("eval steps must be strictly increasing")
    index = first_held_index(values, threshold, hold)
    censored = index is None
    step = float(steps[-1]) if index is None else crossing_step(steps, values, threshold, index)
    return Clock(step=step, censored=censored, epoch=to_epochs(step, batch_size, n_train), metric=metric, threshold=float(threshold))


def not_applicable(metric: str, threshold: float) -> Clock:
    """A clock whose curve does not exist for this run (a copy clock without a training set)."""
    return Clock(step=None, censored=False, epoch=None, metric=metric, threshold=float(threshold), applicable=False)


def to_epochs(step: float, batch_size: int, n_train: int | None) -> float | None:
    """Steps to epochs (passes over the N training samples), the axis on which τ_mem is expected to be flat; None in stream mode."""
    return None if n_train is None else float(step) * batch_size / n_train


def read_window(rule: Clock, mem: Clock, steps: Sequence[float] | np.ndarray, novel_valid: Sequence[float | None]) -> Window:
    """The innovation window [τ_rule, τ_mem]: status, width (or bounds), and its height and area from `novel_valid`.

    open: τ_rule fired and τ_mem fired later or never; closed: both fired, τ_rule ≥ τ_mem; not learned:
    τ_mem fired, τ_rule never did; censored: neither fired; stream: no τ_mem (no training set).
    """
    height, area = window_height_and_area(steps, novel_valid, None if not mem.applicable or mem.censored else mem.step)
    base: dict[str, float | None] = dict(height=height, area=area, steps=None, log_window=None, lower=None, upper=None)
    if not mem.applicable:
        return Window(status="stream", **base)
    assert rule.step is not None and mem.step is not None  # an applicable clock always has a step (censored: the last one seen)
    if not rule.censored and not mem.censored:
        base.update(steps=mem.step - rule.step, log_window=math.log10(max(mem.step, 1.0) / max(rule.step, 1.0)))
        return Window(status="open" if rule.step < mem.step else "closed", **base)
    if not mem.censored:
        # Memorization fired but the rule never did: τ_rule > last step ≥ τ_mem, so the window is below τ_mem − last.
        return Window(status="not learned", **{**base, "upper": mem.step - rule.step})
    if not rule.censored:
        # The rule fired and memorization not yet: τ_mem > last step, so the window is at least last − τ_rule.
        return Window(status="open", **{**base, "lower": mem.step - rule.step})
    return Window(status="censored", **base)


def window_height_and_area(steps: Sequence[float] | np.ndarray, novel_valid: Sequence[float | None], until: float | None) -> tuple[float, float]:
    """(max novel_valid before `until`, ∫ novel_valid d log10(step) from step 1 to `until`); `until` None: the last eval.

    The area is a trapezoid sum on log10(step) over the evals at step ≥ 1; the curve is held flat from its
    first such eval back to step 1 and interpolated (linearly in log-step) at `until`. Unit: decades of
    steps at full novelty, so an area of 1.5 is one and a half decades in which every sample was new and valid.
    Undefined values count as 0.
    """
    x = np.asarray(steps, dtype=float)
    y = np.array([0.0 if v is None else v for v in novel_valid], dtype=float)
    end = float(x[-1]) if until is None else float(until)
    before = x < end if until is not None else np.ones(len(x), dtype=bool)
    height = float(y[before].max()) if before.any() else 0.0
    keep = x >= 1.0
    x, y = x[keep], y[keep]
    if end < 1.0 or len(x) == 0:
        return height, 0.0
    logs = np.log10(x)
    if logs[0] > 0.0:
        logs, y = np.concatenate([[0.0], logs]), np.concatenate([[y[0]], y])
    stop = math.log10(end)
    inside = logs < stop
    knots = np.concatenate([logs[inside], [stop]])
    values = np.concatenate([y[inside], [float(np.interp(stop, logs, y))]])
    return height, float(np.sum((knots[1:] - knots[:-1]) * (values[1:] + values[:-1]) / 2.0))


def read_clocks(rows: Sequence[Mapping[str, Any]], protocol: ProtocolConfig, *, batch_size: int, n_train: int | None) -> dict[str, Any]:
    """Every clock (CLOCK_CURVES) and the window from eval rows under `protocol`'s thresholds; n_train None: stream."""
    steps = np.array([row["step"] for row in rows], dtype=float)
    clocks: dict[str, Any] = {}
    for name, (metric, knob) in CLOCK_CURVES.items():
        threshold = getattr(protocol, knob)
        if n_train is None and name in COPY_CLOCKS:
            clocks[name] = not_applicable(metric, threshold)
            continue
        values = [row.get(metric) for row in rows]
        clocks[name] = read_clock(steps, values, threshold, protocol.hold, metric=metric, batch_size=batch_size, n_train=n_train)
    clocks["window"] = read_window(clocks["tau_rule"], clocks["tau_mem"], steps, [row.get("novel_valid") for row in rows])
    return clocks


def rule_unreadable(rows: Sequence[Mapping[str, Any]], hold: int) -> bool:
    """True when the last `hold` evals left too few non-copies to read the rule curve (it is undefined there)."""
    return len(rows) >= hold and all(row.get("noncopy_valid_norm") is None for row in rows[-hold:])


__all__ = ["CLOCK_CURVES", "COPY_CLOCKS", "first_held_index", "crossing_step", "read_clock", "not_applicable", "to_epochs", "read_window", "window_height_and_area", "read_clocks", "rule_unreadable"]
