"""Every user error: exactly one `error: ...` line on stderr, exit code 2, no traceback, nothing trained."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmark import cli

ROOT = Path(__file__).resolve().parent.parent


def fails_with(argv: list[str], capsys: pytest.CaptureFixture[str], *fragments: str) -> str:
    """Run the CLI in-process; assert exit 2 and one stderr line holding every fragment."""
    code = cli.main(argv)
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert code == cli.EXIT_USER_ERROR, captured.err
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    return tmp_path / "runs"


def _nothing_trained(runs: Path) -> bool:
    return not runs.exists() or not any(runs.iterdir())


def test_unknown_task_and_adapter_get_a_did_you_mean(runs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["run", "--n", "8", "--output", str(runs)]
    fails_with([*base, "--tasks", "parityy", "--adapters", "oracle"], capsys, "unknown task 'parityy'", "did you mean 'parity'")
    fails_with([*base, "--tasks", "parity", "--adapters", "memorizr"], capsys, "unknown adapter 'memorizr'", "did you mean 'memorizer'")
    assert _nothing_trained(runs)


def test_bad_knobs_are_named(runs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["run", "--adapters", "oracle", "--n", "8", "--output", str(runs)]
    fails_with([*base, "--tasks", "parity:G=5"], capsys, "ParityConfig.G must be a divisor")
    fails_with([*base, "--tasks", "parity:G=two"], capsys, "ParityConfig.G must be an integer, got 'two'")
    fails_with([*base, "--tasks", "parity:colour=red"], capsys, "unknown knob 'colour'")
    fails_with([*base, "--tasks", "parity", "--adapter-args", "oracle:batch_size=0"], capsys, "batch_size must be a positive integer")
    fails_with([*base, "--tasks", "parity", "--protocol-args", "theta_rule=2"], capsys, "ProtocolConfig.theta_rule must be a number in (0, 1]")
    fails_with([*base, "--tasks", "parity:height=2,width=2"], capsys, "n_train must be at most the number of valid samples")
    # a failure late in the sweep still stops everything before the first run
    fails_with(["run", "--tasks", "parity", "parity:G=5", "--adapters", "oracle", "--n", "8", "--output", str(runs)], capsys, "G must be a divisor")
    assert _nothing_trained(runs)


def test_yaml_problems_name_the_file(tmp_path: Path, runs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fails_with(["run", "--config", str(tmp_path / "nope.yaml")], capsys, "nope.yaml: cannot read sweep file")
    bad = tmp_path / "bad.yaml"
    bad.write_text("tasks: [parity\nadapters: oracle\n")
    fails_with(["run", "--config", str(bad)], capsys, "bad.yaml: malformed YAML (line")
    typo = tmp_path / "typo.yaml"
    typo.write_text("tasks: [parity]\nadapter: [oracle]\nn: 8\n")
    fails_with(["run", "--config", str(typo)], capsys, "typo.yaml: unknown key adapter; did you mean 'adapters'?")
    fails_with(["run", "--config", str(tmp_path)], capsys, "is a directory, expected a YAML sweep file")


def test_output_path_that_is_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "taken"
    blocker.write_text("")
    base = ["run", "--tasks", "parity", "--adapters", "oracle", "--n", "8"]
    fails_with([*base, "--output", str(blocker)], capsys, f"output path {blocker} is a file")
    fails_with([*base, "--output", str(blocker / "runs")], capsys, "which is a file")
    fails_with(["leaderboard", str(tmp_path), "--out", str(blocker / "lb.md")], capsys, "which is a file")


def test_inputs_the_fuzzer_ended_in_a_traceback_are_one_line(tmp_path: Path, runs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An endless sweep file, an --output name past the file system's limit, a task whose valid set overflows a float."""
    if Path("/dev/zero").exists():
        fails_with(["run", "--dry-run", "--config", "/dev/zero"], capsys, "/dev/zero: larger than 1 MiB")
    big = tmp_path / "big.yaml"
    big.write_text("# " + "x" * 2**20 + "\ntasks: [parity]\n")
    fails_with(["run", "--dry-run", "--config", str(big)], capsys, "big.yaml: larger than 1 MiB, the most a sweep file may hold")
    base = ["run", "--dry-run", "--tasks", "parity", "--adapters", "oracle", "--n", "8"]
    long_name = tmp_path / ("r" * (os.pathconf(tmp_path, "PC_NAME_MAX") + 1))
    fails_with([*base, "--output", str(long_name)], capsys, "cannot be used: File name too long")
    huge = ["run", "--dry-run", "--tasks", "parity:height=40,width=40,G=4", "--adapters", "oracle", "--n", "8", "--output", str(runs)]
    digits = math.floor((40 * 40 - 40 * 40 // 4) * math.log10(2))  # 2^(cells - groups) valid grids
    fails_with(huge, capsys, f"task 'parity' has about 10^{digits} valid samples, more than a record can hold")
    assert _nothing_trained(runs)


def test_flag_syntax_errors(runs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fails_with(["run", "--n", "ten"], capsys, "argument --n: must be a positive integer or 'stream', got 'ten'")
    fails_with(["run", "--seeds", "-1"], capsys, "argument --seeds")
    fails_with(["run", "-j", "0"], capsys, "argument -j/--jobs: must be a positive integer")
    fails_with(["run", "--backend", "slurm"], capsys, "argument --backend: invalid choice: 'slurm'")
    fails_with(["run", "--tasks", "parity:2"], capsys, "--tasks: 'parity:2': expected knob=value")
    fails_with(["run", "--adapters", "oracle", "--adapter-args", "gpt:depth=4"], capsys, "--adapter-args names 'gpt', which is not in the sweep")
    fails_with(["run", "--device", "tpu", "--tasks", "parity", "--adapters", "oracle", "--n", "8"], capsys, "device")
    fails_with(["frobnicate"], capsys, "argument")
    fails_with(["list", "models"], capsys, "invalid choice: 'models'")


def test_include_that_does_not_exist(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fails_with(["list", "--include", str(tmp_path / "gone.py")], capsys, "gone.py: no such file")
    fails_with(["list", "--include", "no_such_plugin_module"], capsys, "--include no_such_plugin_module: no such module or .py file")
    broken = tmp_path / "broken.py"
    broken.write_text("raise RuntimeError('plugin bug')\n")
    fails_with(["list", "--include", str(broken)], capsys, "importing it failed: RuntimeError: plugin bug")


def test_leaderboard_and_plot_without_records(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fails_with(["leaderboard", str(tmp_path / "missing")], capsys, "missing: no such folder")
    fails_with(["leaderboard", str(tmp_path)], capsys, "no record.json under")
    fails_with(["plot", str(tmp_path), "--out", str(tmp_path / "figures")], capsys, "no record.json under")


def test_missing_matplotlib_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    for name in [name for name in sys.modules if name == "matplotlib" or name.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    fails_with(["plot", str(tmp_path), "--out", str(tmp_path / "figures")], capsys, "plotting needs matplotlib", "two-clocks[plot]")


def test_real_process_prints_no_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "benchmark", "run", "--tasks", "parity", "--adapters", "unifrom", "--n", "8", "--output", str(tmp_path / "runs")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("error: unknown adapter 'unifrom'; did you mean 'uniform'?")
    assert "Traceback" not in done.stderr and done.stdout == ""
