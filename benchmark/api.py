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
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from benchmark.core.records import Record
    from benchmark.run.callbacks import Callback
    from benchmark.sweep.backends import SweepResult
    from benchmark.sweep.files import Overrides, Sweep
    from benchmark.sweep.plan import Plan

__all__ = ["SweepFailed", "execute", "plan_sweep", "render_leaderboard", "run_sweep"]


class SweepFailed(RuntimeError):
    """Some runs of a sweep raised; `records` holds the finished ones, `failures` the others with tracebacks."""

    def __init__(self, result: SweepResult) -> None:
        self.result = result
        self.records = result.records
        self.failures = result.failures
        first = result.failures[0]
        from benchmark.core.display import count_text

        super().__init__(f"{len(result.failures)} of {count_text(len(result.outcomes), 'run')} failed; first: {first.spec.run_id}:\n{first.error}")


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
    skip a run another process is training instead of waiting for it. The checks are `benchmark.sweep.plan`'s.
    """
    from benchmark.report import trackers
    from benchmark.sweep.plan import TrackerHooks, make_plan

    return make_plan(
        config,
        overrides,
        smoke=smoke,
        quiet=quiet,
        keep_checkpoints=keep_checkpoints,
        report_to=report_to,
        trackers=TrackerHooks(check=trackers.check, build=trackers.build_all),
        log_level=log_level,
        create_output=create_output,
        restart=restart,
        skip_running=skip_running,
    )


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


_FROM_PLAN = ("Plan", "check_output", "check_device", "DEVICE_TYPES")  # lived here before 1.0; the plan stage owns them now


def __getattr__(name: str) -> Any:
    """`benchmark.api.Plan`, `check_output`, `check_device`, `DEVICE_TYPES`: the planning stage's (`benchmark.sweep.plan`)."""
    if name in _FROM_PLAN:
        from benchmark.sweep import plan

        return getattr(plan, name)
    raise AttributeError(f"module 'benchmark.api' has no attribute {name!r}")
