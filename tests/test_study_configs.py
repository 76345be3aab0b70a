"""The published study's sweep files must keep loading, keep their design, and run end to end (in seconds)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmark import cli, leaderboard, sweep
from benchmark.records import load_records

CONFIGS = Path(__file__).resolve().parent.parent / "leaderboard" / "configs"


def _specs(name: str) -> list:
    return sweep.expand(sweep.load_sweep(CONFIGS / name))


def _design(specs: list) -> dict[str, dict[str, set]]:
    """Per adapter: the G, N, depths and seeds the sweep covers."""
    design: dict[str, dict[str, set]] = {}
    for spec in specs:
        entry = design.setdefault(spec.adapter.name, {"G": set(), "N": set(), "depth": set(), "seed": set(), "shape": set()})
        entry["G"].add(spec.task.config["G"])
        entry["N"].add(spec.n_train)
        entry["depth"].add(spec.adapter.config["depth"])
        entry["seed"].add(spec.seed)
        entry["shape"].add((spec.task.config["height"], spec.task.config["width"]))
    return design


@pytest.mark.parametrize("name", ["cpu.yaml", "gpu.yaml"])
def test_study_meets_the_issue_design(name: str) -> None:
    """Both adapters, ≥3 G, ≥4 N spanning ≥8×, ≥2 depths, ≥3 seeds: what the claims C1–C6 need."""
    specs = _specs(name)
    assert all(spec.task.name == "parity" for spec in specs)
    design = _design(specs)
    assert set(design) == {"dit", "gpt"}
    for entry in design.values():
        assert len(entry["G"]) >= 3
        assert len(entry["N"]) >= 4 and max(entry["N"]) / min(entry["N"]) >= 8
        assert len(entry["depth"]) >= 2
        assert len(entry["seed"]) >= 3
        assert entry["shape"] == {(6, 6)}
    assert len({spec.run_id for spec in specs}) == len(specs)  # no block repeats another's runs


def test_gpu_study_is_paper_scale() -> None:
    """The GPU file is the paper's scale: G up to ≥6, N in the hundreds to thousands, 6×256 models, seeds 0–4."""
    design = _design(_specs("gpu.yaml"))
    for entry in design.values():
        assert max(entry["G"]) >= 6
        assert min(entry["N"]) >= 100 and max(entry["N"]) >= 1000
        assert max(entry["depth"]) >= 6
        assert entry["seed"] == {0, 1, 2, 3, 4}
    widths = {spec.adapter.config["width"] for spec in _specs("gpu.yaml")}
    assert widths == {256}


def test_cpu_study_uses_one_protocol_per_adapter() -> None:
    """The τ_mem ∝ N^α fit pools runs with equal protocols, so every N of an adapter must share max_steps."""
    protocols: dict[str, set] = {}
    for spec in _specs("cpu.yaml"):
        protocols.setdefault(spec.adapter.name, set()).add(json.dumps(spec.protocol.to_dict(), sort_keys=True))
    assert all(len(found) == 1 for found in protocols.values())


@pytest.mark.parametrize("name", ["cpu.yaml", "gpu.yaml"])
def test_study_dry_run_lists_every_run(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["run", "--config", str(CONFIGS / name), "--output", str(tmp_path / "runs"), "--dry-run"]) == 0
    listed = capsys.readouterr().out.split()
    assert listed == [spec.run_id for spec in _specs(name)]
    assert not (tmp_path / "runs").exists()


def test_smoke_study_runs_and_renders(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """smoke.yaml under --smoke: every run finishes and the leaderboard has one row per (adapter, G, N)."""
    runs = tmp_path / "runs"
    assert cli.main(["run", "--config", str(CONFIGS / "smoke.yaml"), "--smoke", "--output", str(runs), "--quiet"]) == 0
    capsys.readouterr()
    specs = sweep.expand(sweep.load_sweep(CONFIGS / "smoke.yaml"), smoke=True)
    records = load_records([runs])
    assert sorted(record.run_id for record in records) == sorted(spec.run_id for spec in specs)
    board = leaderboard.build(records)
    rows = {(row["adapter"], row["task_config"]["G"], row["n_train"]) for row in board["rows"]}
    expected = {(spec.adapter.name, spec.task.config["G"], spec.n_train) for spec in specs}
    assert rows == expected and len(board["rows"]) == len(expected)
    markdown = leaderboard.to_markdown(board)
    for adapter, g, _ in expected:
        assert f"| {adapter} " in markdown and f"parity G={g}" in markdown
    assert leaderboard.to_markdown(leaderboard.build(load_records([runs]))) == markdown  # deterministic


def test_curve_plot_starts_at_step_zero(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A training curve's step axis (symlog) must not spend half its width on negative steps."""
    from benchmark import plots

    runs = tmp_path / "runs"
    assert cli.main(["run", "--tasks", "parity:G=2", "--adapters", "memorizer", "--n", "8", "--max-steps", "40", "--output", str(runs), "--quiet"]) == 0
    limits = []
    monkeypatch.setattr(plots, "_save", lambda pyplot, figure, path: limits.append(figure.axes[0].get_xlim()) or pyplot.close(figure) or path)
    plots.plot_run(plots.require_pyplot(), next(runs.iterdir()), tmp_path / "figures")
    assert limits[0][0] == 0 < limits[0][1]
