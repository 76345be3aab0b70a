"""Multi-seed aggregation and scaling fits: records in, censoring-aware medians and intervals out.

Rules (also in the README):
- A group is every record whose spec is equal but for the seed.
- Median with right-censoring: a censored clock is a lower bound (true value > step). The median is
  computed twice, once with each censored value at its bound and once at +∞; if both agree the median
  is exact, otherwise it is reported as the bound `> x` (x: the first median). In this protocol every
  run of a group is censored at the same max_steps, so this is simply "the median falls on a censored
  value".
- 95 % interval: a percentile bootstrap over seeds (`BOOTSTRAP_RESAMPLES` resamples, rng seed
  `BOOTSTRAP_SEED`, so reruns print the same numbers); each end is itself a bound `> x` when it
  depends on censored values. One seed gives no interval.
- Window status of a group, read off the median clocks: `censored` when median τ_mem is censored,
  else `vanished` when median τ_rule is censored or ≥ median τ_mem, else `open`. The per-seed
  statuses are kept as counts beside it.
- Scaling fits use uncensored runs only and say how many they used: log10 τ_mem = a + α log10 N per
  (adapter, task); log10 τ_rule = a + β·complexity per (adapter, task name, N).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from benchmark.records import Record, RecordError, find_record_files, load_records  # noqa: F401 - re-exported
from benchmark.spec import canonical_json

BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 0
CONFIDENCE = 0.95
_SENTINEL = 1e300  # stands in for +∞ inside quantiles (∞ − ∞ would give NaN)


# --- censored medians --------------------------------------------------------------------------


@dataclass(frozen=True)
class ClockSummary:
    """Median of a clock over seeds with a bootstrap interval; `*_censored` marks a value that is a bound `> x`."""

    median: float
    censored: bool
    low: float
    low_censored: bool
    high: float
    high_censored: bool
    runs: int
    runs_censored: int

    def display(self, digits: int = 0) -> str:
        """'1200 [900, 1500]', '> 2000 [1500, > 2000]'; one run, or an interval of width 0: the value alone."""
        text = _bound(self.median, self.censored, digits)
        degenerate = self.low == self.high == self.median and self.low_censored == self.high_censored == self.censored
        if self.runs > 1 and not degenerate:
            text += f" [{_bound(self.low, self.low_censored, digits)}, {_bound(self.high, self.high_censored, digits)}]"
        return text

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _bound(value: float, censored: bool, digits: int) -> str:
    text = _number(value, digits)
    return f"> {text}" if censored else text


def _number(value: float, digits: int) -> str:
    if digits == 0 and abs(value) >= 1:
        return f"{value:.0f}"
    return f"{value:.{max(digits, 2)}g}" if digits == 0 else f"{value:.{digits}f}"


def censored_median(values: Sequence[float], censored: Sequence[bool]) -> tuple[float, bool]:
    """(median, is_bound): exact when censoring at the bound and at +∞ give the same median."""
    values = np.asarray(values, dtype=float)
    censored = np.asarray(censored, dtype=bool)
    at_bound = float(np.median(values))
    at_infinity = float(np.median(np.where(censored, _SENTINEL, values)))
    return at_bound, at_infinity != at_bound


def summarize_clock(
    values: Sequence[float],
    censored: Sequence[bool],
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> ClockSummary:
    """Censoring-aware median and percentile-bootstrap interval of one clock over seeds."""
    values = np.asarray(values, dtype=float)
    censored = np.asarray(censored, dtype=bool)
    if values.size == 0:
        raise ValueError("summarize_clock needs at least one value")
    median, median_censored = censored_median(values, censored)
    picks = np.random.default_rng(seed).integers(0, values.size, size=(resamples, values.size))
    at_bound = np.median(values[picks], axis=1)
    at_infinity = np.median(np.where(censored, _SENTINEL, values)[picks], axis=1)
    tail = (1.0 - CONFIDENCE) / 2.0
    low, high = np.quantile(at_bound, [tail, 1.0 - tail])
    low_inf, high_inf = np.quantile(at_infinity, [tail, 1.0 - tail])
    return ClockSummary(
        median=median,
        censored=median_censored,
        low=float(low),
        low_censored=bool(low_inf != low),
        high=float(high),
        high_censored=bool(high_inf != high),
        runs=int(values.size),
        runs_censored=int(censored.sum()),
    )


# --- groups ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WindowSummary:
    """The innovation window of a group, from its median clocks; a bound (`kind`) where clocks are censored."""

    status: str  # open | vanished | censored
    steps: float | None  # median τ_mem − median τ_rule; with `kind` "lower"/"upper" a bound
    log_window: float | None
    kind: str  # exact | lower (window > steps) | upper (window < steps) | unknown
    status_counts: dict[str, int]

    def display_steps(self) -> str:
        return self._display(self.steps, 0)

    def display_log(self) -> str:
        return self._display(self.log_window, 2)

    def _display(self, value: float | None, digits: int) -> str:
        if value is None or self.kind == "unknown":
            return "—"
        text = f"{value:.{digits}f}"
        return {"lower": f"> {text}", "upper": f"< {text}"}.get(self.kind, text)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class GroupSummary:
    """Every seed of one (task, adapter, N, protocol) setting, summarised."""

    group_id: str
    adapter: str
    adapter_config: dict[str, Any]
    task: str
    task_config: dict[str, Any]
    complexity: float
    n_train: int
    protocol: dict[str, Any]
    num_parameters: int
    batch_size: int
    seeds: tuple[int, ...]
    run_ids: tuple[str, ...]
    tau_rule: ClockSummary
    tau_mem: ClockSummary
    tau_mem_strong: ClockSummary | None
    tau_rule_epochs: ClockSummary
    tau_mem_epochs: ClockSummary
    window: WindowSummary

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["seeds"] = list(self.seeds)
        data["run_ids"] = list(self.run_ids)
        return data


def group_key(record: Record) -> str:
    """Canonical JSON of the spec without its seed: records equal in all else are seeds of one group."""
    spec = {key: value for key, value in record.spec.items() if key != "seed"}
    return canonical_json(spec)


def aggregate(records: Iterable[Record], *, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED) -> list[GroupSummary]:
    """Group records by everything but the seed and summarise each group; sorted by adapter, task, complexity, N."""
    groups: dict[str, list[Record]] = {}
    for record in records:
        groups.setdefault(group_key(record), []).append(record)
    summaries = [_summarize_group(key, sorted(members, key=lambda r: r.seed), resamples, seed) for key, members in groups.items()]
    return sorted(summaries, key=lambda g: (g.adapter, canonical_json(g.adapter_config), g.task, g.complexity, canonical_json(g.task_config), g.n_train, g.group_id))


def _summarize_group(key: str, members: list[Record], resamples: int, seed: int) -> GroupSummary:
    first = members[0]

    def clock(name: str, field: str = "step") -> ClockSummary:
        clocks = [member.clocks[name] for member in members]
        values = [getattr(c, field) for c in clocks]
        return summarize_clock([math.nan if v is None else v for v in values], [c.censored for c in clocks], resamples=resamples, seed=seed)

    tau_rule, tau_mem = clock("tau_rule"), clock("tau_mem")
    has_strong = all("tau_mem_strong" in member.clocks for member in members)
    counts: dict[str, int] = {}
    for member in members:
        counts[member.window.status] = counts.get(member.window.status, 0) + 1
    return GroupSummary(
        group_id=hashlib.sha256(key.encode()).hexdigest()[:12],
        adapter=first.adapter_name,
        adapter_config=first.adapter_config,
        task=first.task_name,
        task_config=first.task_config,
        complexity=first.complexity,
        n_train=first.n_train,
        protocol=first.protocol,
        num_parameters=first.num_parameters,
        batch_size=first.batch_size,
        seeds=tuple(member.seed for member in members),
        run_ids=tuple(member.run_id for member in members),
        tau_rule=tau_rule,
        tau_mem=tau_mem,
        tau_mem_strong=clock("tau_mem_strong") if has_strong else None,
        tau_rule_epochs=clock("tau_rule", "epoch"),
        tau_mem_epochs=clock("tau_mem", "epoch"),
        window=window_from_medians(tau_rule, tau_mem, counts),
    )


def window_from_medians(tau_rule: ClockSummary, tau_mem: ClockSummary, status_counts: Mapping[str, int] | None = None) -> WindowSummary:
    """The group's window and status, read off the median clocks (rule in the module docstring)."""
    counts = dict(sorted((status_counts or {}).items()))
    rule, mem = tau_rule.median, tau_mem.median
    log_window = math.log10(max(mem, 1.0) / max(rule, 1.0))
    if tau_mem.censored and tau_rule.censored:
        return WindowSummary("censored", None, None, "unknown", counts)
    if tau_mem.censored:  # τ_mem > bound: the window is longer than bound − τ_rule
        return WindowSummary("censored", mem - rule, log_window, "lower", counts)
    if tau_rule.censored:  # memorization fired, the rule never did: window < τ_mem − bound
        return WindowSummary("vanished", mem - rule, log_window, "upper", counts)
    status = "open" if rule < mem else "vanished"
    return WindowSummary(status, mem - rule, log_window, "exact", counts)


# --- scaling fits ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineFit:
    """y = intercept + slope·x by least squares, with a pairs-bootstrap 95 % interval on the slope."""

    slope: float | None
    intercept: float | None
    low: float | None
    high: float | None
    points_used: int  # uncensored points in the fit
    points_censored: int  # points left out because the clock never fired
    distinct_x: int

    def display(self, digits: int = 2) -> str:
        if self.slope is None:
            return "—"
        interval = f" [{self.low:.{digits}f}, {self.high:.{digits}f}]" if self.low is not None else ""
        return f"{self.slope:.{digits}f}{interval}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def fit_line(x: Sequence[float], y: Sequence[float], censored_count: int = 0, *, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED) -> LineFit:
    """Least-squares line; the slope's interval resamples points, dropping resamples with one distinct x."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    distinct = int(np.unique(x).size)
    if distinct < 2:
        return LineFit(None, None, None, None, int(x.size), censored_count, distinct)
    slope, intercept = _slopes(x[None, :], y[None, :])
    picks = np.random.default_rng(seed).integers(0, x.size, size=(resamples, x.size))
    boot_slopes, _ = _slopes(x[picks], y[picks])
    boot_slopes = boot_slopes[np.isfinite(boot_slopes)]
    low = high = None
    if distinct >= 3 or x.size > distinct:  # with two points, every resample is degenerate or the fit itself
        tail = (1.0 - CONFIDENCE) / 2.0
        low, high = (float(v) for v in np.quantile(boot_slopes, [tail, 1.0 - tail]))
    return LineFit(float(slope[0]), float(intercept[0]), low, high, int(x.size), censored_count, distinct)


def _slopes(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise least-squares slope and intercept; NaN where a row's x are all equal."""
    x_mean = x.mean(axis=1, keepdims=True)
    y_mean = y.mean(axis=1, keepdims=True)
    variance = ((x - x_mean) ** 2).sum(axis=1)
    covariance = ((x - x_mean) * (y - y_mean)).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = np.where(variance > 0, covariance / np.where(variance > 0, variance, 1.0), np.nan)
    return slope, y_mean[:, 0] - slope * x_mean[:, 0]


@dataclass(frozen=True)
class ScalingFit:
    """One fitted scaling law: which runs it covers, its points, and the fit."""

    law: str  # "tau_mem ~ N^alpha" or "log10 tau_rule ~ beta * complexity"
    adapter: str
    adapter_config: dict[str, Any]
    task: str
    task_config: dict[str, Any]  # for tau_rule fits: the task config of the first group (complexity varies)
    complexity: float | None  # tau_mem fits: the complexity; tau_rule fits: None
    n_train: int | None  # tau_rule fits: the N; tau_mem fits: None
    protocol: dict[str, Any]
    points: list[dict[str, Any]]  # x, tau, censored, seed per run
    fit: LineFit

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


TAU_MEM_LAW = "tau_mem ~ N^alpha"
TAU_RULE_LAW = "log10 tau_rule ~ beta * complexity"


def scaling_fits(records: Iterable[Record], *, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED) -> dict[str, list[ScalingFit]]:
    """τ_mem against N per (adapter, task); τ_rule against complexity per (adapter, task name, N); only where x varies."""
    records = list(records)
    by_task: dict[str, list[Record]] = {}
    by_n: dict[str, list[Record]] = {}
    for record in records:
        spec = record.spec
        common = {"adapter": spec["adapter"], "protocol": spec.get("protocol", {})}
        by_task.setdefault(canonical_json({**common, "task": spec["task"]}), []).append(record)
        by_n.setdefault(canonical_json({**common, "task": spec["task"]["name"], "n_train": spec["n_train"]}), []).append(record)
    mem_fits = [_fit(members, "tau_mem", TAU_MEM_LAW, resamples, seed) for members in by_task.values() if _distinct(members, _n_of) >= 2]
    rule_fits = [_fit(members, "tau_rule", TAU_RULE_LAW, resamples, seed) for members in by_n.values() if _distinct(members, _complexity_of) >= 2]
    order = lambda fit: (fit.adapter, canonical_json(fit.adapter_config), fit.task, fit.complexity or 0.0, fit.n_train or 0)  # noqa: E731
    return {"tau_mem_vs_n": sorted(mem_fits, key=order), "tau_rule_vs_complexity": sorted(rule_fits, key=order)}


def _n_of(record: Record) -> float:
    return float(record.n_train)


def _complexity_of(record: Record) -> float:
    return record.complexity


def _distinct(records: Sequence[Record], x_of: Any) -> int:
    return len({x_of(record) for record in records})


def _fit(members: list[Record], clock: str, law: str, resamples: int, seed: int) -> ScalingFit:
    mem_law = law == TAU_MEM_LAW
    x_of = _n_of if mem_law else _complexity_of
    members = sorted(members, key=lambda r: (x_of(r), r.seed))
    points = [
        {"x": x_of(r), "tau": float(r.clocks[clock].step), "censored": bool(r.clocks[clock].censored), "seed": r.seed}
        for r in members
    ]
    used = [p for p in points if not p["censored"]]
    x = [math.log10(p["x"]) if mem_law else p["x"] for p in used]
    y = [math.log10(max(p["tau"], 1.0)) for p in used]  # a clock at step 0 counts as step 1, as in clocks.read_window
    fit = fit_line(x, y, len(points) - len(used), resamples=resamples, seed=seed)
    spec = members[0].spec
    return ScalingFit(
        law=law,
        adapter=spec["adapter"]["name"],
        adapter_config=dict(spec["adapter"].get("config", {})),
        task=spec["task"]["name"],
        task_config=dict(spec["task"].get("config", {})),
        complexity=_complexity_of(members[0]) if mem_law else None,
        n_train=None if mem_law else int(spec["n_train"]),
        protocol=dict(spec.get("protocol", {})),
        points=points,
        fit=fit,
    )
