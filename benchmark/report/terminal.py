"""What a person watching a sweep sees: a compact leaderboard, one line per finished run, and progress.

- `compact_table(board)`: the leaderboard that `leaderboard.build()` returns, cut to the columns that fit a
  100-column terminal (adapter, task, N, seeds, τ_rule, τ_mem, window status); everything else is in the
  markdown file and `run --wide`. Only `_compact_cells` (with its `_adapter_cell`) reads the board's rows: a
  change to the board's fields changes those two functions.
- `run_summary(record)`: the line logged when a run finishes.
- `progress(...)`: a tqdm bar on a terminal; elsewhere (a log file, a CI console, a notebook's captured
  stderr) plain `logging` lines at most every `PLAIN_EVERY_S` seconds, never a control character.
  Rates and ETAs count training time only: the evals (dense at the start of a log-spaced schedule)
  would otherwise make the first ETAs hours long.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    pass

logger = logging.getLogger(__name__)

WIDTH = 100
COMPACT_COLUMNS = ("adapter", "task", "N", "seeds", "τ_rule", "τ_mem", "window")


# --- the compact leaderboard ----------------------------------------------------------------------


def _compact_cells(row: Mapping[str, Any], intervals: str = "all") -> list[str]:
    """The one reader of a leaderboard row here: its labels, N, seeds, the two clocks and the window status.

    Cells are formatted by the leaderboard's own helpers, so they read as in the markdown file. `intervals`:
    "all" (as the markdown), "confidence" (only intervals at the stated coverage, no lower-coverage ranges)
    or "none" (medians alone), for when the table would not fit.
    """
    from benchmark.report import leaderboard

    def clock(summary: Mapping[str, Any] | None) -> str:
        if summary is None or intervals == "all" or (intervals == "confidence" and summary.get("kind") in ("interval", "single")):
            return leaderboard._summary(summary)
        from benchmark.core.display import format_bound

        return format_bound(summary["median"], summary["median_is_bound"], 0)

    clocks = row["clocks"]
    return [
        _adapter_cell(row),
        row["task_label"],
        leaderboard._n(row),
        str(len(row["seeds"])),
        clock(clocks["tau_rule"]),
        clock(clocks["tau_mem"]),
        leaderboard._status(row["window"]),
    ]


def _adapter_cell(row: Mapping[str, Any]) -> str:
    """The row's adapter label with the model type next to the name ('hf_causal_lm/qwen2 width=64'), shown even when all rows share it."""
    from benchmark.core.display import adapter_label, model_type

    name, label = row["adapter"], row["adapter_label"]
    kind = model_type(row.get("adapter_config") or {})
    if kind is None or not label.startswith(name):
        return label
    knobs = [part for part in label[len(name) :].split(" ") if part and part != f"model_type={kind}"]
    return " ".join([adapter_label(name, row["adapter_config"]), *knobs])


def compact_table(board: Mapping[str, Any], width: int = WIDTH) -> str:
    """The leaderboard as a GitHub-markdown table of `COMPACT_COLUMNS`, at most `width` characters wide."""
    return _compact(board, width)[0]


def _compact(board: Mapping[str, Any], width: int) -> tuple[str, str]:
    """(table, what was left out to fit): first ranges below the stated coverage, then intervals, then the middle of labels."""
    from tabulate import tabulate

    def render(rows: list[list[str]]) -> str:
        return tabulate(rows, headers=COMPACT_COLUMNS, tablefmt="github", disable_numparse=True)

    def fits(table: str) -> bool:
        return max(map(len, table.splitlines())) <= width

    if not board["rows"]:
        return "(no finished runs)", ""
    for intervals, left_out in (("all", ""), ("confidence", "ranges below the stated coverage"), ("none", "intervals")):
        cells = []
        for row in board["rows"]:
            row_cells = _compact_cells(row, intervals)
            if row.get("protocol_label"):
                row_cells[1] = f"{row_cells[1]} ({row['protocol_label']})"
            cells.append(row_cells)
        table = render(cells)
        if fits(table):
            return table, left_out
    for limit in range(max(len(c[i]) for c in cells for i in (0, 1)), 7, -1):
        cells = [[_shorten_label(cell, limit) if i in (0, 1) else cell for i, cell in enumerate(row)] for row in cells]
        table = render(cells)
        if fits(table):
            break
    return table, "intervals and the middle of long labels"


def summary_text(board: Mapping[str, Any], markdown_path: str | None = None, width: int = WIDTH) -> str:
    """What `run` prints at the end: one line saying what the table is, the compact table, and where the rest is."""
    methods = board.get("methods", {})
    versions = ", ".join(map(str, methods.get("protocol_version", []))) or "?"
    count = methods.get("num_records", len(board.get("records", [])))
    table, left_out = _compact(board, width)
    lines = [f"{count} runs, protocol {versions}; clocks in steps, median over seeds; > x: not fired by step x", "", table]
    fits = _fit_lines(board)
    if fits:
        lines += ["", *fits]
    where = markdown_path or "run --wide"
    lines += ["", f"left out to fit {width} columns: {left_out}; full leaderboard: {where}" if left_out else f"full leaderboard (methods, intervals, epochs, windows): {where}"]
    return "\n".join(lines)


def _fit_lines(board: Mapping[str, Any]) -> list[str]:
    """One line per scaling fit that has a slope; nothing at all when no adapter and task were run at several N or complexities."""
    from benchmark.report import leaderboard

    lines = []
    for name, label in (("tau_mem_vs_n", "τ_mem ∝ N^α"), ("tau_rule_vs_complexity", "log10 τ_rule per unit complexity β")):
        for fit in board.get("scaling", {}).get(name, []):
            if fit["fit"].get("slope") is None:
                continue
            lines.append(f"{label}: {fit['adapter_label']} on {fit['task_label']}: {leaderboard._slope(fit['fit'])}, runs {leaderboard._points(fit['fit'])}")
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
