"""The run directory `<output>/<run_id>/`: the unit of truth of one run, safe to interrupt at any moment.

    spec.json            the resolved spec (what the run id hashes)
    metrics.jsonl        one JSON line per eval, flushed as written
    checkpoint.pt        the latest resumable state, replaced atomically (temp file + rename)
    checkpoints/step_<k>.pt   the state at every eval, when checkpoints are kept
    record.json          written once, atomically, when the run is finished

A reader never sees half a file: JSON and checkpoints are renamed into place; a torn last line of
`metrics.jsonl` (a crash mid-write) is ignored by `load_metrics` and rewritten on resume.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterable, Mapping

from benchmark.records import RECORD_FILE, RecordError, write_json_atomic, write_text_atomic
from benchmark.spec import RunSpec, canonical_json

SPEC_FILE = "spec.json"
METRICS_FILE = "metrics.jsonl"
CHECKPOINT_FILE = "checkpoint.pt"
CHECKPOINTS_DIR = "checkpoints"


def run_dir(output: str | os.PathLike[str], spec: RunSpec) -> Path:
    """Where `spec` runs: `<output>/<spec.run_id>/`."""
    return Path(output) / spec.run_id


def is_finished(output: str | os.PathLike[str], spec: RunSpec) -> bool:
    """True when the run's record has been written (a finished run is never retrained)."""
    return (run_dir(output, spec) / RECORD_FILE).is_file()


def prepare(directory: Path, spec: RunSpec) -> None:
    """Create the directory and write `spec.json`, or check that an existing one is this very spec."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / SPEC_FILE
    if path.is_file():
        with open(path) as handle:
            existing = json.load(handle)
        if canonical_json(existing) != canonical_json(spec.to_dict()):
            raise ValueError(f"{path} holds a different spec than run {spec.run_id}: refusing to mix runs in one directory")
        return
    write_json_atomic(path, spec.to_dict())


def load_metrics(directory: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every complete eval row of `metrics.jsonl`; [] if absent. The one reader of that file.

    A torn last line (a crash mid-write, no newline yet) is skipped: the run resumes from its checkpoint
    and rewrites it. Any other damage (a complete line that is not a JSON object with an integer `step`,
    steps out of order, bytes that are not UTF-8) is a `RecordError` naming the file and line.
    """
    path = Path(directory) / METRICS_FILE
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return []
    except OSError as error:
        raise RecordError(f"{path}: cannot read metrics ({error.strerror or error})") from None
    except UnicodeDecodeError:
        raise RecordError(f"{path}: unreadable metrics (not UTF-8 text)") from None
    lines = text.split("\n")[:-1]  # the piece after the last newline is empty, or a torn write
    rows: list[dict[str, Any]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise RecordError(f"{path}: line {number} is not JSON ({error.msg})") from None
        step = row.get("step") if isinstance(row, dict) else None
        if not isinstance(step, int) or isinstance(step, bool) or step < 0:
            raise RecordError(f"{path}: line {number} must be an eval row (a JSON object with a non-negative integer step)")
        if rows and step <= rows[-1]["step"]:
            raise RecordError(f"{path}: line {number} has step {step}, not after the previous row's {rows[-1]['step']}")
        rows.append(row)
    return rows


class MetricsLog:
    """Appends eval rows to `metrics.jsonl`, one line each, flushed and fsynced as written."""

    def __init__(self, directory: Path, rows: Iterable[Mapping[str, Any]] = ()) -> None:
        """Open the log holding exactly `rows` (those of the checkpoint being resumed; rows past it are dropped)."""
        self.path = directory / METRICS_FILE
        write_text_atomic(self.path, "".join(_json_line(row) for row in rows))
        self._handle = open(self.path, "a")

    def append(self, row: Mapping[str, Any]) -> None:
        self._handle.write(_json_line(row))
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> MetricsLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def save_checkpoint(directory: Path, state: Mapping[str, Any], *, keep_step: int | None = None) -> None:
    """Write `checkpoint.pt` atomically; with `keep_step`, also keep it as `checkpoints/step_<k>.pt`."""
    import torch

    path = directory / CHECKPOINT_FILE
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{CHECKPOINT_FILE}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save(dict(state), handle)
            handle.flush()
            os.fsync(handle.fileno())
        if keep_step is not None:
            kept = directory / CHECKPOINTS_DIR
            kept.mkdir(exist_ok=True)
            _link_or_copy(Path(tmp), kept / f"step_{keep_step}.pt")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_checkpoint(directory: Path) -> dict[str, Any] | None:
    """The latest checkpoint's state, or None when there is none. Checkpoints are trusted files this runner wrote."""
    import torch

    path = directory / CHECKPOINT_FILE
    if not path.is_file():
        return None
    return torch.load(path, map_location="cpu", weights_only=False)


def _link_or_copy(source: Path, target: Path) -> None:
    """Hard-link (no extra disk) where the filesystem allows, else copy; atomic either way."""
    staging = target.with_name(f".{target.name}.tmp")
    staging.unlink(missing_ok=True)
    try:
        os.link(source, staging)
    except OSError:
        shutil.copyfile(source, staging)
    os.replace(staging, target)


def _json_line(row: Mapping[str, Any]) -> str:
    return json.dumps(row, sort_keys=True, allow_nan=False) + "\n"
