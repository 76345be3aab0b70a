"""Concurrency: one process per run (a lock per run directory), and workers that die with their sweep.

The runs use `sleepy` (tests/sleepy_plugin.py): the memorizer, slowed down, logging each build so that
"each run trained once" can be counted across processes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import benchmark.run.protocol as protocol
from benchmark.core.records import read_record
from benchmark.run.protocol import load_metrics, run, run_dir
from benchmark.run.rundir import CHECKPOINT_FILE, RunInProgress
from benchmark.run.schedule import eval_steps
from benchmark.run.spec import resolve_spec
from tests.sleepy_plugin import LOG_ENV, builds
from tests.test_cli import clock_rows

ROOT = Path(__file__).resolve().parent.parent
PLUGIN = str(ROOT / "tests" / "sleepy_plugin.py")
PROTOCOL = {"max_steps": 60, "eval_points": 5, "eval_samples": 32, "early_stop": False}


def sweep_command(output: Path, seeds: list[int], step_s: float = 0.02, jobs: int = 1, max_steps: int = 60) -> list[str]:
    return [
        sys.executable, "-m", "benchmark", "run", "--include", PLUGIN, "--tasks", "parity", "--adapters", f"sleepy:step_s={step_s}",
        "--n", "8", "--seeds", *map(str, seeds), "--max-steps", str(max_steps), "--protocol-args", "eval_points=5,early_stop=false,eval_samples=32",
        "--output", str(output), "--quiet", "-j", str(jobs),
    ]  # fmt: skip


def alive(pid: int) -> bool:
    """True while `pid` runs (a zombie, dead but not yet reaped, counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True


def wait_until(condition, timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[dict]:
    """Start CLI processes with the build log set; every process (and every worker it logged) is killed at the end."""
    log = tmp_path / "builds.log"
    started: list[subprocess.Popen] = []

    def start(command: list[str]) -> subprocess.Popen:
        env = {**os.environ, "PYTHONPATH": str(ROOT), LOG_ENV: str(log)}
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        started.append(process)
        return process

    try:
        yield {"start": start, "log": log}
    finally:  # workers first: orphans hold the parent's pipes open, so reading them would wait on the orphans
        for pid, _ in builds(log):
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        for process in started:
            if process.poll() is None:
                process.kill()
            try:
                process.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                pass


def assert_consistent(directory: Path, max_steps: int = 60) -> None:
    """A finished run: the record and every metrics row agree, the whole schedule is there, no checkpoint is left."""
    record = read_record(directory)
    rows = load_metrics(directory)
    assert [row["step"] for row in rows] == eval_steps(max_steps, 5, "log").tolist()
    assert rows[-1] == record.final_metrics and record.steps_trained == max_steps
    assert not (directory / CHECKPOINT_FILE).exists()


def test_two_sweeps_sharing_runs_train_each_run_once(tmp_path: Path, processes: dict) -> None:
    output = tmp_path / "runs"
    first = processes["start"](sweep_command(output, [0, 1, 2]))
    second = processes["start"](sweep_command(output, [1, 2, 3]))
    results = [process.communicate(timeout=240) for process in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], results
    assert all("Traceback" not in err for _, err in results)
    seeds = sorted(seed for _, seed in builds(processes["log"]))
    assert len(seeds) == 4 and len(set(seeds)) == 4, seeds  # four runs, each built (trained) exactly once
    directories = sorted(path for path in output.iterdir() if path.is_dir())
    assert len(directories) == 4
    for directory in directories:
        assert_consistent(directory)
    for stdout, _ in results:  # each sweep reports its three runs, including those the other one trained
        assert clock_rows(stdout)["sleepy"]["seeds"] == "3"


@pytest.fixture
def sleepy() -> str:
    return "sleepy"  # registered by importing tests.sleepy_plugin above


def test_a_run_finished_by_another_process_in_the_finish_start_window_is_not_trained_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sleepy: str) -> None:
    """The issue's race: the other process writes record.json right after this one's (unlocked) finished-check."""
    monkeypatch.setenv(LOG_ENV, str(tmp_path / "builds.log"))
    spec = resolve_spec("parity", {}, sleepy, {"step_s": 0.0}, 8, 0, PROTOCOL)
    original = protocol.build_task
    other: dict = {}

    def finish_elsewhere_first(spec_):
        if not other:  # between this process's finished-check and its lock, the other process runs the whole run
            worker = threading.Thread(target=lambda: other.setdefault("record", run(spec_, tmp_path, device="cpu", quiet=True)))
            other["started"] = True
            worker.start()
            worker.join()
        return original(spec_)

    monkeypatch.setattr(protocol, "build_task", finish_elsewhere_first)
    record = run(spec, tmp_path, device="cpu", quiet=True)
    assert record == other["record"]
    assert len(builds(tmp_path / "builds.log")) == 1  # trained once: the late process found the record under the lock
    assert_consistent(run_dir(tmp_path, spec))


def test_a_run_in_progress_is_waited_for_and_said_so_or_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, sleepy: str) -> None:
    monkeypatch.setenv(LOG_ENV, str(tmp_path / "builds.log"))
    spec = resolve_spec("parity", {}, sleepy, {"step_s": 0.02}, 8, 0, PROTOCOL)
    other: dict = {}
    worker = threading.Thread(target=lambda: other.setdefault("record", run(spec, tmp_path, device="cpu", quiet=True)))
    worker.start()
    try:
        assert wait_until(lambda: len(builds(tmp_path / "builds.log")) == 1, timeout=60)  # the other holds the lock and trains
        with pytest.raises(RunInProgress, match="is in progress in another process"):
            run(spec, tmp_path, device="cpu", quiet=True, wait=False)
        record = run(spec, tmp_path, device="cpu", quiet=True)  # waits for the other, then reads its record
    finally:
        worker.join()
    assert "in progress in another process" in caplog.text and "waiting for it to finish" in caplog.text
    assert record == other["record"] and len(builds(tmp_path / "builds.log")) == 1
    assert_consistent(run_dir(tmp_path, spec))


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM], ids=["kill-9", "terminate"])
def test_workers_die_with_their_sweep(tmp_path: Path, processes: dict, how: signal.Signals) -> None:
    output = tmp_path / "runs"
    parent = processes["start"](sweep_command(output, [0, 1], step_s=0.05, jobs=2, max_steps=4000))
    assert wait_until(lambda: len(builds(processes["log"])) == 2, timeout=120), parent.stderr
    workers = [pid for pid, _ in builds(processes["log"])]
    assert parent.pid not in workers and all(alive(pid) for pid in workers)
    time.sleep(1.0)  # both runs past their first eval: a checkpoint exists to be kept
    parent.send_signal(how)
    parent.wait(timeout=60)
    gone = wait_until(lambda: not any(alive(pid) for pid in workers), timeout=30)
    for pid in workers:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)  # never leave one behind, even when the test fails
    _, stderr = parent.communicate(timeout=30)
    assert gone, f"workers still running after the parent's {how.name}"
    if how == signal.SIGTERM:  # handled like Ctrl-C: workers stopped, one line, checkpoints kept for the resume
        assert parent.returncode == 130 and "Traceback" not in stderr, stderr
        assert stderr.strip().splitlines()[-1] == "interrupted: rerun the same command to resume unfinished runs" and "leaked" not in stderr, stderr
    directories = [path for path in output.iterdir() if path.is_dir()]
    assert len(directories) == 2
    for directory in directories:
        assert (directory / CHECKPOINT_FILE).is_file() and not (directory / "record.json").exists()
        from filelock import FileLock

        FileLock(str(directory / ".lock")).acquire(timeout=5).lock.release()  # the dead workers hold no lock


def test_skip_running_skips_a_run_another_process_holds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from filelock import FileLock

    from benchmark import cli

    spec = resolve_spec("parity", {}, "memorizer", {}, 8, 0, {"max_steps": 5, "eval_points": 2, "eval_samples": 8})
    directory = run_dir(tmp_path, spec)
    directory.mkdir(parents=True)
    argv = ["run", "--tasks", "parity", "--adapters", "memorizer", "--n", "8", "--seeds", "0", "1", "--protocol-args", "max_steps=5,eval_points=2,eval_samples=8", "--output", str(tmp_path)]
    with FileLock(str(directory / ".lock")):  # as another process training it would
        assert cli.main([*argv, "--skip-running"]) == 0
    captured = capsys.readouterr()
    assert f"skipped {spec.run_id}: in progress in another process" in captured.err and "Traceback" not in captured.err
    assert not (directory / "record.json").exists() and len(list(tmp_path.glob("*/record.json"))) == 1
