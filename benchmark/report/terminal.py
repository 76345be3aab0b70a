"""What a person watching a sweep sees: a compact leaderboard, one line per finished run, and progress.

- `compact_table(board)`: the `Board` (`benchmark.analysis.board`) cut to the columns that fit a
  100-column terminal (adapter, task, N, seeds, τ_rule, τ_mem, status, steps trained); the cell texts are those of
  the markdown table (`benchmark.report.table`), and everything else is in the markdown file and `run --wide`.
- `run_summary(record)`: the line logged when a run finishes.
- `progress(...)`: a tqdm bar on a terminal; elsewhere (a log file, a CI console, a notebook's captured
  stderr) plain `logging` lines at most every `PLAIN_EVERY_S` seconds, never a control character.
  Rates and ETAs count training time only: the evals (dense at the start of a log-spaced schedule)
  would otherwise make the first ETAs hours long.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from benchmark.analysis.board import Board, Cell
from benchmark.core.display import count_text
from benchmark.report.table import cell_texts, legend_lines, points_text, render

logger = logging.getLogger(__name__)

WIDTH = 100
COMPACT_COLUMNS = ("adapter", "task", "N", "seeds", "τ_rule", "τ_mem", "status", "steps trained")  # columns of the markdown table, in its order


# --- the compact leaderboard ----------------------------------------------------------------------


def _compact_cells(cell: Cell, intervals: str = "all", notes: bool = True, mixed: bool = False) -> list[str]:
    """One cell's `COMPACT_COLUMNS` with the markdown table's texts, and its protocol label when settings differ (`mixed`).

    `intervals`: "all" (as the markdown), "confidence" (only intervals at the stated coverage, no
    lower-coverage ranges) or "none" (medians alone), for when the table would not fit.
    """
    texts = cell_texts(cell, intervals, notes)
    return [texts[column] for column in COMPACT_COLUMNS] + ([cell.protocol_label] if mixed else [])


def compact_table(board: Board, width: int = WIDTH) -> str:
    """The leaderboard as a GitHub-markdown table of `COMPACT_COLUMNS`, at most `width` characters wide, and the legend of its marks."""
    return "\n\n".join([_compact(board, width)[0], *legend_lines(board)])


def _compact(board: Board, width: int) -> tuple[str, str]:
    """(table, what was left out to fit): ranges below the stated coverage, then intervals, early-stop notes, the middle of labels."""

    def fits(table: str) -> bool:
        return max(map(len, table.splitlines())) <= width

    if not board.cells:
        return "(no finished runs)", ""
    mixed = board.mixed_protocols  # as the markdown: a protocol column naming the settings that differ
    headers = (*COMPACT_COLUMNS, "protocol") if mixed else COMPACT_COLUMNS
    labels = (0, 1, len(headers) - 1) if mixed else (0, 1)  # the columns whose middle may go
    steps = [("all", True, ""), ("confidence", True, "ranges below the stated coverage"), ("none", True, "intervals")]
    if any(any(cell.group.stopped_early) for cell in board.cells):
        steps.append(("none", False, "intervals, early-stop notes"))
    for intervals, notes, left_out in steps:
        cells = [_compact_cells(cell, intervals, notes, mixed) for cell in board.cells]
        table = render(headers, cells, tight=True)
        if fits(table):
            return table, left_out
    limits = {i: max(len(row[i]) for row in cells) for i in labels}  # the longest label gives way first
    while max(limits.values()) > 6:
        limits[max(labels, key=lambda i: limits[i])] -= 1
        table = render(headers, [[_shorten_label(text, limits[i]) if i in limits else text for i, text in enumerate(row)] for row in cells], tight=True)
        if fits(table):
            break
    return table, f"{left_out}, the middle of long labels"


def summary_text(board: Board, markdown_path: str | None = None, width: int = WIDTH) -> str:
    """What `run` prints at the end: one line saying what the table is, the compact table, and where the rest is."""
    methods = board.methods
    versions = ", ".join(map(str, methods.protocol_version)) or "?"
    table, left_out = _compact(board, width)
    lines = [f"{count_text(methods.num_records, 'run')}, protocol {versions}; clocks in steps, median over seeds; > x: not fired by step x", "", table]
    legend = legend_lines(board)
    if legend:
        lines += ["", *legend]
    fits = _fit_lines(board)
    if fits:
        lines += ["", *fits]
    where = markdown_path or "run --wide"
    if left_out:
        lines += ["", f"left out to fit {width} columns: {left_out}", f"full leaderboard: {where}"]
    else:
        lines += ["", f"full leaderboard (methods, intervals, epochs, windows): {where}"]
    return "\n".join(lines)


def _fit_lines(board: Board) -> list[str]:
    """One line per scaling fit that has a slope; nothing at all when no adapter and task were run at several N or complexities."""
    lines = []
    for rows, label in ((board.mem_fits, "τ_mem ∝ N^α"), (board.rule_fits, "log10 τ_rule per unit complexity β")):
        for row in rows:
            if row.fit.fit.slope is None:
                continue
            lines.append(f"{label}: {row.adapter_label} on {row.task_label}: {row.fit.fit.display()}, runs {points_text(row.fit.fit)}")
    return lines


def _shorten_label(text: str, limit: int) -> str:
    """`_shorten`, but a leading 'adapter/model_type' stays whole while its knobs can be cut: it names the architecture."""
    head, _, rest = text.partition(" ")
    if "/" not in head or not rest or len(head) + 2 > limit:
        return _shorten(text, limit)
    return f"{head} {_shorten(rest, limit - len(head) - 1)}"


def _shorten(text: str, limit: int) -> str:
    """'memorizer batch_size=128' → 'memo…size=128': the middle goes, the knob values that tell rows apart stay."""
    if len(text) <= limit:
        return text
    head = (limit - 1) // 3
    return text[:head] + "…" + text[len(text) - (limit - 1 - head) :]


__all__: Sequence[str] = ("compact_table", "summary_text", "COMPACT_COLUMNS", "WIDTH")
