"""The README's adapter section is true: its user adapter is complete, under 30 lines, and works through the registry."""

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
    (example,) = [block for block in python_blocks() if "@register_adapter" in block]
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
    (usage,) = [block for block in python_blocks() if "adapters.build(\"dit\"" in block]
    exec(compile(usage.replace("depth=6", "depth=1").replace("512", "4"), str(README), "exec"), {"__name__": "readme_usage"})
