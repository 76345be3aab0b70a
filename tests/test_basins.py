"""Basin analysis: pure pieces on constructed data, the DiT's denoise capability, and a tiny memorizing run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import adapters
import tasks
from benchmark import cli
from benchmark.analysis.basins import (
    BASINS_FILE,
    OUTCOMES,
    SUMMARY_FILE,
    BasinConfig,
    analyse_run,
    basin_radius,
    landings,
    radius_interval,
    radius_table,
)
from benchmark.core.adapter import DataSpec, Denoiser
from benchmark.core.config import ConfigError, build_config
from benchmark.run.metrics import KeySet
from benchmark.run.protocol import run
from benchmark.run.spec import resolve_spec

BINARY = DataSpec((6, 6), 2)
# One 6×6 patch: an MLP-like DiT that memorizes 4 samples in a few hundred CPU steps.
TINY_DIT = dict(depth=1, width=64, heads=2, patch_size=6, lr=5e-3, batch_size=32, sampling_steps=10)


def test_basin_radius_is_the_largest_sigma_with_return_at_least_half():
    sigmas = (0.1, 0.2, 0.4, 0.8)
    assert basin_radius(np.array([1.0, 0.9, 0.5, 0.1]), sigmas) == 0.4
    assert basin_radius(np.array([0.4, 0.3, 0.2, 0.1]), sigmas) == 0.0  # no basin on the ladder
    assert basin_radius(np.array([1.0, 0.2, 0.6, 0.0]), sigmas) == 0.4  # the largest, not the first drop
    assert basin_radius(np.ones(4), sigmas) == 0.8


def test_radius_interval_brackets_the_radius_and_collapses_when_probes_agree():
    sigmas = (0.1, 0.2, 0.4)
    agreeing = np.array([[1.0] * 8, [1.0] * 8, [0.0] * 8])  # (σ, probe): every probe returns up to 0.2
    assert radius_interval(agreeing, sigmas, 200, seed=0) == (0.2, 0.2)
    mixed = np.array([[1.0] * 8, [1.0] * 4 + [0.0] * 4, [0.0] * 8])  # at 0.2 half the probes return
    low, high = radius_interval(mixed, sigmas, 500, seed=0)
    assert low == 0.1 and high == 0.2


def test_landings_are_classified_with_the_documented_precedence():
    task = tasks.get("parity", G=2)
    train = task.sample(3, np.random.default_rng(0))
    other_valid = task.sample(1, np.random.default_rng(1))
    invalid = train[:1].copy()
    invalid[0, 0, 0] ^= 1  # one flipped bit breaks its group's parity
    probes = np.stack([train[0], train[0], train[0], train[0]])
    landed = np.stack([train[0], train[1], other_valid[0], invalid[0]])
    outcome = landings(task, probes, landed, KeySet(task.key(train)))
    assert [OUTCOMES[i] for i in outcome] == ["returned", "train", "valid", "invalid"]


def test_bad_basin_knobs_name_the_field():
    with pytest.raises(ConfigError, match="BasinConfig.sigmas must be a non-empty, strictly increasing"):
        build_config(BasinConfig, {"sigmas": "0.5,0.1"})
    with pytest.raises(ConfigError, match="BasinConfig.probes must be a positive integer, got 0"):
        build_config(BasinConfig, {"probes": 0})
    assert build_config(BasinConfig, {"sigmas": "0.1,0.3"}).sigmas == (0.1, 0.3)


def test_dit_is_a_denoiser_and_returns_a_noiseless_input():
    dit = adapters.build("dit", BINARY, seed=0, **TINY_DIT)
    assert isinstance(dit, Denoiser) and not isinstance(adapters.build("gpt", BINARY, depth=1, width=32, heads=2), Denoiser)
    symbols = torch.from_numpy(tasks.get("parity").sample(64, np.random.default_rng(0)).astype(np.int64))
    clean = dit.encode(symbols)
    assert torch.equal(dit.decode(clean), symbols)
    for sigma in (dit.config.sigma_min, 0.01):  # at σ ≤ σ_min nothing is integrated; just above, the ODE barely moves
        assert torch.equal(dit.denoise(clean, sigma), symbols)


def test_dit_denoise_is_deterministic_and_chunked_like_sampling():
    dit = adapters.build("dit", BINARY, seed=0, **TINY_DIT)
    chunked = adapters.build("dit", BINARY, seed=0, **TINY_DIT, sample_batch_size=5)
    noisy = torch.randn((12, 1, 6, 6), generator=torch.Generator().manual_seed(0))
    assert torch.equal(dit.denoise(noisy, 1.0), dit.denoise(noisy, 1.0))
    assert torch.equal(dit.denoise(noisy, 1.0), chunked.denoise(noisy, 1.0))


@pytest.fixture(scope="module")
def memorized_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny DiT trained on N = 4 parity samples until it replays them, with every eval's checkpoint kept."""
    output = tmp_path_factory.mktemp("runs")
    spec = resolve_spec(
        "parity",
        {"G": 2},
        "dit",
        TINY_DIT,
        4,
        0,
        {"max_steps": 400, "eval_points": 3, "eval_samples": 128, "early_stop": False},
    )
    record = run(spec, output, device="cpu", quiet=True, keep_checkpoints=True)
    assert record.final_metrics["mem"] >= 0.8  # the regime the test is about: it does replay its training set
    return output / spec.run_id


def test_training_basins_outgrow_novel_ones_once_memorized_and_none_exist_untrained(memorized_run: Path):
    summary = analyse_run(memorized_run, BasinConfig(probes=16, bootstrap=100))
    radii = {name: {step: radius for step, radius, *_ in rows} for name, rows in radius_table(summary["rows"]).items()}
    reference = max(summary["rounding_radius"].values())  # what decoding the noisy probe alone achieves
    first, last = min(radii["train"]), max(radii["train"])
    assert first == 0 and last == 400
    # Untrained: no class has a basin beyond what decoding without the model gives.
    assert all(radii[name][first] <= reference for name in radii)
    # Memorized: training samples attract from far away; novel valid samples do not.
    assert radii["train"][last] > 2 * reference
    assert radii["train"][last] > radii["novel_valid"][last]
    lines = [json.loads(line) for line in (memorized_run / BASINS_FILE).read_text().splitlines()]
    assert lines[0]["kind"] == "config" and lines[0]["probes"] == 16
    returns = [row for row in lines if row["kind"] == "return" and row["step"] == last and row["probe_class"] == "train"]
    assert len(returns) == len(BasinConfig().sigmas)
    assert all(abs(sum(row[f"to_{o}"] for o in OUTCOMES) - 1.0) < 1e-9 for row in returns)
    assert "radius: novel_valid" in (memorized_run / SUMMARY_FILE).read_text()


def test_basins_command_writes_its_files_and_plot(memorized_run: Path, capsys: pytest.CaptureFixture[str]):
    pytest.importorskip("matplotlib")
    code = cli.main(["basins", str(memorized_run), "--probes", "8", "--sigmas", "0.1,0.5,2", "--max-checkpoints", "2", "--plot", "--quiet"])
    assert code == 0
    assert "radius: train" in capsys.readouterr().out
    assert (memorized_run / "basins.png").stat().st_size > 0
    steps = {json.loads(line).get("step") for line in (memorized_run / BASINS_FILE).read_text().splitlines()[1:]}
    assert steps - {None} == {0, 400}  # two checkpoints, evenly spread: the first and the last


def test_basins_command_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    assert cli.main(["basins", str(tmp_path / "nowhere")]) == cli.EXIT_USER_ERROR
    assert "is not a folder" in capsys.readouterr().err
    assert cli.main(["basins", str(tmp_path)]) == cli.EXIT_USER_ERROR
    assert "is not a run directory" in capsys.readouterr().err
    assert cli.main(["basins", str(tmp_path), "--sigmas", "2,1"]) == cli.EXIT_USER_ERROR
    assert "BasinConfig.sigmas" in capsys.readouterr().err


def test_a_run_without_kept_checkpoints_or_a_denoiser_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    spec = resolve_spec("parity", {"G": 2}, "memorizer", {}, 4, 0, {"max_steps": 5, "eval_points": 2, "eval_samples": 8})
    run(spec, tmp_path, device="cpu", quiet=True)
    assert cli.main(["basins", str(tmp_path / spec.run_id)]) == cli.EXIT_USER_ERROR
    assert "--keep-checkpoints" in capsys.readouterr().err
    run(spec, tmp_path / "kept", device="cpu", quiet=True, keep_checkpoints=True)
    assert cli.main(["basins", str(tmp_path / "kept" / spec.run_id)]) == cli.EXIT_USER_ERROR
    assert "does not implement benchmark.core.adapter.Denoiser" in capsys.readouterr().err
