"""The record of a finished run (`record.json`): the unit of truth the leaderboard is rendered from.

A record is written once, atomically, by the protocol; everything downstream (aggregation,
leaderboard, plots) reads records from disk and never touches live state.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Mapping

RECORD_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Clock:
    """A clock read off a curve. Censored means it never fired: the true value is > `step` (the last step seen)."""

    step: float
    censored: bool
    epoch: float  # step × batch_size / N: the axis on which τ_mem is expected to be flat
    metric: str  # the curve it was read from, e.g. "valid_norm" or "mem_excess"
    threshold: float

    def display(self, digits: int = 0) -> str:
        """'1234' or '> 2000' for a censored clock."""
        value = f"{self.step:.{digits}f}"
        return f"> {value}" if self.censored else value


@dataclass(frozen=True)
class Window:
    """The innovation window [τ_rule, τ_mem]. `steps` is exact when both clocks fired; else bounds.

    open: τ_rule < τ_mem, both fired. vanished: τ_rule ≥ τ_mem, or memorization fired with the rule
    never learned. censored: τ_mem never fired (window ≥ `lower`, or unknown if τ_rule never fired too).
    """

    status: str
    steps: float | None  # τ_mem − τ_rule when both fired (≤ 0 when vanished)
    log_window: float | None  # log10(τ_mem / τ_rule) when both fired
    lower: float | None  # lower bound on steps when censored
    upper: float | None  # upper bound on steps (None: unbounded)


def write_json_atomic(path: str | os.PathLike[str], data: Mapping[str, Any]) -> None:
    """Write JSON (indented, sorted keys) atomically: readers never see half a file."""
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write to a temp file beside `path`, fsync, then rename over it."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def to_dict(item: Clock | Window) -> dict[str, Any]:
    return asdict(item)
