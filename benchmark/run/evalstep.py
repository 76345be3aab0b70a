"""One eval's bookkeeping, shared by the protocol's loop and the ClockMonitor: the row, the clocks so far, the stop rule.

`eval_row` lays out a line of metrics.jsonl (its key order is part of the file); `read_clock_step` reads
every clock from the rows so far and decides whether training ends (`stop_reason`). One implementation,
so a run of the suite and a monitored training loop read their clocks the same way.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from benchmark.run.clocks import read_clocks, rule_unreadable, to_epochs

STOP_REASONS = {
    "max_steps": "max_steps reached",
    "both": "τ_rule and τ_mem fired and held",
    "unreadable": "τ_mem fired and held, and copying left too few non-copies to read the rule for `hold` evals",
    "stream": "τ_rule fired and held (stream: there is no τ_mem to wait for)",
}


@dataclass(frozen=True)
class ClockStep:
    """The clocks read from the curve so far (`read_clocks`' dict) and why training ends now (None: go on)."""

    clocks: dict[str, Any]
    stop_reason: str | None


def eval_row(step: int, measured: Mapping[str, Any], *, batch_size: int, n_train: int | None, loss: float | None, eval_time_s: float, wall_time_s: float) -> dict[str, Any]:
    """One line of metrics.jsonl: step, epoch, the measured sample metrics, the mean training loss since the last eval, timings."""
    return {
        "step": step,
        "epoch": to_epochs(step, batch_size, n_train),
        **measured,
        "loss": loss,
        "eval_time_s": eval_time_s,
        "wall_time_s": wall_time_s,
    }


def mean_loss(loss_sum: float, loss_count: int) -> float | None:
    """The mean training loss since the last eval; None when no step was taken or it diverged (JSON has no NaN)."""
    if not loss_count:
        return None
    value = loss_sum / loss_count
    return value if math.isfinite(value) else None


def read_clock_step(step: int, rows: Sequence[Mapping[str, Any]], protocol: Any, *, batch_size: int, n_train: int | None) -> ClockStep:
    """Read every clock from the eval rows so far and apply the stop rule after the eval at `step`."""
    clocks = read_clocks(rows, protocol, batch_size=batch_size, n_train=n_train)
    return ClockStep(clocks=clocks, stop_reason=stop_reason(step, rows, clocks, protocol))


def stop_reason(step: int, rows: Sequence[Mapping[str, Any]], clocks: Mapping[str, Any], protocol: Any) -> str | None:
    """Why training ends after this eval (a key of STOP_REASONS), or None to go on."""
    if protocol.early_stop:
        rule, mem = clocks["tau_rule"], clocks["tau_mem"]
        if not mem.applicable and rule.fired:
            return "stream"
        if mem.fired and rule.fired:
            return "both"
        if mem.fired and rule_unreadable(rows, protocol.hold):
            return "unreadable"
    return "max_steps" if step >= protocol.max_steps else None


__all__ = ["STOP_REASONS", "ClockStep", "eval_row", "mean_loss", "read_clock_step", "stop_reason"]
