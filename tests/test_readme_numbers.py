"""The README's default-job clocks are what the code produces (docs that stay true).

This reruns the packaged default job (two runs side by side, one torch thread each: under a minute on 2
idle cores) and compares its clocks with the README's generated block. It is in the default suite on
purpose: a protocol or model change that moves the clocks must fail CI until
`python tools/readme_numbers.py --write` has regenerated the README. On another CPU model, torch build or
CPU capability than the block names it skips, saying why: the clocks are only identical on the same one.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _tool():
    """tools/readme_numbers.py as an importable module: its spawned workers unpickle `_run_one` by module name."""
    if str(ROOT / "tools") not in sys.path:
        sys.path.insert(0, str(ROOT / "tools"))  # spawn hands sys.path to the workers
    return importlib.import_module("readme_numbers")


def test_the_readme_block_names_its_reference_and_every_default_job_run() -> None:
    tool = _tool()
    block = tool.read_block("default-job")
    measured_on = tool.reference(block)
    assert measured_on.cpu and measured_on.torch and measured_on.cpu_capability
    labels = {label for label, _ in tool.clocks_table(block)}
    specs = tool.default_job_specs()
    assert len(labels) == len(specs) and {f"`{spec.adapter.name}`" for spec in specs} == {label.split()[0] for label in labels}


def test_the_block_the_tool_writes_names_the_machine_it_ran_on() -> None:
    tool = _tool()
    row = {"adapter": "gpt", "size": "4×64", "n_train": 32, "tau_rule": "1", "tau_mem": "2", "window": "open", "steps_trained": 3, "max_steps": 4, "stopped_early": False}
    here = tool.this_machine()
    numbers = {"rows": [row], "cpu": here.cpu, "torch": here.torch, "cpu_capability": here.cpu_capability, "wall_time_s": 1.0, "load": (0.0, 0.0), "cores": 2}
    assert tool.reference(tool.default_job_block(numbers)) == here


def test_readme_default_job_clocks_match_the_code(tmp_path: Path) -> None:
    tool = _tool()
    block = tool.read_block("default-job")
    measured_on, here = tool.reference(block), tool.this_machine()
    if here != measured_on:
        pytest.skip(
            f"the README's clocks were measured on {measured_on.cpu} (torch {measured_on.torch}, {measured_on.cpu_capability}); this machine is "
            f"{here.cpu} (torch {here.torch}, {here.cpu_capability}), whose float kernels sum in another order, so its clocks may differ without anything being wrong"
        )
    measured = tool.clocks_table(tool.default_job_block(tool.measure_default_job(tmp_path)))
    assert measured == tool.clocks_table(block), (
        f"the README's default-job clocks {tool.clocks_table(block)} are not what the code gives {measured}: rerun `python tools/readme_numbers.py --write` and commit README.md"
    )
