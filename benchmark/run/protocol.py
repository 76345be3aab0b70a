"""One run of the clock-measurement protocol: draw the data, train, evaluate on a schedule, read the clocks.

`run(spec, output)` trains (or resumes, or skips when finished) the run `spec` in `<output>/<run_id>/` and
returns its record. The loop reads top to bottom like nanoGPT's: eval when a scheduled step is reached,
else one optimiser step on the next batch. Everything the loop carries from one step to the next is in
`checkpoint.pt`, so an interrupted run resumes to the same record. The protocol knows tasks and adapters
only through their contracts. Defaults and the reasons for them: benchmark/PROTOCOL.md.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import time
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from benchmark.core import records
from benchmark.core.config import ConfigError
from benchmark.core.records import Record, read_record
from benchmark.run import progress as progress_display
from benchmark.run.batches import StreamSampler, TrainingSetSampler
from benchmark.run.callbacks import Callback, CallbackList
from benchmark.run.clocks import CLOCK_CURVES, read_clocks, rule_unreadable, to_epochs
from benchmark.run.datasets import check_n_train, derived_seed, draw_sets
from benchmark.run.environment import describe_environment
from benchmark.run.evaluation import measure_eval
from benchmark.run.metrics import SampleMetrics
from benchmark.run.rundir import (
    CHECKPOINT_FILE,
    MetricsLog,
    RunDirError,
    clear_run,
    is_finished,
    load_checkpoint,
    load_metrics,
    open_run_dir,
    prepare,
    read_finished,
    run_dir,
    run_lock,
    save_checkpoint,
    way_out,
)
from benchmark.run.schedule import eval_steps
from benchmark.run.spec import PROTOCOL_VERSION, ProtocolConfig, RunSpec

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
    """The run itself, with its lock held: draw the data, resume or start, train and evaluate, write the record."""
    import torch

    hooks = CallbackList(callbacks)
    protocol = spec.protocol

    # 1. Data: N distinct training samples and a control set, or a stream.
    if spec.stream:
        train = control = None
        sampler: TrainingSetSampler | StreamSampler | None = None
    else:
        train, control, _ = draw_sets(task, spec.train_size(), spec.seed)
    metrics = SampleMetrics.for_sets(task, train, control, near_distance=protocol.near_distance, min_noncopy=protocol.noncopy_floor)
    adapter = build_adapter(spec, task, device)
    batch_size = adapter.batch_size
    if train is None:
        sampler = StreamSampler(task, batch_size, derived_seed(spec.seed, "stream"))
    else:
        sampler = TrainingSetSampler(train, batch_size, protocol.batching, derived_seed(spec.seed, "batches"))
    n_train = None if spec.stream else spec.train_size()
    schedule = eval_steps(protocol.max_steps, protocol.eval_points, protocol.eval_schedule).tolist()
    prepare(directory, spec)

    # 2. Resume from the latest checkpoint, if any: model, optimiser, RNGs, batch order, curve so far.
    step, rows, loss_sum, loss_count, elapsed, eval_time, done, stop_reason = 0, [], 0.0, 0, 0.0, 0.0, False, None
    state = load_checkpoint(directory, spec)
    if state is not None:
        _check_resumable(state, schedule, directory, spec)
        adapter.load_state_dict(state["adapter"])
        sampler.load_state_dict(state["sampler"])
        _set_rng_state(state["torch_rng"], adapter.device)
        step, rows, done, stop_reason = state["step"], state["rows"], state["done"], state["stop_reason"]
        loss_sum, loss_count = state["loss_sum"], state["loss_count"]
        elapsed, eval_time = state["wall_time_s"], state["eval_time_s"]

    session_start = time.perf_counter()
    logger.debug("run %s: %s at step %d in %s", spec.run_id, "resuming" if step else "starting", step, directory)
    hooks.call("on_run_start", spec, directory, step)

    def clock() -> float:
        """Wall time of the run so far, across resumes."""
        return elapsed + time.perf_counter() - session_start

    def checkpoint(keep_step: int | None = None) -> None:
        save_checkpoint(
            directory,
            {
                "protocol_version": PROTOCOL_VERSION,
                "run_id": spec.run_id,
                "step": step,
                "done": done,
                "stop_reason": stop_reason,
                "adapter": adapter.state_dict(),
                "sampler": sampler.state_dict(),
                "torch_rng": _get_rng_state(adapter.device),
                "rows": rows,
                "loss_sum": loss_sum,
                "loss_count": loss_count,
                "wall_time_s": clock(),
                "eval_time_s": eval_time,
            },
            spec=spec,
            keep_step=keep_step,
        )

    # 3. Train, evaluating at every scheduled step; stop at max_steps, or early (`stop_reason`).
    progress = progress_display.progress(progress_display.run_name(spec), protocol.max_steps, step, quiet=quiet, position=progress_position)
    last_checkpoint = clock()
    with MetricsLog(directory, rows) as log, progress:
        while not done:
            if step == schedule[len(rows)]:
                eval_start = time.perf_counter()
                row = {
                    "step": step,
                    "epoch": to_epochs(step, batch_size, n_train),
                    **measure_eval(adapter, task, metrics, protocol),
                    "loss": _finite_or_none(loss_sum / loss_count) if loss_count else None,
                    "eval_time_s": time.perf_counter() - eval_start,
                    "wall_time_s": clock(),
                }
                rows.append(row)
                log.append(row)
                loss_sum, loss_count = 0.0, 0
                clocks = read_clocks(rows, protocol, batch_size=batch_size, n_train=n_train)
                stop_reason = _stop_reason(step, rows, clocks, protocol)
                done = stop_reason is not None
                progress.set_postfix(**progress_display.eval_fields(row))
                hooks.call("on_eval", spec, row, clocks)
                checkpoint(keep_step=step if keep_checkpoints else None)
                eval_time += time.perf_counter() - eval_start
                last_checkpoint = clock()
                progress.eval_done()
                continue
            loss = adapter.train_step(torch.from_numpy(sampler.next().astype(np.int64)).to(adapter.device))
            loss_sum += float(loss)
            loss_count += 1
            step += 1
            progress.update(1)
            if clock() - last_checkpoint >= CHECKPOINT_EVERY_S:
                checkpoint()
                last_checkpoint = clock()

    # 4. The record: clocks read from the full curve, written once, atomically.
    clocks = read_clocks(rows, protocol, batch_size=batch_size, n_train=n_train)
    record = Record(
        schema_version=records.RECORD_SCHEMA_VERSION,
        protocol_version=PROTOCOL_VERSION,
        run_id=spec.run_id,
        spec=spec.to_dict(),
        task=task.describe(),
        adapter=adapter.describe(),
        num_parameters=int(adapter.num_parameters()),
        n_train=spec.n_train,
        batch_size=batch_size,
        max_steps=protocol.max_steps,
        steps_trained=step,
        stopped_early=step < protocol.max_steps,
        clocks={name: clocks[name] for name in CLOCK_CURVES},
        window=clocks["window"],
        final_metrics=rows[-1],
        environment=describe_environment(adapter.device),
        wall_time_s=clock(),
        eval_time_s=eval_time,
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        stop_reason=stop_reason,
    )
    records.write_record(directory, record)
    if not keep_checkpoints:
        (directory / CHECKPOINT_FILE).unlink(missing_ok=True)  # the record is the truth; the state is no longer needed
    record = read_record(directory)  # exactly what a later skip returns (JSON types: lists, not tuples)
    hooks.call("on_run_end", spec, record)
    return record


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


def _check_resumable(state: dict[str, Any], schedule: list[int], directory: Any, spec: RunSpec) -> None:
    """A checkpoint of this spec must sit on its eval schedule; else resuming would index past it or mix curves."""
    steps = [row.get("step") for row in state["rows"]]
    consistent = 0 < len(steps) <= len(schedule) and steps == schedule[: len(steps)] and steps[-1] <= state["step"] <= spec.protocol.max_steps and (state["done"] or len(steps) < len(schedule))
    if not consistent:
        raise RunDirError(f"{directory / CHECKPOINT_FILE}: its eval rows do not match this spec's schedule; refusing to resume from it; {way_out(directory, spec.run_id)}")


STOP_REASONS = {
    "max_steps": "max_steps reached",
    "both": "τ_rule and τ_mem fired and held",
    "unreadable": "τ_mem fired and held, and copying left too few non-copies to read the rule for `hold` evals",
    "stream": "τ_rule fired and held (stream: there is no τ_mem to wait for)",
}


def _stop_reason(step: int, rows: list[dict[str, Any]], clocks: dict[str, Any], protocol: ProtocolConfig) -> str | None:
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


def _get_rng_state(device: Any) -> dict[str, Any]:
    """torch's global RNG state (CPU, and the device's on CUDA): adapters that draw from it resume exactly."""
    import torch

    state = {"cpu": torch.get_rng_state()}
    if getattr(device, "type", None) == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def _set_rng_state(state: dict[str, Any], device: Any) -> None:
    import torch

    torch.set_rng_state(state["cpu"])
    if "cuda" in state and getattr(device, "type", None) == "cuda":
        torch.cuda.set_rng_state(state["cuda"], device)


def _finite_or_none(value: float) -> float | None:
    """JSON has no NaN or infinity: a diverged loss is recorded as null."""
    return value if math.isfinite(value) else None


def _check_version(kind: str, name: str, wanted: Any, installed: Any) -> None:
    if wanted != installed:
        raise ConfigError(
            f"{kind} {name!r} has config version {installed!r} installed but the spec was made with version {wanted!r}: "
            "the same knobs would give different data, so this spec cannot be run (re-resolve it)"
        )
