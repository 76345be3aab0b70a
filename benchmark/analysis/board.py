"""The leaderboard as typed data, built once from records: cells, predicted windows, scaling fits, methods.

Every view reads this one `Board`: the markdown and JSON files (`benchmark.report.leaderboard`), the
terminal's compact table (`benchmark.report.terminal`), the figures and the study page. `Board.to_dict()`
is the JSON document, so the file's bytes follow from these types alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from benchmark.analysis.fits import ScalingFit, scaling_fits
from benchmark.analysis.groups import GroupSummary, Prediction, aggregate, clocks_version, group_key, predictions
from benchmark.analysis.stats import MEDIAN_MINIMUM, MEDIAN_TARGET, SLOPE_METHOD
from benchmark.core.display import adapter_label, knob_value
from benchmark.core.records import Record
from benchmark.run.spec import canonical_json

LEADERBOARD_SCHEMA_VERSION = 2
PROTOCOL_FIELDS = (
    "max_steps", "eval_schedule", "eval_points", "eval_samples", "eval_samples_min", "batching", "near_distance",
    "min_noncopy", "min_noncopy_fraction", "theta_rule", "theta_mem", "theta_mem_strong", "hold", "early_stop", "sampling_seed",
)  # fmt: skip
MEDIAN_INTERVAL = "order statistics [x(k), x(n+1-k)], the narrowest whose exact coverage reaches the target"


@dataclass(frozen=True)
class Cell:
    """One row of the clocks table: a cell's summary over seeds and the labels that tell it from its neighbours."""

    group: GroupSummary
    adapter_label: str  # 'gpt', or 'gpt depth=2' when gpt appears with several configs
    task_label: str
    protocol_label: str  # '' unless protocol settings (but max_steps) differ between cells: then the knobs that differ

    @property
    def n_label(self) -> str:
        """'stream', '256', or '64†' for a full-batch cell (N ≤ batch size)."""
        if self.group.stream:
            return "stream"
        return f"{int(self.group.n_train)}{'†' if self.group.full_batch else ''}"

    @property
    def label(self) -> str:
        """'gpt · parity · N=64†': how the predictions table names the cell."""
        return f"{self.adapter_label} · {self.task_label} · N={self.n_label}"

    def to_dict(self) -> dict[str, Any]:
        return {"adapter_label": self.adapter_label, "task_label": self.task_label, "protocol_label": self.protocol_label, **self.group.to_dict()}


@dataclass(frozen=True)
class PredictedCell:
    """A finite-N cell's predicted window (τ_rule^∞ < τ_mem(N)) beside the measured one, with the cell's label."""

    prediction: Prediction
    cell_label: str

    def to_dict(self) -> dict[str, Any]:
        return {**self.prediction.to_dict(), "row": self.cell_label}


@dataclass(frozen=True)
class PredictionSummary:
    """How many predictions there are, how many are decided, and how many of those matched."""

    cells: int
    known: int
    agree: int

    def to_dict(self) -> dict[str, Any]:
        return {"cells": self.cells, "known": self.known, "agree": self.agree}


@dataclass(frozen=True)
class FitRow:
    """One scaling fit with the labels of the cells it spans."""

    fit: ScalingFit
    adapter_label: str
    task_label: str

    def to_dict(self) -> dict[str, Any]:
        return {**self.fit.to_dict(), "adapter_label": self.adapter_label, "task_label": self.task_label, "full_batch_points": self.fit.full_batch_points}


@dataclass(frozen=True)
class Statistics:
    """How medians, intervals and slopes were computed (the methods section states it)."""

    median_interval: str
    median_target: float
    range_below: float
    slope_method: str


@dataclass(frozen=True)
class Methods:
    """What a reader needs to reproduce the numbers: protocol settings (every distinct value), versions, counts."""

    protocol_version: list[Any]
    clocks_version: list[Any]
    protocol: dict[str, list[Any]]  # PROTOCOL_FIELDS -> the distinct values over records (None: a knob a record lacks)
    package_version: list[Any]
    rendered_by: str
    num_records: int
    num_groups: int
    statistics: Statistics

    def to_dict(self) -> dict[str, Any]:
        statistics = self.statistics
        return {
            "protocol_version": self.protocol_version,
            "clocks_version": self.clocks_version,
            "protocol": self.protocol,
            "package_version": self.package_version,
            "rendered_by": self.rendered_by,
            "num_records": self.num_records,
            "num_groups": self.num_groups,
            "statistics": {
                "median_interval": statistics.median_interval,
                "median_target": statistics.median_target,
                "range_below": statistics.range_below,
                "slope_method": statistics.slope_method,
            },
        }


@dataclass(frozen=True)
class Board:
    """The whole leaderboard: methods, one `Cell` per setting, predicted windows, scaling fits, the run ids."""

    methods: Methods
    cells: tuple[Cell, ...]
    predictions: tuple[PredictedCell, ...]
    prediction_summary: PredictionSummary
    mem_fits: tuple[FitRow, ...]  # τ_mem ∝ N^α, per adapter and task
    rule_fits: tuple[FitRow, ...]  # log10 τ_rule against complexity, per adapter, task name and N
    records: tuple[str, ...]  # run ids, sorted
    schema_version: int = LEADERBOARD_SCHEMA_VERSION

    @property
    def mixed_protocols(self) -> bool:
        """True when protocol settings differ between cells (the tables then say which)."""
        return any(cell.protocol_label for cell in self.cells)

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of `leaderboard.json`."""
        return {
            "schema_version": self.schema_version,
            "methods": self.methods.to_dict(),
            "rows": [cell.to_dict() for cell in self.cells],
            "predictions": [p.to_dict() for p in self.predictions],
            "prediction_summary": self.prediction_summary.to_dict(),
            "scaling": {"tau_mem_vs_n": [f.to_dict() for f in self.mem_fits], "tau_rule_vs_complexity": [f.to_dict() for f in self.rule_fits]},
            "records": list(self.records),
        }


def build_board(records: Iterable[Record]) -> Board:
    """Group, summarise, label, predict and fit: the one place the leaderboard's content is decided."""
    records = list(records)
    groups = aggregate(records)
    fits = scaling_fits(records)
    adapter_labels = config_labels([(g.adapter, g.adapter_config) for g in groups])
    task_labels = config_labels([(g.task, g.task_config) for g in groups])
    protocol_labels = config_labels([("", _labelled_protocol(g)) for g in groups])
    cells = tuple(
        Cell(
            group=group,
            adapter_label=adapter_labels[(group.adapter, canonical_json(group.adapter_config))],
            task_label=task_labels[(group.task, canonical_json(group.task_config))],
            protocol_label=protocol_labels[("", canonical_json(_labelled_protocol(group)))].strip(),
        )
        for group in groups
    )
    by_id = {cell.group.group_id: cell for cell in cells}
    predicted = tuple(PredictedCell(p, by_id[p.group_id].label) for p in predictions(groups))
    known = [p for p in predicted if p.prediction.agrees is not None]
    summary = PredictionSummary(cells=len(predicted), known=len(known), agree=sum(bool(p.prediction.agrees) for p in known))

    def fit_row(fit: ScalingFit) -> FitRow:
        adapter = adapter_labels.get((fit.adapter, canonical_json(fit.adapter_config)), fit.adapter)
        task = task_labels.get((fit.task, canonical_json(fit.task_config)), fit.task) if fit.complexity is not None else fit.task
        return FitRow(fit, adapter, task)

    return Board(
        methods=methods(records),
        cells=cells,
        predictions=predicted,
        prediction_summary=summary,
        mem_fits=tuple(fit_row(fit) for fit in fits["tau_mem_vs_n"]),
        rule_fits=tuple(fit_row(fit) for fit in fits["tau_rule_vs_complexity"]),
        records=tuple(sorted(record.run_id for record in records)),
    )


def _labelled_protocol(group: GroupSummary) -> dict[str, Any]:
    """The settings a protocol label may name: all but max_steps, which the steps-trained column shows for every cell."""
    return {**{k: v for k, v in group.protocol.items() if k != "max_steps"}, "version": group.clocks_version}


def methods(records: Sequence[Record]) -> Methods:
    """Protocol settings (every distinct value), versions and counts of `records`."""
    from benchmark.core.version import __version__

    return Methods(
        protocol_version=distinct(record.protocol_version for record in records),
        clocks_version=distinct(clocks_version(record) for record in records),
        protocol={name: distinct(record.protocol.get(name) for record in records) for name in PROTOCOL_FIELDS},
        package_version=distinct(record.environment.get("two_clocks") for record in records),
        rendered_by=__version__,
        num_records=len(records),
        num_groups=len({group_key(r) for r in records}),
        statistics=Statistics(MEDIAN_INTERVAL, MEDIAN_TARGET, MEDIAN_MINIMUM, SLOPE_METHOD),
    )


def distinct(values: Iterable[Any]) -> list[Any]:
    """Sorted distinct values (one item when the records agree); None (a knob a record lacks) sorts first."""
    unique = {canonical_json(value): value for value in values}
    return [unique[key] for key in sorted(unique)]


def config_labels(components: Sequence[tuple[str, Mapping[str, Any]]]) -> dict[tuple[str, str], str]:
    """'gpt' alone, or 'gpt width=128' when gpt appears with several configs: only the knobs that differ are shown."""
    configs: dict[str, dict[str, Mapping[str, Any]]] = {}
    for name, config in components:
        configs.setdefault(name, {})[canonical_json(config)] = config
    labels: dict[tuple[str, str], str] = {}
    for name, variants in configs.items():
        knobs = sorted({knob for config in variants.values() for knob in config})
        varying = [knob for knob in knobs if len({canonical_json(config.get(knob)) for config in variants.values()}) > 1]
        for key, config in variants.items():
            named = adapter_label(name, config)  # 'hf_causal_lm/llama': the model type is part of the name, always shown
            shown = " ".join(f"{knob}={knob_value(config.get(knob))}" for knob in varying if not (knob == "model_type" and named != name))
            labels[(name, key)] = f"{named} {shown}" if shown else named
    return labels


__all__ = [
    "LEADERBOARD_SCHEMA_VERSION",
    "MEDIAN_INTERVAL",
    "PROTOCOL_FIELDS",
    "Board",
    "Cell",
    "FitRow",
    "Methods",
    "PredictedCell",
    "PredictionSummary",
    "Statistics",
    "build_board",
    "config_labels",
    "distinct",
    "methods",
]
