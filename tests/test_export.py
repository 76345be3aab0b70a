"""`python -m benchmark export`: a run's model leaves the suite with save_pretrained and comes back with from_pretrained."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from benchmark import cli
from benchmark.report.export import CARD_FILE, EXPORT_FILE, load_exported
from benchmark.run.protocol import build_adapter, build_task
from benchmark.run.rundir import load_state
from benchmark.run.spec import RunSpec

STEPS = 12  # a few optimiser steps: enough to move the weights away from their initialisation


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny GPT and DiT trained with --keep-checkpoints (seconds)."""
    output = tmp_path_factory.mktemp("export") / "runs"
    argv = [
        "run",
        "--tasks",
        "parity:G=2",
        "--adapters",
        "gpt:depth=1,width=16,heads=2",
        "dit:depth=1,width=16,heads=2",
        "--n",
        "8",
        "--max-steps",
        str(STEPS),
        "--eval-samples",
        "16",
        "--protocol-args",
        "eval_points=2",
        "--keep-checkpoints",
        "--quiet",
        "--output",
        str(output),
    ]
    assert cli.main(argv) == 0
    return output


def _run_dir(runs: Path, adapter: str) -> Path:
    (path,) = [p.parent for p in runs.glob(f"{adapter}_*/record.json")]
    return path


def _trained(run_dir: Path, checkpoint: Path) -> torch.nn.Module:
    spec = RunSpec.from_dict(json.loads((run_dir / "spec.json").read_text()))
    adapter = build_adapter(spec, build_task(spec), "cpu")
    adapter.load_state_dict(load_state(checkpoint, spec)["adapter"])
    return adapter


def test_gpt_export_loads_with_from_pretrained_and_generates_the_adapters_samples(runs: Path, tmp_path: Path) -> None:
    from transformers import GPT2LMHeadModel

    run_dir = _run_dir(runs, "gpt")
    out = tmp_path / "gpt"
    assert cli.main(["export", str(run_dir), str(out)]) == 0
    adapter = _trained(run_dir, run_dir / "checkpoint.pt")
    expected = adapter.sample(32, torch.Generator().manual_seed(0))

    # plain transformers, no two-clocks code: from_pretrained + generate() with the saved generation config
    model = GPT2LMHeadModel.from_pretrained(out).eval()
    (seed,) = torch.randint(0, 2**63 - 1, (1,), generator=torch.Generator().manual_seed(0)).tolist()  # how the adapter seeds a chunk
    torch.manual_seed(seed)
    prompt = torch.full((32, 1), adapter.bos)
    with torch.no_grad():
        tokens = model.generate(prompt, attention_mask=torch.ones_like(prompt))
    assert torch.equal(tokens[:, 1:].reshape(32, 6, 6), expected)
    assert torch.equal(load_exported(out).sample(32, torch.Generator().manual_seed(0)), expected)

    card = (out / CARD_FILE).read_text()
    info = json.loads((out / EXPORT_FILE).read_text())
    assert info["step"] == STEPS and info["final"] and info["run_id"] == run_dir.name
    assert "GPT2LMHeadModel.from_pretrained" in card and "tau_rule" in card and run_dir.name in card


def test_dit_export_restores_the_null_label_row_so_plain_from_pretrained_loads_it(runs: Path, tmp_path: Path) -> None:
    from diffusers import DiTTransformer2DModel, EDMEulerScheduler

    run_dir = _run_dir(runs, "dit")
    kept = sorted(int(p.stem.split("_")[1]) for p in (run_dir / "checkpoints").glob("step_*.pt"))
    step = kept[1]  # an intermediate kept step, not the last
    out = tmp_path / "dit"
    assert cli.main(["export", str(run_dir), str(out), "--step", str(step)]) == 0
    adapter = _trained(run_dir, run_dir / "checkpoints" / f"step_{step}.pt")

    model = DiTTransformer2DModel.from_pretrained(out)  # the bundled DiT has a 1-row label table; the export adds the null row back
    table = model.transformer_blocks[0].norm1.emb.class_embedder.embedding_table.weight
    assert table.shape[0] == 2 and torch.equal(table[1], table[0])  # label dropout, if re-enabled, changes nothing
    ours = adapter.model.state_dict()
    for name, value in model.state_dict().items():
        assert torch.equal(value[: ours[name].shape[0]], ours[name]), name
    EDMEulerScheduler.from_pretrained(out, subfolder="scheduler")
    expected = adapter.sample(32, torch.Generator().manual_seed(0))
    assert torch.equal(load_exported(out).sample(32, torch.Generator().manual_seed(0)), expected)
    assert json.loads((out / EXPORT_FILE).read_text())["step"] == step


def test_export_refusals_are_one_line_errors(runs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = _run_dir(runs, "gpt")
    assert cli.main(["export", str(run_dir), str(tmp_path / "a"), "--step", "7777"]) == cli.EXIT_USER_ERROR
    assert "kept no checkpoint at step 7777; kept steps: 0," in capsys.readouterr().err
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("")
    assert cli.main(["export", str(run_dir), str(tmp_path / "full")]) == cli.EXIT_USER_ERROR
    assert "not an empty folder" in capsys.readouterr().err
    bare = tmp_path / "bare"
    assert cli.main(["run", "--tasks", "parity", "--adapters", "memorizer", "--n", "8", "--smoke", "--quiet", "--output", str(bare)]) == 0
    capsys.readouterr()
    (finished,) = [p.parent for p in bare.glob("*/record.json")]
    assert cli.main(["export", str(finished), str(tmp_path / "b")]) == cli.EXIT_USER_ERROR
    err = capsys.readouterr().err
    assert "holds no weights" in err and "--keep-checkpoints" in err


def test_export_and_load_print_only_the_suites_own_line(runs: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """No library progress bar ('Writing model shards') or load warning leaks through export or load_exported."""
    import transformers.utils.logging as transformers_logging

    for adapter in ("gpt", "dit"):
        capfd.readouterr()
        assert cli.main(["export", str(_run_dir(runs, adapter)), str(tmp_path / adapter)]) == 0
        load_exported(tmp_path / adapter)
        captured = capfd.readouterr()
        lines = [line for line in (captured.out + captured.err).splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("wrote "), lines
    assert transformers_logging.is_progress_bar_enabled()  # the library's own setting is restored afterwards
