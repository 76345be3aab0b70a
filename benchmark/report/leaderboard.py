"""The leaderboard: a deterministic rendering of run records as markdown (tabulate) and JSON.

Rendered from records only (never live state), so the same folder always gives the same bytes: no
timestamps, sorted rows. Cells and their statistics come from `benchmark.analysis.groups` (medians over seeds,
order-statistic intervals with their exact coverage), the predicted windows from τ_rule^∞ likewise,
and the scaling fits from `benchmark.analysis.fits`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from benchmark.analysis.fits import ScalingFit, scaling_fits
from benchmark.analysis.groups import aggregate, clocks_version, group_key, predictions
from benchmark.analysis.stats import MEDIAN_MINIMUM, MEDIAN_TARGET, SLOPE_METHOD, MedianSummary
from benchmark.core.display import format_percent, knob_value
from benchmark.core.records import Record
from benchmark.run.spec import canonical_json

LEADERBOARD_SCHEMA_VERSION = 2
COLUMNS = (
    "adapter",
    "task",
    "complexity",
    "N",
    "params",
    "seeds",
    "τ_rule",
    "τ_mem",
    "τ_mem near",
    "status",
    "window",
    "log-window",
    "height",
    "area",
    "τ_rule (epochs)",
    "τ_mem (epochs)",
)
PROTOCOL_FIELDS = (
    "max_steps", "eval_schedule", "eval_points", "eval_samples", "eval_samples_min", "batching", "near_distance",
    "min_noncopy", "min_noncopy_fraction", "theta_rule", "theta_mem", "theta_mem_strong", "hold", "early_stop", "sampling_seed",
)  # fmt: skip


def build(records: Iterable[Record]) -> dict[str, Any]:
    """The leaderboard as plain data (what the JSON holds and the markdown renders)."""
    records = list(records)
    groups = aggregate(records)
    fits = scaling_fits(records)
    adapter_labels = _labels([(g.adapter, g.adapter_config) for g in groups])
    task_labels = _labels([(g.task, g.task_config) for g in groups])
    protocol_labels = _labels([("", {**g.protocol, "version": g.clocks_version}) for g in groups])
    rows = []
    for group in groups:
        rows.append(
            {
                "adapter_label": adapter_labels[(group.adapter, canonical_json(group.adapter_config))],
                "task_label": task_labels[(group.task, canonical_json(group.task_config))],
                "protocol_label": protocol_labels[("", canonical_json({**group.protocol, "version": group.clocks_version}))].strip(),
                **group.to_dict(),
            }
        )
    by_id = {row["group_id"]: row for row in rows}
    predicted = [{**p.to_dict(), "row": _cell_label(by_id[p.group_id])} for p in predictions(groups)]
    known = [p for p in predicted if p["agrees"] is not None]
    return {
        "schema_version": LEADERBOARD_SCHEMA_VERSION,
        "methods": methods(records),
        "rows": rows,
        "predictions": predicted,
        "prediction_summary": {"cells": len(predicted), "known": len(known), "agree": sum(p["agrees"] for p in known)},
        "scaling": {name: [_fit_row(fit, adapter_labels, task_labels) for fit in items] for name, items in fits.items()},
        "records": sorted(record.run_id for record in records),
    }


def methods(records: Sequence[Record]) -> dict[str, Any]:
    """What a reader needs to reproduce the numbers: protocol settings (every distinct value), versions, counts."""
    from benchmark.core.version import __version__

    protocol = {name: _distinct(record.protocol.get(name) for record in records) for name in PROTOCOL_FIELDS}
    return {
        "protocol_version": _distinct(record.protocol_version for record in records),
        "clocks_version": _distinct(clocks_version(record) for record in records),
        "protocol": protocol,
        "package_version": _distinct(record.environment.get("two_clocks") for record in records),
        "rendered_by": __version__,
        "num_records": len(records),
        "num_groups": len({group_key(r) for r in records}),
        "statistics": {
            "median_interval": "order statistics [x(k), x(n+1-k)], the narrowest whose exact coverage reaches the target",
            "median_target": MEDIAN_TARGET,
            "range_below": MEDIAN_MINIMUM,
            "slope_method": SLOPE_METHOD,
        },
    }


def _distinct(values: Iterable[Any]) -> list[Any]:
    """Sorted distinct values (one item when the records agree); None (a knob a record lacks) sorts first."""
    unique = {canonical_json(value): value for value in values}
    return [unique[key] for key in sorted(unique)]


def _labels(components: Sequence[tuple[str, Mapping[str, Any]]]) -> dict[tuple[str, str], str]:
    """'gpt' alone, or 'gpt width=128' when gpt appears with several configs: only the knobs that differ are shown."""
    configs: dict[str, dict[str, Mapping[str, Any]]] = {}
    for name, config in components:
        configs.setdefault(name, {})[canonical_json(config)] = config
    labels: dict[tuple[str, str], str] = {}
    for name, variants in configs.items():
        knobs = sorted({knob for config in variants.values() for knob in config})
        varying = [knob for knob in knobs if len({canonical_json(config.get(knob)) for config in variants.values()}) > 1]
        for key, config in variants.items():
            shown = " ".join(f"{knob}={_value(config.get(knob))}" for knob in varying)
            labels[(name, key)] = f"{name} {shown}" if shown else name
    return labels


def _value(value: Any) -> str:
    return knob_value(value)


def _fit_row(fit: ScalingFit, adapter_labels: Mapping[tuple[str, str], str], task_labels: Mapping[tuple[str, str], str]) -> dict[str, Any]:
    data = fit.to_dict()
    data["adapter_label"] = adapter_labels.get((fit.adapter, canonical_json(fit.adapter_config)), fit.adapter)
    data["task_label"] = task_labels.get((fit.task, canonical_json(fit.task_config)), fit.task) if fit.complexity is not None else fit.task
    data["full_batch_points"] = fit.full_batch_points
    return data


def _cell_label(row: Mapping[str, Any]) -> str:
    return f"{row['adapter_label']} · {row['task_label']} · N={_n(row)}"


# --- rendering ---------------------------------------------------------------------------------


def to_json(board: Mapping[str, Any]) -> str:
    """Stable JSON text (sorted keys) of `build()`'s output."""
    return json.dumps(board, indent=2, sort_keys=True, allow_nan=False, default=_no_nan) + "\n"


def _no_nan(value: Any) -> Any:
    raise TypeError(f"cannot serialise {type(value).__name__} in a leaderboard")


def to_markdown(board: Mapping[str, Any]) -> str:
    """Methods header, the clocks table, predicted windows and scaling fits where there are any, as GitHub markdown."""
    from tabulate import tabulate  # local: keeps `python -m benchmark list` fast

    parts = ["# two-clocks leaderboard", "", _methods_markdown(board["methods"]), "", "## Clocks", ""]
    rows = board["rows"]
    mixed = any(row["protocol_label"] for row in rows)  # settings differ between rows: say which
    headers = (*COLUMNS, "protocol") if mixed else COLUMNS
    cells = [_row_cells(row) + ([row["protocol_label"]] if mixed else []) for row in rows]
    parts += [tabulate(cells, headers=headers, tablefmt="github", disable_numparse=True), "", _legend(board["methods"])]
    if board["predictions"]:
        parts += ["", "## Intrinsic rule clock and predicted windows", "", _predictions_markdown(board)]
    mem_fits, rule_fits = board["scaling"]["tau_mem_vs_n"], board["scaling"]["tau_rule_vs_complexity"]
    if mem_fits or rule_fits:
        parts += ["", "## Scaling"]
    if mem_fits:
        parts += ["", "### τ_mem ∝ N^α", "", _alpha_markdown(mem_fits)]
    if rule_fits:
        parts += ["", "### τ_rule against complexity", "", _beta_markdown(rule_fits, rows)]
    return "\n".join(parts) + "\n"


def _methods_markdown(methods: Mapping[str, Any]) -> str:
    protocol = methods["protocol"]
    show = lambda values: ", ".join("—" if v is None else _value(v) for v in values) + (" (mixed)" if len(values) > 1 else "")  # noqa: E731
    schedule = f"{show(protocol['eval_schedule'])}, {show(protocol['eval_points'])} evals after step 0, up to {show(protocol['max_steps'])} steps"
    statistics = methods["statistics"]
    rule_curves = {
        "2.0": f"validity of non-copies (chance-normalised) ≥ {show(protocol['theta_rule'])}; non-copies: neither a copy nor within "
        f"{show([v for v in protocol['near_distance'] if v is not None])} cell(s) of a training sample; read when at least "
        f"max({show([v for v in protocol['min_noncopy'] if v is not None])}, {show([v for v in protocol['min_noncopy_fraction'] if v is not None])}·M) remain",
        "2.0 (re-read)": "(protocol-1.0 runs re-read) validity of the samples that are not exact copies (1.0 recorded no near-copies), chance-normalised, "
        f"≥ {show(protocol['theta_rule'])}, read when at least max(64, 0.1·M) remain; τ_mem near not available",
        "1.0": f"(protocol 1.0) validity of all samples, copies included (chance-normalised) ≥ {show(protocol['theta_rule'])}",
    }
    lines = [f"- protocol version: {show(methods['protocol_version'])}; clocks read with: {show(methods['clocks_version'])}"]
    lines += [f"- τ_rule: {rule_curves.get(version, version)}" for version in methods["clocks_version"]]
    lines += [
        f"- τ_mem: mem − control ≥ {show(protocol['theta_mem'])} (strong: {show(protocol['theta_mem_strong'])}); τ_mem near: copies and near-copies beyond control ≥ {show(protocol['theta_mem'])}",
        f"- hold: a crossing must hold for {show(protocol['hold'])} consecutive evals; early stop: {show(protocol['early_stop'])}",
        f"- eval schedule: {schedule}",
        f"- eval samples: M = {show(protocol['eval_samples'])}, drawn {show(protocol['eval_samples_min'])} first and doubled until every clock curve is clear of its "
        f"threshold (—: all M at every eval, protocol 1.0); sampling seed {show(protocol['sampling_seed'])}; batching: {show(protocol['batching'])}",
        f"- package version: {show(methods['package_version'])} (rendered by {methods['rendered_by']})",
        f"- records: {methods['num_records']} runs in {methods['num_groups']} cells; medians over seeds with {statistics['median_interval']} "
        f"{format_percent(statistics['median_target'])}, printed with that coverage, and called a range below {format_percent(statistics['range_below'])}; "
        f"slopes: {statistics['slope_method']}",
    ]
    return "\n".join(lines)


def _legend(methods: Mapping[str, Any]) -> str:
    return (
        "Clocks in steps: median over seeds, then its interval and the interval's exact coverage, e.g. `412 [380, 455] (93 %)`; "
        "with fewer seeds than a 90 % interval needs, `(range a–b, 75 %)`: the spread of the seeds, not a confidence interval. "
        "`> x`: a lower bound (the clock had not fired by step x in the runs that decide this number); `n/a`: no such clock (stream runs have no training set to copy). "
        "status: open (τ_rule before τ_mem, or τ_mem not yet), closed (τ_rule ≥ τ_mem), not learned (copying began, the rule never came), "
        "censored (neither clock fired), stream (no τ_mem); read off the medians, with the share of seeds agreeing when they do not all agree. "
        "window = τ_mem − τ_rule and log-window = log10(τ_mem / τ_rule) from the medians (`>`/`<`: bounds). "
        "height: the most novel-valid samples before τ_mem; area: ∫ novel-valid d log10(step) up to τ_mem, in decades (medians over seeds). "
        "N† marks full-batch cells (N ≤ batch size: every batch holds the whole training set). Epochs = steps × batch / N."
    )


def _n(row: Mapping[str, Any]) -> str:
    if row["n_train"] == "stream":
        return "stream"
    return f"{int(row['n_train'])}{'†' if row['full_batch'] else ''}"


def _row_cells(row: Mapping[str, Any]) -> list[str]:
    window = row["window"]
    return [
        row["adapter_label"],
        row["task_label"],
        _complexity(row["complexity"]),
        _n(row),
        _params(row["num_parameters"]),
        str(len(row["seeds"])),
        _summary(row["clocks"]["tau_rule"]),
        _summary(row["clocks"]["tau_mem"]),
        _summary(row["clocks"]["tau_mem_near"]),
        _status(window),
        _window(window, "steps", 0),
        _window(window, "log_window", 2),
        _summary(window["height"], digits=2),
        _summary(window["area"], digits=2),
        _summary(row["epochs"]["tau_rule"]),
        _summary(row["epochs"]["tau_mem"]),
    ]


def _summary(summary: Mapping[str, Any] | None, digits: int = 0) -> str:
    if summary is None:
        return "n/a"
    return MedianSummary(**{**summary, "ranks": tuple(summary["ranks"]) if summary["ranks"] else None}).display(digits)


def _status(window: Mapping[str, Any]) -> str:
    counts = window["status_counts"]
    runs = sum(counts.values())
    agreeing = counts.get(window["status"], 0)
    return window["status"] if agreeing == runs else f"{window['status']} ({agreeing}/{runs})"


def _window(window: Mapping[str, Any], field: str, digits: int) -> str:
    from benchmark.core.display import format_window

    return format_window(window[field], window["kind"], digits)


def _complexity(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return _int(value) if float(value).is_integer() else f"{value:g}"


def _int(value: float | int) -> str:
    return str(int(value))


def _params(count: int) -> str:
    if count >= 1_000_000:
        return f"{count / 1e6:.2f}M"
    if count >= 1_000:
        return f"{count / 1e3:.3g}k"
    return str(count)


def _predictions_markdown(board: Mapping[str, Any]) -> str:
    from tabulate import tabulate

    cells = [[p["row"], _summary(p["tau_rule_stream"]), _summary(p["tau_mem"]), p["predicted"], p["measured"], {True: "yes", False: "no", None: "—"}[p["agrees"]]] for p in board["predictions"]]
    summary = board["prediction_summary"]
    table = tabulate(cells, headers=("cell", "τ_rule^∞ (stream)", "τ_mem(N)", "predicted", "measured", "agrees"), tablefmt="github", disable_numparse=True)
    return (
        f"{table}\n\nThe window is predicted to open iff the median intrinsic rule clock τ_rule^∞ (the same adapter and task trained on a stream "
        f"of fresh samples) comes before the cell's median τ_mem(N); unknown where censoring leaves the order undecided. "
        f"The prediction matched the measured window in {summary['agree']} of {summary['known']} cells where both are known "
        f"({summary['cells'] - summary['known']} unknown)."
    )


def _alpha_markdown(fits: Sequence[Mapping[str, Any]]) -> str:
    from tabulate import tabulate

    cells = []
    for fit in fits:
        ns = sorted({p["x"] for p in fit["points"]})
        cells.append(
            [
                fit["adapter_label"],
                fit["task_label"],
                _complexity(fit["complexity"]),
                f"{_int(ns[0])}–{_int(ns[-1])} ({len(ns)} values)",
                f"{fit['full_batch_points']} of {len(fit['points'])}",
                _slope(fit["fit"]),
                _points(fit["fit"]),
            ]
        )
    table = tabulate(cells, headers=("adapter", "task", "complexity", "N range", "full-batch runs", "α", "runs (censored)"), tablefmt="github", disable_numparse=True)
    return f"{table}\n\nFit of log10 τ_mem on log10 N over single runs, censored runs kept as bounds (Tobit); interval: seeds as the units, coverage in brackets."


def _beta_markdown(fits: Sequence[Mapping[str, Any]], rows: Sequence[Mapping[str, Any]]) -> str:
    from tabulate import tabulate

    medians = _rule_medians(rows)
    cells = [
        [fit["adapter_label"], fit["task_label"], "stream" if fit["n_train"] == "stream" else _int(fit["n_train"]), medians.get(_rule_key(fit), ""), _slope(fit["fit"]), _points(fit["fit"])]
        for fit in fits
    ]
    table = tabulate(cells, headers=("adapter", "task", "N", "median τ_rule by complexity", "β", "runs (censored)"), tablefmt="github", disable_numparse=True)
    return f"{table}\n\nFit of log10 τ_rule on complexity (τ_rule grows ×10^β per unit), censored runs kept as bounds; interval as for α."


def _slope(fit: Mapping[str, Any]) -> str:
    if fit["slope"] is None:
        return f"no fit: {fit['reason']}"
    if fit["low"] is None:
        return f"{fit['slope']:.2f} (no interval: {fit['reason']})"
    return f"{fit['slope']:.2f} [{fit['low']:.2f}, {fit['high']:.2f}] ({format_percent(fit['coverage'])})"


def _points(fit: Mapping[str, Any]) -> str:
    return f"{fit['points']} ({fit['points_censored']})"


def _rule_key(item: Mapping[str, Any]) -> str:
    return canonical_json([item["adapter"], item["adapter_config"], item["task"], item["n_train"], item["protocol"], item["clocks_version"]])


def _rule_medians(rows: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """'2: 120; 4: > 2000' per (adapter, task name, N): the median τ_rule at each complexity."""
    from benchmark.core.display import format_bound

    table: dict[str, list[tuple[float, str]]] = {}
    for row in rows:
        clock = row["clocks"]["tau_rule"]
        if clock is not None:
            table.setdefault(_rule_key(row), []).append((row["complexity"], format_bound(clock["median"], clock["median_is_bound"])))
    return {key: "; ".join(f"{_complexity(c)}: {text}" for c, text in sorted(entries)) for key, entries in table.items()}


# --- files -------------------------------------------------------------------------------------


def write(board: Mapping[str, Any], markdown_path: str | Path | None = None, json_path: str | Path | None = None) -> str:
    """Render the markdown; write it and/or the JSON where asked (parent folders created). Returns the markdown."""
    markdown = to_markdown(board)
    for path, text in ((markdown_path, markdown), (json_path, to_json(board) if json_path else "")):
        if path is None:
            continue
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return markdown


__all__ = ["LEADERBOARD_SCHEMA_VERSION", "COLUMNS", "PROTOCOL_FIELDS", "build", "methods", "to_json", "to_markdown", "write"]
