"""The run directory `<output>/<run_id>/`: the unit of truth of one run, safe to interrupt at any moment.

    spec.json            the resolved spec (what the run id hashes)
    metrics.jsonl        one JSON line per eval, flushed as written
    checkpoint.pt        the latest resumable state, replaced atomically (temp file + rename)
    checkpoints/step_<k>.pt   the state at every eval, when checkpoints are kept
    record.json          written once, atomically, when the run is finished
    .lock                held (flock) by the one process working on the run, from the finished-check to the record

A reader never sees half a file: JSON and checkpoints are renamed into place; a torn last line of
`metrics.jsonl` (a crash mid-write) is ignored by `load_metrics` and rewritten on resume. A checkpoint
holds tensors and plain Python values only, so it loads with `torch.load(weights_only=True)`, and it names
the run and the spec it belongs to: one that cannot be read, or that belongs to another spec, is refused
(`RunDirError`, one line naming the file and the way out), never loaded. Files are created with the
permissions the umask allows (0644 under the usual 022), so other users of a shared file system can read them.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmark.core.records import RECORD_FILE, EvalRow, RecordError, file_mode, write_json_atomic, write_text_atomic
from benchmark.run.spec import RunSpec, canonical_json

if TYPE_CHECKING:  # pragma: no cover
    from benchmark.core.records import Record

SPEC_FILE = "spec.json"
METRICS_FILE = "metrics.jsonl"
CHECKPOINT_FILE = "checkpoint.pt"
CHECKPOINTS_DIR = "checkpoints"
LOCK_FILE = ".lock"
RUN_FILES = (SPEC_FILE, METRICS_FILE, CHECKPOINT_FILE, RECORD_FILE, LOCK_FILE)
# 2: tensors and plain values only (loads with weights_only=True), with the run id and spec hash it belongs to.
# 1 (before): a pickle holding numpy arrays, loadable only with weights_only=False; refused, with the way out.
CHECKPOINT_FORMAT = 2
_NUMPY_TAG = "__numpy_array__"  # a numpy array in a checkpoint: {tag: tensor}; decoded back to the array
WRITE_ERRNOS = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.EISDIR, errno.ENOTDIR}

logger = logging.getLogger(__name__)


class RunDirError(RecordError):
    """A run directory cannot be used as it is (damaged file, another run's checkpoint, unwritable); one line with the way out."""


class RunInProgress(Exception):
    """Another process holds the run's lock (raised only when the caller asked not to wait)."""


def way_out(directory: Path, run_id: str) -> str:
    """What the user can do about a damaged run directory."""
    return f"rerun with --restart-run {run_id} to start this run over, or delete the folder {directory}"


def run_dir(output: str | os.PathLike[str], spec: RunSpec) -> Path:
    """Where `spec` runs: `<output>/<spec.run_id>/`."""
    return Path(output) / spec.run_id


def is_finished(output: str | os.PathLike[str], spec: RunSpec) -> bool:
    """True when the run's record has been written (a finished run is never retrained)."""
    return (run_dir(output, spec) / RECORD_FILE).is_file()


def check_layout(directory: Path, run_id: str) -> None:
    """Refuse a run folder that is a file, or whose run files are folders (or anything but regular files)."""
    if directory.exists() and not directory.is_dir():
        raise RunDirError(f"{directory} is a file, expected a run folder: delete it or choose another --output")
    for name in RUN_FILES:
        path = directory / name
        if path.exists() and not path.is_file():
            raise RunDirError(f"{path} is a folder (or another non-file), expected a file: delete it, or the whole folder {directory}")
    kept = directory / CHECKPOINTS_DIR
    if kept.exists() and not kept.is_dir():
        raise RunDirError(f"{kept} is a file, expected a folder of kept checkpoints: delete it, or the whole folder {directory}")


def open_run_dir(directory: Path, run_id: str) -> None:
    """Check the folder's layout and create it; a folder that cannot be created is one line naming it."""
    check_layout(directory, run_id)
    with writing(directory):
        directory.mkdir(parents=True, exist_ok=True)


@contextlib.contextmanager
def run_lock(directory: Path, run_id: str, *, wait: bool = True) -> Iterator[None]:
    """Hold the run's lock (`.lock`, an flock released by the kernel if the process dies) for the block.

    Another holder means another process is training this run: wait for it (saying so), or raise
    `RunInProgress` when `wait` is false. Waiting then finds the run finished, or resumes it.
    """
    from filelock import FileLock, Timeout

    path = directory / LOCK_FILE
    lock = FileLock(str(path))
    with writing(path):
        try:
            lock.acquire(timeout=0)
        except Timeout:
            if not wait:
                raise RunInProgress(f"run {run_id} is in progress in another process (lock {path} held)") from None
            logger.warning("run %s is in progress in another process (lock %s held); waiting for it to finish", run_id, path)
            lock.acquire()
    try:
        yield
    finally:
        lock.release()


def clear_run(directory: Path) -> None:
    """Delete what a run wrote (spec, metrics, checkpoints, record) so that it starts over; call with the lock held."""
    with writing(directory):
        for name in (RECORD_FILE, CHECKPOINT_FILE, METRICS_FILE, SPEC_FILE):
            path = directory / name
            if path.is_file() or path.is_symlink():
                path.unlink()
        kept = directory / CHECKPOINTS_DIR
        if kept.is_dir():
            shutil.rmtree(kept)


def read_spec(directory: Path) -> RunSpec:
    """The spec in `spec.json`, or a `RunDirError` naming the file when it is missing or is not a run spec."""
    from benchmark.core.config import ConfigError

    path = directory / SPEC_FILE
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
        return RunSpec.from_dict(data)
    except FileNotFoundError:
        raise RunDirError(f"{directory} is not a run directory (no {SPEC_FILE})") from None
    except OSError as error:
        raise RunDirError(f"{path}: cannot read ({error.strerror or error})") from None
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError, ConfigError) as error:
        reason = error.msg if isinstance(error, json.JSONDecodeError) else " ".join(str(error).split())[:160]
        raise RunDirError(f"{path}: not a run spec ({type(error).__name__}: {reason})") from None


def prepare(directory: Path, spec: RunSpec) -> None:
    """Create the directory and write `spec.json`, or check that an existing one is this very spec."""
    with writing(directory):
        directory.mkdir(parents=True, exist_ok=True)
    path = directory / SPEC_FILE
    if path.is_file():
        try:
            existing = json.loads(path.read_bytes().decode("utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            raise RunDirError(f"{path}: unreadable spec (not JSON); {way_out(directory, spec.run_id)}") from None
        if canonical_json(existing) != canonical_json(spec.to_dict()):
            raise RunDirError(f"{path} holds a different spec than run {spec.run_id}: refusing to mix runs in one directory; {way_out(directory, spec.run_id)}")
        return
    with writing(path):
        write_json_atomic(path, spec.to_dict())


def read_finished(directory: Path, spec: RunSpec) -> Record:
    """The record of a finished run; a damaged one (or one for another run) is a `RunDirError` with the way out."""
    from benchmark.core.records import read_record

    try:
        record = read_record(directory)
    except RunDirError:
        raise
    except RecordError as error:
        raise RunDirError(f"{error}; {way_out(directory, spec.run_id)}") from None
    if record.run_id != spec.run_id:
        raise RunDirError(f"{directory / RECORD_FILE} is the record of run {record.run_id}, not {spec.run_id}; {way_out(directory, spec.run_id)}")
    return record


def read_eval_rows(directory: str | os.PathLike[str]) -> list[EvalRow]:
    """Every complete eval row of `metrics.jsonl`, typed; [] if absent. The one reader of that file.

    A torn last line (a crash mid-write, no newline yet) is skipped: the run resumes from its checkpoint
    and rewrites it. Any other damage (a complete line that is not a JSON object with an integer `step`, a
    field of the wrong kind, steps out of order, bytes that are not UTF-8) is a `RecordError` naming the file and line.
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
    rows: list[EvalRow] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as error:
            raise RecordError(f"{path}: line {number} is not JSON ({error.msg})") from None
        row = EvalRow.from_dict(data, f"{path}: line {number}")
        if rows and row.step <= rows[-1].step:
            raise RecordError(f"{path}: line {number} has step {row.step}, not after the previous row's {rows[-1].step}")
        rows.append(row)
    return rows


def load_metrics(directory: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The rows of `read_eval_rows` as the JSON objects of their lines (same checks): for code that rewrites or compares lines."""
    return [row.to_dict() for row in read_eval_rows(directory)]


class MetricsLog:
    """Appends eval rows to `metrics.jsonl`, one line each, flushed and fsynced as written."""

    def __init__(self, directory: Path, rows: Iterable[Mapping[str, Any]] = ()) -> None:
        """Open the log holding exactly `rows` (those of the checkpoint being resumed; rows past it are dropped)."""
        self.path = directory / METRICS_FILE
        with writing(self.path):
            write_text_atomic(self.path, "".join(_json_line(row) for row in rows))
            self._handle = open(self.path, "a")

    def append(self, row: Mapping[str, Any]) -> None:
        with writing(self.path):
            self._handle.write(_json_line(row))
            self._handle.flush()
            os.fsync(self._handle.fileno())

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> MetricsLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def save_checkpoint(directory: Path, state: Mapping[str, Any], *, spec: RunSpec, keep_step: int | None = None) -> None:
    """Write `checkpoint.pt` atomically, stamped with its format, run id and spec hash; with `keep_step`, also keep it as `checkpoints/step_<k>.pt`."""
    import torch

    path = directory / CHECKPOINT_FILE
    encoded = encode_state({**state, "format": CHECKPOINT_FORMAT, "run_id": spec.run_id, "spec_sha256": spec.digest})
    with writing(path):
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{CHECKPOINT_FILE}.", suffix=".tmp")
        try:
            os.fchmod(fd, file_mode())
            with os.fdopen(fd, "wb") as handle:
                torch.save(encoded, handle)
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


def load_checkpoint(directory: Path, spec: RunSpec) -> dict[str, Any] | None:
    """The latest checkpoint's state, or None when there is none; one that is damaged or another run's is refused."""
    path = directory / CHECKPOINT_FILE
    if not path.exists():
        return None
    return load_state(path, spec, directory)


# What the protocol's checkpoint must hold, with the type of each entry (ints are not bools).
_STATE_TYPES: dict[str, tuple[type, ...]] = {
    "step": (int,), "done": (bool,), "rows": (list,), "loss_sum": (int, float), "loss_count": (int,),
    "wall_time_s": (int, float), "eval_time_s": (int, float), "sampler": (dict,), "torch_rng": (dict,), "adapter": (object,),
    "stop_reason": (str, type(None)),
}  # fmt: skip


def load_state(path: Path, spec: RunSpec, directory: Path | None = None) -> dict[str, Any]:
    """Load a checkpoint with `weights_only=True` and check it is this spec's; anything else is a `RunDirError`."""
    import torch

    directory = directory if directory is not None else path.parent
    refuse = f"refusing to load it; {way_out(directory, spec.run_id)}"
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - truncated, garbage, another format, or a pickle of arbitrary objects
        first_line = (str(error).strip().splitlines() or [""])[0][:160]
        raise RunDirError(f"{path}: cannot read checkpoint ({type(error).__name__}: {first_line}); {refuse}") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        found = state.get("format") if isinstance(state, dict) else type(state).__name__
        raise RunDirError(f"{path}: not a checkpoint of format {CHECKPOINT_FORMAT} (found {found!r}); {refuse}")
    if state.get("run_id") != spec.run_id or state.get("spec_sha256") != spec.digest:
        raise RunDirError(f"{path} belongs to run {state.get('run_id')!r} (another spec), not to {spec.run_id}; {refuse}")
    for key, types in _STATE_TYPES.items():
        value = state.get(key)
        if key not in state or isinstance(value, bool) and bool not in types or not isinstance(value, types):
            raise RunDirError(f"{path}: checkpoint entry {key!r} is missing or malformed; {refuse}")
    if state["step"] < 0 or not all(isinstance(row, dict) for row in state["rows"]):
        raise RunDirError(f"{path}: checkpoint step or eval rows are malformed; {refuse}")
    return decode_state(state)


def encode_state(value: Any, where: str = "state") -> Any:
    """A copy of `value` that `torch.load(weights_only=True)` accepts: tensors, numbers, strings, None, lists, tuples, dicts.

    numpy arrays become tagged tensors and numpy scalars plain numbers; anything else (a custom object, a
    set) is refused at save time, naming where it sits, rather than making a checkpoint that cannot be resumed.
    """
    import numpy as np
    import torch

    if value is None or type(value) in (bool, int, float, str) or isinstance(value, torch.Tensor):
        return value
    if isinstance(value, np.generic):  # before the next test: np.float64 is a float subclass, pickled as a numpy global
        return value.item()
    for plain in (bool, int, float, str):
        if isinstance(value, plain):
            return plain(value)
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf" or value.dtype.kind == "u" and value.dtype != np.uint8:
            raise TypeError(f"{where}: a numpy array of dtype {value.dtype} cannot go in a checkpoint (use bool, int or float, or uint8)")
        return {_NUMPY_TAG: torch.from_numpy(np.ascontiguousarray(value).copy())}
    if isinstance(value, Mapping):
        items = {key: encode_state(item, f"{where}[{key!r}]") for key, item in value.items()}
        return value if isinstance(value, dict) and _unchanged(value.values(), items.values()) else _rebuilt(value, items)
    if isinstance(value, (list, tuple)):
        listed = [encode_state(item, f"{where}[{index}]") for index, item in enumerate(value)]
        return value if _unchanged(value, listed) else (listed if isinstance(value, list) else tuple(listed))
    raise TypeError(
        f"{where}: {type(value).__name__} cannot go in a checkpoint, which holds tensors, numbers, strings, None, lists, "
        "tuples, dicts and numpy arrays only (so that it loads with torch.load(weights_only=True))"
    )


def decode_state(value: Any) -> Any:
    """The inverse of `encode_state`: tagged tensors back to numpy arrays (containers without one are returned as they are)."""
    if isinstance(value, dict):
        if len(value) == 1 and _NUMPY_TAG in value:
            return value[_NUMPY_TAG].numpy()
        items = {key: decode_state(item) for key, item in value.items()}
        return value if _unchanged(value.values(), items.values()) else _rebuilt(value, items)
    if isinstance(value, (list, tuple)):
        listed = [decode_state(item) for item in value]
        return value if _unchanged(value, listed) else (listed if isinstance(value, list) else tuple(listed))
    return value


def _unchanged(before: Iterable[Any], after: Iterable[Any]) -> bool:
    """True when every item is the very same object: the container is kept (an OrderedDict keeps its `_metadata`)."""
    return all(a is b for a, b in zip(before, after))


def _rebuilt(original: Mapping[str, Any], items: dict[Any, Any]) -> dict[Any, Any]:
    rebuilt = type(original)(items) if isinstance(original, dict) else items
    if hasattr(original, "_metadata"):
        rebuilt._metadata = original._metadata  # type: ignore[attr-defined]  # torch's OrderedDict state dicts carry it; hasattr checked
    return rebuilt


@contextlib.contextmanager
def writing(path: Path) -> Iterator[None]:
    """A failed write (read-only folder, full disk, a folder where a file should be) is one line naming the path."""
    try:
        yield
    except OSError as error:
        if error.errno not in WRITE_ERRNOS:
            raise
        where = error.filename if error.filename and not str(error.filename).endswith(".tmp") else path
        raise RunDirError(f"cannot write {where}: {error.strerror or error}") from None


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


__all__ = [
    "CHECKPOINTS_DIR",
    "CHECKPOINT_FILE",
    "CHECKPOINT_FORMAT",
    "LOCK_FILE",
    "METRICS_FILE",
    "RUN_FILES",
    "SPEC_FILE",
    "WRITE_ERRNOS",
    "MetricsLog",
    "RunDirError",
    "RunInProgress",
    "check_layout",
    "clear_run",
    "decode_state",
    "encode_state",
    "is_finished",
    "load_checkpoint",
    "load_metrics",
    "load_state",
    "open_run_dir",
    "prepare",
    "read_eval_rows",
    "read_finished",
    "read_spec",
    "run_dir",
    "run_lock",
    "save_checkpoint",
    "way_out",
    "writing",
]
