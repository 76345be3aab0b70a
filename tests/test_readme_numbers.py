"""The README's default-job clocks are what the code produces (docs that stay true).

This reruns the packaged default job (two runs side by side, one torch thread each: about 1.5 min on 2
idle cores) and compares its clocks with the README's generated block. It is in the default suite on
purpose: a protocol or model change that moves the clocks must fail CI until
`python tools/readme_numbers.py --write` has regenerated the README.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent


def _tool():
    """tools/readme_numbers.py as an importable module: its spawned workers unpickle `_run_one` by module name."""
    if str(ROOT / "tools") not in sys.path:
        sys.path.insert(0, str(ROOT / "tools"))  # spawn hands sys.path to the workers
    return importlib.import_module("readme_numbers")


def test_the_readme_block_names_its_reference_and_every_default_job_run() -> None:
    tool = _tool()
    block = tool.read_block("default-job")
    assert tool.reference(block)[0] and tool.reference(block)[1]
    labels = {label for label, _ in tool.clocks_table(block)}
    specs = tool.default_job_specs()
    assert len(labels) == len(specs) and {f"`{spec.adapter.name}`" for spec in specs} == {label.split()[0] for label in labels}


def test_readme_default_job_clocks_match_the_code(tmp_path: Path) -> None:
    tool = _tool()
    block = tool.read_block("default-job")
    torch_version, capability = tool.reference(block)
    here = (torch.__version__.split("+")[0], torch.backends.cpu.get_cpu_capability())
    if here != (torch_version, capability):
        pytest.skip(
            f"the README's clocks were measured on torch {torch_version} with CPU capability {capability}; this machine has torch "
            f"{here[0]} with {here[1]}, whose float kernels round differently, so its clocks may differ without anything being wrong"
        )
    measured = tool.clocks_table(tool.default_job_block(tool.measure_default_job(tmp_path)))
    assert measured == tool.clocks_table(block), (
        f"the README's default-job clocks {tool.clocks_table(block)} are not what the code gives {measured}: rerun `python tools/readme_numbers.py --write` and commit README.md"
    )
