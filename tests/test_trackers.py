"""Trackers (`--report-to`): files that TensorBoard, W&B and MLflow read, built in every worker, never losing a run."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from benchmark import cli
from benchmark.core.records import read_record
from benchmark.report import trackers
from benchmark.sweep.backends import RunOptions, execute

ROOT = Path(__file__).resolve().parent.parent
SWEEP = ["--tasks", "parity:G=2", "--adapters", "memorizer", "oracle", "--n", "16", "--max-steps", "20", "--eval-samples", "64", "--protocol-args", "eval_points=4"]
PLUGIN = '''
from benchmark.run.callbacks import Callback
from benchmark.report.trackers import register_callback

@register_callback("exploding")
class Exploding(Callback):
    """Raises in every hook: a tracker that fails must not lose the run."""
    def on_run_start(self, spec, directory, step):
        raise RuntimeError("tracker down")
    def on_eval(self, spec, row, clocks):
        raise RuntimeError("tracker down")
    def on_run_end(self, spec, record):
        raise RuntimeError("tracker down")

class Needy(Callback):
    def __init__(self, token):
        self.token = token
'''


def _science(record: Any) -> Any:
    """A record without its timings and machine: what a tracker must not change."""
    if hasattr(record, "to_dict"):
        return _science(record.to_dict())
    if isinstance(record, dict):
        return {key: _science(value) for key, value in record.items() if key not in ("wall_time_s", "eval_time_s", "created", "environment")}
    return record


def test_tensorboard_jsonl_and_csv_are_written_from_worker_processes(tmp_path: Path) -> None:
    """-j 2: the trackers are built by name inside each spawned worker; TensorBoard's own reader reads the event files."""
    runs = tmp_path / "runs"
    argv = ["run", *SWEEP, "-j", "2", "--quiet", "--output", str(runs), "--report-to", "tensorboard", "jsonl", "csv"]
    assert cli.main(argv) == 0
    run_dirs = sorted(path.parent for path in runs.glob("*/record.json"))
    assert len(run_dirs) == 2

    lines = [json.loads(line) for line in (runs / "evals.jsonl").read_text().splitlines()]
    for run_dir in run_dirs:
        record = read_record(run_dir)
        evals = [line for line in lines if line["run_id"] == record.run_id and line["event"] == "eval"]
        (end,) = [line for line in lines if line["run_id"] == record.run_id and line["event"] == "run_end"]
        assert [line["step"] for line in evals] == [row["step"] for row in _metrics(run_dir)]
        assert end["tau_mem"] == record.clocks["tau_mem"].step and end["window_status"] == record.window.status
    with open(runs / "evals.csv", newline="") as handle:
        table = list(csv.DictReader(handle))
    assert len(table) == sum(line["event"] == "eval" for line in lines)
    assert {"run_id", "step", "valid", "mem", "tau_rule", "tau_mem_censored"} <= set(table[0])

    pytest.importorskip("tensorboard", reason="reading event files back needs tensorboard (in the dev extra)")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    for run_dir in run_dirs:
        accumulator = EventAccumulator(str(run_dir / "tensorboard"))
        accumulator.Reload()
        rows = _metrics(run_dir)
        valid = accumulator.Scalars("eval/valid")
        assert [event.step for event in valid] == [row["step"] for row in rows]
        assert [event.value for event in valid] == pytest.approx([row["valid"] for row in rows])
    memorizer = next(d for d in run_dirs if d.name.startswith("memorizer"))
    accumulator = EventAccumulator(str(memorizer / "tensorboard"))
    accumulator.Reload()
    assert "clocks/tau_mem" in accumulator.Tags()["scalars"]  # the memorizer's τ_mem fired, so it is plotted


def test_tensorboard_event_files_of_a_resumed_run_read_back_in_order(tmp_path: Path) -> None:
    """Two sessions of one run (a resume) write two event files; TensorBoard's reader sees every step once, in order."""
    pytest.importorskip("tensorboard", reason="reading event files back needs tensorboard (in the dev extra)")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from benchmark.run.spec import resolve_spec

    spec = resolve_spec("parity", {"G": 2}, "memorizer", {}, 16, 0)
    first, second = [{"step": 0, "valid": 0.25, "mem": None}, {"step": 5, "valid": 0.5, "mem": 0.125}], [{"step": 10, "valid": 0.75, "mem": 1.0}]
    for session in (first, second):
        tracker = trackers.TensorBoardTracker()
        tracker.on_run_start(spec, tmp_path, session[0]["step"])
        for row in session:
            tracker.on_eval(spec, row, {})
        tracker.on_run_end(spec, None)  # type: ignore[arg-type] - the tracker only closes its writer
    assert len(list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))) == 2
    accumulator = EventAccumulator(str(tmp_path / "tensorboard"))
    accumulator.Reload()
    valid = accumulator.Scalars("eval/valid")
    assert [(event.step, event.value) for event in valid] == [(0, 0.25), (5, 0.5), (10, 0.75)]
    assert [event.step for event in accumulator.Scalars("eval/mem")] == [5, 10]  # None (no training set yet) is not plotted


def test_wandb_offline_run_is_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("wandb", reason="the wandb tracker is an extra: pip install 'two-clocks[wandb]' (in the dev extra)")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "wandb_home"))
    runs = tmp_path / "runs"
    argv = ["run", *SWEEP[:3], "memorizer", *SWEEP[5:], "--quiet", "--output", str(runs), "--report-to", "wandb:project=two-clocks-test,mode=offline"]
    assert cli.main(argv) == 0
    (run_dir,) = [path.parent for path in runs.glob("*/record.json")]
    offline = list((run_dir / "wandb").glob("offline-run-*"))
    assert len(offline) == 1, list(run_dir.rglob("*"))[:20]
    (log,) = offline[0].glob("run-*.wandb")
    assert log.stat().st_size > 0
    assert read_record(run_dir).run_id in offline[0].name or read_record(run_dir).run_id[:40] in log.name


def test_mlflow_run_is_written_to_a_local_store(tmp_path: Path) -> None:
    pytest.importorskip("mlflow", reason="the mlflow tracker is an extra: pip install 'two-clocks[mlflow]' (in the dev extra)")
    from mlflow.tracking import MlflowClient

    runs = tmp_path / "runs"
    argv = ["run", *SWEEP[:3], "memorizer", *SWEEP[5:], "--quiet", "--output", str(runs), "--report-to", "mlflow"]
    assert cli.main(argv) == 0
    (run_dir,) = [path.parent for path in runs.glob("*/record.json")]
    client = MlflowClient(tracking_uri=(runs / "mlruns").resolve().as_uri())
    (run,) = client.search_runs([client.get_experiment_by_name("two-clocks").experiment_id])
    assert run.info.status == "FINISHED" and run.data.tags["two_clocks.window_status"] == read_record(run_dir).window.status
    history = client.get_metric_history(run.info.run_id, "eval.valid")
    assert [metric.step for metric in history] == [row["step"] for row in _metrics(run_dir)]


def test_a_failing_tracker_never_loses_the_run_or_changes_its_record(tmp_path: Path, capsys: pytest.CaptureFixture[str], isolated_callbacks: None) -> None:
    plugin = tmp_path / "exploding.py"
    plugin.write_text(PLUGIN)
    common = ["run", *SWEEP, "--output"]
    assert cli.main([*common, str(tmp_path / "plain"), "--quiet"]) == 0
    assert cli.main([*common, str(tmp_path / "tracked"), "--include", str(plugin), "--report-to", "exploding", "jsonl"]) == 0
    err = capsys.readouterr().err
    assert "callback Exploding failed in on_run_start" in err and "disabled for the rest of this run" in err
    plain = {r.run_id: _science(r) for r in map(read_record, (tmp_path / "plain").glob("*/record.json"))}
    tracked = {r.run_id: _science(r) for r in map(read_record, (tmp_path / "tracked").glob("*/record.json"))}
    assert tracked == plain and len(plain) == 2
    assert len((tmp_path / "tracked" / "evals.jsonl").read_text().splitlines()) > 2  # the other tracker kept working


def test_report_to_mistakes_fail_before_training(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    runs = tmp_path / "runs"
    assert cli.main(["run", *SWEEP, "--output", str(runs), "--report-to", "tensorbord"]) == cli.EXIT_USER_ERROR
    assert "did you mean 'tensorboard'?" in capsys.readouterr().err
    assert cli.main(["run", *SWEEP, "--output", str(runs), "--report-to", "jsonl:colour=red"]) == cli.EXIT_USER_ERROR
    assert "colour" in capsys.readouterr().err
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *args, **kwargs: None if name == "wandb" else real_find_spec(name, *args, **kwargs))
    assert cli.main(["run", *SWEEP, "--output", str(runs), "--report-to", "wandb"]) == cli.EXIT_USER_ERROR
    assert "pip install 'two-clocks[wandb]'" in capsys.readouterr().err
    assert not runs.exists() or not any(runs.glob("*/record.json"))


def test_trackers_are_parsed_from_names_and_knobs() -> None:
    assert trackers.parse("wandb:project=x,mode=offline") == ("wandb", {"project": "x", "mode": "offline"})
    assert trackers.parse("my_pkg.hooks:Logger") == ("my_pkg.hooks:Logger", {})
    assert trackers.parse("my_pkg.hooks:Logger:level=3") == ("my_pkg.hooks:Logger", {"level": "3"})
    assert {"csv", "jsonl", "mlflow", "tensorboard", "wandb"} <= set(trackers.names())


@pytest.mark.slow  # a local Ray instance takes ~15 s to start on 2 cores; the spawned-worker test above covers the same path (run_one)
def test_trackers_reach_ray_tasks(tmp_path: Path) -> None:
    ray = pytest.importorskip("ray")
    from benchmark.sweep import files as sweep

    plan = sweep.apply_overrides(
        sweep.Sweep(blocks=(sweep.Block(),)), sweep.Overrides(tasks=("parity",), adapters=("memorizer",), n=(16,), seeds=(0, 1), protocol={"max_steps": 20, "eval_points": 4, "eval_samples": 64})
    )
    specs = sweep.expand(plan)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        result = execute(specs, RunOptions(output=str(tmp_path), device="cpu", quiet=True, report_to=("jsonl", "tensorboard"), build_trackers=trackers.build_all), backend="ray")
    finally:
        ray.shutdown()
    assert not result.failures
    ends = [json.loads(line) for line in (tmp_path / "evals.jsonl").read_text().splitlines() if '"run_end"' in line]
    assert sorted(line["run_id"] for line in ends) == sorted(spec.run_id for spec in specs)
    assert all(list((tmp_path / spec.run_id / "tensorboard").glob("events.out.tfevents.*")) for spec in specs)


def test_an_unbuildable_tracker_in_a_worker_is_logged_and_the_run_goes_on(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from benchmark.sweep import files as sweep

    plan = sweep.apply_overrides(
        sweep.Sweep(blocks=(sweep.Block(),)), sweep.Overrides(tasks=("parity",), adapters=("memorizer",), n=(16,), protocol={"max_steps": 10, "eval_points": 2, "eval_samples": 32})
    )
    with caplog.at_level(logging.WARNING, logger="benchmark"):
        result = execute(sweep.expand(plan), RunOptions(output=str(tmp_path), device="cpu", quiet=True, report_to=("no_such_module:Tracker",), build_trackers=trackers.build_all))
    assert not result.failures and len(result.records) == 1
    assert any("tracker 'no_such_module:Tracker' not started" in r.getMessage() for r in caplog.records)


def test_library_callbacks_run_in_process_through_the_api(tmp_path: Path) -> None:
    import benchmark
    from benchmark.run.callbacks import Callback

    class Collect(Callback):
        def __init__(self) -> None:
            self.steps: list[int] = []
            self.ended: list[str] = []

        def on_eval(self, spec, row, clocks):
            self.steps.append(row["step"])

        def on_run_end(self, spec, record):
            self.ended.append(record.run_id)

    collect = Collect()
    records = benchmark.run_sweep(tasks=["parity"], adapters=["memorizer"], n=[16], protocol={"max_steps": 10, "eval_points": 2, "eval_samples": 32}, output=tmp_path, callbacks=[collect])
    assert collect.ended == [records[0].run_id] and collect.steps == [row["step"] for row in _metrics(tmp_path / records[0].run_id)]
    with pytest.raises(Exception, match="report_to"):
        benchmark.run_sweep(tasks=["parity"], adapters=["memorizer"], n=[16], seeds=[1, 2], jobs=2, output=tmp_path, callbacks=[collect])


def _metrics(run_dir: Path) -> list[dict[str, Any]]:
    from benchmark.run.rundir import load_metrics

    return load_metrics(run_dir)


@pytest.fixture
def isolated_callbacks():
    """Tracker names registered by a test's plugin are forgotten afterwards."""
    before = set(trackers.names())
    yield
    for name in set(trackers.names()) - before:
        trackers.CALLBACKS.unregister(name)
