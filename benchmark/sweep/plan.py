"""The planning stage: a sweep (file + flags) becomes one validated, frozen `Plan` before anything trains.

Every check of a sweep is made here, once, in this order: the file and flags, plugins, output folder,
device, trackers, then per run the spec (knobs), the task's config version, memory, N against the valid
set and the adapter's config and `check_data`; then `--restart-run` ids and the Ray address. The
backends and the protocol trust a plan: `benchmark.run.protocol.run` keeps only the checks whose answer
can differ on the machine that trains (see its docstring).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmark.run.spec import RunSpec
from benchmark.sweep import files
from benchmark.sweep.backends import BACKENDS, RunOptions, check_ray_address
from benchmark.sweep.files import Overrides, Sweep, SweepError
from benchmark.sweep.plugins import load_plugins

if TYPE_CHECKING:  # pragma: no cover
    from benchmark.core.adapter import AdapterConfig, DataSpec
    from benchmark.core.task import TaskConfig

DEVICE_TYPES = ("cpu", "cuda", "mps")  # devices a run can train on (torch.device also parses meta, xla, ...)

__all__ = ["BACKENDS", "DEVICE_TYPES", "Plan", "PlannedRun", "TrackerHooks", "check_device", "check_output", "load_base", "make_plan", "plan_run", "plan_runs"]


@dataclass(frozen=True)
class PlannedRun:
    """One run, checked: its spec, the resolved task and adapter configs, the data the adapter sees, and its sample memory."""

    spec: RunSpec
    task_config: TaskConfig
    adapter_config: AdapterConfig
    data: DataSpec
    sample_bytes: int  # training, control and eval samples: what `check_memory` weighed against this machine


@dataclass(frozen=True)
class TrackerHooks:
    """How the plan checks `--report-to` entries and how workers build them (the report floor's functions, passed down)."""

    check: Callable[[Iterable[str]], tuple[str, ...]]
    build: Callable[[tuple[str, ...]], list[Any]]


@dataclass(frozen=True)
class Plan:
    """A validated sweep, ready to run: every run checked, the output folder, trackers, backend and parallelism."""

    runs: tuple[PlannedRun, ...]
    options: RunOptions
    backend: str
    jobs: int
    smoke: bool

    @property
    def specs(self) -> tuple[RunSpec, ...]:
        """The runs' specs, in sweep order."""
        return tuple(run.spec for run in self.runs)

    @property
    def output(self) -> Path:
        """The runs folder (absolute)."""
        return Path(self.options.output)


def make_plan(
    config: str | os.PathLike[str] | Mapping[str, Any] | Sweep | None,
    overrides: Overrides,
    *,
    smoke: bool = False,
    quiet: bool = True,
    keep_checkpoints: bool = False,
    report_to: Iterable[str] = (),
    trackers: TrackerHooks | None = None,
    log_level: int | None = None,
    create_output: bool = True,
    restart: Sequence[str] = (),
    skip_running: bool = False,
) -> Plan:
    """Read the sweep, apply the flags, load plugins and check everything a sweep can get wrong; nothing trains.

    `trackers` checks and builds `report_to` entries (required when there are any); `create_output` False
    (a dry run) neither creates the runs folder nor contacts Ray.
    """
    sweep = files.apply_overrides(load_base(config, overrides), overrides)
    load_plugins(sweep.include)
    smoke = files.smoke_enabled(smoke)
    output = check_output(Path(sweep.output))
    check_device(sweep.device, sweep.backend)
    report_to = tuple(report_to)
    if report_to and trackers is None:
        raise SweepError("report_to names trackers but no tracker hooks were given to the plan (benchmark.api passes the report floor's)")
    if trackers is not None:
        report_to = trackers.check(report_to)
    runs = plan_runs(sweep, smoke=smoke)
    unknown = sorted(set(restart) - {run.spec.run_id for run in runs})
    if unknown:
        raise SweepError(f"--restart-run {' '.join(unknown)}: not a run of this sweep (--dry-run lists its run ids)")
    if sweep.backend == "ray" and create_output:
        check_ray_address(os.environ.get("RAY_ADDRESS"))
    if create_output:
        try:
            output.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise SweepError(f"cannot write {error.filename or output}: {error.strerror or error}") from None
    options = RunOptions(
        output=str(output.resolve()),
        device=sweep.device,
        quiet=quiet,
        keep_checkpoints=keep_checkpoints,
        include=tuple(_absolute(item) for item in sweep.include),
        report_to=report_to,
        build_trackers=None if trackers is None else trackers.build,
        log_level=log_level,
        restart=tuple(restart),
        skip_running=skip_running,
    )
    return Plan(runs=runs, options=options, backend=sweep.backend, jobs=sweep.jobs, smoke=smoke)


def plan_runs(sweep: Sweep, *, smoke: bool = False) -> tuple[PlannedRun, ...]:
    """Resolve and check every run of the sweep, in order, each distinct run once (duplicates dropped)."""
    runs: dict[str, PlannedRun] = {}
    for spec in files.iter_specs(sweep, smoke=smoke):
        if spec.run_id not in runs:
            runs[spec.run_id] = plan_run(spec)
    return tuple(runs.values())


def plan_run(spec: RunSpec) -> PlannedRun:
    """Every check of one run, no model built: task config version, memory, N ≤ the valid set, adapter config and data."""
    from benchmark.core.adapter import DataSpec
    from benchmark.run import protocol  # local: keeps `import benchmark.sweep.plan` light

    task = protocol.build_task(spec)
    protocol.check_data_fits(task, spec)
    adapter_config = protocol.check_adapter(spec, task)
    return PlannedRun(
        spec=spec,
        task_config=task.config,
        adapter_config=adapter_config,
        data=DataSpec(tuple(task.shape), task.num_symbols),
        sample_bytes=protocol.sample_bytes(task, spec),
    )


def load_base(config: str | os.PathLike[str] | Mapping[str, Any] | Sweep | None, overrides: Overrides) -> Sweep:
    """The sweep before flags: a `Sweep`, a mapping in the YAML's shape, a file, or None (the default job, or empty with tasks/adapters flags)."""
    if isinstance(config, Sweep):
        return config
    if isinstance(config, Mapping):
        import yaml

        return files.parse_sweep_text(yaml.safe_dump(dict(config)), "<mapping>", base=Path.cwd())
    if config is None and (overrides.tasks or overrides.adapters):
        return Sweep(blocks=(files.Block(),))  # a sweep given by arguments alone starts empty
    return files.load_sweep(config)  # None: the packaged default job


def check_output(output: Path) -> Path:
    """The runs folder must be a folder (or creatable as one): checked before anything trains."""
    if "\x00" in str(output) or not str(output):
        raise SweepError(f"output path {str(output)!r} is not a valid path")
    try:
        if output.exists() and not output.is_dir():
            raise SweepError(f"output path {output} is a file, expected a folder for runs")
        for parent in output.parents:
            if parent.exists() and not parent.is_dir():
                raise SweepError(f"output path {output} is inside {parent}, which is a file")
    except OSError as error:  # a name longer than the file system allows, a path too deep, a loop of links
        raise SweepError(f"output path {output} cannot be used: {error.strerror or error}") from None
    return output


def check_device(device: str, backend: str) -> None:
    """A local run must be able to use the device now; for Ray only the spelling is checked (the nodes decide)."""
    import torch

    from benchmark.core.adapter import resolve_device

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
