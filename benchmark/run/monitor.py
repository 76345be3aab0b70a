"""ClockMonitor: τ_rule and τ_mem read live inside someone else's training loop, with the protocol's own code.

The caller trains; the monitor says when an eval is due (`step`), draws samples through the caller's
`sample_fn(n)` with the protocol's sequential eval rule (`measure_drawn`), measures them with the same
`SampleMetrics`, and reads the clocks and the stop rule with the same `read_clock_step` as a suite run.
With `output` it leaves a run folder (spec.json, metrics.jsonl, record.json with `origin: "monitor"`)
that `benchmark leaderboard` and `plot` read unchanged. An error inside an eval never stops training
(unless `strict`); a bad configuration is one `ConfigError` at construction.
"""

from __future__ import annotations

import bisect
import logging
import math
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.core import records
from benchmark.core.config import ConfigError, build_config
from benchmark.core.records import RECORD_FILE, Clock, Record, Window
from benchmark.core.task import SAMPLE_DTYPE
from benchmark.run.clocks import CLOCK_CURVES, read_clocks
from benchmark.run.datasets import derived_seed, draw_distinct
from benchmark.run.environment import describe_environment
from benchmark.run.evalstep import eval_row, read_clock_step
from benchmark.run.evaluation import measure_drawn
from benchmark.run.metrics import KeySet, SampleMetrics
from benchmark.run.rundir import MetricsLog, RunDirError, clear_run, prepare
from benchmark.run.schedule import eval_steps
from benchmark.run.spec import PROTOCOL_VERSION, ComponentSpec, ProtocolConfig, RunSpec

logger = logging.getLogger(__name__)

# A live monitor's default schedule: the default job's (20 log-spaced evals of up to 512 samples), not the
# protocol's 30 × 1024, so that sampling stays within ~10 % of a small model's training time
# (tests/perf/monitor_overhead.py). Knobs the caller passes override these.
MONITOR_DEFAULTS: Mapping[str, Any] = {"eval_points": 20, "eval_samples": 512}

ORIGIN = "monitor"  # record.json's `origin`: the model was trained by the caller, not by `benchmark run`
_TASK_CONTRACT = ("shape", "num_symbols", "is_valid", "constraint_satisfaction", "key", "chance_valid", "describe")


@dataclass(frozen=True)
class MonitorState:
    """What the monitor knows after its latest eval: the curves' last values, the clocks and the window so far."""

    step: int | None  # the step of the latest successful eval (None before the first)
    evals: int  # successful evals so far
    failed_evals: tuple[int, ...]  # steps whose eval raised (not in the curve)
    q_rule: float | None  # chance-normalised validity of the non-copies (τ_rule's curve); None when undefined
    copy_rate: float | None  # fraction of samples that are exact training samples
    mem_excess: float | None  # copy rate minus the control set's (τ_mem's curve)
    novel_valid: float | None  # fraction of samples both valid and not copies
    tau_rule: Clock | None
    tau_mem: Clock | None
    window: Window | None
    stop_reason: str | None  # the protocol's stop rule: why a suite run would stop here (None: go on)

    @property
    def should_stop(self) -> bool:
        """True when the protocol's stop rule fires (τ_mem and τ_rule held, or the rule unreadable, or the budget reached)."""
        return self.stop_reason is not None

    def summary(self) -> str:
        """One line: the latest curves, both clocks ('> step' while censored) and the window."""

        def number(value: float | None) -> str:
            return "n/a" if value is None else f"{value:.3f}"

        clocks = ", ".join(f"{name} {'n/a' if clock is None else clock.display()}" for name, clock in (("τ_rule", self.tau_rule), ("τ_mem", self.tau_mem)))
        window = "n/a" if self.window is None else self.window.status
        return f"step {self.step}: q_rule {number(self.q_rule)}, copy rate {number(self.copy_rate)}, {clocks}, window {window}"


class ClockMonitor:
    """Reads both clocks of a model that the caller trains; see the module docstring.

    `task`: a registered task name (with `task_config` knobs) or an object with the task contract (`shape`,
    `num_symbols`, `is_valid`, `constraint_satisfaction`, `key`, `chance_valid`, `describe`). `train_samples`:
    the caller's training set `(N, *shape)`. `sample_fn(n)`: n samples from the model (array or tensor).
    `batch_size`: samples per optimiser step (for epochs). `protocol`: thresholds and eval schedule
    (`max_steps` is the training budget the schedule spans). `control_samples`: a control set; drawn from
    the task's sampler when it has one, else none (control copy rate 0).
    """

    def __init__(
        self,
        task: Any,
        train_samples: Any,
        sample_fn: Callable[[int], Any],
        *,
        batch_size: int,
        protocol: ProtocolConfig | Mapping[str, Any] | None = None,
        task_config: Mapping[str, Any] | None = None,
        control_samples: Any = None,
        output: str | os.PathLike[str] | None = None,
        model: Mapping[str, Any] | None = None,
        seed: int = 0,
        strict: bool = False,
        restart: bool = False,
    ) -> None:
        self.protocol = protocol if isinstance(protocol, ProtocolConfig) else build_config(ProtocolConfig, {**MONITOR_DEFAULTS, **dict(protocol or {})})
        self.protocol.validate()  # θ out of range, a bad schedule: one ConfigError naming the field
        self.task = _build_task(task, task_config or {})
        self.train = _check_samples(self.task, train_samples, "train_samples")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError(f"batch_size must be a positive integer, got {batch_size!r}")
        if not callable(sample_fn):
            raise ConfigError(f"sample_fn must be a callable sample_fn(n) -> array of shape (n, {', '.join(map(str, self.task.shape))}), got {sample_fn!r}")
        self.control = _check_samples(self.task, control_samples, "control_samples", allow_empty=True) if control_samples is not None else _draw_control(self.task, self.train, seed)
        self.sample_fn, self.batch_size, self.strict = sample_fn, batch_size, strict
        self.metrics = SampleMetrics.for_sets(self.task, self.train, self.control, near_distance=self.protocol.near_distance, min_noncopy=self.protocol.noncopy_floor)
        self.schedule = eval_steps(self.protocol.max_steps, self.protocol.eval_points, self.protocol.eval_schedule).tolist()
        self.model = dict(model or {"name": "model"})
        self.spec = _monitor_spec(self.task, self.model, len(self.train), seed, self.protocol)
        self.rows: list[dict[str, Any]] = []
        self.failed_evals: list[int] = []
        self.last_step = -1
        self.eval_time = 0.0
        self._start = time.perf_counter()
        self._clocks: dict[str, Any] | None = None
        self._stop_reason: str | None = None
        self._warned = False
        self.directory = None if output is None else Path(output) / self.spec.run_id
        self._log: MetricsLog | None = None
        if self.directory is not None:
            self._open_run_folder(restart)

    # --- the plain-loop interface -----------------------------------------------------------
    def step(self, step: int) -> bool:
        """True when an eval is due at training step `step`: a scheduled step has been reached since the last eval."""
        upcoming = bisect.bisect_right(self.schedule, self.last_step)  # the first scheduled step not yet evaluated
        return upcoming < len(self.schedule) and step >= self.schedule[upcoming]

    def evaluate(self, step: int, *, loss: float | None = None, model: Any = None) -> MonitorState:
        """Draw samples through `sample_fn` with the protocol's sequential rule, measure them, read the clocks.

        `model` (a torch module, optional): put in eval mode while sampling and restored after, as the integrations need.
        """
        if model is None:
            return self._eval(step, lambda: measure_drawn(self._draw, self.task, self.metrics, self.protocol), loss)
        training = model.training
        model.eval()
        try:
            return self.evaluate(step, loss=loss)
        finally:
            model.train(training)

    def update(self, step: int, samples: Any = None, *, loss: float | None = None) -> MonitorState:
        """Measure `samples` the caller already drew (all of them, no sequential rule), or draw them when None."""
        if samples is None:
            return self.evaluate(step, loss=loss)
        return self._eval(step, lambda: self.metrics.measure(self._as_samples(samples, len(np.asarray(samples)))), loss)

    def add_row(self, row: Mapping[str, Any]) -> MonitorState:
        """Append an already measured eval row (a line of metrics.jsonl) and read the clocks: the clock path alone."""
        row = dict(row)
        if row["step"] <= self.last_step:
            raise ValueError(f"eval steps must increase: got step {row['step']} after {self.last_step}")
        self.rows.append(row)
        self.last_step = int(row["step"])
        if self._log is not None:
            self._log.append(row)
        reading = read_clock_step(self.last_step, self.rows, self.protocol, batch_size=self.batch_size, n_train=len(self.train))
        self._clocks, self._stop_reason = reading.clocks, reading.stop_reason
        return self.state

    @property
    def state(self) -> MonitorState:
        """The latest eval's curves, the clocks and window so far, and the stop rule's verdict."""
        last = self.rows[-1] if self.rows else {}
        clocks = self._clocks or {}
        return MonitorState(
            step=last.get("step"),
            evals=len(self.rows),
            failed_evals=tuple(self.failed_evals),
            q_rule=last.get("noncopy_valid_norm"),
            copy_rate=last.get("mem"),
            mem_excess=last.get("mem_excess"),
            novel_valid=last.get("novel_valid"),
            tau_rule=clocks.get("tau_rule"),
            tau_mem=clocks.get("tau_mem"),
            window=clocks.get("window"),
            stop_reason=self._stop_reason,
        )

    def finish(self, steps_trained: int | None = None) -> Record | None:
        """Write record.json (when there is an output folder and at least one eval) and close the log; return the record."""
        if self._log is not None:
            self._log.close()
            self._log = None
        if not self.rows:
            logger.warning("clock monitor: no successful eval, so there is no record to write")
            return None
        record = self.record(steps_trained)
        if self.directory is not None:
            records.write_record(self.directory, record)
        return record

    def record(self, steps_trained: int | None = None) -> Record:
        """The run's record from the curve so far, like a suite run's, with `origin` and the caller's model description."""
        clocks = read_clocks(self.rows, self.protocol, batch_size=self.batch_size, n_train=len(self.train))
        trained = int(self.last_step if steps_trained is None else max(steps_trained, self.last_step))
        return Record(
            schema_version=records.RECORD_SCHEMA_VERSION,
            protocol_version=PROTOCOL_VERSION,
            run_id=self.spec.run_id,
            spec=self.spec.to_dict(),
            task=self.task.describe(),
            adapter=self.model,
            num_parameters=int(self.model.get("num_parameters", 0)),
            n_train=len(self.train),
            batch_size=self.batch_size,
            max_steps=self.protocol.max_steps,
            steps_trained=trained,
            stopped_early=trained < self.protocol.max_steps,
            clocks={name: clocks[name] for name in CLOCK_CURVES},
            window=clocks["window"],
            final_metrics=self.rows[-1],
            environment=describe_environment("cpu"),
            wall_time_s=time.perf_counter() - self._start,
            eval_time_s=self.eval_time,
            created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            stop_reason=self._stop_reason,
            extra={"origin": ORIGIN, "model": self.model, "failed_evals": list(self.failed_evals)},
        )

    # --- inside ----------------------------------------------------------------------------
    def _eval(self, step: int, measure: Callable[[], dict[str, Any]], loss: float | None) -> MonitorState:
        """One eval at `step`; an exception in sampling or measuring is logged once and marks the eval failed."""
        if step <= self.last_step and not self.strict:  # a repeated step: nothing new to read, and no reason to stop training
            logger.debug("clock monitor: step %d is not after the last eval (%d); skipped", step, self.last_step)
            return self.state
        start = time.perf_counter()
        try:
            measured = measure()
        except Exception as error:  # noqa: BLE001 - the caller's training must go on
            if self.strict:
                raise
            self.failed_evals.append(int(step))
            self.last_step = max(self.last_step, int(step))  # do not retry this scheduled step at every later step
            if not self._warned:
                logger.warning("clock monitor: eval at step %d failed (%s: %s); training goes on, later failures are logged at debug level", step, type(error).__name__, error)
                self._warned = True
            else:
                logger.debug("clock monitor: eval at step %d failed (%s: %s)", step, type(error).__name__, error)
            return self.state
        loss = None if loss is None or not math.isfinite(loss) else float(loss)
        elapsed = time.perf_counter() - start
        self.eval_time += elapsed
        row = eval_row(int(step), measured, batch_size=self.batch_size, n_train=len(self.train), loss=loss, eval_time_s=elapsed, wall_time_s=time.perf_counter() - self._start)
        return self.add_row(row)

    def _draw(self, count: int) -> np.ndarray:
        return self._as_samples(self.sample_fn(count), count)

    def _as_samples(self, samples: Any, count: int) -> np.ndarray:
        """The caller's samples as a checked integer array `(count, *shape)` in the task's alphabet (like the protocol's draw)."""
        if hasattr(samples, "detach"):
            samples = samples.detach().cpu().numpy()
        samples = np.asarray(samples)
        expected = (count, *self.task.shape)
        if samples.shape != expected or not np.issubdtype(samples.dtype, np.integer):
            raise ValueError(f"sample_fn must return integers of shape {expected}, got {samples.dtype} {samples.shape}")
        if samples.size and (samples.min() < 0 or samples.max() >= self.task.num_symbols):
            raise ValueError(f"samples must be symbols in [0, {self.task.num_symbols}), got values in [{samples.min()}, {samples.max()}]")
        return samples.astype(SAMPLE_DTYPE) if self.task.num_symbols <= 256 else samples

    def _open_run_folder(self, restart: bool) -> None:
        assert self.directory is not None
        if (self.directory / RECORD_FILE).is_file() and not restart:
            raise RunDirError(f"{self.directory} already holds a finished record: pass restart=True to start it over, or choose another output")
        if restart and self.directory.is_dir():
            clear_run(self.directory)
        prepare(self.directory, self.spec)
        self._log = MetricsLog(self.directory)


def clock_logs(reading: MonitorState) -> dict[str, float]:
    """The monitor's state as scalar logs (`clocks/...`); undefined values are left out, fired clocks give their step."""
    values: dict[str, float | None] = {
        "clocks/q_rule": reading.q_rule,
        "clocks/copy_rate": reading.copy_rate,
        "clocks/mem_excess": reading.mem_excess,
        "clocks/novel_valid": reading.novel_valid,
        "clocks/failed_evals": float(len(reading.failed_evals)),
    }
    for name in ("tau_rule", "tau_mem"):
        clock = getattr(reading, name)
        values[f"clocks/{name}_fired"] = None if clock is None else float(clock.fired)
        values[f"clocks/{name}"] = clock.step if clock is not None and clock.fired else None
    return {key: float(value) for key, value in values.items() if value is not None}


def _build_task(task: Any, knobs: Mapping[str, Any]) -> Any:
    """A registered task by name, or the caller's object after checking it has the task contract."""
    if isinstance(task, str):
        import tasks

        return tasks.get(task, **knobs)
    missing = [name for name in _TASK_CONTRACT if not hasattr(task, name)]
    if missing:
        raise ConfigError(f"task must be a registered task name or an object with the task contract; {type(task).__name__} lacks {', '.join(missing)}")
    return task


def _check_samples(task: Any, samples: Any, name: str, *, allow_empty: bool = False) -> np.ndarray:
    """The caller's samples as an integer array of the task's shape and alphabet, or one ConfigError naming `name`."""
    if hasattr(samples, "detach"):
        samples = samples.detach().cpu().numpy()
    array = np.asarray(samples)
    shape = tuple(task.shape)
    if array.ndim == 0 or (len(array) == 0 and not allow_empty):
        raise ConfigError(f"{name} must hold at least one sample of shape {shape}, got none")
    if array.shape[1:] != shape:
        raise ConfigError(f"{name} must have shape (N, {', '.join(map(str, shape))}) for this task, got {array.shape}")
    if array.size and (not np.issubdtype(array.dtype, np.integer) or array.min() < 0 or array.max() >= task.num_symbols):
        raise ConfigError(f"{name} must be integer symbols in [0, {task.num_symbols}), got dtype {array.dtype}")
    return array.astype(SAMPLE_DTYPE) if task.num_symbols <= 256 else array


def _draw_control(task: Any, train: np.ndarray, seed: int) -> np.ndarray:
    """A control set of N valid samples from the task's sampler (disjoint from the training set when the valid set allows), else none."""
    if not hasattr(task, "sample"):
        logger.info("clock monitor: the task has no sampler, so no control set: the control copy rate is taken as 0")
        return np.zeros((0, *task.shape), dtype=train.dtype)
    disjoint = hasattr(task, "num_valid") and float(task.num_valid()) >= 2 * len(train)
    exclude = KeySet(task.key(train)) if disjoint else None
    return draw_distinct(task, len(train), np.random.default_rng(derived_seed(seed, "control")), exclude)


def _monitor_spec(task: Any, model: Mapping[str, Any], n_train: int, seed: int, protocol: ProtocolConfig) -> RunSpec:
    """The spec.json of a monitored run: the task, the caller's model as the adapter, N, seed and protocol."""
    described = task.describe()
    knobs = tuple(sorted((str(k), _plain(v)) for k, v in dict(described.get("config", {})).items()))
    model_knobs = tuple(sorted((str(k), _plain(v)) for k, v in model.items() if k != "name"))
    return RunSpec(
        task=ComponentSpec(str(described.get("name", type(task).__name__)), knobs, described.get("version")),
        adapter=ComponentSpec(str(model.get("name", "model")), model_knobs, None),
        n_train=n_train,
        seed=seed,
        protocol=protocol,
    )


def _plain(value: Any) -> Any:
    """A JSON-able, hashable value for a spec knob."""
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), _plain(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_plain(v) for v in value)
    return value


__all__ = ["MONITOR_DEFAULTS", "ORIGIN", "ClockMonitor", "MonitorState", "clock_logs"]
