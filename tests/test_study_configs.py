"""Study 2.0's sweep files (leaderboard/v2/configs) must keep loading, keep their design, and run end to end (in seconds)."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest

from benchmark import cli
from benchmark.core.records import load_records
from benchmark.report import leaderboard
from benchmark.sweep import files as sweep

CONFIGS = Path(__file__).resolve().parent.parent / "leaderboard" / "v2" / "configs"


@functools.cache
def _cached_specs(name: str) -> tuple:
    return tuple(sweep.expand(sweep.load_sweep(CONFIGS / name)))


def _specs(name: str) -> list:
    """The study's specs, expanded once per file (gpu.yaml's 370 runs take ~10 s to resolve)."""
    return list(_cached_specs(name))


BUNDLED_KINDS = {"gpt", "hf_causal_lm", "dit", "unet", "mdlm"}


def _cells(specs: list) -> dict[str, dict[str, set]]:
    """Per adapter: the (G, layout) on the stream, the (G, N) at finite N, the depths on the stream, the seeds."""
    design: dict[str, dict[str, set]] = {}
    for spec in specs:
        entry = design.setdefault(spec.adapter.name, {"stream": set(), "finite": set(), "depth": set(), "seed": set(), "shape": set()})
        task = spec.task.config
        if spec.stream:
            entry["stream"].add((task["G"], task["layout"]))
            entry["depth"].add(spec.adapter.config.get("depth"))
        else:
            entry["finite"].add((task["G"], spec.n_train))
        entry["seed"].add(spec.seed)
        entry["shape"].add((task["height"], task["width"]))
    return design


@pytest.mark.parametrize("name", ["cpu.yaml", "gpu.yaml"])
def test_study_meets_the_issue_design(name: str) -> None:
    """Every bundled model on the stream at G = 2 and 3, the locality control, a race at N ≥ B, a depth ladder, ≥ 3 seeds."""
    specs = _specs(name)
    assert all(spec.task.name == "parity" for spec in specs)
    design = _cells(specs)
    assert set(design) == BUNDLED_KINDS
    for adapter, entry in design.items():
        assert {(2, "contiguous"), (3, "contiguous")} <= entry["stream"], adapter
        assert len(entry["seed"]) >= 3 and entry["shape"] == {(6, 6)}
    for adapter in ("gpt", "dit"):
        assert (2, "random") in design[adapter]["stream"], adapter  # the locality control
    for adapter in ("gpt", "dit"):
        assert len(design[adapter]["depth"]) >= 3, adapter  # capacity ladder on the intrinsic clock
    gpt_race = design["gpt"]["finite"]
    ns = {n for _, n in gpt_race}
    assert {g for g, _ in gpt_race} >= {2, 3} and len(ns) >= 3 and max(ns) / min(ns) >= 4
    assert design["dit"]["finite"] and design["hf_causal_lm"]["finite"]  # the race for each kind
    for spec in specs:  # N ≥ B: the regime the τ_mem ∝ N^α claim is about
        assert spec.stream or spec.n_train >= spec.adapter.config["batch_size"], spec.run_id
    assert len({spec.run_id for spec in specs}) == len(specs)  # no block repeats another's runs


@pytest.mark.parametrize("name", ["cpu.yaml", "gpu.yaml"])
def test_study_reads_the_rule_one_way(name: str) -> None:
    """A window is predicted from the stream cell with the same rule reading, so every block must share it."""
    from benchmark.analysis.groups import RULE_READING

    readings = {json.dumps({k: spec.protocol.to_dict()[k] for k in RULE_READING}, sort_keys=True) for spec in _specs(name)}
    assert len(readings) == 1, readings


def test_gpu_study_is_paper_scale() -> None:
    """The GPU file is the paper's scale: G up to ≥ 6 on the stream, N up to ≥ 1000, 6×256 models, seeds 0–4."""
    specs = _specs("gpu.yaml")
    design = _cells(specs)
    for adapter, entry in design.items():
        assert max(g for g, _ in entry["stream"]) >= 6, adapter
        assert entry["seed"] == {0, 1, 2, 3, 4}
    assert max(n for _, n in design["gpt"]["finite"]) >= 1000
    assert {spec.adapter.config["width"] for spec in specs if spec.adapter.name in ("gpt", "dit", "hf_causal_lm", "mdlm")} == {256}
    assert max(spec.adapter.config["depth"] for spec in specs if spec.adapter.name == "gpt") >= 6


def test_cpu_study_uses_one_protocol_per_race() -> None:
    """The τ_mem ∝ N^α fit pools finite-N runs with equal protocols, so every N of an adapter must share max_steps."""
    protocols: dict[str, set] = {}
    for spec in _specs("cpu.yaml"):
        if not spec.stream:
            protocols.setdefault(spec.adapter.name, set()).add(json.dumps(spec.protocol.to_dict(), sort_keys=True))
    assert all(len(found) == 1 for found in protocols.values())


def test_gpu_pilot_is_small() -> None:
    """The pilot runs few, short runs: every bundled kind once on the stream, one seed, at most 3,000 steps each."""
    specs = _specs("gpu_pilot.yaml")
    assert len(specs) <= 8 and {spec.seed for spec in specs} == {0}
    assert {spec.adapter.name for spec in specs if spec.stream} == BUNDLED_KINDS
    assert all(spec.protocol.max_steps <= 3000 for spec in specs)


@pytest.mark.parametrize("name", ["cpu.yaml", "gpu.yaml", "gpu_pilot.yaml"])
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
    rows = {(cell.group.adapter, cell.group.task_config["G"], cell.group.n_train) for cell in board.cells}
    expected = {(spec.adapter.name, spec.task.config["G"], spec.n_train) for spec in specs}
    assert rows == expected and len(board.cells) == len(expected)
    markdown = leaderboard.to_markdown(board)
    for adapter, g, _ in expected:
        assert f"| {adapter} " in markdown and f"parity G={g}" in markdown
    assert leaderboard.to_markdown(leaderboard.build(load_records([runs]))) == markdown  # deterministic


def test_curve_plot_starts_at_step_zero(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A training curve's step axis (symlog) must not spend half its width on negative steps."""
    from benchmark.report import plots

    runs = tmp_path / "runs"
    assert cli.main(["run", "--tasks", "parity:G=2", "--adapters", "memorizer", "--n", "8", "--max-steps", "40", "--output", str(runs), "--quiet"]) == 0
    limits = []
    monkeypatch.setattr(plots, "_save", lambda pyplot, figure, path: limits.append(figure.axes[0].get_xlim()) or pyplot.close(figure) or path)
    plots.plot_run(plots.require_pyplot(), next(runs.iterdir()), tmp_path / "figures")
    assert limits[0][0] == 0 < limits[0][1]
