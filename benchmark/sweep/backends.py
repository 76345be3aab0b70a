"""Where runs execute: in this process, in a pool of local worker processes, or as Ray tasks.

Every backend does the same thing per run, `benchmark.run.protocol.run(spec, output, ...)`, which skips a
finished run and resumes an unfinished one from its checkpoint; so any backend can pick up a sweep
another left half done, and the records are the same whichever ran them. Finished runs are read from
disk here, before anything is dispatched.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from multiprocessing import get_context
from typing import Any
from urllib.parse import urlparse

from benchmark.core.display import count_text
from benchmark.core.records import Record
from benchmark.run.spec import RunSpec

BACKENDS = ("local", "ray")  # the one list: sweep files, flags and the plan check against it
EXIT_INTERRUPTED = 130
WORKER_STOP_TIMEOUT_S = 15.0  # a stopped worker finishes its current training step, then exits; killed after this
RAY_CONNECT_TIMEOUT_S = 10.0  # how long `--backend ray` tries to reach RAY_ADDRESS before giving up
RAY_TASK_RETRIES = 3  # a run whose task is lost (its worker process or node died) is resubmitted this often

logger = logging.getLogger(__name__)


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
    restart: tuple[str, ...] = ()  # run ids to start over from step 0 (the way out of a damaged run directory)
    skip_running: bool = False  # a run another process holds is skipped (not waited for)
    report_to: tuple[str, ...] = ()  # trackers by name, built afresh in every worker by `build_trackers`
    build_trackers: Callable[[tuple[str, ...]], list[Any]] | None = None  # names → callbacks (the API passes the report floor's)
    log_level: int | None = None  # workers log at this level to their stderr; None: leave logging alone


@dataclass
class Outcome:
    """What came of one run: its record, or the error that stopped it."""

    spec: RunSpec
    record: Record | None = None
    error: str | None = None  # a traceback, or (when `refused`) one line naming the file and the way out
    skipped: bool = False
    refused: bool = False  # the run directory cannot be used as it is: a user error, not a crash
    busy: bool = False  # skipped because another process is training it


@dataclass
class SweepResult:
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def records(self) -> list[Record]:
        return [outcome.record for outcome in self.outcomes if outcome.record is not None]

    @property
    def failures(self) -> list[Outcome]:
        """Runs that crashed (with a traceback)."""
        return [outcome for outcome in self.outcomes if outcome.error is not None and not outcome.refused]

    @property
    def refusals(self) -> list[Outcome]:
        """Runs whose directory was refused (damaged, another run's, unwritable): one line each."""
        return [outcome for outcome in self.outcomes if outcome.refused]

    @property
    def busy(self) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if outcome.busy]

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
    from benchmark.run import protocol  # local: torch is imported only when something runs

    if backend not in BACKENDS:
        raise BackendError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    report = report or logger.info
    if options.report_to and options.build_trackers is None:
        raise BackendError("report_to names trackers but RunOptions.build_trackers is not set (pass benchmark.report.trackers.build_all)")
    if callbacks and (backend != "local" or (jobs > 1 and len(specs) > 1)):
        raise BackendError("callback objects run in this process only (local backend, one job): pass trackers by name (report_to) to reach workers")
    outcomes: dict[str, Outcome] = {}
    pending: list[RunSpec] = []
    for spec in specs:
        if spec.run_id not in options.restart and protocol.is_finished(options.output, spec):
            outcomes[spec.run_id] = finished_outcome(spec, options.output)
        else:
            pending.append(spec)
    finished = len(specs) - len(pending)
    report(f"{count_text(len(specs), 'run')}: {finished} finished already (skipped), {len(pending)} to run on the {backend} backend")
    warn_oversubscription(pending, jobs if backend == "local" else 1)
    if pending:
        if backend == "ray":
            ran = run_ray(pending, options, jobs=jobs, report=report)
        else:
            ran = run_local(pending, options, jobs=jobs, report=report, callbacks=callbacks)
        for outcome in ran:
            outcomes[outcome.spec.run_id] = outcome
    return SweepResult([outcomes[spec.run_id] for spec in specs])


def finished_outcome(spec: RunSpec, output: str) -> Outcome:
    """A finished run's stored record; a damaged record (or one its metrics contradict) is refused, not a crash of the sweep."""
    from benchmark.core.records import RecordError
    from benchmark.run.rundir import read_eval_rows, read_finished, run_dir, way_out

    directory = run_dir(output, spec)
    try:
        record = read_finished(directory, spec)
        rows = read_eval_rows(directory)
        final_step = record.final_row.step
    except RecordError as error:
        message = str(error) if "--restart-run" in str(error) else f"{error}; {way_out(directory, spec.run_id)}"
        return Outcome(spec, error=message, refused=True)
    last_step = rows[-1].step if rows else None
    if last_step != final_step:
        message = f"{directory}: record.json ends at step {final_step} but metrics.jsonl at step {last_step}: the folder mixes two trainings; {way_out(directory, spec.run_id)}"
        return Outcome(spec, error=message, refused=True)
    return Outcome(spec, record=record, skipped=True)


def warn_oversubscription(specs: Sequence[RunSpec], jobs: int) -> None:
    """Runs side by side × threads per run above the cores: slower, never different (the thread count is the spec's)."""
    if not specs:
        return
    side_by_side, threads = min(jobs, len(specs)), max(spec.protocol.threads for spec in specs)
    cores = available_cores()
    if side_by_side * threads > cores:
        logger.warning(
            "%d runs side by side with up to %d torch threads each ask for %d threads on %d cores: runs will be slower (records are unaffected: the thread count is part of each spec)",
            side_by_side,
            threads,
            side_by_side * threads,
            cores,
        )


def available_cores() -> int:
    """Cores this process may run on (its affinity where the OS tells, else the CPU count)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


# --- one run, wherever it executes ---------------------------------------------------------------


def run_one(spec: RunSpec, options: RunOptions, position: int = 0, callbacks: Sequence[Any] = ()) -> Outcome:
    """Run (or resume) one spec; an exception becomes the outcome's error text, so one bad run cannot sink a sweep.

    A run directory that cannot be used (`RunDirError`, or a write that fails: read-only, disk full) is a
    one-line refusal naming the path; any other exception is reported with its traceback. Trackers named in
    `options.report_to` are built here, in the process that runs, beside the live `callbacks`.
    """
    from benchmark.core.records import RecordError
    from benchmark.run import protocol
    from benchmark.run.rundir import WRITE_ERRNOS, RunInProgress

    try:
        built = options.build_trackers(options.report_to) if options.build_trackers and options.report_to else []
        hooks = [*built, *callbacks]  # trackers are built here, in the process that runs
        record = protocol.run(
            spec,
            options.output,
            device=options.device,
            quiet=options.quiet,
            keep_checkpoints=options.keep_checkpoints,
            progress_position=position,
            restart=spec.run_id in options.restart,
            wait=not options.skip_running,
            callbacks=hooks,
        )
    except RunInProgress as error:
        logger.warning("%s; skipped", error)
        return Outcome(spec, skipped=True, busy=True)
    except RecordError as error:
        return Outcome(spec, error=" ".join(str(error).split()), refused=True)
    except OSError as error:
        if error.errno not in WRITE_ERRNOS:
            return Outcome(spec, error=traceback.format_exc())
        where = error.filename or protocol.run_dir(options.output, spec)
        return Outcome(spec, error=f"cannot write {where}: {error.strerror or error}", refused=True)
    except Exception:  # noqa: BLE001 - reported with its traceback, the sweep goes on
        return Outcome(spec, error=traceback.format_exc())
    return Outcome(spec, record=record)


def _describe(outcome: Outcome) -> str:
    if outcome.busy:
        return f"skipped {outcome.spec.run_id}: in progress in another process"
    if outcome.refused:
        return f"refused {outcome.spec.run_id}: {outcome.error}"
    from benchmark.run.progress import run_summary

    if outcome.error is not None:
        return f"failed {outcome.spec.run_id}: {outcome.error.strip().splitlines()[-1]}"
    return run_summary(outcome.record) if outcome.record else f"done {outcome.spec.run_id}"


# --- local: this process, or a pool of spawned processes ----------------------------------------
#
# Workers die with their sweep. A worker stops (like Ctrl-C: its run keeps the last checkpoint, its lock is
# released) on SIGTERM or SIGINT, and it gets SIGTERM when its parent dies, however it dies: on Linux the
# kernel sends it (PR_SET_PDEATHSIG), and everywhere a watchdog thread sees the parent's pid change. The
# parent, interrupted (Ctrl-C, or SIGTERM which the CLI handles alike), stops its workers before it exits.

_interrupting = False  # in a worker: a stop is under way (a second signal must not cut its clean-up short)
_in_run = False  # in a worker: a run is executing (else a stop can exit at once)


def _init_worker(include: tuple[str, ...], parent_pid: int, log_level: int | None) -> None:
    """Runs once in each spawned worker: die with the parent, stop on SIGTERM/SIGINT, log to stderr, load the plugins."""
    from tqdm import tqdm

    from benchmark.sweep.plugins import load_plugins

    signal.signal(signal.SIGTERM, _stop_worker)
    signal.signal(signal.SIGINT, _stop_worker)
    _die_with_parent(parent_pid)
    tqdm.set_lock(threading.RLock())  # tqdm's default is a multiprocessing lock, leaked (and warned about) when a stopped worker exits
    _configure_logging(log_level)
    load_plugins(include)


def _stop_worker(signum: int, frame: Any) -> None:
    """SIGTERM/SIGINT in a worker: interrupt the run like Ctrl-C (clean-up runs), or exit at once when idle."""
    global _interrupting
    if _interrupting:
        return
    _interrupting = True
    if not _in_run:
        os._exit(EXIT_INTERRUPTED)
    raise KeyboardInterrupt


def _die_with_parent(parent_pid: int) -> None:
    """Ask for SIGTERM when the parent dies (Linux), and watch for it everywhere."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:  # the parent died before the request above took effect
        os._exit(EXIT_INTERRUPTED)
    threading.Thread(target=_watch_parent, args=(parent_pid,), name="two-clocks-parent-watch", daemon=True).start()


def _watch_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(0.5)
    os.kill(os.getpid(), signal.SIGTERM)  # stop like Ctrl-C ...
    time.sleep(WORKER_STOP_TIMEOUT_S)
    os._exit(EXIT_INTERRUPTED)  # ... or for good, if the main thread is stuck


def _worker_run(spec: RunSpec, options: RunOptions, position: int) -> Outcome:
    """A run in a pool worker; interrupted, the worker exits (it must not pick up the next run from its queue)."""
    global _in_run
    _in_run = True
    try:
        return run_one(spec, options, position)
    except KeyboardInterrupt:
        os._exit(EXIT_INTERRUPTED)
    finally:
        _in_run = False


def _configure_logging(log_level: int | None) -> None:
    """Workers log to their stderr at the sweep's level (benchmark.core.log); None leaves logging as the process has it."""
    if log_level is not None:
        from benchmark.core.log import configure

        configure(log_level)


def stop_workers(pool: ProcessPoolExecutor, timeout: float = WORKER_STOP_TIMEOUT_S) -> None:
    """SIGTERM every worker of `pool`, give them `timeout` seconds to stop cleanly, then SIGKILL the rest."""
    processes = list((getattr(pool, "_processes", None) or {}).values())  # private, but public only from Python 3.14
    for process in processes:
        if process.is_alive():
            process.terminate()
    deadline = time.monotonic() + timeout
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
            process.join(1.0)


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
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker, initargs=(options.include, os.getpid(), options.log_level))
    try:
        futures = {pool.submit(_worker_run, spec, options, index % workers): spec for index, spec in enumerate(specs)}
        remaining = set(futures)
        while remaining:
            done, remaining = wait(remaining, return_when=FIRST_COMPLETED)
            for future in done:
                try:
                    outcome = future.result()
                except Exception:  # noqa: BLE001 - a worker that died (OOM, signal) fails its run only
                    outcome = Outcome(futures[future], error=traceback.format_exc())
                outcomes.append(outcome)
                report(f"[{len(outcomes)}/{len(specs)}] {_describe(outcome)}")
    except BaseException:  # Ctrl-C, SIGTERM (handled alike by the CLI), or a bug here: no worker outlives the sweep
        stop_workers(pool)
        pool.shutdown(wait=True, cancel_futures=True)  # the workers are gone: this only joins the pool's own thread and queues
        raise
    pool.shutdown(wait=True)
    return outcomes


# --- Ray: one task per run ----------------------------------------------------------------------


def _ray_task(spec: RunSpec, options: RunOptions) -> Outcome:
    """Body of a Ray task: same as a pool worker, on whichever node Ray chose."""
    from benchmark.sweep.plugins import load_plugins

    _configure_logging(options.log_level)
    load_plugins(options.include)
    return run_one(spec, options)


def gpus_per_run(device: str, cluster_gpus: float) -> float:
    """Ask Ray for a GPU when the run will use one: device cuda*, or auto on a cluster that has GPUs."""
    if device.startswith("cuda"):
        return 1.0
    if device == "auto" and cluster_gpus > 0:
        return 1.0
    return 0.0


def check_ray_address(address: str | None, timeout: float = RAY_CONNECT_TIMEOUT_S) -> None:
    """Refuse, within `timeout`, a RAY_ADDRESS nothing listens at (ray.init itself would retry for minutes)."""
    if not address or address in ("auto", "local"):
        return
    parsed = urlparse(address if "://" in address else f"ray://{address}")
    host, port = parsed.hostname, parsed.port
    if not host or not port:
        raise BackendError(f"RAY_ADDRESS={address!r} is not host:port (or ray://host:port, or auto)")
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as error:
        reason = "timed out" if isinstance(error, TimeoutError) else (error.strerror or str(error))
        raise BackendError(f"cannot reach the Ray cluster at RAY_ADDRESS={address} within {timeout:g} s ({reason}): start it, or unset RAY_ADDRESS for a local Ray") from None


def run_ray(specs: Sequence[RunSpec], options: RunOptions, *, jobs: int = 1, report: Callable[[str], None] = logger.info) -> list[Outcome]:
    """Submit each run as a Ray task; `ray.init` honours RAY_ADDRESS (a cluster) or starts a local instance.

    A task lost with its worker process or node (killed, out of memory, the machine gone) is resubmitted,
    up to RAY_TASK_RETRIES times, and resumes the run from its last checkpoint on whichever node takes it;
    a run that raises is not retried (`run_one` turns that into its outcome). Interrupted (Ctrl-C, SIGTERM),
    the sweep cancels its tasks (cancelled tasks are not retried). If the driver is killed outright, Ray
    ends the tasks of the dead driver's job itself.
    """
    try:
        import ray
    except ImportError:
        raise BackendError("--backend ray needs ray, which is not installed: pip install 'two-clocks[ray]'") from None
    if not ray.is_initialized():
        address = os.environ.get("RAY_ADDRESS")
        check_ray_address(address)
        kwargs: dict[str, Any] = {"log_to_driver": not options.quiet}
        if not address:
            kwargs["include_dashboard"] = False
        try:
            ray.init(address=address, **kwargs)
        except (ConnectionError, RuntimeError, TimeoutError, ValueError) as error:
            raise BackendError(f"Ray did not start (RAY_ADDRESS={address or 'unset'}): {' '.join(str(error).split())[:300]}") from None
    num_gpus = gpus_per_run(options.device, float(ray.cluster_resources().get("GPU", 0)))
    task = ray.remote(max_retries=RAY_TASK_RETRIES, retry_exceptions=False)(_ray_task)
    refs = {task.options(num_cpus=spec.protocol.threads, num_gpus=num_gpus).remote(spec, options): spec for spec in specs}  # CPUs: the run's threads
    report(f"submitted {len(refs)} Ray tasks ({num_gpus:g} GPU each)")
    outcomes: list[Outcome] = []
    remaining = list(refs)
    try:
        while remaining:
            done, remaining = ray.wait(remaining, num_returns=1)
            try:
                outcome = ray.get(done[0])
            except Exception as error:  # noqa: BLE001 - a task that died fails its run only
                outcome = Outcome(refs[done[0]], error=f"{type(error).__name__}: {error}")
            outcomes.append(outcome)
            report(f"[{len(outcomes)}/{len(specs)}] {_describe(outcome)}")
    except BaseException:  # interrupted: no task outlives the sweep
        for ref in remaining:
            try:
                ray.cancel(ref, force=True)
            except Exception:  # noqa: BLE001 - a task that already finished cannot be cancelled
                pass
        raise
    return outcomes


__all__ = [
    "BACKENDS",
    "EXIT_INTERRUPTED",
    "RAY_CONNECT_TIMEOUT_S",
    "RAY_TASK_RETRIES",
    "WORKER_STOP_TIMEOUT_S",
    "BackendError",
    "Outcome",
    "RunOptions",
    "SweepResult",
    "available_cores",
    "check_ray_address",
    "execute",
    "finished_outcome",
    "gpus_per_run",
    "run_local",
    "run_one",
    "run_ray",
    "stop_workers",
    "warn_oversubscription",
]
