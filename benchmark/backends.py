"""Where runs execute: in this process, in a pool of local worker processes, or as Ray tasks.

Every backend does the same thing per run, `benchmark.protocol.run(spec, output, ...)`, which skips a
finished run and resumes an unfinished one from its checkpoint; so any backend can pick up a sweep
another left half done, and the records are the same whichever ran them. Finished runs are read from
disk here, before anything is dispatched.
"""

from __future__ import annotations

import logging
import os
import traceback
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from multiprocessing import get_context
from typing import Any, Callable, Sequence

from benchmark.records import Record
from benchmark.spec import RunSpec

logger = logging.getLogger(__name__)

BACKENDS = ("local", "ray")


class BackendError(ValueError):
    """A backend cannot start (e.g. Ray not installed); the message says what to do."""


@dataclass(frozen=True)
class RunOptions:
    """How to run (never what: that is the spec); identical for every run of a sweep."""

    output: str  # absolute path: workers may run elsewhere (other processes, Ray nodes)
    device: str = "auto"
    quiet: bool = False
    keep_checkpoints: bool = False
    include: tuple[str, ...] = ()  # plugins every worker imports before running
    report_to: tuple[str, ...] = ()  # trackers by name (benchmark.trackers), built afresh in every worker
    log_level: int | None = None  # workers log at this level to their stderr; None: leave logging alone


@dataclass
class Outcome:
    """What came of one run: its record, or the error that stopped it."""

    spec: RunSpec
    record: Record | None = None
    error: str | None = None
    skipped: bool = False


@dataclass
class SweepResult:
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def records(self) -> list[Record]:
        return [outcome.record for outcome in self.outcomes if outcome.record is not None]

    @property
    def failures(self) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if outcome.error is not None]

    @property
    def skipped(self) -> int:
        return sum(outcome.skipped for outcome in self.outcomes)


def execute(
    specs: Sequence[RunSpec],
    options: RunOptions,
    *,
    backend: str = "local",
    jobs: int = 1,
    report: Callable[[str], None] | None = None,
    callbacks: Sequence[Any] = (),
) -> SweepResult:
    """Run every spec not yet finished on `backend`; outcomes come back in spec order.

    `callbacks` are live objects for runs in this process (local, one job); trackers that must reach
    workers go by name in `options.report_to`.
    """
    from benchmark import protocol  # local: torch is imported only when something runs
    from benchmark.records import read_record

    if backend not in BACKENDS:
        raise BackendError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    report = report or logger.info
    if callbacks and (backend != "local" or (jobs > 1 and len(specs) > 1)):
        raise BackendError("callback objects run in this process only (local backend, one job): pass trackers by name (report_to) to reach workers")
    outcomes: dict[str, Outcome] = {}
    pending: list[RunSpec] = []
    for spec in specs:
        if protocol.is_finished(options.output, spec):
            outcomes[spec.run_id] = Outcome(spec, record=read_record(protocol.run_dir(options.output, spec)), skipped=True)
        else:
            pending.append(spec)
    report(f"{len(specs)} runs: {len(specs) - len(pending)} finished already (skipped), {len(pending)} to run on the {backend} backend")
    if pending:
        if backend == "ray":
            finished = run_ray(pending, options, jobs=jobs, report=report)
        else:
            finished = run_local(pending, options, jobs=jobs, report=report, callbacks=callbacks)
        for outcome in finished:
            outcomes[outcome.spec.run_id] = outcome
    return SweepResult([outcomes[spec.run_id] for spec in specs])


# --- one run, wherever it executes ---------------------------------------------------------------


def run_one(spec: RunSpec, options: RunOptions, position: int = 0, callbacks: Sequence[Any] = ()) -> Outcome:
    """Run (or resume) one spec; an exception becomes the outcome's error text, so one bad run cannot sink a sweep."""
    from benchmark import protocol, trackers

    try:
        hooks = [*trackers.build_all(options.report_to), *callbacks]  # built here, in the process that runs
        record = protocol.run(
            spec,
            options.output,
            device=options.device,
            quiet=options.quiet,
            keep_checkpoints=options.keep_checkpoints,
            progress_position=position,
            callbacks=hooks,
        )
    except Exception:  # noqa: BLE001 - reported with its traceback, the sweep goes on
        return Outcome(spec, error=traceback.format_exc())
    return Outcome(spec, record=record)


def _describe(outcome: Outcome) -> str:
    from benchmark.terminal import run_summary

    if outcome.error is not None:
        return f"failed {outcome.spec.run_id}: {outcome.error.strip().splitlines()[-1]}"
    return run_summary(outcome.record) if outcome.record else f"done {outcome.spec.run_id}"


# --- local: this process, or a pool of spawned processes ----------------------------------------


def threads_per_worker(jobs: int) -> int:
    """Share the cores: max(1, cores // jobs) torch threads per worker."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, cores // max(1, jobs))


def _init_worker(threads: int, include: tuple[str, ...], log_level: int | None = None) -> None:
    """Runs once in each spawned worker: logging, thread budget, then the plugins the specs may name."""
    import torch

    from benchmark.plugins import load_plugins

    if log_level is not None:
        from benchmark.log import configure

        configure(log_level)
    torch.set_num_threads(threads)
    load_plugins(include)


def run_local(specs: Sequence[RunSpec], options: RunOptions, *, jobs: int = 1, report: Callable[[str], None] = logger.info, callbacks: Sequence[Any] = ()) -> list[Outcome]:
    """`jobs` = 1: one after another in this process; more: a 'spawn' process pool of that many workers."""
    outcomes: list[Outcome] = []
    if jobs <= 1 or len(specs) == 1:
        for index, spec in enumerate(specs):
            outcome = run_one(spec, options, callbacks=callbacks)
            report(f"[{index + 1}/{len(specs)}] {_describe(outcome)}")
            outcomes.append(outcome)
        return outcomes
    workers = min(jobs, len(specs))
    context = get_context("spawn")  # fork would copy torch's thread pools and any CUDA state
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker, initargs=(threads_per_worker(workers), options.include, options.log_level)) as pool:
        futures = {pool.submit(run_one, spec, options, index % workers): spec for index, spec in enumerate(specs)}
        remaining = set(futures)
        try:
            while remaining:
                done, remaining = wait(remaining, return_when=FIRST_COMPLETED)
                for future in done:
                    try:
                        outcome = future.result()
                    except Exception:  # noqa: BLE001 - a worker that died (OOM, signal) fails its run only
                        outcome = Outcome(futures[future], error=traceback.format_exc())
                    outcomes.append(outcome)
                    report(f"[{len(outcomes)}/{len(specs)}] {_describe(outcome)}")
        except KeyboardInterrupt:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    return outcomes


# --- Ray: one task per run ----------------------------------------------------------------------


def _ray_task(spec: RunSpec, options: RunOptions, threads: int) -> Outcome:
    """Body of a Ray task: same as a pool worker, on whichever node Ray chose."""
    _init_worker(threads, options.include, options.log_level)
    return run_one(spec, options)


def gpus_per_run(device: str, cluster_gpus: float) -> float:
    """Ask Ray for a GPU when the run will use one: device cuda*, or auto on a cluster that has GPUs."""
    if device.startswith("cuda"):
        return 1.0
    if device == "auto" and cluster_gpus > 0:
        return 1.0
    return 0.0


def run_ray(specs: Sequence[RunSpec], options: RunOptions, *, jobs: int = 1, report: Callable[[str], None] = logger.info) -> list[Outcome]:
    """Submit each run as a Ray task; `ray.init` honours RAY_ADDRESS (a cluster) or starts a local instance."""
    try:
        import ray
    except ImportError:
        raise BackendError("--backend ray needs ray, which is not installed: pip install 'two-clocks[ray]'") from None
    if not ray.is_initialized():
        address = os.environ.get("RAY_ADDRESS")
        kwargs: dict[str, Any] = {"log_to_driver": not options.quiet}
        if not address:
            kwargs["include_dashboard"] = False
        ray.init(address=address, **kwargs)
    num_gpus = gpus_per_run(options.device, float(ray.cluster_resources().get("GPU", 0)))
    task = ray.remote(num_cpus=1, num_gpus=num_gpus, max_retries=0)(_ray_task)
    refs = {task.remote(spec, options, 1): spec for spec in specs}
    report(f"submitted {len(refs)} Ray tasks ({num_gpus:g} GPU each)")
    outcomes: list[Outcome] = []
    remaining = list(refs)
    while remaining:
        done, remaining = ray.wait(remaining, num_returns=1)
        try:
            outcome = ray.get(done[0])
        except Exception as error:  # noqa: BLE001 - a task that died fails its run only
            outcome = Outcome(refs[done[0]], error=f"{type(error).__name__}: {error}")
        outcomes.append(outcome)
        report(f"[{len(outcomes)}/{len(specs)}] {_describe(outcome)}")
    return outcomes
