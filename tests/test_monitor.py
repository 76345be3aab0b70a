"""ClockMonitor: the protocol's clocks read inside a caller's loop; replayed committed runs give their record's clocks exactly."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tasks
from benchmark import ClockMonitor
from benchmark.core.config import ConfigError
from benchmark.core.records import load_records, read_record
from benchmark.run.datasets import draw_sets
from benchmark.run.protocol import build_task
from benchmark.run.rundir import load_metrics
from benchmark.run.schedule import eval_steps
from benchmark.run.spec import ProtocolConfig, RunSpec

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = sorted(path.parent for path in (ROOT / "leaderboard" / "runs").glob("*/record.json"))
SMALL = ProtocolConfig(max_steps=50, eval_points=8, eval_samples=256, eval_samples_min=64, min_noncopy=16, min_noncopy_fraction=0.0)


def _committed_with_training_set() -> list[Path]:
    return [d for d in COMMITTED if read_record(d).n_train != "stream"]


@pytest.mark.parametrize("directory", _committed_with_training_set(), ids=lambda d: d.name)
def test_replaying_a_committed_curve_gives_its_record_clocks_exactly(directory: Path) -> None:
    record = read_record(directory)
    spec = RunSpec.from_dict(record.spec)
    task = build_task(spec)
    train, _, _ = draw_sets(task, spec.n_train, spec.seed)
    monitor = ClockMonitor(task, train, lambda n: None, batch_size=record.batch_size, protocol=spec.protocol)
    for row in load_metrics(directory):
        monitor.add_row(row)
    replayed = monitor.record(record.steps_trained)
    assert dict(replayed.clocks) == dict(record.clocks)
    assert replayed.window == record.window
    assert monitor.state.stop_reason == record.stop_reason


def _parity() -> tuple[object, np.ndarray]:
    task = tasks.get("parity", G=2, height=4, width=4)
    train, _, _ = draw_sets(task, 32, seed=0)
    return task, train


def test_step_is_due_exactly_at_the_protocol_schedule_when_called_every_step() -> None:
    task, train = _parity()
    monitor = ClockMonitor(task, train, lambda n: train[np.arange(n) % len(train)], batch_size=8, protocol=SMALL)
    due = []
    for step in range(SMALL.max_steps + 1):
        if monitor.step(step):
            due.append(step)
            monitor.evaluate(step)
    assert due == eval_steps(SMALL.max_steps, SMALL.eval_points, SMALL.eval_schedule).tolist()
    assert not monitor.step(SMALL.max_steps + 10)  # the budget is spent: no eval after max_steps


def test_a_perfect_rule_learner_fires_tau_rule_at_the_first_evals_and_never_tau_mem() -> None:
    task, train = _parity()
    rng = np.random.default_rng(1)
    monitor = ClockMonitor(task, train, lambda n: task.sample(n, rng), batch_size=8, protocol=SMALL)
    for step in (0, 1, 2, 5):
        state = monitor.evaluate(step)
    assert state.q_rule == pytest.approx(1.0)
    assert state.tau_rule is not None and state.tau_rule.fired and state.tau_rule.step == 0.0  # held from the first eval on
    assert state.tau_mem is not None and state.tau_mem.censored and state.tau_mem.step == 5.0
    assert state.window is not None and state.window.status == "open"
    assert not state.should_stop


def test_a_copier_fires_tau_mem_and_the_protocol_stop_rule_ends_it() -> None:
    task, train = _parity()
    monitor = ClockMonitor(task, train, lambda n: train[np.arange(n) % len(train)], batch_size=8, protocol=SMALL)
    state = monitor.evaluate(0)
    assert state.copy_rate == 1.0 and state.q_rule is None  # every sample a copy: the rule is unreadable
    state = monitor.evaluate(1)
    assert state.tau_mem is not None and state.tau_mem.fired and state.tau_mem.step == 0.0
    assert state.stop_reason == "unreadable" and state.should_stop


def test_update_measures_the_callers_own_samples() -> None:
    task, train = _parity()
    monitor = ClockMonitor(task, train, lambda n: None, batch_size=8, protocol=SMALL)
    samples = np.concatenate([train[:10], task.sample(30, np.random.default_rng(2))])
    state = monitor.update(3, samples)
    fresh = ~np.isin(task.key(samples), task.key(train))
    assert monitor.rows[-1]["samples"] == 40
    assert state.copy_rate == pytest.approx(1 - fresh.mean())


def test_an_exception_inside_an_eval_is_logged_once_and_training_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    task, train = _parity()

    def broken(n: int) -> np.ndarray:
        raise RuntimeError("sampler broke")

    monitor = ClockMonitor(task, train, broken, batch_size=8, protocol=SMALL)
    with caplog.at_level(logging.WARNING, logger="benchmark.run.monitor"):
        for step in range(6):
            if monitor.step(step):
                monitor.evaluate(step)
    scheduled = [s for s in eval_steps(SMALL.max_steps, SMALL.eval_points).tolist() if s < 6]
    assert list(monitor.state.failed_evals) == scheduled  # each scheduled eval tried once, marked failed
    assert monitor.state.evals == 0
    assert sum("sampler broke" in message for message in caplog.messages) == 1
    with pytest.raises(RuntimeError, match="sampler broke"):
        ClockMonitor(task, train, broken, batch_size=8, protocol=SMALL, strict=True).evaluate(0)


def test_a_verifier_failing_marks_the_eval_failed_and_wrong_shapes_too() -> None:
    task, train = _parity()

    class Failing(type(task)):  # type: ignore[misc]
        def is_valid(self, x: np.ndarray) -> np.ndarray:
            raise ValueError("verifier broke")

    failing = Failing(task.config)
    monitor = ClockMonitor(failing, train, lambda n: train[:n], batch_size=8, protocol=SMALL, control_samples=train[:0])
    assert monitor.evaluate(0).failed_evals == (0,)
    wrong = ClockMonitor(task, train, lambda n: np.zeros((n, 3), dtype=np.int64), batch_size=8, protocol=SMALL)
    assert wrong.evaluate(0).failed_evals == (0,)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"train_samples": np.zeros((0, 4, 4), dtype=np.uint8)}, "train_samples must hold at least one sample"),
        ({"train_samples": np.zeros((5, 3, 3), dtype=np.uint8)}, r"train_samples must have shape \(N, 4, 4\)"),
        ({"train_samples": np.full((5, 4, 4), 7)}, r"train_samples must be integer symbols in \[0, 2\)"),
        ({"protocol": {"theta_rule": 1.5}}, "theta_rule"),
        ({"protocol": {"theta_mem": 0.0}}, "theta_mem"),
        ({"batch_size": 0}, "batch_size must be a positive integer"),
        ({"sample_fn": "not callable"}, "sample_fn must be a callable"),
        ({"task": object()}, "task contract"),
    ],
)
def test_bad_configuration_is_one_clear_error_at_construction(change: dict, message: str) -> None:
    task, train = _parity()
    arguments = {"task": task, "train_samples": train, "sample_fn": lambda n: train[:n], "batch_size": 8, "protocol": SMALL, **change}
    with pytest.raises(ConfigError, match=message):
        ClockMonitor(arguments.pop("task"), arguments.pop("train_samples"), arguments.pop("sample_fn"), **arguments)


def test_the_run_folder_reads_like_a_suite_run_and_renders_in_the_leaderboard(tmp_path: Path) -> None:
    task, train = _parity()
    rng = np.random.default_rng(3)
    monitor = ClockMonitor(
        "parity", train, lambda n: task.sample(n, rng), task_config={"G": 2, "height": 4, "width": 4}, batch_size=8, protocol=SMALL, output=tmp_path, model={"name": "mymodel", "num_parameters": 123}
    )
    for step in range(SMALL.max_steps + 1):
        if monitor.step(step):
            monitor.evaluate(step, loss=0.5)
    record = monitor.finish(SMALL.max_steps)
    assert record is not None
    directory = tmp_path / record.run_id
    data = json.loads((directory / "record.json").read_text())
    assert data["origin"] == "monitor" and data["model"] == {"name": "mymodel", "num_parameters": 123}
    assert RunSpec.from_dict(json.loads((directory / "spec.json").read_text())).run_id == record.run_id
    assert [row["step"] for row in load_metrics(directory)] == [row["step"] for row in monitor.rows]
    (loaded,) = load_records([tmp_path])
    assert loaded.clocks == record.clocks and loaded.adapter_name == "mymodel"
    board = subprocess.run([sys.executable, "-m", "benchmark", "leaderboard", str(tmp_path)], capture_output=True, text=True, cwd=ROOT, check=True)
    assert "mymodel" in board.stdout
    with pytest.raises(Exception, match="already holds a finished record"):
        ClockMonitor(task, train, lambda n: None, batch_size=8, protocol=SMALL, output=tmp_path, model={"name": "mymodel", "num_parameters": 123})


def test_clock_monitor_is_exported_lazily_and_import_benchmark_stays_free_of_torch() -> None:
    code = "import sys, benchmark; assert 'torch' not in sys.modules; from benchmark import ClockMonitor; print(ClockMonitor.__module__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "benchmark.run.monitor"


def test_a_task_without_a_sampler_gets_no_control_set_and_copies_are_not_corrected() -> None:
    task, train = _parity()

    class VerifierOnly:  # the task contract without an exact sampler
        shape, num_symbols = task.shape, task.num_symbols
        is_valid, constraint_satisfaction, key, chance_valid, describe = task.is_valid, task.constraint_satisfaction, task.key, task.chance_valid, task.describe

    monitor = ClockMonitor(VerifierOnly(), train, lambda n: train[np.arange(n) % len(train)], batch_size=8, protocol=SMALL)
    state = monitor.evaluate(0)
    assert len(monitor.control) == 0 and monitor.rows[-1]["control"] == 0.0
    assert state.mem_excess == state.copy_rate == 1.0


def test_evaluating_the_same_step_twice_is_skipped_not_raised_unless_strict() -> None:
    task, train = _parity()
    monitor = ClockMonitor(task, train, lambda n: train[np.arange(n) % len(train)], batch_size=8, protocol=SMALL)
    monitor.evaluate(4)
    assert monitor.evaluate(4).evals == 1 and monitor.evaluate(3).evals == 1
    strict = ClockMonitor(task, train, lambda n: train[np.arange(n) % len(train)], batch_size=8, protocol=SMALL, strict=True)
    strict.evaluate(4)
    with pytest.raises(ValueError, match="eval steps must increase"):
        strict.evaluate(4)


def test_a_model_passed_to_evaluate_samples_in_eval_mode_and_is_restored() -> None:
    import torch

    task, train = _parity()
    model = torch.nn.Linear(1, 1).train()
    modes: list[bool] = []

    def sample(n: int) -> np.ndarray:
        modes.append(model.training)
        return train[np.arange(n) % len(train)]

    ClockMonitor(task, train, sample, batch_size=8, protocol=SMALL).evaluate(4, model=model)
    assert modes and not any(modes) and model.training
