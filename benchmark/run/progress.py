"""What a person watching a run sees while it trains: a progress bar or plain log lines, and one line when it ends.

The protocol drives `progress(...)`, named by `run_name(spec)` and fed `eval_fields(row)` after each eval; the
backends print `run_summary(record)` as each run finishes.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from benchmark.core.display import adapter_label, count_text, model_type

if TYPE_CHECKING:  # pragma: no cover
    from benchmark.core.records import Record
    from benchmark.run.spec import RunSpec

logger = logging.getLogger(__name__)

PLAIN_EVERY_S = 30.0  # a plain progress line at most this often per run
MIN_ETA_STEPS = 20  # no ETA before this many timed training steps: early rates are noise


# --- one line per finished run ----------------------------------------------------------------------


def run_summary(record: Record) -> str:
    """'gpt on parity N=32 seed 0: τ_rule 149, τ_mem 864, window open; 1500 steps in 1 min 12 s' (hf_causal_lm/llama: with its model type)."""
    clocks = record.clocks
    shown = ", ".join(f"{label} {clocks[name].display()}" for name, label in (("tau_rule", "τ_rule"), ("tau_mem", "τ_mem")) if name in clocks)
    stopped = " (early stop)" if record.stopped_early else ""
    return (
        f"{adapter_label(record.adapter_name, record.adapter_config)} on {record.task_name} N={record.n_train} seed {record.seed}: {shown}, window {record.window.status}; "
        f"{count_text(record.steps_trained, 'step')}{stopped} in {format_duration(record.wall_time_s)}"
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


def run_name(spec: RunSpec) -> str:
    """What a run's progress lines are named: its run id, plus the model type of an adapter built by one ('... (qwen2)')."""
    kind = model_type(spec.adapter.config)
    return f"{spec.run_id} ({kind})" if kind else spec.run_id


def eval_fields(row: Mapping[str, Any]) -> dict[str, str]:
    """The progress postfix after an eval: validity, memorisation and the mean training loss since the previous eval."""
    fields = {"valid": f"{row['valid']:.3f}", "mem": "n/a" if row["mem"] is None else f"{row['mem']:.3f}"}
    if row.get("loss") is not None:  # no loss before the first training step
        fields["loss"] = f"{row['loss']:.4g}"
    return fields


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
        self._stale = False  # a step or eval happened since the last line

    def update(self, n: int = 1) -> None:
        now = self._clock()
        self._train_time += now - self._last
        self._timed_steps += n
        self._last = now
        self.step += n
        self._stale = True
        if not self.enabled or self.step >= self.total:  # the last line waits for the eval that follows the last step
            return
        if self._last_line is None or now - self._last_line >= self.every_s:
            self._emit(now)

    def set_postfix(self, **fields: Any) -> None:
        self.fields.update(fields)
        self._stale = True

    def eval_done(self) -> None:
        self._last = self._clock()

    def line(self, *, final: bool = False) -> str:
        """The progress line; `final`: the run ended (at max_steps or early), so no ETA."""
        percent = 100.0 * self.step / self.total if self.total else 100.0
        parts = [f"{self.name}: step {self.step}/{self.total} ({percent:.0f} %)"]
        parts += [f"{key} {value}" for key, value in self.fields.items() if key != "step"]
        text = ", ".join(parts)
        if self._timed_steps >= MIN_ETA_STEPS and self._train_time > 0:
            rate = self._timed_steps / self._train_time
            text += f"; {rate:.3g} steps/s"
            if self.step < self.total and not final:
                text += f", ETA {format_duration((self.total - self.step) / rate)}"
        return text

    def _emit(self, now: float, *, final: bool = False) -> None:
        self._last_line, self._stale = now, False
        logger.info("%s", self.line(final=final))

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        """A run that ended normally logs its last line here, after its final eval set the postfix."""
        if self.enabled and exc_type is None and self._stale:
            self._emit(self._clock(), final=True)


__all__ = ["BarProgress", "MIN_ETA_STEPS", "PLAIN_EVERY_S", "PlainProgress", "eval_fields", "format_duration", "progress", "run_name", "run_summary"]
