"""Trackers: watch runs in TensorBoard, Weights & Biases, MLflow, or a CSV / JSONL file (`run --report-to`).

Each tracker is a `benchmark.run.callbacks.Callback` registered by name, so that every worker process and Ray
task builds its own from the names and knobs in the run options (`"tensorboard"`, `"wandb:project=x"`,
`"my_pkg.hooks:MyCallback"`); no live object is pickled across processes. Built in (base dependencies only):

- `jsonl`: one JSON line per eval and per finished run, for the whole sweep (default `<output>/evals.jsonl`);
- `csv`: one line per eval for the whole sweep (default `<output>/evals.csv`);
- `tensorboard`: event files in each run folder (`<run>/tensorboard/`, written by tensorboardX): `tensorboard --logdir runs/`.

Optional: `wandb` (`pip install "two-clocks[wandb]"`; `mode=offline` or WANDB_MODE=offline without a
network) and `mlflow` (`pip install "two-clocks[mlflow]"`; `tracking_uri=` or MLFLOW_TRACKING_URI, else a
folder store `<output>/mlruns`: `MLFLOW_ALLOW_FILE_STORE=true mlflow ui --backend-store-uri runs/mlruns`). Knobs are
the tracker's keyword arguments. Trackers observe; a tracker that fails is logged and dropped
(`CallbackList`), and the run and its record go on unchanged.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import os
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from benchmark.core.config import ConfigError
from benchmark.core.registry import Registry, RegistryError
from benchmark.run.callbacks import Callback

if TYPE_CHECKING:  # pragma: no cover
    from benchmark.core.records import Record
    from benchmark.run.spec import RunSpec

logger = logging.getLogger(__name__)

CALLBACKS: Registry[type[Callback]] = Registry("tracker", entry_point_group="two_clocks.callbacks")
register_callback = CALLBACKS.register

CALLBACKS.register("jsonl", "benchmark.report.trackers:JSONLSink")
CALLBACKS.register("csv", "benchmark.report.trackers:CSVSink")
CALLBACKS.register("tensorboard", "benchmark.report.trackers:TensorBoardTracker")
CALLBACKS.register("wandb", "benchmark.report.trackers:WandbTracker")
CALLBACKS.register("mlflow", "benchmark.report.trackers:MLflowTracker")


class TrackerError(ConfigError):
    """A `--report-to` entry cannot be used (unknown name, bad knob, package missing); named in the message."""


# --- building trackers from names -----------------------------------------------------------------


def parse(entry: str) -> tuple[str, dict[str, str]]:
    """'wandb:project=x,mode=offline' → ('wandb', {'project': 'x', 'mode': 'offline'}); a 'module:Class' name keeps its colon."""
    from benchmark.sweep.files import SweepError, parse_knob_list

    text = entry.strip()
    name, knobs = text, ""
    head, sep, rest = text.partition(":")
    first = rest.split(",")[0]
    if sep and "=" in first and ":" not in first.split("=")[0]:  # 'name:k=v,...'
        name, knobs = head, rest
    elif sep:  # 'pkg.module:Class' or 'pkg.module:Class:k=v'
        klass, sep2, knob_text = rest.partition(":")
        name, knobs = f"{head}:{klass}", knob_text if sep2 else ""
    try:
        return name, parse_knob_list(knobs, f"--report-to {entry!r}") if knobs else {}
    except SweepError as error:
        raise TrackerError(str(error)) from None


def build(entry: str) -> Callback:
    """The tracker an entry names, built with its knobs; every problem is a `TrackerError` naming the entry."""
    name, knobs = parse(entry)
    try:
        factory = CALLBACKS.get(name)
    except RegistryError as error:
        raise TrackerError(f"--report-to {entry!r}: {error}") from None
    if not (isinstance(factory, type) and issubclass(factory, Callback)):
        raise TrackerError(f"--report-to {entry!r}: {name} is not a benchmark.run.callbacks.Callback subclass")
    try:
        return factory(**knobs)
    except TypeError as error:
        raise TrackerError(f"--report-to {entry!r}: {error}") from None


def check(entries: Iterable[str]) -> tuple[str, ...]:
    """Build each tracker once, before anything trains, so a typo or a missing package fails the command up front."""
    entries = tuple(entries)
    for entry in entries:
        build(entry)
    return entries


def build_all(entries: Iterable[str]) -> list[Callback]:
    """Trackers for one run in a worker; one that cannot be built there is logged and left out (the run goes on)."""
    callbacks = []
    for entry in entries:
        try:
            callbacks.append(build(entry))
        except Exception as error:  # noqa: BLE001 - a tracker must never lose the run
            logger.warning("tracker %r not started (%s: %s); the run goes on without it", entry, type(error).__name__, error)
    return callbacks


def require(module: str, extra: str) -> None:
    """Fail with the install command when an optional tracker's package is missing."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise TrackerError(f"--report-to {extra} needs the {module} package, which is not installed: pip install 'two-clocks[{extra}]'")


# --- what every tracker logs ----------------------------------------------------------------------------


def identity(spec: RunSpec) -> dict[str, Any]:
    """Which run a line belongs to."""
    return {"run_id": spec.run_id, "adapter": spec.adapter.name, "task": spec.task.name, "n_train": spec.n_train, "seed": spec.seed}


def clock_fields(clocks: Mapping[str, Any]) -> dict[str, Any]:
    """Clocks read so far as flat fields: `<clock>` (its step), `<clock>_censored`, `window_status`."""
    fields: dict[str, Any] = {}
    for name, clock in clocks.items():
        if hasattr(clock, "censored") and hasattr(clock, "step"):
            fields[name] = None if clock.step is None else float(clock.step)  # None: the clock does not apply (stream)
            fields[f"{name}_censored"] = bool(clock.censored)
        elif hasattr(clock, "status"):
            fields[f"{name}_status"] = clock.status
    return fields


def scalars(row: Mapping[str, Any], clocks: Mapping[str, Any] | None = None) -> dict[str, float]:
    """Numeric, finite fields of an eval row as `eval/<name>`, and each clock that has fired as `clocks/<name>`."""
    values = {f"eval/{key}": float(value) for key, value in row.items() if key != "step" and _is_number(value)}
    for name, clock in (clocks or {}).items():
        if getattr(clock, "censored", True) is False and getattr(clock, "step", None) is not None:
            values[f"clocks/{name}"] = float(clock.step)
    return values


def record_summary(record: Record) -> dict[str, Any]:
    """The finished run's clocks, window and size, for trackers' run summaries."""
    return {
        **clock_fields({**record.clocks, "window": record.window}),
        "steps_trained": record.steps_trained,
        "stopped_early": record.stopped_early,
        "wall_time_s": record.wall_time_s,
        "num_parameters": record.num_parameters,
    }


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _append_line(path: Path, text: str) -> None:
    """One write on an O_APPEND descriptor: lines from parallel workers never interleave."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, text.encode("utf-8"))
    finally:
        os.close(fd)


# --- built in: files ---------------------------------------------------------------------------------


class JSONLSink(Callback):
    """Every eval (`event: eval`: the row and the clocks so far) and every finished run (`event: run_end`) as JSON lines."""

    def __init__(self, path: str | None = None) -> None:
        self.path = None if path is None else Path(path)

    def on_run_start(self, spec: RunSpec, directory: Path, resumed_at_step: int) -> None:
        if self.path is None:
            self.path = Path(directory).parent / "evals.jsonl"

    def on_eval(self, spec: RunSpec, row: Mapping[str, Any], clocks: Mapping[str, Any]) -> None:
        self._write({"event": "eval", **identity(spec), **row, **clock_fields(clocks)})

    def on_run_end(self, spec: RunSpec, record: Record) -> None:
        self._write({"event": "run_end", **identity(spec), **record_summary(record)})

    def _write(self, data: Mapping[str, Any]) -> None:
        assert self.path is not None
        _append_line(self.path, json.dumps(data, sort_keys=False, allow_nan=False, default=str) + "\n")


class CSVSink(Callback):
    """One CSV line per eval: the run, the row's fields and the clocks so far; the header comes from the first eval."""

    def __init__(self, path: str | None = None) -> None:
        self.path = None if path is None else Path(path)

    def on_run_start(self, spec: RunSpec, directory: Path, resumed_at_step: int) -> None:
        if self.path is None:
            self.path = Path(directory).parent / "evals.csv"

    def on_eval(self, spec: RunSpec, row: Mapping[str, Any], clocks: Mapping[str, Any]) -> None:
        assert self.path is not None
        data = {**identity(spec), **row, **clock_fields(clocks)}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:  # the worker that creates the file writes the header, exactly once
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            columns = self._header()
        else:
            columns = list(data)
            with os.fdopen(fd, "w", newline="") as handle:
                csv.writer(handle).writerow(columns)
        buffer = io.StringIO()
        csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore").writerow(data)
        _append_line(self.path, buffer.getvalue())

    def _header(self) -> list[str]:
        for _ in range(50):  # the creating worker may not have written it yet
            with open(self.path, newline="") as handle:  # type: ignore[arg-type]  # on_run_start set the path before any row
                header = next(csv.reader(handle), None)
            if header:
                return header
            time.sleep(0.01)
        raise RuntimeError(f"{self.path} has no CSV header")


# --- built in: TensorBoard event files, written without TensorFlow or tensorboard -------------------------


class TensorBoardTracker(Callback):
    """Scalars `eval/<metric>` and `clocks/<clock>` (once fired) per eval step, in `<run>/tensorboard/` (or `logdir/<run_id>`).

    Event files are written by tensorboardX (a base dependency): a resumed run adds a new event file beside the old one.
    """

    def __init__(self, logdir: str | None = None) -> None:
        self.logdir = logdir
        self.writer: Any = None

    def on_run_start(self, spec: RunSpec, directory: Path, resumed_at_step: int) -> None:
        from tensorboardX import SummaryWriter  # local: only a run that reports to TensorBoard imports it

        target = Path(self.logdir) / spec.run_id if self.logdir else Path(directory) / "tensorboard"
        # tensorboardX names files by the second and opens them "wb": the suffix keeps a resume in the same second from overwriting
        self.writer = SummaryWriter(logdir=str(target), filename_suffix=f".{os.getpid()}.{time.time_ns()}.two-clocks")

    def on_eval(self, spec: RunSpec, row: Mapping[str, Any], clocks: Mapping[str, Any]) -> None:
        assert self.writer is not None
        for tag, value in scalars(row, clocks).items():
            self.writer.add_scalar(tag, value, int(row["step"]))
        self.writer.flush()  # a live `tensorboard --logdir` sees every eval as it lands

    def on_run_end(self, spec: RunSpec, record: Record) -> None:
        if self.writer is not None:
            self.writer.close()


# --- optional: Weights & Biases, MLflow ----------------------------------------------------------------


class WandbTracker(Callback):
    """One W&B run per benchmark run (id from the run id, so a resumed run continues it); config = the spec."""

    def __init__(
        self, project: str = "two-clocks", entity: str | None = None, mode: Literal["online", "offline", "disabled", "shared"] | None = None, group: str | None = None, dir: str | None = None
    ) -> None:  # noqa: A002 - wandb's own name
        require("wandb", "wandb")
        self.project, self.entity, self.mode, self.group, self.dir = project, entity, mode, group, dir
        self.run: Any = None

    def on_run_start(self, spec: RunSpec, directory: Path, resumed_at_step: int) -> None:
        import wandb

        self.run = wandb.init(
            project=self.project,
            entity=self.entity,
            mode=self.mode,  # None: WANDB_MODE or the user's settings
            group=self.group,
            name=spec.run_id,
            id=spec.run_id.replace(".", "-")[:64],
            resume="allow",
            reinit="create_new",  # parallel and successive runs in one process each get their own
            dir=self.dir or str(directory),
            config=spec.to_dict(),
            tags=[spec.adapter.name, spec.task.name],
        )

    def on_eval(self, spec: RunSpec, row: Mapping[str, Any], clocks: Mapping[str, Any]) -> None:
        self.run.log(scalars(row, clocks), step=int(row["step"]))

    def on_run_end(self, spec: RunSpec, record: Record) -> None:
        if self.run is None:
            return
        self.run.summary.update(record_summary(record))
        self.run.finish()
        self.run = None


class MLflowTracker(Callback):
    """One MLflow run per benchmark run in experiment `experiment`; params = the flattened spec, metrics per eval step."""

    def __init__(self, tracking_uri: str | None = None, experiment: str = "two-clocks") -> None:
        require("mlflow", "mlflow")
        self.tracking_uri, self.experiment = tracking_uri, experiment
        self.client: Any = None
        self.run_id: str | None = None

    def on_run_start(self, spec: RunSpec, directory: Path, resumed_at_step: int) -> None:
        from mlflow.entities import Param
        from mlflow.tracking import MlflowClient

        uri = self.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
        if not uri:  # a local folder store beside the runs; MLflow 3 wants this opt-in (it prefers a database server)
            uri = (Path(directory).parent / "mlruns").resolve().as_uri()
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        self.client = MlflowClient(tracking_uri=uri)
        experiment = self.client.get_experiment_by_name(self.experiment)
        if experiment is None:
            try:
                experiment_id = self.client.create_experiment(self.experiment)
            except Exception:  # noqa: BLE001 - another worker created it first
                experiment_id = self.client.get_experiment_by_name(self.experiment).experiment_id
        else:
            experiment_id = experiment.experiment_id
        run = self.client.create_run(experiment_id, run_name=spec.run_id, tags={"two_clocks.run_id": spec.run_id, "adapter": spec.adapter.name, "task": spec.task.name})
        self.run_id = run.info.run_id
        params = [Param(key, str(value)[:6000]) for key, value in _flatten(spec.to_dict()).items()]
        for start in range(0, len(params), 100):  # MLflow's batch limit
            self.client.log_batch(self.run_id, params=params[start : start + 100])

    def on_eval(self, spec: RunSpec, row: Mapping[str, Any], clocks: Mapping[str, Any]) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        metrics = [Metric(key.replace("/", "."), value, now, int(row["step"])) for key, value in scalars(row, clocks).items()]
        self.client.log_batch(self.run_id, metrics=metrics)

    def on_run_end(self, spec: RunSpec, record: Record) -> None:
        if self.client is None or self.run_id is None:
            return
        for key, value in record_summary(record).items():
            self.client.set_tag(self.run_id, f"two_clocks.{key}", str(value))
        self.client.set_terminated(self.run_id, "FINISHED")


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def names() -> list[str]:
    """Every tracker name, plugins included."""
    return CALLBACKS.names()


__all__ = [
    "CALLBACKS",
    "register_callback",
    "TrackerError",
    "parse",
    "build",
    "check",
    "build_all",
    "require",
    "identity",
    "clock_fields",
    "scalars",
    "record_summary",
    "JSONLSink",
    "CSVSink",
    "TensorBoardTracker",
    "WandbTracker",
    "MLflowTracker",
    "names",
]
