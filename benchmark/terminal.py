"""What a person watching a sweep sees: a compact leaderboard, one line per finished run, and progress.

- `compact_table(board)`: the leaderboard that `leaderboard.build()` returns, cut to the columns that fit a
  100-column terminal (adapter, task, N, seeds, τ_rule, τ_mem, window status); everything else is in the
  markdown file and `run --wide`. Only `_compact_cells` reads the board's rows: a change to the board's
  fields changes that one function.
- `run_summary(record)`: the line logged when a run finishes.
- `progress(...)`: a tqdm bar on a terminal; elsewhere (a log file, a CI console, a notebook's captured
  stderr) plain `logging` lines at most every `PLAIN_EVERY_S` seconds, never a control character.
  Rates and ETAs count training time only: the evals (dense at the start of a log-spaced schedule)
  would otherwise make the first ETAs hours long.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import TYPE_CHECKING, Any, Mapping, Sequence

if TYPE_CHECKING:  # pragma: no cover
    from benchmark.records import Record

logger = logging.getLogger(__name__)

WIDTH = 100
COMPACT_COLUMNS = ("adapter", "task", "N", "seeds", "τ_rule", "τ_mem", "window")
PLAIN_EVERY_S = 30.0  # a plain progress line at most this often per run
MIN_ETA_STEPS = 20  # no ETA before this many timed training steps: early rates are noise


# --- the compact leaderboard ----------------------------------------------------------------------


def _compact_cells(row: Mapping[str, Any], intervals: str = "all") -> list[str]:
    """The one reader of a leaderboard row here: its labels, N, seeds, the two clocks and the window status.

    Cells are formatted by the leaderboard's own helpers, so they read as in the markdown file. `intervals`:
    "all" (as the markdown), "confidence" (only intervals at the stated coverage, no lower-coverage ranges)
    or "none" (medians alone), for when the table would not fit.
    """
    from benchmark import leaderboard

    def clock(summary: Mapping[str, Any] | None) -> str:
        if summary is None or intervals == "all" or (intervals == "confidence" and summary.get("kind") in ("interval", "single")):
            return leaderboard._summary(summary)
        from benchmark.display import format_bound

        return format_bound(summary["median"], summary["median_is_bound"], 0)

    clocks = row["clocks"]
    return [
        row["adapter_label"],
        row["task_label"],
        leaderboard._n(row),
        str(len(row["seeds"])),
        clock(clocks["tau_rule"]),
        clock(clocks["tau_mem"]),
        leaderboard._status(row["window"]),
    ]


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
        cells = [[_shorten(cell, limit) if i in (0, 1) else cell for i, cell in enumerate(row)] for row in cells]
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
    from benchmark import leaderboard

    lines = []
    for name, label in (("tau_mem_vs_n", "τ_mem ∝ N^α"), ("tau_rule_vs_complexity", "log10 τ_rule per unit complexity β")):
        for fit in board.get("scaling", {}).get(name, []):
            if fit["fit"].get("slope") is None:
                continue
            lines.append(f"{label}: {fit['adapter_label']} on {fit['task_label']}: {leaderboard._slope(fit['fit'])}, runs {leaderboard._points(fit['fit'])}")
    return lines


def _shorten(text: str, limit: int) -> str:
    """'memorizer batch_size=128' → 'memo…size=128': the middle goes, the knob values that tell rows apart stay."""
    if len(text) <= limit:
        return text
    head = (limit - 1) // 3
    return text[:head] + "…" + text[len(text) - (limit - 1 - head) :]


# --- one line per finished run ----------------------------------------------------------------------


def run_summary(record: Record) -> str:
    """'gpt on parity N=32 seed 0: τ_rule 149, τ_mem 864, window open; 1500 steps in 1 min 12 s'."""
    clocks = record.clocks
    shown = ", ".join(f"{label} {clocks[name].display()}" for name, label in (("tau_rule", "τ_rule"), ("tau_mem", "τ_mem")) if name in clocks)
    stopped = " (early stop)" if record.stopped_early else ""
    return (
        f"{record.adapter_name} on {record.task_name} N={record.n_train} seed {record.seed}: {shown}, window {record.window.status}; "
        f"{record.steps_trained} steps{stopped} in {format_duration(record.wall_time_s)}"
    )


def format_duration(seconds: float) -> str:
    """'45 s', '3 min 05 s', '2 h 04 min'."""
    seconds = max(0.0, float(seconds))
    if seconds < 60:
        return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


# --- progress ------------------------------------------------------------------------------------------


def progress(name: str, total: int, initial: int = 0, *, quiet: bool = False, position: int = 0, stream: Any = None) -> Any:
    """A progress display for one run: tqdm when `stream` (default stderr) is a terminal, else plain log lines.

    Both offer `update(n)`, `set_postfix(**fields)`, `eval_done()` (the time since the last update was an eval,
    not training) and the context-manager protocol.
    """
    stream = sys.stderr if stream is None else stream
    if quiet:
        return PlainProgress(name, total, initial, enabled=False)
    if _is_terminal(stream):
        return BarProgress(name, total, initial, position=position, stream=stream)
    return PlainProgress(name, total, initial)


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


class BarProgress:
    """tqdm's bar, told to leave eval time out of its rate."""

    def __init__(self, name: str, total: int, initial: int, *, position: int, stream: Any) -> None:
        from tqdm.auto import tqdm

        self._bar = tqdm(total=total, initial=initial, desc=name, position=position, leave=position == 0, file=stream, dynamic_ncols=True, mininterval=0.5)

    def update(self, n: int = 1) -> None:
        self._bar.update(n)

    def set_postfix(self, **fields: Any) -> None:
        self._bar.set_postfix(refresh=False, **fields)

    def eval_done(self) -> None:
        self._bar.unpause()  # restart the rate clock: the eval's time is not training time

    def __enter__(self) -> BarProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.close()


class PlainProgress:
    """`name: step 500/1500 (33 %), valid 0.420, mem 0.000; 12.3 steps/s, ETA 1 min 21 s` via logging."""

    def __init__(self, name: str, total: int, initial: int, *, enabled: bool = True, every_s: float = PLAIN_EVERY_S, clock: Any = time.monotonic) -> None:
        self.name, self.total, self.step, self.enabled = name, total, initial, enabled
        self.every_s, self._clock = every_s, clock
        self.fields: dict[str, Any] = {}
        self._train_time, self._timed_steps = 0.0, 0
        self._last = self._clock()
        self._last_line: float | None = None

    def update(self, n: int = 1) -> None:
        now = self._clock()
        self._train_time += now - self._last
        self._timed_steps += n
        self._last = now
        self.step += n
        if not self.enabled:
            return
        if self.step >= self.total or self._last_line is None or now - self._last_line >= self.every_s:
            self._emit(now)

    def set_postfix(self, **fields: Any) -> None:
        self.fields.update(fields)

    def eval_done(self) -> None:
        self._last = self._clock()

    def line(self) -> str:
        percent = 100.0 * self.step / self.total if self.total else 100.0
        parts = [f"{self.name}: step {self.step}/{self.total} ({percent:.0f} %)"]
        parts += [f"{key} {value}" for key, value in self.fields.items() if key != "step"]
        text = ", ".join(parts)
        if self._timed_steps >= MIN_ETA_STEPS and self._train_time > 0:
            rate = self._timed_steps / self._train_time
            text += f"; {rate:.3g} steps/s"
            if self.step < self.total:
                text += f", ETA {format_duration((self.total - self.step) / rate)}"
        return text

    def _emit(self, now: float) -> None:
        self._last_line = now
        logger.info("%s", self.line())

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


__all__: Sequence[str] = ("compact_table", "summary_text", "run_summary", "progress", "format_duration", "COMPACT_COLUMNS")
