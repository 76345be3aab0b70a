"""The README's adapter section is true: its three ways in (an HF model by config, a network on a tier, the raw contract) work as written."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest
import torch

import adapters
from adapters import ADAPTERS, DataSpec

README = Path(__file__).resolve().parents[1] / "README.md"


def adapters_section() -> str:
    text = README.read_text(encoding="utf-8")
    return text.split("<!-- section: adapters -->", 1)[1].split("<!-- section:", 1)[0]


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", adapters_section(), flags=re.S)


@pytest.fixture
def cellwise():
    """Execute the README's user adapter (it registers itself) and unregister it afterwards."""
    (example,) = [block for block in python_blocks() if "class CellwiseAdapter(Adapter)" in block]
    assert len(example.strip().splitlines()) < 30
    module = types.ModuleType("readme_cellwise")  # a user's module: dataclasses look their module up
    sys.modules[module.__name__] = module
    try:
        exec(compile(example, str(README), "exec"), module.__dict__)
        yield module.CellwiseAdapter
    finally:
        if "cellwise" in ADAPTERS:
            ADAPTERS.unregister("cellwise")
        sys.modules.pop(module.__name__, None)


def test_readme_user_adapter_registers_learns_and_resumes(cellwise):
    assert "cellwise" in adapters.names()
    data = DataSpec((4, 4), 3)
    model = adapters.build("cellwise", data, seed=0, lr="0.2")  # strings are coerced like CLI knobs
    assert isinstance(model, cellwise) and model.config.lr == 0.2
    batch = torch.full((8, 4, 4), 2)
    losses = [model.train_step(batch) for _ in range(30)]
    assert losses[-1] < losses[0] / 5
    samples = model.sample(200, torch.Generator().manual_seed(0))
    assert samples.shape == (200, 4, 4) and samples.dtype == torch.long and (samples == 2).float().mean() > 0.9
    state = model.state_dict()
    fresh = adapters.build("cellwise", data, seed=1, lr=0.2)
    fresh.load_state_dict(state)
    assert model.train_step(batch) == fresh.train_step(batch)
    assert torch.equal(model.sample(50, torch.Generator().manual_seed(3)), fresh.sample(50, torch.Generator().manual_seed(3)))


def test_readme_usage_snippet_runs():
    (usage,) = [block for block in python_blocks() if 'adapters.build("dit"' in block]
    exec(compile(usage.replace("depth=6", "depth=1").replace("512", "4"), str(README), "exec"), {"__name__": "readme_usage"})


@pytest.fixture
def mlp_edm():
    """Execute the README's tier example (it registers itself) and unregister it afterwards."""
    (example,) = [block for block in python_blocks() if "EDMAdapter" in block and "@register_adapter" in block]
    assert len([line for line in example.strip().splitlines() if line.strip()]) <= 16  # "about 15 lines"
    module = types.ModuleType("readme_mlp_edm")
    sys.modules[module.__name__] = module
    try:
        exec(compile(example, str(README), "exec"), module.__dict__)
        yield module.MLPDenoiser
    finally:
        if "mlp_edm" in ADAPTERS:
            ADAPTERS.unregister("mlp_edm")
        sys.modules.pop(module.__name__, None)


def test_readme_tier_example_trains_samples_resumes_and_denoises(mlp_edm):
    data = DataSpec((3, 3), 2)
    model = adapters.build("mlp_edm", data, seed=0, hidden="64", lr=3e-3, batch_size=16, ema=True, ema_decay=0.9)
    assert isinstance(model, mlp_edm) and isinstance(model, adapters.Denoiser) and model.config.hidden == 64
    target = torch.tensor([[1, 0, 1], [0, 0, 1], [1, 1, 0]])
    for _ in range(150):
        model.train_step(target.expand(16, 3, 3))
    samples = model.sample(64, torch.Generator().manual_seed(0))
    assert (samples == target).all(dim=(1, 2)).float().mean() > 0.9  # one training sample: it learns to copy it
    resumed = adapters.build("mlp_edm", data, seed=1, hidden=64, lr=3e-3, batch_size=16, ema=True, ema_decay=0.9)
    resumed.load_state_dict(model.state_dict())
    assert model.train_step(target.expand(16, 3, 3)) == resumed.train_step(target.expand(16, 3, 3))
    assert torch.equal(model.sample(20, torch.Generator().manual_seed(3)), resumed.sample(20, torch.Generator().manual_seed(3)))


def test_readme_hf_causal_lm_commands_resolve_and_pass_the_dry_run(tmp_path, capsys):
    from benchmark import cli

    commands = [line for block in re.findall(r"```bash\n(.*?)```", adapters_section(), flags=re.S) for line in block.splitlines() if "hf_causal_lm:" in line]
    assert len(commands) == 2
    for command in commands:
        argv = command.split()[3:]  # drop "python -m benchmark"
        assert cli.main([*argv, "--dry-run", "--output", str(tmp_path / "runs")]) == 0
    listed = capsys.readouterr().out
    assert listed.count("hf-causal-lm_parity") == 3  # one run, then two values of rope_theta swept
