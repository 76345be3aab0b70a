"""One run of the clock-measurement protocol: draw the data, train, evaluate on a schedule, read the clocks.

`run(spec, output)` trains (or resumes, or skips when finished) the run `spec` in `<output>/<run_id>/` and
returns its record. The loop reads top to bottom like nanoGPT's: eval when a scheduled step is reached,
else one optimiser step on the next batch. Everything the loop carries from one step to the next is a
`LoopState` saved in `checkpoint.pt` (benchmark.run.loopstate), so an interrupted run resumes to the same
record; the eval row, clock step and stop rule are benchmark.run.evalstep's, shared with the ClockMonitor. The protocol knows tasks and adapters
only through their contracts. Defaults and the reasons for them: benchmark/PROTOCOL.md.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from benchmark.core import records
from benchmark.core.config import ConfigError
from benchmark.core.records import Record, read_record
from benchmark.run import loopstate
from benchmark.run import progress as progress_display
from benchmark.run.batches import StreamSampler, TrainingSetSampler
from benchmark.run.callbacks import Callback, CallbackList
from benchmark.run.clocks import CLOCK_CURVES, read_clocks
from benchmark.run.datasets import check_n_train, derived_seed, draw_sets
from benchmark.run.environment import describe_environment
from benchmark.run.evalstep import STOP_REASONS, eval_row, mean_loss, read_clock_step
from benchmark.run.evaluation import measure_eval
from benchmark.run.metrics import SampleMetrics
from benchmark.run.rundir import (
    CHECKPOINT_FILE,
    MetricsLog,
    clear_run,
    is_finished,
    load_metrics,
    open_run_dir,
    prepare,
    read_finished,
    run_dir,
    run_lock,
)
from benchmark.run.schedule import eval_steps
from benchmark.run.spec import PROTOCOL_VERSION, RunSpec

if TYPE_CHECKING:  # annotations only: benchmark.core.adapter imports torch, which this module loads lazily
    from benchmark.core.adapter import Adapter
    from benchmark.core.task import Task

logger = logging.getLogger(__name__)

CHECKPOINT_EVERY_S = 600.0  # also checkpoint between evals this often: late log-spaced evals are far apart

__all__ = [
    "run",
    "run_dir",
    "is_finished",
    "load_metrics",
    "check_spec",
    "check_data_fits",
    "check_adapter",
    "check_memory",
    "sample_bytes",
    "build_task",
    "build_adapter",
    "STOP_REASONS",
    "CHECKPOINT_EVERY_S",
]


def build_task(spec: RunSpec) -> Task:
    """The spec's task, refusing a task whose config version differs from the one the spec was made with."""
    import tasks

    task = tasks.get(spec.task.name, **spec.task.config)
    _check_version("task", spec.task.name, spec.task.version, getattr(task.config, "version", None))
    return task


def check_spec(spec: RunSpec) -> None:
    """Every check `run` makes before training, plus the adapter's, without building the adapter: a spec checked alone.

    A sweep is checked by `benchmark.sweep.plan` (which calls the same checks, once per run, before anything trains).
    """
    task = build_task(spec)
    check_data_fits(task, spec)
    check_adapter(spec, task)


def check_data_fits(task: Any, spec: RunSpec) -> None:
    """The data checks `run` keeps when called directly: sample arrays fit this machine's memory, N ≤ the valid set."""
    check_memory(task, spec)
    if not spec.stream:
        check_n_train(task, spec.train_size())


def check_adapter(spec: RunSpec, task: Any) -> Any:
    """The spec's adapter config, validated: config version, knobs, the classmethod `check_data` on the task's data."""
    import adapters
    from benchmark.core.adapter import DataSpec, require_classmethod_check_data
    from benchmark.core.config import build_config

    adapter_class = adapters.get_class(spec.adapter.name)
    _check_version("adapter", spec.adapter.name, spec.adapter.version, getattr(adapter_class.config_class, "version", None))
    config = build_config(adapter_class.config_class, spec.adapter.config)
    require_classmethod_check_data(adapter_class, spec.adapter.name)
    try:
        adapter_class.check_data(config, DataSpec(tuple(task.shape), task.num_symbols))
    except ValueError as error:
        raise ConfigError(str(error)) from None
    return config


def sample_bytes(task: Any, spec: RunSpec) -> int:
    """Bytes the run's sample arrays take: training and control sets (2N samples) and M eval samples as int64 with keys."""
    sets = 0 if spec.stream else 2 * spec.train_size()  # a stream run holds no training or control set
    return (sets + 8 * spec.protocol.eval_samples) * task.size


def check_memory(task: Task, spec: RunSpec) -> None:
    """Refuse a run whose sample arrays alone would take more than half of this machine's memory.

    The protocol holds the training and control sets (2N samples) and, at every eval, M samples as int64
    (the adapter's output) plus their keys: about (2N + 8M)·cells bytes. The model itself is not counted.
    """
    total = _physical_memory()
    needed = sample_bytes(task, spec)
    if total is not None and needed > total // 2:
        raise ConfigError(
            f"run {spec.run_id} needs about {needed / 2**30:.1f} GiB for its samples alone (N={spec.n_train}, "
            f"eval_samples={spec.protocol.eval_samples}, {task.size} cells each), more than half of this machine's {total / 2**30:.1f} GiB"
        )


def _physical_memory() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def build_adapter(spec: RunSpec, task: Task, device: str) -> Adapter:
    """The spec's adapter at the seed derived from the run seed (torch's global RNG is seeded from it too)."""
    import torch

    import adapters
    from benchmark.core.adapter import DataSpec

    adapter_class = adapters.get_class(spec.adapter.name)
    _check_version("adapter", spec.adapter.name, spec.adapter.version, getattr(adapter_class.config_class, "version", None))
    seed = derived_seed(spec.seed, "adapter")
    torch.manual_seed(seed)
    data = DataSpec(tuple(task.shape), task.num_symbols)
    return adapters.build(spec.adapter.name, data, seed=seed, device=device, task=task, **spec.adapter.config)


def run(
    spec: RunSpec,
    output: str | os.PathLike[str],
    *,
    device: str = "auto",
    quiet: bool = False,
    keep_checkpoints: bool = False,
    progress_position: int = 0,
    callbacks: Sequence[Callback] = (),
    restart: bool = False,
    wait: bool = True,
) -> Record:
    """Run (or resume, or skip if finished) one spec under output/<spec.run_id>/; return its record.

    `callbacks` are called at the start, after every eval and at the end (benchmark.run.callbacks); they
    see the run but cannot change it. The run's lock is held from the finished-check to the record, so
    two processes never train one run: with `wait` (default) a run in progress elsewhere is waited for,
    else `RunInProgress` is raised. `restart` deletes what the run wrote and trains it from step 0 (the way
    out of a damaged run directory). The run trains on `spec.protocol.threads` torch threads, restored after.

    Called directly (the Python `run()`, a worker on another machine), it keeps only the checks whose answer can
    differ from the plan's: the task's config version (`build_task`), memory and N (`check_data_fits`); the adapter
    checks its data when built. A sweep's `benchmark.sweep.plan.Plan` has made every check before any run starts.
    """
    directory = run_dir(output, spec)
    if not restart and is_finished(output, spec):
        return read_finished(directory, spec)
    task = build_task(spec)  # errors here come before any file or training
    check_data_fits(task, spec)  # run() may be called with any spec: it keeps the checks whose answer depends on this machine
    open_run_dir(directory, spec.run_id)
    with run_lock(directory, spec.run_id, wait=wait), _torch_threads(spec.protocol.threads):
        if restart:
            clear_run(directory)
        elif is_finished(output, spec):  # finished by another process while this one waited for the lock
            return read_finished(directory, spec)
        return _train(spec, directory, task, device=device, quiet=quiet, keep_checkpoints=keep_checkpoints, progress_position=progress_position, callbacks=callbacks)


@dataclass(frozen=True)
class _Setup:
    """What one session of a run trains with, built from the spec: task, sample metrics, adapter, batches, eval schedule."""

    task: Any
    metrics: SampleMetrics
    adapter: Any
    sampler: TrainingSetSampler | StreamSampler
    schedule: list[int]
    batch_size: int
    n_train: int | None  # None: a stream run


def _train(
    spec: RunSpec,
    directory: Path,
    task: Task,
    *,
    device: str,
    quiet: bool,
    keep_checkpoints: bool,
    progress_position: int,
    callbacks: Sequence[Callback],
) -> Record:
    """The run itself, with its lock held: set up, resume or start, train and evaluate on the schedule, write the record."""
    hooks, protocol = CallbackList(callbacks), spec.protocol
    setup = _set_up(spec, task, device)
    prepare(directory, spec)
    state = loopstate.resume(directory, spec, setup.schedule, setup.adapter, setup.sampler)
    logger.debug("run %s: %s at step %d in %s", spec.run_id, "resuming" if state.step else "starting", state.step, directory)
    hooks.call("on_run_start", spec, directory, state.step)
    progress = progress_display.progress(progress_display.run_name(spec), protocol.max_steps, state.step, quiet=quiet, position=progress_position)
    with MetricsLog(directory, state.rows) as log, progress:
        while not state.done:
            if state.step == setup.schedule[len(state.rows)]:  # a scheduled eval: measure, read the clocks, save
                eval_start = time.perf_counter()
                row = _eval_step(setup, state, protocol)
                log.append(row)
                clocks = _clock_step(setup, state, protocol)
                progress.set_postfix(**progress_display.eval_fields(row))
                hooks.call("on_eval", spec, row, clocks)
                loopstate.save(directory, spec, state, setup.adapter, setup.sampler, keep_step=state.step if keep_checkpoints else None)
                state.eval_time += time.perf_counter() - eval_start
                progress.eval_done()
                continue
            _train_step(setup, state)
            progress.update(1)
            if state.wall_time() - state.last_saved >= CHECKPOINT_EVERY_S:  # late log-spaced evals are far apart
                loopstate.save(directory, spec, state, setup.adapter, setup.sampler)
    record = _write_record(spec, directory, setup, state, keep_checkpoints=keep_checkpoints)
    hooks.call("on_run_end", spec, record)
    return record


def _set_up(spec: RunSpec, task: Any, device: str) -> _Setup:
    """Draw the data (N distinct training samples and a control set, or a stream), build the metrics, adapter and batches."""
    protocol = spec.protocol
    n_train = None if spec.stream else spec.train_size()
    train, control = (None, None) if n_train is None else draw_sets(task, n_train, spec.seed)[:2]
    metrics = SampleMetrics.for_sets(task, train, control, near_distance=protocol.near_distance, min_noncopy=protocol.noncopy_floor)
    adapter = build_adapter(spec, task, device)
    sampler: TrainingSetSampler | StreamSampler
    if train is None:
        sampler = StreamSampler(task, adapter.batch_size, derived_seed(spec.seed, "stream"))
    else:
        sampler = TrainingSetSampler(train, adapter.batch_size, protocol.batching, derived_seed(spec.seed, "batches"))
    schedule = eval_steps(protocol.max_steps, protocol.eval_points, protocol.eval_schedule).tolist()
    return _Setup(task, metrics, adapter, sampler, schedule, adapter.batch_size, n_train)


def _train_step(setup: _Setup, state: loopstate.LoopState) -> None:
    """One optimiser step on the next batch."""
    import torch

    batch = torch.from_numpy(setup.sampler.next().astype(np.int64)).to(setup.adapter.device)
    state.add_loss(float(setup.adapter.train_step(batch)))


def _eval_step(setup: _Setup, state: loopstate.LoopState, protocol: Any) -> dict[str, Any]:
    """Sample and measure the model at this scheduled step: the row, appended to the curve (the loss mean restarts)."""
    start = time.perf_counter()
    measured = measure_eval(setup.adapter, setup.task, setup.metrics, protocol)
    loss = mean_loss(*state.take_loss())
    row = eval_row(state.step, measured, batch_size=setup.batch_size, n_train=setup.n_train, loss=loss, eval_time_s=time.perf_counter() - start, wall_time_s=state.wall_time())
    state.rows.append(row)
    return row


def _clock_step(setup: _Setup, state: loopstate.LoopState, protocol: Any) -> dict[str, Any]:
    """Read the clocks from the curve so far and apply the stop rule (the part the ClockMonitor shares)."""
    reading = read_clock_step(state.step, state.rows, protocol, batch_size=setup.batch_size, n_train=setup.n_train)
    state.stop_reason, state.done = reading.stop_reason, reading.stop_reason is not None
    return reading.clocks


def _write_record(spec: RunSpec, directory: Any, setup: _Setup, state: loopstate.LoopState, *, keep_checkpoints: bool) -> Record:
    """The record: clocks read from the full curve, written once, atomically; the checkpoint is dropped unless kept."""
    protocol = spec.protocol
    clocks = read_clocks(state.rows, protocol, batch_size=setup.batch_size, n_train=setup.n_train)
    record = Record(
        schema_version=records.RECORD_SCHEMA_VERSION,
        protocol_version=PROTOCOL_VERSION,
        run_id=spec.run_id,
        spec=spec.to_dict(),
        task=setup.task.describe(),
        adapter=setup.adapter.describe(),
        num_parameters=int(setup.adapter.num_parameters()),
        n_train=spec.n_train,
        batch_size=setup.batch_size,
        max_steps=protocol.max_steps,
        steps_trained=state.step,
        stopped_early=state.step < protocol.max_steps,
        clocks={name: clocks[name] for name in CLOCK_CURVES},
        window=clocks["window"],
        final_metrics=state.rows[-1],
        environment=describe_environment(setup.adapter.device),
        wall_time_s=state.wall_time(),
        eval_time_s=state.eval_time,
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        stop_reason=state.stop_reason,
    )
    records.write_record(directory, record)
    if not keep_checkpoints:
        (directory / CHECKPOINT_FILE).unlink(missing_ok=True)  # the record is the truth; the state is no longer needed
    return read_record(directory)  # exactly what a later skip returns (JSON types: lists, not tuples)


@contextlib.contextmanager
def _torch_threads(threads: int) -> Iterator[None]:
    """Train on exactly `threads` torch threads (part of the spec: the count changes float reductions); restore after."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _check_version(kind: str, name: str, wanted: Any, installed: Any) -> None:
    if wanted != installed:
        raise ConfigError(
            f"{kind} {name!r} has config version {installed!r} installed but the spec was made with version {wanted!r}: "
            "the same knobs would give different data, so this spec cannot be run (re-resolve it)"
        )
