"""The command line end to end with the baseline adapters (seconds): sweep → records → leaderboard → plots."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmark import cli
from benchmark.report import leaderboard, terminal
from benchmark.sweep import files as sweep

ROOT = Path(__file__).resolve().parent.parent
BASELINE_SWEEP = """\
tasks: ["parity:G=2"]
adapters: [memorizer, oracle, uniform]
n: [32]
seeds: [0, 1]
protocol: {max_steps: 40, eval_points: 6, eval_samples: 128}
"""


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def clock_rows(markdown: str) -> dict[str, dict[str, str]]:
    """The main leaderboard table as {adapter label: {column: cell}}."""
    lines = markdown.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|") and _cells(line)[:2] == ["adapter", "task"])
    header = _cells(lines[start])
    rows = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = dict(zip(header, _cells(line)))
        rows[cells["adapter"]] = cells
    return rows


@pytest.fixture
def sweep_file(tmp_path: Path) -> Path:
    path = tmp_path / "sweep.yaml"
    path.write_text(BASELINE_SWEEP)
    return path


def test_yaml_sweep_of_baselines_gives_known_clocks_and_a_rerun_skips_everything(tmp_path: Path, sweep_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runs = tmp_path / "runs"
    assert cli.main(["run", "--config", str(sweep_file), "--output", str(runs), "--quiet", "--wide"]) == 0
    first = capsys.readouterr().out
    rows = clock_rows(first)
    assert set(rows) == {"memorizer", "oracle", "uniform"}
    assert all(row["seeds"] == "2" and row["N"] == "32†" and row["complexity"] == "2" for row in rows.values())
    # memorizer: copies from its first step on, never shows the rule; oracle: valid from step 0, never copies; uniform: neither clock.
    median = lambda cell: cell.split(" (")[0]  # noqa: E731 - the cell's median, without its interval
    assert median(rows["memorizer"]["τ_mem"]) == "1" and median(rows["memorizer"]["τ_mem (epochs)"]) == "2"
    assert rows["memorizer"]["status"] == "not learned"
    assert (median(rows["oracle"]["τ_rule"]), median(rows["oracle"]["τ_mem"]), rows["oracle"]["status"]) == ("0", "> 40", "open")
    assert (median(rows["uniform"]["τ_rule"]), median(rows["uniform"]["τ_mem"]), rows["uniform"]["window"]) == ("> 40", "> 40", "—")
    records = sorted(runs.glob("*/record.json"))
    assert len(records) == 6
    stamps = {path: path.stat().st_mtime_ns for path in records}

    assert cli.main(["run", "--config", str(sweep_file), "--output", str(runs)]) == 0
    again = capsys.readouterr()
    assert "6 runs: 6 finished already (skipped), 0 to run" in again.err
    compact = clock_rows(again.out)  # the default view: the compact table, the full one in runs/leaderboard.md
    assert list(next(iter(compact.values()))) == list(terminal.COMPACT_COLUMNS)
    for name, row in rows.items():  # the same cells as the full table (clocks: the median, without the seeds' range)
        assert [compact[name][c] for c in ("adapter", "task", "N", "seeds", "status", "steps trained")] == [row[c] for c in ("adapter", "task", "N", "seeds", "status", "steps trained")]
        assert all(row[c].startswith(compact[name][c]) for c in ("τ_rule", "τ_mem"))
    assert clock_rows((runs / "leaderboard.md").read_text()) == rows
    assert {path: path.stat().st_mtime_ns for path in records} == stamps  # nothing rewritten


def test_flags_alone_define_a_sweep_and_dry_run_trains_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runs = tmp_path / "runs"
    argv = ["run", "--tasks", "parity:G=2,3", "--adapters", "oracle", "--n", "8", "16", "--seeds", "0", "--output", str(runs), "--dry-run"]
    assert cli.main(argv) == 0
    run_ids = capsys.readouterr().out.split()
    # 2 G × 2 N; the default job's blocks (two protocols) must not leak into a sweep given by flags
    assert len(run_ids) == 4 and all(run_id.startswith("oracle_parity_N") for run_id in run_ids)
    assert not any(runs.glob("*/"))


def test_leaderboard_and_plot_commands_write_their_files(tmp_path: Path, sweep_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runs = tmp_path / "runs"
    assert cli.main(["run", "--config", str(sweep_file), "--output", str(runs), "--n", "16", "32", "--seeds", "0", "--quiet"]) == 0
    capsys.readouterr()
    out, board_json = tmp_path / "board" / "README.md", tmp_path / "board" / "leaderboard.json"
    assert cli.main(["leaderboard", str(runs), "--out", str(out), "--json", str(board_json)]) == 0
    markdown = out.read_text()
    assert list(clock_rows(markdown)["oracle"]) == list(leaderboard.COLUMNS)
    data = json.loads(board_json.read_text())
    assert data["schema_version"] == leaderboard.LEADERBOARD_SCHEMA_VERSION and len(data["records"]) == 6
    # every adapter ran at two N; only the memorizer's τ_mem fired, so only it has a slope
    fits = {fit["adapter"]: fit["fit"] for fit in data["scaling"]["tau_mem_vs_n"]}
    assert fits["memorizer"]["slope"] is not None and (fits["memorizer"]["points"], fits["memorizer"]["points_censored"]) == (2, 0)
    assert fits["oracle"]["slope"] is None and fits["oracle"]["points_censored"] == 2 and fits["oracle"]["reason"] == "every point censored"
    assert cli.main(["leaderboard", str(runs)]) == 0
    assert capsys.readouterr().out == markdown  # stdout when no --out, byte-identical

    figures = tmp_path / "figures"
    assert cli.main(["plot", str(runs), "--out", str(figures)]) == 0
    pngs = sorted(figures.rglob("*.png"))
    assert len(list((figures / "runs").glob("*.png"))) == 6
    assert any(path.name.startswith("tau_vs_n_memorizer") for path in pngs)
    assert all(path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for path in pngs)


def test_default_job_path_prints_the_leaderboard(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """`run` with no --config reads the packaged default job (here swapped for baselines) and prints its leaderboard."""
    monkeypatch.setattr(sweep, "default_job_text", lambda: BASELINE_SWEEP + "sweeps:\n  - adapters: [memorizer]\n    n: [16]\n  - adapters: [oracle]\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(sweep.SMOKE_ENV, "1")
    assert cli.main(["run", "--quiet"]) == 0
    rows = clock_rows(capsys.readouterr().out)
    assert {(name, row["N"]) for name, row in rows.items()} == {("memorizer", "16†"), ("oracle", "32†")}
    records = [json.loads(p.read_text()) for p in (tmp_path / "runs").glob("*/record.json")]
    assert {r["spec"]["protocol"]["max_steps"] for r in records} == {sweep.SMOKE_LIMITS["max_steps"]}  # the cap, under the file's 40


@pytest.mark.skipif(not all(name in __import__("adapters").names() for name in ("dit", "gpt")), reason="the bundled dit/gpt adapters are not on this branch yet")
def test_default_job_runs_in_smoke_mode(tmp_path: Path) -> None:
    """The real default job, shrunk by TWO_CLOCKS_SMOKE=1, as a user would type it."""
    env = {**os.environ, sweep.SMOKE_ENV: "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "benchmark", "run", "--quiet", "--output", str(tmp_path / "runs")], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    rows = clock_rows(done.stdout)
    assert {label.split()[0] for label in rows} == {"dit", "gpt"}
    assert list(next(iter(rows.values()))) == list(terminal.COMPACT_COLUMNS)
    assert max(map(len, done.stdout.splitlines())) <= terminal.WIDTH and "No fit" not in done.stdout
    assert list(next(iter(clock_rows((tmp_path / "runs" / "leaderboard.md").read_text()).values()))) == list(leaderboard.COLUMNS)


def test_list_shows_every_knob_with_type_and_default(capsys: pytest.CaptureFixture[str]) -> None:
    import adapters
    import tasks
    from benchmark.core.config import describe_fields

    assert cli.main(["list", "tasks"]) == 0
    listing = capsys.readouterr().out
    assert listing.startswith(f"tasks ({len(tasks.names())}):") and "adapters (" not in listing
    parity_block = listing.split("\nparity — ", 1)[1].split("\n\n", 1)[0].splitlines()
    for field in describe_fields(tasks.get_class("parity").config_class):
        line = next(line for line in parity_block if line.startswith("    ") and line.split()[:1] == [field["name"]])
        assert str(field["default"]) in line and field["help"] in line
    assert cli.main(["list"]) == 0
    both = capsys.readouterr().out
    assert all(f"\n{name} — " in both for name in adapters.names())
    assert ["batch_size", "integer", "64", "training", "batch", "size"] in [line.split() for line in both.splitlines()]


def test_a_reader_that_closes_the_pipe_gets_no_traceback() -> None:
    """`python -m benchmark list | head -1`: the reader closes early; the command stops quietly with 141, as a C tool would."""
    proc = subprocess.Popen([sys.executable, "-m", "benchmark", "list"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # closed before the first write: the write raises BrokenPipeError every time
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == cli.EXIT_BROKEN_PIPE == 141
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr
