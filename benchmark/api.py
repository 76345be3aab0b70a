"""The Python entry point: run a sweep from arguments or a YAML file and get its records back.

    import benchmark
    records = benchmark.run_sweep(tasks=["parity:G=2"], adapters=["gpt:depth=2,width=32"], n=[16], seeds=[0, 1])
    print(benchmark.render_leaderboard(records))

`run_sweep` takes the same things as `python -m benchmark run` (the CLI's `run` is `plan_sweep` +
`execute` below), validates the whole sweep before anything trains, skips finished runs and resumes
unfinished ones, and returns one `benchmark.core.records.Record` per run in sweep order.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from benchmark.core.records import Record
    from benchmark.run.callbacks import Callback
    from benchmark.run.spec import RunSpec
    from benchmark.sweep.backends import RunOptions, SweepResult
    from benchmark.sweep.files import Overrides, Sweep


class SweepFailed(RuntimeError):
    """Some runs of a sweep raised; `records` holds the finished ones, `failures` the others with tracebacks."""

    def __init__(self, result: SweepResult) -> None:
        self.result = result
        self.records = result.records
        self.failures = result.failures
        first = result.failures[0]
        from benchmark.core.display import count_text

        super().__init__(f"{len(result.failures)} of {count_text(len(result.outcomes), 'run')} failed; first: {first.spec.run_id}:\n{first.error}")


@dataclass(frozen=True)
class Plan:
    """A validated sweep, ready to run: its specs and how to run them."""

    specs: list[RunSpec]
    options: RunOptions
    backend: str
    jobs: int
    smoke: bool


def plan_sweep(
    config: str | os.PathLike[str] | Mapping[str, Any] | Sweep | None,
    overrides: Overrides,
    *,
    smoke: bool = False,
    quiet: bool = True,
    keep_checkpoints: bool = False,
    report_to: Iterable[str] = (),
    log_level: int | None = None,
    create_output: bool = True,
    restart: Sequence[str] = (),
    skip_running: bool = False,
) -> Plan:
    """Read the sweep (None: the packaged default job; with tasks/adapters in `overrides` and no config, those alone),
    apply the overrides, load plugins, resolve and validate every spec and tracker. Nothing trains.

    `restart`: run ids to start over from step 0 (the way out of a damaged run folder); `skip_running`:
    skip a run another process is training instead of waiting for it.
    """
    from benchmark.report import trackers
    from benchmark.sweep import files as sweep
    from benchmark.sweep.backends import RunOptions, check_ray_address
    from benchmark.sweep.plugins import load_plugins

    base = _load_base(config, overrides)
    plan = sweep.apply_overrides(base, overrides)
    load_plugins(plan.include)
    smoke = sweep.smoke_enabled(smoke)
    output = check_output(Path(plan.output))
    check_device(plan.device, plan.backend)
    report_to = trackers.check(report_to)
    specs = sweep.expand(plan, smoke=smoke)
    unknown = sorted(set(restart) - {spec.run_id for spec in specs})
    if unknown:
        raise sweep.SweepError(f"--restart-run {' '.join(unknown)}: not a run of this sweep (--dry-run lists its run ids)")
    if plan.backend == "ray" and create_output:
        check_ray_address(os.environ.get("RAY_ADDRESS"))
    if create_output:
        try:
            output.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise sweep.SweepError(f"cannot write {error.filename or output}: {error.strerror or error}") from None
    options = RunOptions(
        output=str(output.resolve()),
        device=plan.device,
        quiet=quiet,
        keep_checkpoints=keep_checkpoints,
        include=tuple(_absolute(item) for item in plan.include),
        report_to=report_to,
        build_trackers=trackers.build_all,
        log_level=log_level,
        restart=tuple(restart),
        skip_running=skip_running,
    )
    return Plan(specs=specs, options=options, backend=plan.backend, jobs=plan.jobs, smoke=smoke)


def execute(plan: Plan, callbacks: Sequence[Callback] = ()) -> SweepResult:
    """Run a plan on its backend; every run's outcome (record or traceback), in sweep order."""
    from benchmark.sweep.backends import execute as run_on_backend

    return run_on_backend(plan.specs, plan.options, backend=plan.backend, jobs=plan.jobs, callbacks=callbacks)


def run_sweep(
    config: str | os.PathLike[str] | Mapping[str, Any] | None = None,
    *,
    tasks: Sequence[str] = (),
    adapters: Sequence[str] = (),
    task_args: Sequence[str] = (),
    adapter_args: Sequence[str] = (),
    n: Sequence[int] = (),
    seeds: Sequence[int] = (),
    protocol: Mapping[str, Any] | None = None,
    output: str | os.PathLike[str] | None = None,
    device: str | None = None,
    jobs: int | None = None,
    backend: str | None = None,
    include: Sequence[str] = (),
    smoke: bool = False,
    keep_checkpoints: bool = False,
    report_to: Sequence[str] = (),
    callbacks: Sequence[Callback] = (),
    progress: bool = False,
    raise_on_failure: bool = True,
) -> list[Record]:
    """Run a sweep and return its records (typed `Record`), one per run, in sweep order.

    `config`: a YAML path, a mapping in the YAML's shape, or None (the packaged default job, or with
    `tasks`/`adapters` a sweep of those alone). The other arguments are the CLI's flags: components as
    `"name:knob=value,..."`, `protocol` any protocol knobs. `report_to` names trackers (built in each
    worker); `callbacks` are live `Callback` objects (local backend, one job). A failed run raises
    `SweepFailed` (its `.records` are the runs that finished) unless `raise_on_failure=False`.
    """
    from benchmark.sweep.files import Overrides

    overrides = Overrides(
        tasks=tuple(tasks),
        adapters=tuple(adapters),
        task_args=tuple(task_args),
        adapter_args=tuple(adapter_args),
        n=tuple(n),
        seeds=tuple(seeds),
        protocol=dict(protocol or {}),
        output=None if output is None else str(output),
        device=device,
        jobs=jobs,
        backend=backend,
        include=tuple(include),
    )
    plan = plan_sweep(config, overrides, smoke=smoke, quiet=not progress, keep_checkpoints=keep_checkpoints, report_to=report_to)
    result = execute(plan, callbacks=callbacks)
    if result.failures and raise_on_failure:
        raise SweepFailed(result)
    return result.records


def render_leaderboard(records: Iterable[Record] | str | os.PathLike[str], *, wide: bool = False) -> str:
    """The leaderboard of `records` (or of the records under a runs folder): the compact table, or with `wide` the full markdown."""
    from benchmark.core.records import load_records
    from benchmark.report import leaderboard, terminal

    if isinstance(records, (str, os.PathLike)):
        records = load_records([records])
    board = leaderboard.build(records)
    return leaderboard.to_markdown(board) if wide else terminal.compact_table(board)


# --- checks shared with the CLI ------------------------------------------------------------------------


def _load_base(config: Any, overrides: Overrides) -> Sweep:
    from benchmark.sweep import files as sweep

    if isinstance(config, sweep.Sweep):
        return config
    if isinstance(config, Mapping):
        import yaml

        return sweep.parse_sweep_text(yaml.safe_dump(dict(config)), "<mapping>", base=Path.cwd())
    if config is None and (overrides.tasks or overrides.adapters):
        return sweep.Sweep(blocks=(sweep.Block(),))  # a sweep given by arguments alone starts empty
    return sweep.load_sweep(config)  # None: the packaged default job


def check_output(output: Path) -> Path:
    """The runs folder must be a folder (or creatable as one): checked before anything trains."""
    from benchmark.sweep.files import SweepError

    if "\x00" in str(output) or not str(output):
        raise SweepError(f"output path {str(output)!r} is not a valid path")
    if output.exists() and not output.is_dir():
        raise SweepError(f"output path {output} is a file, expected a folder for runs")
    for parent in output.parents:
        if parent.exists() and not parent.is_dir():
            raise SweepError(f"output path {output} is inside {parent}, which is a file")
    return output


DEVICE_TYPES = ("cpu", "cuda", "mps")  # devices a run can train on (torch.device also parses meta, xla, ...)


def check_device(device: str, backend: str) -> None:
    """A local run must be able to use the device now; for Ray only the spelling is checked (the nodes decide)."""
    import torch

    from benchmark.core.adapter import resolve_device
    from benchmark.sweep.files import SweepError

    allowed = f"device must be auto, cpu, cuda or cuda:N (or mps), got {device!r}"
    if device == "auto":
        return
    try:
        parsed = torch.device(device)
    except (RuntimeError, ValueError, TypeError):
        raise SweepError(allowed) from None
    if parsed.type not in DEVICE_TYPES:
        raise SweepError(allowed)
    if backend == "ray":
        return
    try:
        resolve_device(device)
    except (ValueError, RuntimeError) as error:
        raise SweepError(str(error) if "device" in str(error) else allowed) from None
    if parsed.type == "cuda" and parsed.index is not None and parsed.index >= torch.cuda.device_count():
        raise SweepError(f"device {device!r} was requested but this machine has {torch.cuda.device_count()} CUDA device(s)")
    if parsed.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise SweepError(f"device {device!r} was requested but MPS is not available (use device=auto or cpu)")


def _absolute(include: str) -> str:
    """Plugin files are given to workers as absolute paths (their working folder may differ)."""
    path = Path(include)
    return str(path.resolve()) if include.endswith(".py") or path.is_file() else include
