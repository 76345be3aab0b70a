"""Cells of the leaderboard: records equal in all but the seed, summarised over seeds; and the predicted windows.

- A cell is every record whose spec is equal but for the seed (so protocol versions never share a cell).
- Each clock's median over seeds and its order-statistic interval come from `benchmark.analysis.stats.median_summary`
  (censored runs as bounds; the interval's exact coverage stated).
- The cell's window status is read off the median clocks with the rules of its protocol version (2.0:
  open / closed / not learned / censored / stream; 1.0 records that were not re-read keep 1.0's words);
  the per-seed statuses are counted beside it.
- The predicted window of a finite-N cell compares its median τ_mem with the median intrinsic rule
  clock τ_rule^∞ of the stream cell of the same adapter, task and rule-reading settings: it opens iff
  τ_rule^∞ < τ_mem(N).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from benchmark.analysis.stats import MedianSummary, median_summary
from benchmark.core.display import format_window
from benchmark.core.records import Record
from benchmark.run.spec import canonical_json

CLOCK_NAMES = ("tau_rule", "tau_mem", "tau_mem_near", "tau_mem_strong")
# Protocol knobs that decide how the rule clock is read: a stream cell predicts a finite-N cell only when these agree.
RULE_READING = ("eval_schedule", "eval_samples", "eval_samples_min", "sampling_seed", "min_noncopy", "min_noncopy_fraction", "theta_rule", "hold")


@dataclass(frozen=True)
class WindowSummary:
    """The innovation window of a cell, from its median clocks; a bound (`kind`) where clocks are censored."""

    status: str
    steps: float | None  # median τ_mem − median τ_rule; with `kind` "lower"/"upper" a bound
    log_window: float | None
    kind: str  # exact | lower (window > steps) | upper (window < steps) | unknown
    status_counts: dict[str, int]
    height: MedianSummary | None  # median window height over seeds (None for protocol-1.0 records)
    area: MedianSummary | None

    def display_steps(self) -> str:
        return format_window(self.steps, self.kind, 0)

    def display_log(self) -> str:
        return format_window(self.log_window, self.kind, 2)

    def display_status(self) -> str:
        """'open', or 'open (2/3)' when not every seed's own window agrees."""
        runs = sum(self.status_counts.values())
        agreeing = self.status_counts.get(self.status, 0)
        return self.status if agreeing == runs else f"{self.status} ({agreeing}/{runs})"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["height"] = None if self.height is None else self.height.to_dict()
        data["area"] = None if self.area is None else self.area.to_dict()
        return data


@dataclass(frozen=True)
class GroupSummary:
    """Every seed of one (task, adapter, N, protocol) setting, summarised."""

    group_id: str
    adapter: str
    adapter_config: dict[str, Any]
    task: str
    task_config: dict[str, Any]
    complexity: float
    n_train: int | str
    protocol: dict[str, Any]
    protocol_version: str
    clocks_version: str  # "2.0", or "2.0 (re-read)" for protocol-1.0 runs re-read by `reclock`, or "1.0"
    num_parameters: int
    batch_size: int
    seeds: tuple[int, ...]
    run_ids: tuple[str, ...]
    max_steps: int
    steps_trained: tuple[int, ...]  # per seed, in `seeds` order
    stopped_early: tuple[bool, ...]  # per seed: the stop rule ended the run before max_steps
    clocks: dict[str, MedianSummary | None]  # None: not applicable (stream) or not recorded
    epochs: dict[str, MedianSummary | None]  # τ_rule and τ_mem in epochs (None in stream mode)
    window: WindowSummary

    @property
    def stream(self) -> bool:
        return self.n_train == "stream"

    @property
    def full_batch(self) -> bool:
        """N ≤ B: every batch holds the whole training set."""
        return not self.stream and int(self.n_train) <= self.batch_size

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["seeds"], data["run_ids"] = list(self.seeds), list(self.run_ids)
        data["steps_trained"], data["stopped_early"] = list(self.steps_trained), list(self.stopped_early)
        data["clocks"] = {name: None if value is None else value.to_dict() for name, value in self.clocks.items()}
        data["epochs"] = {name: None if value is None else value.to_dict() for name, value in self.epochs.items()}
        data["window"] = self.window.to_dict()
        data["full_batch"] = self.full_batch
        return data


def group_key(record: Record) -> str:
    """Canonical JSON of the spec without its seed (plus how its clocks were read): the seeds of one cell share it."""
    spec = {key: value for key, value in record.spec.items() if key != "seed"}
    return canonical_json({"spec": spec, "clocks": clocks_version(record)})


def clocks_version(record: Record) -> str:
    """Which protocol's clock definitions the record's clocks follow."""
    if "reclocked" in record.extra:
        return f"{record.extra['reclocked']['clocks_version']} (re-read)"
    return record.protocol_version


def aggregate(records: Iterable[Record]) -> list[GroupSummary]:
    """Group records by everything but the seed and summarise each cell; sorted by adapter, task, complexity, N."""
    cells: dict[str, list[Record]] = {}
    for record in records:
        cells.setdefault(group_key(record), []).append(record)
    summaries = [summarise_cell(key, sorted(members, key=lambda r: r.seed)) for key, members in cells.items()]
    return sorted(summaries, key=_order)


def _order(group: GroupSummary) -> tuple[Any, ...]:
    n = (1, 0) if group.stream else (0, int(group.n_train))  # stream rows after every finite N
    return (group.adapter, canonical_json(group.adapter_config), group.task, group.complexity, canonical_json(group.task_config), n, group.protocol_version, group.group_id)


def summarise_cell(key: str, members: Sequence[Record]) -> GroupSummary:
    """One cell's medians, intervals and window."""
    first = members[0]
    clocks = {name: clock_summary(members, name) for name in CLOCK_NAMES}
    epochs = {name: clock_summary(members, name, "epoch") for name in ("tau_rule", "tau_mem")}
    counts: dict[str, int] = {}
    for member in members:
        counts[member.window.status] = counts.get(member.window.status, 0) + 1
    v1_words = clocks_version(first) == "1.0"
    return GroupSummary(
        group_id=hashlib.sha256(key.encode()).hexdigest()[:12],
        adapter=first.adapter_name,
        adapter_config=first.adapter_config,
        task=first.task_name,
        task_config=first.task_config,
        complexity=first.complexity,
        n_train=first.n_train,
        protocol={k: v for k, v in first.protocol.items() if k != "version"},
        protocol_version=first.protocol_version,
        clocks_version=clocks_version(first),
        num_parameters=first.num_parameters,
        batch_size=first.batch_size,
        seeds=tuple(member.seed for member in members),
        run_ids=tuple(member.run_id for member in members),
        max_steps=first.max_steps,
        steps_trained=tuple(member.steps_trained for member in members),
        stopped_early=tuple(member.stopped_early for member in members),
        clocks=clocks,
        epochs=epochs,
        window=window_from_medians(clocks["tau_rule"], clocks["tau_mem"], counts, members, v1_words=v1_words),
    )


def clock_summary(members: Sequence[Record], name: str, field: str = "step") -> MedianSummary | None:
    """Median and interval of one clock over the cell's seeds; None when it is missing or not applicable in any."""
    clocks = [member.clocks.get(name) for member in members]
    if any(clock is None or not clock.applicable for clock in clocks):
        return None
    values = [getattr(clock, field) for clock in clocks]
    if any(value is None for value in values):
        return None
    return median_summary(values, [clock.censored for clock in clocks if clock is not None])


def window_from_medians(
    tau_rule: MedianSummary | None,
    tau_mem: MedianSummary | None,
    status_counts: Mapping[str, int],
    members: Sequence[Record] = (),
    *,
    v1_words: bool = False,
) -> WindowSummary:
    """The cell's window and status read off the median clocks (rules in benchmark/PROTOCOL.md, "Window")."""
    counts = dict(sorted(status_counts.items()))
    heights = [m.window.height for m in members if m.window.height is not None]
    areas = [m.window.area for m in members if m.window.area is not None]
    height = median_summary(heights, [False] * len(heights)) if members and len(heights) == len(members) else None
    area = median_summary(areas, [False] * len(areas)) if members and len(areas) == len(members) else None
    common: dict[str, Any] = {"status_counts": counts, "height": height, "area": area}
    if tau_rule is None:
        return WindowSummary("censored", None, None, "unknown", **common)
    if tau_mem is None:
        return WindowSummary("stream", None, None, "unknown", **common)
    rule, mem = tau_rule.median, tau_mem.median
    rule_fired, mem_fired = not tau_rule.median_is_bound, not tau_mem.median_is_bound
    log_window = math.log10(max(mem, 1.0) / max(rule, 1.0))
    if not rule_fired and not mem_fired:
        return WindowSummary("censored", None, None, "unknown", **common)
    if not mem_fired:  # τ_mem > bound: the window is longer than bound − τ_rule
        return WindowSummary("censored" if v1_words else "open", mem - rule, log_window, "lower", **common)
    if not rule_fired:  # memorization fired, the rule never did: window < τ_mem − bound
        return WindowSummary("vanished" if v1_words else "not learned", mem - rule, log_window, "upper", **common)
    if rule < mem:
        return WindowSummary("open", mem - rule, log_window, "exact", **common)
    return WindowSummary("vanished" if v1_words else "closed", mem - rule, log_window, "exact", **common)


# --- the predicted window ------------------------------------------------------------------------


@dataclass(frozen=True)
class Prediction:
    """A finite-N cell's window as τ_rule^∞ predicts it, beside the window it measured."""

    group_id: str
    stream_group_id: str
    tau_rule_stream: MedianSummary
    tau_mem: MedianSummary
    predicted: str  # open | not open | unknown
    measured: str  # open | not open | unknown
    agrees: bool | None  # None when either side is unknown

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["tau_rule_stream"], data["tau_mem"] = self.tau_rule_stream.to_dict(), self.tau_mem.to_dict()
        return data


def predict_window(tau_rule_stream: MedianSummary, tau_mem: MedianSummary) -> str:
    """'open' iff τ_rule^∞ < τ_mem(N) (medians); 'unknown' where censoring leaves the order undecided."""
    rule, mem = tau_rule_stream.median, tau_mem.median
    rule_fired, mem_fired = not tau_rule_stream.median_is_bound, not tau_mem.median_is_bound
    if rule_fired and mem_fired:
        return "open" if rule < mem else "not open"
    if rule_fired:  # τ_mem > its bound
        return "open" if rule < mem else "unknown"
    if mem_fired:  # τ_rule^∞ > its bound
        return "not open" if mem <= rule else "unknown"
    return "unknown"


def measured_window(window: WindowSummary) -> str:
    """A cell's measured window as open / not open / unknown."""
    if window.status == "open":
        return "open"
    return "not open" if window.status in ("closed", "not learned", "vanished") else "unknown"


def predictions(groups: Sequence[GroupSummary]) -> list[Prediction]:
    """A prediction for every finite-N cell that has a stream cell of the same adapter, task and rule-reading settings."""
    streams = {_prediction_key(g): g for g in groups if g.stream}
    out = []
    for group in groups:
        stream = streams.get(_prediction_key(group))
        if group.stream or stream is None or group.clocks["tau_mem"] is None or stream.clocks["tau_rule"] is None:
            continue
        predicted = predict_window(stream.clocks["tau_rule"], group.clocks["tau_mem"])
        measured = measured_window(group.window)
        agrees = None if "unknown" in (predicted, measured) else predicted == measured
        out.append(Prediction(group.group_id, stream.group_id, stream.clocks["tau_rule"], group.clocks["tau_mem"], predicted, measured, agrees))
    return out


def _prediction_key(group: GroupSummary) -> str:
    reading = {knob: group.protocol.get(knob) for knob in RULE_READING}
    return canonical_json([group.adapter, group.adapter_config, group.task, group.task_config, group.clocks_version, reading])


__all__ = [
    "CLOCK_NAMES",
    "RULE_READING",
    "WindowSummary",
    "GroupSummary",
    "group_key",
    "clocks_version",
    "aggregate",
    "summarise_cell",
    "clock_summary",
    "window_from_medians",
    "Prediction",
    "predict_window",
    "measured_window",
    "predictions",
]
