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


def _compact_cells(row: Mapping[str, Any]) -> list[str]:
    """The one reader of a leaderboard row here: its label, N, seeds, the two clocks and the window status."""
    from benchmark.aggregate import ClockSummary

    window = row["window"]
    counts = window.get("status_counts") or {}
    runs = sum(counts.values())
    agreeing = counts.get(window["status"], runs)
    status = window["status"] if agreeing == runs else f"{window['status']} ({agreeing}/{runs})"
    return [
        row["adapter_label"],
        row["task_label"],
        str(int(row["n_train"])),
        str(len(row["seeds"])),
        ClockSummary(**row["tau_rule"]).display(),
        ClockSummary(**row["tau_mem"]).display(),
        status,
    ]


def compact_table(board: Mapping[str, Any], width: int = WIDTH) -> str:
    """The leaderboard as a GitHub-markdown table of `COMPACT_COLUMNS`, at most `width` characters wide.

    Labels (adapter, task) lose their middle ('…') when the table would be wider; clocks never do.
    A row whose protocol settings differ from the others' gets its protocol label appended to the task.
    """
    from tabulate import tabulate

    cells = []
    for row in board["rows"]:
        row_cells = _compact_cells(row)
        if row.get("protocol_label"):
            row_cells[1] = f"{row_cells[1]} ({row['protocol_label']})"
        cells.append(row_cells)
    if not cells:
        return "(no finished runs)"
    render = lambda rows: tabulate(rows, headers=COMPACT_COLUMNS, tablefmt="github", disable_numparse=True)  # noqa: E731
    table = render(cells)
    for limit in range(max(len(c[i]) for c in cells for i in (0, 1)), 7, -1):
        if max(map(len, table.splitlines())) <= width:
            break
        cells = [[_shorten(cell, limit) if i in (0, 1) else cell for i, cell in enumerate(row)] for row in cells]
        table = render(cells)
    return table


def summary_text(board: Mapping[str, Any], markdown_path: str | None = None, width: int = WIDTH) -> str:
    """What `run` prints at the end: one line saying what the table is, the compact table, and where the rest is."""
    methods = board.get("methods", {})
    versions = ", ".join(map(str, methods.get("protocol_version", []))) or "?"
    count = methods.get("num_records", len(board.get("records", [])))
    lines = [f"{count} runs, protocol {versions}; clocks in steps, median [95 % interval] over seeds; > x: not fired by x", ""]
    lines.append(compact_table(board, width))
    fits = _fit_lines(board)
    if fits:
        lines += ["", *fits]
    where = f"full leaderboard (methods, epochs, windows): {markdown_path}" if markdown_path else "full leaderboard: run --wide"
    lines += ["", where]
    return "\n".join(lines)


def _fit_lines(board: Mapping[str, Any]) -> list[str]:
    """One line per scaling fit that has a slope; nothing at all when no adapter and task were run at several N or complexities."""
    lines = []
    for name, label in (("tau_mem_vs_n", "τ_mem ∝ N^α"), ("tau_rule_vs_complexity", "log10 τ_rule per unit complexity β")):
        for fit in board.get("scaling", {}).get(name, []):
            line = fit.get("fit", {})
            if line.get("slope") is None:
                continue
            interval = f" [{line['low']:.2f}, {line['high']:.2f}]" if line.get("low") is not None else ""
            lines.append(f"{label}: {fit['adapter_label']} on {fit['task_label']}: {line['slope']:.2f}{interval} ({line['points_used']} runs)")
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
