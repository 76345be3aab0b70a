"""Callbacks: code a user (or a tracker) runs at fixed points of a run, without touching the loop.

`protocol.run(spec, output, callbacks=[...])` calls `on_run_start` once the run's folder is ready,
`on_eval` after every eval (the row just measured and the clocks read from the curve so far), and
`on_run_end` with the finished record. A callback that raises is logged and dropped for the rest of
that run: a tracker failing never loses a run or changes its record.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from benchmark.core.records import Record
    from benchmark.run.spec import RunSpec

logger = logging.getLogger(__name__)


class Callback:
    """Base class: override any of the three hooks; each does nothing by default."""

    def on_run_start(self, spec: RunSpec, directory: Path, resumed_at_step: int) -> None:
        """The run's folder exists; training starts at `resumed_at_step` (0 unless resuming)."""

    def on_eval(self, spec: RunSpec, row: Mapping[str, Any], clocks: Mapping[str, Any]) -> None:
        """An eval finished: `row` is the line just written to metrics.jsonl, `clocks` those read so far."""

    def on_run_end(self, spec: RunSpec, record: Record) -> None:
        """The record has been written."""


class CallbackList:
    """Calls every callback at each hook; one that raises is logged once and not called again in this run."""

    def __init__(self, callbacks: Sequence[Callback] = ()) -> None:
        self._active = list(callbacks)

    def call(self, hook: str, *args: Any) -> None:
        for callback in list(self._active):
            try:
                getattr(callback, hook)(*args)
            except Exception as error:  # noqa: BLE001 - a tracker must never lose the run
                logger.warning("callback %s failed in %s (%s: %s); it is disabled for the rest of this run", type(callback).__name__, hook, type(error).__name__, error)
                self._active.remove(callback)


__all__ = ["Callback", "CallbackList"]
