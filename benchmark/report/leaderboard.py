"""The leaderboard: a deterministic rendering of the `Board` (built from run records) as markdown (tabulate) and JSON.

Rendered from records only (never live state), so the same folder always gives the same bytes: no
timestamps, sorted rows. The board (cells, predicted windows, scaling fits, methods) is built once by
`benchmark.analysis.board`; this module only renders it, with the clocks table from `benchmark.report.table`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from benchmark.analysis.board import LEADERBOARD_SCHEMA_VERSION, PROTOCOL_FIELDS, Board, Cell, FitRow, Methods, build_board
from benchmark.core.display import count_text, format_bound, format_percent, knob_value
from benchmark.core.records import Record
from benchmark.report.table import COLUMNS, STEPS_LEGEND, clock_text, clocks_table, complexity_text, points_text, render
from benchmark.run.spec import canonical_json


def build(records: Iterable[Record]) -> Board:
    """The leaderboard as typed data (`Board.to_dict()` is what the JSON holds; the markdown renders it)."""
    return build_board(records)


# --- rendering ---------------------------------------------------------------------------------


def to_json(board: Board) -> str:
    """Stable JSON text (sorted keys) of the board."""
    return json.dumps(board.to_dict(), indent=2, sort_keys=True, allow_nan=False, default=_no_nan) + "\n"


def _no_nan(value: Any) -> Any:
    raise TypeError(f"cannot serialise {type(value).__name__} in a leaderboard")


def to_markdown(board: Board) -> str:
    """Methods header, the clocks table, predicted windows and scaling fits where there are any, as GitHub markdown."""
    parts = ["# two-clocks leaderboard", "", _methods_markdown(board.methods), "", "## Clocks", ""]
    parts += [clocks_table(board), "", _legend()]
    if board.predictions:
        parts += ["", "## Intrinsic rule clock and predicted windows", "", _predictions_markdown(board)]
    if board.mem_fits or board.rule_fits:
        parts += ["", "## Scaling"]
    if board.mem_fits:
        parts += ["", "### τ_mem ∝ N^α", "", _alpha_markdown(board.mem_fits)]
    if board.rule_fits:
        parts += ["", "### τ_rule against complexity", "", _beta_markdown(board.rule_fits, board.cells)]
    return "\n".join(parts) + "\n"


def _methods_markdown(methods: Methods) -> str:
    protocol = methods.protocol
    show = lambda values: ", ".join("—" if v is None else knob_value(v) for v in values) + (" (mixed)" if len(values) > 1 else "")  # noqa: E731
    schedule = f"{show(protocol['eval_schedule'])}, {show(protocol['eval_points'])} evals after step 0, up to {show(protocol['max_steps'])} steps"
    statistics = methods.statistics
    rule_curves = {
        "2.0": f"validity of non-copies (chance-normalised) ≥ {show(protocol['theta_rule'])}; non-copies: neither a copy nor within "
        f"{show([v for v in protocol['near_distance'] if v is not None])} cell(s) of a training sample; read when at least "
        f"max({show([v for v in protocol['min_noncopy'] if v is not None])}, {show([v for v in protocol['min_noncopy_fraction'] if v is not None])}·M) remain",
        "2.0 (re-read)": "(protocol-1.0 runs re-read) validity of the samples that are not exact copies (1.0 recorded no near-copies), chance-normalised, "
        f"≥ {show(protocol['theta_rule'])}, read when at least max(64, 0.1·M) remain; τ_mem near not available",
        "1.0": f"(protocol 1.0) validity of all samples, copies included (chance-normalised) ≥ {show(protocol['theta_rule'])}",
    }
    lines = [f"- protocol version: {show(methods.protocol_version)}; clocks read with: {show(methods.clocks_version)}"]
    lines += [f"- τ_rule: {rule_curves.get(version, version)}" for version in methods.clocks_version]
    lines += [
        f"- τ_mem: mem − control ≥ {show(protocol['theta_mem'])} (strong: {show(protocol['theta_mem_strong'])}); τ_mem near: copies and near-copies beyond control ≥ {show(protocol['theta_mem'])}",
        f"- hold: a crossing must hold for {show(protocol['hold'])} consecutive evals; early stop: {show(protocol['early_stop'])}",
        f"- eval schedule: {schedule}",
        f"- eval samples: M = {show(protocol['eval_samples'])}, drawn {show(protocol['eval_samples_min'])} first and doubled until every clock curve is clear of its "
        f"threshold (—: all M at every eval, protocol 1.0); sampling seed {show(protocol['sampling_seed'])}; batching: {show(protocol['batching'])}",
        f"- package version: {show(methods.package_version)} (rendered by {methods.rendered_by})",
        f"- records: {count_text(methods.num_records, 'run')} in {count_text(methods.num_groups, 'cell')}; medians over seeds with {statistics.median_interval} "
        f"{format_percent(statistics.median_target)}, printed with that coverage, and called a range below {format_percent(statistics.range_below)}; "
        f"slopes: {statistics.slope_method}",
    ]
    return "\n".join(lines)


def _legend() -> str:
    return (
        "Clocks in steps: median over seeds, then its interval and the interval's exact coverage, e.g. `412 [380, 455] (93 %)`; "
        "with fewer seeds than a 90 % interval needs, `(range a–b, 75 %)`: the spread of the seeds, not a confidence interval. "
        "`> x`: a lower bound (the clock had not fired by step x in the runs that decide this number); `n/a`: no such clock (stream runs have no training set to copy). "
        "status: open (τ_rule before τ_mem, or τ_mem not yet), closed (τ_rule ≥ τ_mem), not learned (copying began, the rule never came), "
        "censored (neither clock fired), stream (no τ_mem); read off the medians, with the share of seeds agreeing when they do not all agree. "
        "window = τ_mem − τ_rule and log-window = log10(τ_mem / τ_rule) from the medians (`>`/`<`: bounds). "
        "height: the most novel-valid samples before τ_mem; area: ∫ novel-valid d log10(step) up to τ_mem, in decades (medians over seeds). "
        "N† marks full-batch cells (N ≤ batch size: every batch holds the whole training set). Epochs = steps × batch / N. "
        f"{STEPS_LEGEND}"
    )


def _predictions_markdown(board: Board) -> str:
    agrees = {True: "yes", False: "no", None: "—"}
    cells = [
        [p.cell_label, clock_text(p.prediction.tau_rule_stream), clock_text(p.prediction.tau_mem), p.prediction.predicted, p.prediction.measured, agrees[p.prediction.agrees]]
        for p in board.predictions
    ]
    summary = board.prediction_summary
    table = render(("cell", "τ_rule^∞ (stream)", "τ_mem(N)", "predicted", "measured", "agrees"), cells)
    return (
        f"{table}\n\nThe window is predicted to open iff the median intrinsic rule clock τ_rule^∞ (the same adapter and task trained on a stream "
        f"of fresh samples) comes before the cell's median τ_mem(N); unknown where censoring leaves the order undecided. "
        f"The prediction matched the measured window in {summary.agree} of {count_text(summary.known, 'cell')} where both are known "
        f"({summary.cells - summary.known} unknown)."
    )


def _alpha_markdown(fits: Sequence[FitRow]) -> str:
    cells = []
    for row in fits:
        points = row.fit.points
        ns = sorted({p.x for p in points})
        cells.append(
            [
                row.adapter_label,
                row.task_label,
                complexity_text(row.fit.complexity),
                f"{int(ns[0])}–{int(ns[-1])} ({count_text(len(ns), 'value')})",
                f"{row.fit.full_batch_points} of {len(points)}",
                row.fit.fit.display(),
                points_text(row.fit.fit),
            ]
        )
    table = render(("adapter", "task", "complexity", "N range", "full-batch runs", "α", "runs (censored)"), cells)
    return f"{table}\n\nFit of log10 τ_mem on log10 N over single runs, censored runs kept as bounds (Tobit); interval: seeds as the units, coverage in brackets."


def _beta_markdown(fits: Sequence[FitRow], cells: Sequence[Cell]) -> str:
    medians = _rule_medians(cells)
    rows = [
        [
            row.adapter_label,
            row.task_label,
            "stream" if row.fit.n_train == "stream" else str(int(row.fit.n_train or 0)),
            medians.get(_rule_key(row.fit.adapter, row.fit.adapter_config, row.fit.task, row.fit.n_train, row.fit.protocol, row.fit.clocks_version), ""),
            row.fit.fit.display(),
            points_text(row.fit.fit),
        ]
        for row in fits
    ]
    table = render(("adapter", "task", "N", "median τ_rule by complexity", "β", "runs (censored)"), rows)
    return f"{table}\n\nFit of log10 τ_rule on complexity (τ_rule grows ×10^β per unit), censored runs kept as bounds; interval as for α."


def _rule_key(*parts: Any) -> str:
    """adapter, adapter config, task name, N, protocol, clocks version: what a τ_rule fit and its cells share."""
    return canonical_json(list(parts))


def _rule_medians(cells: Sequence[Cell]) -> dict[str, str]:
    """'2: 120; 4: > 2000' per (adapter, task name, N): the median τ_rule at each complexity."""
    table: dict[str, list[tuple[float, str]]] = {}
    for cell in cells:
        group = cell.group
        clock = group.clocks["tau_rule"]
        if clock is not None:
            key = _rule_key(group.adapter, group.adapter_config, group.task, group.n_train, group.protocol, group.clocks_version)
            table.setdefault(key, []).append((group.complexity, format_bound(clock.median, clock.median_is_bound)))
    return {key: "; ".join(f"{complexity_text(c)}: {text}" for c, text in sorted(entries)) for key, entries in table.items()}


# --- files -------------------------------------------------------------------------------------


def write(board: Board, markdown_path: str | Path | None = None, json_path: str | Path | None = None) -> str:
    """Render the markdown; write it and/or the JSON where asked (parent folders created). Returns the markdown."""
    markdown = to_markdown(board)
    for path, text in ((markdown_path, markdown), (json_path, to_json(board) if json_path else "")):
        if path is None:
            continue
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return markdown


__all__ = ["COLUMNS", "LEADERBOARD_SCHEMA_VERSION", "PROTOCOL_FIELDS", "build", "to_json", "to_markdown", "write"]
