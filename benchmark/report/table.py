"""The clocks table, rendered one way for every view: each cell's texts, and the GitHub-markdown table of them.

The markdown leaderboard prints every column; the terminal picks `COMPACT_COLUMNS` from the same texts
(and may drop intervals to fit its width), so a number reads the same wherever it is printed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from benchmark.analysis.board import Board, Cell
from benchmark.analysis.stats import MedianSummary, SlopeFit
from benchmark.core.display import format_bound

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
    "steps trained",
)
FULL_BATCH_LEGEND = "N†: a full-batch cell (N ≤ batch size: each batch holds all N)."
STEPS_LEGEND = "steps trained: median over seeds of the steps each run trained, of max_steps; early stop: the stop rule ended the runs (or the share of them it ended)."
INTERVALS = ("all", "confidence", "none")  # every interval; only those at the stated coverage; medians alone


def clock_text(summary: MedianSummary | None, digits: int = 0, intervals: str = "all") -> str:
    """'412 [380, 455] (93 %)', a range, '> 2000', or 'n/a' where the cell has no such clock; `intervals` may drop the spread."""
    if summary is None:
        return "n/a"
    if intervals == "all" or (intervals == "confidence" and summary.kind in ("interval", "single")):
        return summary.display(digits)
    return format_bound(summary.median, summary.median_is_bound, digits)


def complexity_text(value: float | None) -> str:
    """'3', '2.5', or '—' where the task states no complexity."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def params_text(count: int) -> str:
    """'1.23M', '45.6k' or '789' parameters."""
    if count >= 1_000_000:
        return f"{count / 1e6:.2f}M"
    if count >= 1_000:
        return f"{count / 1e3:.3g}k"
    return str(count)


def points_text(fit: SlopeFit) -> str:
    """'12 (4)': the runs a fit used and, in brackets, how many of them were censored."""
    return f"{fit.points} ({fit.points_censored})"


def steps_text(steps_trained: Sequence[int], max_steps: int, stopped_early: Sequence[bool], notes: bool = True) -> str:
    """'765 of 1,500 (early stop)': the median over seeds of the steps trained, of max_steps; '(early stop 2/3)' when not all stopped early."""
    median = float(np.median(steps_trained))
    early = sum(stopped_early)
    note = "" if early == 0 else " (early stop)" if early == len(stopped_early) else f" (early stop {early}/{len(stopped_early)})"
    return f"{median:,.0f} of {max_steps:,}{note if notes else ''}"


def cell_texts(cell: Cell, intervals: str = "all", notes: bool = True) -> dict[str, str]:
    """Every column's text for one cell, keyed by the names in `COLUMNS`; `intervals` and `notes` (early stop) may be cut to fit a terminal."""
    group, window = cell.group, cell.group.window
    clock = lambda summary, digits=0: clock_text(summary, digits, intervals)  # noqa: E731
    return {
        "adapter": cell.adapter_label,
        "task": cell.task_label,
        "complexity": complexity_text(group.complexity),
        "N": cell.n_label,
        "params": params_text(group.num_parameters),
        "seeds": str(len(group.seeds)),
        "τ_rule": clock(group.clocks["tau_rule"]),
        "τ_mem": clock(group.clocks["tau_mem"]),
        "τ_mem near": clock(group.clocks["tau_mem_near"]),
        "status": window.display_status(),
        "window": window.display_steps(),
        "log-window": window.display_log(),
        "height": clock(window.height, 2),
        "area": clock(window.area, 2),
        "τ_rule (epochs)": clock(group.epochs["tau_rule"]),
        "τ_mem (epochs)": clock(group.epochs["tau_mem"]),
        "steps trained": steps_text(group.steps_trained, group.max_steps, group.stopped_early, notes),
    }


def render(headers: Sequence[str], rows: Sequence[Sequence[str]], *, tight: bool = False) -> str:
    """A GitHub-markdown table of already formatted texts (no number parsing: '0.50' stays '0.50').

    `tight` (the terminal): columns as wide as their widest text, without tabulate's two spare spaces after short headers.
    """
    import tabulate as tabulate_module  # local: keeps `python -m benchmark list` fast

    padding = tabulate_module.MIN_PADDING
    tabulate_module.MIN_PADDING = 0 if tight else padding
    try:
        return tabulate_module.tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)
    finally:
        tabulate_module.MIN_PADDING = padding


def clocks_table(board: Board) -> str:
    """The full clocks table of the markdown leaderboard: `COLUMNS`, plus a protocol column when settings differ."""
    mixed = board.mixed_protocols
    headers = (*COLUMNS, "protocol") if mixed else COLUMNS
    rows = [[*cell_texts(cell).values()] + ([cell.protocol_label] if mixed else []) for cell in board.cells]
    return render(headers, rows)


def legend_lines(board: Board) -> list[str]:
    """What the table's marks mean, for the views that print no legend paragraph: N† when a full-batch cell is shown."""
    return [FULL_BATCH_LEGEND] if any(cell.group.full_batch for cell in board.cells) else []


__all__ = [
    "COLUMNS",
    "FULL_BATCH_LEGEND",
    "INTERVALS",
    "STEPS_LEGEND",
    "legend_lines",
    "steps_text",
    "cell_texts",
    "clock_text",
    "clocks_table",
    "complexity_text",
    "params_text",
    "points_text",
    "render",
]
