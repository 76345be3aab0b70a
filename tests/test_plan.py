"""The planning stage: one validated, frozen Plan per sweep before anything trains; 0.1-style plugins refused in one line."""

from __future__ import annotations

import dataclasses
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmark import api
from benchmark.core.adapter import DataSpec
from benchmark.report import trackers
from benchmark.sweep import backends, files
from benchmark.sweep.files import Overrides, SweepError
from benchmark.sweep.plan import Plan, TrackerHooks, make_plan, plan_runs

ROOT = Path(__file__).resolve().parents[1]

LEGACY_PLUGIN = '''
"""A 0.1-style adapter: `check_data` is an instance method calling super() with the data only."""
import torch

from adapters import Adapter, register_adapter


@register_adapter("legacy_marginals")
class LegacyMarginals(Adapter):
    """Uniform samples; refuses tasks with more than 8 symbols."""

    def check_data(self, data):
        super().check_data(data)
        if data.num_symbols > 8:
            raise ValueError("legacy_marginals models at most 8 symbols")

    def train_step(self, batch):
        return 0.0

    def sample(self, n, generator):
        return torch.randint(0, self.data.num_symbols, (n, *self.data.shape), generator=generator)

    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        pass
'''
FIXED_PLUGIN = LEGACY_PLUGIN.replace(
    "    def check_data(self, data):\n        super().check_data(data)",
    "    @classmethod\n    def check_data(cls, config, data):\n        super().check_data(config, data)",
)


def test_a_plan_holds_every_run_checked_with_its_resolved_configs(tmp_path: Path) -> None:
    overrides = Overrides(tasks=("parity:G=2,2",), adapters=("oracle", "uniform:batch_size=8"), n=(8, 16), seeds=(0,), protocol={"eval_samples": 64}, output=str(tmp_path / "runs"))
    plan = api.plan_sweep(None, overrides, create_output=False)
    assert isinstance(plan, Plan) and api.Plan is Plan
    assert len(plan.runs) == 4  # G=2 given twice is one run; 2 adapters × 2 N
    assert plan.specs == tuple(run.spec for run in plan.runs) and len(set(plan.specs)) == 4
    assert not (tmp_path / "runs").exists()  # a dry run creates nothing
    for run in plan.runs:
        assert run.task_config.to_dict() == run.spec.task.config
        assert run.adapter_config.to_dict() == run.spec.adapter.config
        assert run.data == DataSpec((6, 6), 2)  # parity's default grid, binary
        assert run.sample_bytes == (2 * run.spec.n_train + 8 * 64) * math.prod(run.data.shape)
    assert {run.adapter_config.batch_size for run in plan.runs if run.spec.adapter.name == "uniform"} == {8}
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.backend = "ray"  # type: ignore[misc]
    assert plan.output == Path(plan.options.output) and plan.output.is_absolute()


def test_the_plan_creates_the_output_folder_and_carries_the_tracker_builder(tmp_path: Path) -> None:
    plan = api.plan_sweep(None, Overrides(tasks=("parity",), adapters=("oracle",), n=(8,), output=str(tmp_path / "runs")), report_to=["jsonl"])
    assert (tmp_path / "runs").is_dir()
    assert plan.options.report_to == ("jsonl",) and plan.options.build_trackers is trackers.build_all
    with pytest.raises(SweepError, match="no tracker hooks"):
        make_plan(None, Overrides(tasks=("parity",), adapters=("oracle",), n=(8,)), report_to=["jsonl"], create_output=False)
    hooks = TrackerHooks(check=trackers.check, build=trackers.build_all)
    with pytest.raises(trackers.TrackerError, match="no_such_tracker"):
        make_plan(None, Overrides(tasks=("parity",), adapters=("oracle",), n=(8,)), report_to=["no_such_tracker"], trackers=hooks, create_output=False)


def test_backends_are_listed_once() -> None:
    assert files.BACKENDS is backends.BACKENDS == ("local", "ray")
    sweep = files.Sweep(blocks=(files.Block(tasks=(files.Choice("parity"),), adapters=(files.Choice("oracle"),), n=(8,)),), backend="slurm")
    with pytest.raises(SweepError, match="backend must be one of local, ray, got 'slurm'"):
        plan_runs(sweep)


def test_expand_is_the_plans_specs() -> None:
    sweep = files.Sweep(blocks=(files.Block(tasks=(files.Choice("parity", (("G", (2, 3)),)),), adapters=(files.Choice("memorizer"),), n=(8,), seeds=(0, 1)),))
    assert files.expand(sweep) == [run.spec for run in plan_runs(sweep)]
    assert len(files.expand(sweep)) == 4


def _cli(tmp_path: Path, plugin: str, *extra: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "plugin.py").write_text(plugin)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-m", "benchmark", "run", "--include", "plugin.py", "--tasks", "parity:G=2", "--adapters", "legacy_marginals", "--n", "8", "--output", "runs", *extra]
    return subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("extra", [("--dry-run",), ("--max-steps", "10", "--eval-samples", "64", "--quiet")], ids=["dry-run", "run"])
def test_a_0_1_style_check_data_is_refused_in_one_line_before_training(tmp_path: Path, extra: tuple[str, ...]) -> None:
    result = _cli(tmp_path, LEGACY_PLUGIN, *extra)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: adapter 'legacy_marginals' (")
    assert "check_data(self, data) is the 0.1 form" in line and "@classmethod def check_data(cls, config, data)" in line and "super().check_data(config, data)" in line
    assert not list((tmp_path / "runs").glob("*/spec.json"))  # refused before any run folder was made


def test_the_fix_the_message_names_runs(tmp_path: Path) -> None:
    result = _cli(tmp_path, FIXED_PLUGIN, "--max-steps", "10", "--eval-samples", "64", "--quiet")
    assert result.returncode == 0, result.stderr
    assert len(list((tmp_path / "runs").glob("*/record.json"))) == 1
    refused = _cli(tmp_path, FIXED_PLUGIN, "--dry-run", "--tasks", "sudoku:order=9")  # the later --tasks wins
    assert refused.returncode == 2 and "legacy_marginals models at most 8 symbols" in refused.stderr  # its own check_data still runs


def test_a_0_1_style_adapter_built_directly_is_refused_with_the_same_line() -> None:
    from adapters.baselines import UniformAdapter
    from benchmark.core.adapter import AdapterConfig
    from benchmark.core.config import ConfigError

    class Legacy(UniformAdapter):
        def check_data(self, data):  # type: ignore[override]  # the 0.1 form under test
            super().check_data(data)

    class Child(Legacy):  # inherits the 0.1 form: refused too
        pass

    for adapter_class in (Legacy, Child):
        with pytest.raises(ConfigError, match=r"Legacy: check_data\(self, data\) is the 0\.1 form; since 1\.0 check_data is a classmethod"):
            adapter_class(AdapterConfig(), DataSpec((2, 2), 2))
    UniformAdapter(AdapterConfig(), DataSpec((2, 2), 2))  # the classmethod form builds
