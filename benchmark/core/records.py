"""The record of a finished run (`record.json`): one typed `Record`, one writer, one reader.

A record is written once, atomically, by the protocol; everything downstream (aggregation,
leaderboard, plots, basins, the backends' skip of finished runs) reads it through `read_record` /
`load_records`, which check its shape and name the file when it is damaged: a record that is not
valid JSON of the right shape is a `RecordError`, never a traceback and never a silently wrong row.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

RECORD_SCHEMA_VERSION = 2  # 2: protocol 2.0 (τ_mem_near, window statuses closed / not learned / stream, height, area)
READABLE_SCHEMA_VERSIONS = (1, 2)
RECORD_FILE = "record.json"


class RecordError(ValueError):
    """A record (or a folder of them) is missing or malformed; the message names the file and what is wrong."""


@dataclass(frozen=True)
class Clock:
    """A clock read off a curve. Censored: it never fired, the true value is > `step` (the last step seen).

    Not applicable (`applicable` false, `step` None): the run has no such curve, e.g. τ_mem of a stream run.
    """

    step: float | None
    censored: bool
    epoch: float | None  # step × batch_size / N: the axis on which τ_mem is expected to be flat (None: stream)
    metric: str  # the curve it was read from, e.g. "noncopy_valid_norm" or "mem_excess"
    threshold: float
    applicable: bool = True

    @property
    def fired(self) -> bool:
        return self.applicable and not self.censored

    def display(self, digits: int = 0) -> str:
        """'1234', '> 2000' for a censored clock, 'n/a' where not applicable."""
        if not self.applicable or self.step is None:
            return "n/a"
        value = f"{self.step:.{digits}f}"
        return f"> {value}" if self.censored else value


@dataclass(frozen=True)
class Window:
    """The innovation window [τ_rule, τ_mem]: status, width (exact when both clocks fired, else bounds), height, area.

    Protocol 2.0 statuses: open (τ_rule fired, τ_mem later or never), closed (both fired, τ_rule ≥ τ_mem),
    not learned (τ_mem fired, τ_rule never did), censored (neither fired), stream (no τ_mem: no training
    set). Protocol 1.0 records say open, vanished or censored (their τ_rule could fire through copying).
    """

    status: str
    steps: float | None  # τ_mem − τ_rule when both fired (≤ 0 when closed)
    log_window: float | None  # log10(τ_mem / τ_rule) when both fired
    lower: float | None  # lower bound on steps (τ_mem censored)
    upper: float | None  # upper bound on steps (τ_rule censored; None: unbounded)
    height: float | None = None  # max novel_valid at evals before τ_mem (all evals when τ_mem did not fire); None in v1
    area: float | None = None  # ∫ novel_valid d log10(step) from step 1 to τ_mem or the last eval, in decades; None in v1


# metrics.jsonl fields -> their JSON kind: "int", "float", "interval" ([low, high]) or "histogram" (fractions by distance)
EVAL_ROW_FIELDS = {
    "step": "int", "epoch": "float", "loss": "float", "wall_time_s": "float", "eval_time_s": "float", "samples": "int",
    "valid": "float", "valid_ci": "interval", "valid_norm": "float", "valid_norm_ci": "interval", "constraints": "float", "unique": "float",
    "mem": "float", "mem_ci": "interval", "control": "float", "control_ci": "interval", "mem_excess": "float",
    "near": "float", "near_ci": "interval", "near_control": "float", "near_excess": "float", "copy_excess_near": "float",
    "novel_valid": "float", "novel_valid_ci": "interval", "noncopy": "float", "noncopy_count": "int", "noncopy_valid": "float",
    "noncopy_valid_norm": "float", "noncopy_valid_norm_ci": "interval", "noncopy_constraints": "float",
    "nearest_train": "histogram", "nearest_control": "histogram",
}  # fmt: skip


@dataclass(frozen=True)
class EvalRow:
    """One line of `metrics.jsonl`: an eval's fractions, their Wilson intervals and the clock curves (benchmark/PROTOCOL.md).

    None: not measured at this eval (stream runs have no copy curves) or not written by the run's protocol version.
    Keys this class does not know stay in `extra`, and `keys` keeps the line's own keys in order, so
    `to_dict()` gives back exactly the object that was read.
    """

    step: int
    epoch: float | None = None  # step × batch / N (None: stream)
    loss: float | None = None  # mean training loss since the previous eval (None at step 0)
    wall_time_s: float | None = None
    eval_time_s: float | None = None
    samples: int | None = None  # M: samples drawn at this eval (protocol 2.0)
    valid: float | None = None
    valid_ci: tuple[float, float] | None = None
    valid_norm: float | None = None
    valid_norm_ci: tuple[float, float] | None = None
    constraints: float | None = None
    unique: float | None = None
    mem: float | None = None  # exact copies of a training sample
    mem_ci: tuple[float, float] | None = None
    control: float | None = None  # exact copies of the control set (chance copies)
    control_ci: tuple[float, float] | None = None
    mem_excess: float | None = None  # τ_mem's curve
    near: float | None = None
    near_ci: tuple[float, float] | None = None
    near_control: float | None = None
    near_excess: float | None = None
    copy_excess_near: float | None = None  # τ_mem near's curve
    novel_valid: float | None = None
    novel_valid_ci: tuple[float, float] | None = None
    noncopy: float | None = None
    noncopy_count: int | None = None
    noncopy_valid: float | None = None
    noncopy_valid_norm: float | None = None  # τ_rule's curve (None: too few non-copies to read it)
    noncopy_valid_norm_ci: tuple[float, float] | None = None
    noncopy_constraints: float | None = None
    nearest_train: tuple[float, ...] | None = None  # fractions at distance 0, 1, 2, 3, ≥ 4 from the training set
    nearest_control: tuple[float, ...] | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)  # keys of a newer writer, kept for a faithful round trip
    keys: tuple[str, ...] | None = None  # the line's keys in order; None: every field above, then `extra`

    def curve(self, name: str) -> Any:
        """The value a clock reads by its recorded metric name (e.g. "mem_excess"); a name that no row has is a KeyError."""
        if name in EVAL_ROW_FIELDS:
            return getattr(self, name)
        if name in self.extra:
            return self.extra[name]
        raise KeyError(f"no curve {name!r} in an eval row (known: {', '.join(EVAL_ROW_FIELDS)})")

    def replace(self, **values: Any) -> EvalRow:
        """A copy with `values` set (fields of this class only); fields the line lacked are added after its own keys."""
        unknown = [name for name in values if name not in EVAL_ROW_FIELDS]
        if unknown:
            raise AttributeError(f"EvalRow has no field {', '.join(unknown)}")
        keys = None if self.keys is None else self.keys + tuple(name for name in values if name not in self.keys)
        converted = {name: _row_value(value) for name, value in values.items()}
        return dataclasses.replace(self, **converted, keys=keys)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of the line: the keys it was read with, in their order, lists as lists."""
        keys = self.keys if self.keys is not None else (*EVAL_ROW_FIELDS, *self.extra)
        return {key: _plain(self.extra[key] if key in self.extra else getattr(self, key)) for key in keys}

    @classmethod
    def from_dict(cls, data: Any, source: str = "eval row") -> EvalRow:
        """Check one parsed line and build it; a value of the wrong kind is a `RecordError` naming `source` and the field."""
        if not isinstance(data, dict):
            raise RecordError(f"{source} must be an eval row (a JSON object with a non-negative integer step), got {_kind(data)}")
        step = data.get("step")
        if not isinstance(step, int) or isinstance(step, bool) or step < 0:
            raise RecordError(f"{source} must be an eval row (a JSON object with a non-negative integer step)")
        values = {}
        for key, value in data.items():
            kind = EVAL_ROW_FIELDS.get(key)
            if kind is None or value is None:
                continue
            if not _row_value_ok(value, kind):
                wanted = {"int": "an integer", "float": "a finite number", "interval": "[low, high]", "histogram": "a list of fractions"}[kind]
                raise RecordError(f"{source}: {key} must be {wanted} or null, got {_kind(value)}")
            values[key] = _row_value(value)
        extra = {key: value for key, value in data.items() if key not in EVAL_ROW_FIELDS}
        return cls(**values, extra=extra, keys=tuple(data))


def _row_value_ok(value: Any, kind: str) -> bool:
    number = lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)  # noqa: E731
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "float":
        return number(value)
    if kind == "interval":
        return isinstance(value, list) and len(value) == 2 and all(map(number, value))
    return isinstance(value, list) and all(map(number, value))


def _row_value(value: Any) -> Any:
    """Lists as tuples (a frozen row holds no mutable list); everything else as read, so ints stay ints."""
    return tuple(value) if isinstance(value, list) else value


@dataclass(frozen=True)
class Record:
    """Everything one finished run says: its spec, what was trained, the clocks, the window, and the machine."""

    schema_version: int
    protocol_version: str
    run_id: str
    spec: Mapping[str, Any]  # the resolved spec as JSON (kept raw: old records must stay readable as written)
    task: Mapping[str, Any]  # task.describe()
    adapter: Mapping[str, Any]  # adapter.describe()
    num_parameters: int
    n_train: int | str  # a positive int, or "stream"
    batch_size: int
    max_steps: int
    steps_trained: int
    stopped_early: bool
    clocks: Mapping[str, Clock]
    window: Window
    final_metrics: Mapping[str, Any]
    environment: Mapping[str, Any]
    wall_time_s: float
    eval_time_s: float
    created: str
    stop_reason: str | None = None  # why training ended (v2); None in v1 records
    extra: Mapping[str, Any] = field(default_factory=dict)  # any further top-level keys, kept for a faithful round trip

    # --- what readers ask of a record -----------------------------------------------------------
    @property
    def stream(self) -> bool:
        return self.n_train == "stream"

    @property
    def seed(self) -> int:
        return int(self.spec["seed"])

    @property
    def adapter_name(self) -> str:
        return str(self.spec["adapter"]["name"])

    @property
    def adapter_config(self) -> dict[str, Any]:
        return dict(self.spec["adapter"].get("config", {}))

    @property
    def task_name(self) -> str:
        return str(self.spec["task"]["name"])

    @property
    def task_config(self) -> dict[str, Any]:
        return dict(self.spec["task"].get("config", {}))

    @property
    def protocol(self) -> dict[str, Any]:
        return dict(self.spec.get("protocol", {}))

    @property
    def final_row(self) -> EvalRow:
        """`final_metrics` (the last eval's row) typed; a record whose final_metrics is not an eval row is a `RecordError`."""
        return EvalRow.from_dict(dict(self.final_metrics), f"record {self.run_id}: final_metrics")

    @property
    def complexity(self) -> float:
        value = self.task.get("complexity")
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else math.nan

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of `record.json`."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "extra"}
        if self.schema_version < 2:
            del data["stop_reason"]
            data["clocks"] = {name: {k: v for k, v in asdict(clock).items() if k != "applicable"} for name, clock in self.clocks.items()}
            data["window"] = {k: v for k, v in asdict(self.window).items() if k not in ("height", "area")}
            return {**self.extra, **_plain(data)}
        data["clocks"] = {name: asdict(clock) for name, clock in self.clocks.items()}
        data["window"] = asdict(self.window)
        return {**self.extra, **_plain(data)}

    @classmethod
    def from_dict(cls, data: Any, source: str = "record") -> Record:
        """Check the shape of a record's JSON and build it; every problem is a `RecordError` naming `source`."""
        return _parse_record(data, source)


# --- writing -----------------------------------------------------------------------------------


def write_json_atomic(path: str | os.PathLike[str], data: Mapping[str, Any]) -> None:
    """Write JSON (indented, sorted keys, no NaN) atomically: readers never see half a file."""
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=True, allow_nan=False) + "\n")


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write to a temp file beside `path`, fsync, then rename over it (with the umask's permissions, not mkstemp's 0600)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, file_mode())
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def file_mode() -> int:
    """The mode `open()` would give a new file now: 0o666 less the process's umask."""
    return 0o666 & ~_umask()


def _umask() -> int:
    """The umask, read without changing it where Linux shows it (/proc); elsewhere set and restored once per process."""
    global _UMASK
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    if _UMASK is None:
        _UMASK = os.umask(0o022)  # os.umask can only be read by setting it: done once, restored at once
        os.umask(_UMASK)
    return _UMASK


_UMASK: int | None = None


def write_record(directory: str | os.PathLike[str], record: Record) -> None:
    """`<directory>/record.json`, written once, atomically."""
    write_json_atomic(Path(directory) / RECORD_FILE, record.to_dict())


def to_dict(item: Clock | Window) -> dict[str, Any]:
    return asdict(item)


# --- reading -----------------------------------------------------------------------------------


def read_record(path: str | os.PathLike[str]) -> Record:
    """The record in a run folder (or at a `record.json` path); a missing or malformed one is a `RecordError`."""
    path = Path(path)
    if path.is_dir():
        path = path / RECORD_FILE
    try:
        text = path.read_bytes().decode("utf-8")
        data = json.loads(text)
    except FileNotFoundError:
        raise RecordError(f"{path}: no such record") from None
    except OSError as error:
        raise RecordError(f"{path}: cannot read record ({error.strerror or error})") from None
    except UnicodeDecodeError:
        raise RecordError(f"{path}: unreadable record (not UTF-8 text)") from None
    except json.JSONDecodeError as error:
        raise RecordError(f"{path}: unreadable record (not JSON: {error.msg} at line {error.lineno})") from None
    return Record.from_dict(data, str(path))


def find_record_files(roots: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Every record.json under the given folders (a folder that is itself a run counts), sorted."""
    files: list[Path] = []
    for root in roots:
        root = Path(root)
        if not root.exists():
            raise RecordError(f"{root}: no such folder")
        if root.is_file():
            if root.name != RECORD_FILE:
                raise RecordError(f"{root}: expected a runs folder or a {RECORD_FILE}")
            files.append(root)
            continue
        files.extend(sorted(root.rglob(RECORD_FILE)))
    return files


def load_records(roots: Iterable[str | os.PathLike[str]]) -> list[Record]:
    """Records under `roots`, one per run id, in file order; a malformed record is an error naming its file."""
    roots = list(roots)
    records: dict[str, Record] = {}
    for path in find_record_files(roots):
        record = read_record(path)
        records.setdefault(record.run_id, record)
    if not records:
        raise RecordError(f"no {RECORD_FILE} under {', '.join(map(str, roots))} (finished runs write one)")
    return list(records.values())


# --- shape checks ------------------------------------------------------------------------------

_TOP_LEVEL = {
    "schema_version": int,
    "protocol_version": str,
    "run_id": str,
    "spec": dict,
    "task": dict,
    "adapter": dict,
    "num_parameters": int,
    "n_train": "n_train",
    "batch_size": int,
    "max_steps": int,
    "steps_trained": int,
    "stopped_early": bool,
    "clocks": dict,
    "window": dict,
    "final_metrics": dict,
    "environment": dict,
    "wall_time_s": float,
    "eval_time_s": float,
    "created": str,
}
_TOP_LEVEL_V2 = {"stop_reason": "optional str"}
_CLOCKS = ("tau_rule", "tau_mem")
WINDOW_STATUSES = {1: ("open", "vanished", "censored"), 2: ("open", "closed", "not learned", "censored", "stream")}


def _parse_record(data: Any, source: str) -> Record:
    if not isinstance(data, dict):
        raise RecordError(f"{source}: a record must be a JSON object, got {_kind(data)}")
    version = data.get("schema_version")
    if version not in READABLE_SCHEMA_VERSIONS:
        raise RecordError(f"{source}: record schema_version {version!r}, expected one of {', '.join(map(str, READABLE_SCHEMA_VERSIONS))}")
    fields = {**_TOP_LEVEL, **(_TOP_LEVEL_V2 if version >= 2 else {})}
    missing = [key for key in fields if key not in data]
    if missing:
        raise RecordError(f"{source}: record lacks {', '.join(missing)}")
    for key, expected in fields.items():
        _check_type(data[key], expected, source, key)
    spec = data["spec"]
    for part in ("task", "adapter"):
        component = spec.get(part)
        if not isinstance(component, dict) or not isinstance(component.get("name"), str):
            raise RecordError(f"{source}: spec.{part} must be an object with a name, got {_kind(component)}")
        if not isinstance(component.get("config", {}), dict):
            raise RecordError(f"{source}: spec.{part}.config must be an object, got {_kind(component.get('config'))}")
    _check_type(spec.get("seed"), int, source, "spec.seed")
    _check_type(spec.get("n_train"), "n_train", source, "spec.n_train")
    _check_type(spec.get("protocol", {}), dict, source, "spec.protocol")
    clocks = {}
    for name, clock in data["clocks"].items():
        clocks[name] = _parse_clock(clock, source, f"clocks.{name}")
    absent = [name for name in _CLOCKS if name not in clocks]
    if absent:
        raise RecordError(f"{source}: record lacks clocks.{', clocks.'.join(absent)}")
    window = _parse_window(data["window"], source, version)
    values = {key: data[key] for key in fields}
    values.update(clocks=clocks, window=window)
    for key in ("wall_time_s", "eval_time_s"):
        values[key] = float(values[key])
    extra = {key: value for key, value in data.items() if key not in fields}
    return Record(**values, extra=extra)


def _parse_clock(data: Any, source: str, where: str) -> Clock:
    if not isinstance(data, dict):
        raise RecordError(f"{source}: {where} must be an object, got {_kind(data)}")
    applicable = data.get("applicable", True)
    _check_type(applicable, bool, source, f"{where}.applicable")
    for key, expected in (("step", float), ("censored", bool), ("metric", str), ("threshold", float)):
        if key not in data:
            raise RecordError(f"{source}: {where} lacks {key}")
        if key == "step" and not applicable:
            if data[key] is not None:
                raise RecordError(f"{source}: {where}.step must be null for a clock that is not applicable")
            continue
        _check_type(data[key], expected, source, f"{where}.{key}")
    epoch = data.get("epoch")
    if epoch is not None:
        _check_type(epoch, float, source, f"{where}.epoch")
    step = None if data["step"] is None else float(data["step"])
    return Clock(step=step, censored=data["censored"], epoch=None if epoch is None else float(epoch), metric=data["metric"], threshold=float(data["threshold"]), applicable=applicable)


def _parse_window(data: Any, source: str, version: int) -> Window:
    if not isinstance(data, dict):
        raise RecordError(f"{source}: window must be an object, got {_kind(data)}")
    status = data.get("status")
    if status not in WINDOW_STATUSES[version]:
        raise RecordError(f"{source}: window.status must be one of {', '.join(WINDOW_STATUSES[version])}, got {status!r}")
    values: dict[str, float | None] = {}
    for key in ("steps", "log_window", "lower", "upper") + (("height", "area") if version >= 2 else ()):
        value = data.get(key)
        if value is not None:
            _check_type(value, float, source, f"window.{key}")
            value = float(value)
        values[key] = value
    return Window(status=status, **values)


def _check_type(value: Any, expected: Any, source: str, where: str) -> None:
    """ints are ints (not bools); floats accept ints and must be finite; bools are bools; n_train is an int or "stream"."""
    if expected == "optional str":
        ok = value is None or isinstance(value, str)
        wanted = "a string or null"
    elif expected == "n_train":
        ok = value == "stream" or (isinstance(value, int) and not isinstance(value, bool) and value >= 1)
        wanted = 'a positive integer or "stream"'
    elif expected is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        wanted = "a finite number"
    elif expected is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        wanted = "an integer"
    elif expected is bool:
        ok = isinstance(value, bool)
        wanted = "true or false"
    elif expected is str:
        ok = isinstance(value, str)
        wanted = "a string"
    else:
        ok = isinstance(value, expected)
        wanted = "an object" if expected is dict else expected.__name__
    if not ok:
        raise RecordError(f"{source}: {where} must be {wanted}, got {_kind(value)}")


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, (bool, int, float)):
        return json.dumps(value) if not isinstance(value, float) or math.isfinite(value) else str(value)
    if isinstance(value, str):
        return repr(value[:40])
    names: dict[type, str] = {dict: "an object", list: "a list"}
    return names.get(type(value), type(value).__name__)


def _plain(value: Any) -> Any:
    """Tuples to lists, mappings to dicts: what JSON round-trips to, so a written record equals a read one."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


__all__ = [
    "EVAL_ROW_FIELDS",
    "READABLE_SCHEMA_VERSIONS",
    "RECORD_FILE",
    "RECORD_SCHEMA_VERSION",
    "WINDOW_STATUSES",
    "Clock",
    "EvalRow",
    "Record",
    "RecordError",
    "Window",
    "file_mode",
    "find_record_files",
    "load_records",
    "read_record",
    "to_dict",
    "write_json_atomic",
    "write_record",
    "write_text_atomic",
]
