"""Sweeps: component syntax, YAML files, flags over files, expansion into validated run specs."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmark.core.config import ConfigError
from benchmark.core.registry import RegistryError
from benchmark.sweep import files as sweep
from benchmark.sweep.files import Choice, Overrides, SweepError


def test_choice_syntax_sweeps_values_and_separates_knobs() -> None:
    choice = sweep.parse_choice("parity:G=2,4,height=6")
    assert choice == Choice("parity", (("G", ("2", "4")), ("height", ("6",))))
    assert choice.combinations() == [{"G": "2", "height": "6"}, {"G": "4", "height": "6"}]
    assert sweep.parse_choice("gpt") == Choice("gpt")
    assert sweep.parse_choice("dit:depth=4,width=128").combinations() == [{"depth": "4", "width": "128"}]
    for bad, message in (("parity:2", "expected knob=value"), (":G=2", "has no name"), ("parity:G=2,G=4", "given twice")):
        with pytest.raises(SweepError, match=message):
            sweep.parse_choice(bad, "--tasks")


def test_yaml_blocks_inherit_the_top_level_and_merge_protocol_knobs(tmp_path: Path) -> None:
    path = tmp_path / "sweep.yaml"
    path.write_text(
        "tasks: ['parity:G=2,3']\nseeds: [0, 1]\nprotocol: {max_steps: 50, eval_points: 5}\ninclude: plugin.py\n"
        "sweeps:\n  - adapters: [oracle]\n    n: [8]\n  - adapters: [{memorizer: {batch_size: [16, 32]}}]\n    n: 4\n    protocol: {max_steps: 20}\n"
    )
    loaded = sweep.load_sweep(path)
    assert loaded.include == (str(tmp_path / "plugin.py"),)  # relative to the file
    first, second = loaded.blocks
    assert first.n == (8,) and first.seeds == (0, 1) and dict(first.protocol) == {"max_steps": 50, "eval_points": 5}
    assert second.adapters == (Choice("memorizer", (("batch_size", (16, 32)),)),)
    assert dict(second.protocol) == {"max_steps": 20, "eval_points": 5}
    specs = sweep.expand(loaded)
    # block 1: 2 G × 1 adapter × 1 N × 2 seeds; block 2: 2 G × 2 batch sizes × 1 N × 2 seeds
    assert len(specs) == 4 + 8
    assert {s.protocol.max_steps for s in specs if s.adapter.name == "memorizer"} == {20}
    assert {s.adapter.config["batch_size"] for s in specs if s.adapter.name == "memorizer"} == {16, 32}
    assert {s.task.config["G"] for s in specs} == {2, 3}


def test_flags_override_the_file(tmp_path: Path) -> None:
    path = tmp_path / "sweep.yaml"
    path.write_text("tasks: [parity]\nadapters: [oracle, uniform]\nn: [8]\nseeds: [0]\noutput: from_file\n")
    flags = Overrides(
        tasks=("parity:G=3",),
        adapter_args=("uniform:batch_size=8,16",),
        n=(4, 8),
        seeds=(1,),
        protocol={"max_steps": 10},
        output="from_flags",
        jobs=2,
    )
    plan = sweep.apply_overrides(sweep.load_sweep(path), flags)
    assert (plan.output, plan.jobs, plan.backend) == ("from_flags", 2, "local")
    specs = sweep.expand(plan)
    assert len(specs) == (1 + 2) * 2  # oracle + uniform at 2 batch sizes, × 2 N, × 1 seed
    assert {s.task.config["G"] for s in specs} == {3} and {s.seed for s in specs} == {1}
    assert {s.protocol.max_steps for s in specs} == {10}
    with pytest.raises(SweepError, match="--adapter-args names 'gpt', which is not in the sweep"):
        sweep.apply_overrides(sweep.load_sweep(path), Overrides(adapter_args=("gpt:depth=4",)))


def test_expand_resolves_every_spec_and_drops_duplicates() -> None:
    plan = sweep.Sweep(blocks=(sweep.Block(tasks=(Choice("parity", (("G", ("2", 2)),)),), adapters=(Choice("oracle"),), n=(8,), seeds=(0, 0)),))
    specs = sweep.expand(plan)
    assert len(specs) == 1 and specs[0].task.config["G"] == 2  # '2' and 2 resolve to the same run


def test_expand_rejects_bad_input_before_anything_runs() -> None:
    def plan(task: str = "parity", adapter: str = "oracle", n: int = 8) -> sweep.Sweep:
        return sweep.Sweep(blocks=(sweep.Block(tasks=(sweep.parse_choice(task),), adapters=(sweep.parse_choice(adapter),), n=(n,)),))

    with pytest.raises(RegistryError, match="did you mean 'parity'"):
        sweep.expand(plan(task="parityy"))
    with pytest.raises(RegistryError, match="did you mean 'oracle'"):
        sweep.expand(plan(adapter="orcale"))
    with pytest.raises(ConfigError, match="ParityConfig.G must be a divisor"):
        sweep.expand(plan(task="parity:G=5"))
    with pytest.raises(ConfigError, match="unknown knob 'g'"):
        sweep.expand(plan(task="parity:g=2"))
    with pytest.raises(ConfigError, match="n_train must be at most the number of valid samples"):
        sweep.expand(plan(task="parity:height=2,width=2", n=5))  # 2x2, G=2: 4 valid grids
    with pytest.raises(SweepError, match="no training-set sizes"):
        sweep.expand(sweep.Sweep(blocks=(sweep.Block(tasks=(Choice("parity"),), adapters=(Choice("oracle"),)),)))


def test_smoke_caps_steps_and_samples_and_changes_the_run_id(monkeypatch: pytest.MonkeyPatch) -> None:
    caps = sweep.SMOKE_LIMITS
    below = caps["eval_points"] - 1  # a value already under its cap stays
    plan = sweep.Sweep(blocks=(sweep.Block(tasks=(Choice("parity"),), adapters=(Choice("oracle"),), n=(8,), protocol=(("max_steps", 5000), ("eval_points", below))),))
    (full,) = sweep.expand(plan)
    (smoke,) = sweep.expand(plan, smoke=True)
    assert (smoke.protocol.max_steps, smoke.protocol.eval_points, smoke.protocol.eval_samples) == (caps["max_steps"], below, caps["eval_samples"])
    assert caps["max_steps"] < 5000 and caps["eval_samples"] < full.protocol.eval_samples
    assert smoke.run_id != full.run_id
    monkeypatch.setenv(sweep.SMOKE_ENV, "1")
    assert sweep.smoke_enabled()
    monkeypatch.setenv(sweep.SMOKE_ENV, "0")
    assert not sweep.smoke_enabled() and sweep.smoke_enabled(True)


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("tasks: [parity\n")
    with pytest.raises(SweepError, match=r"bad.yaml: malformed YAML \(line \d+, column \d+\)"):
        sweep.load_sweep(bad)
    with pytest.raises(SweepError, match="missing.yaml: cannot read sweep file"):
        sweep.load_sweep(tmp_path / "missing.yaml")
    typo = tmp_path / "typo.yaml"
    typo.write_text("task: [parity]\n")
    with pytest.raises(SweepError, match="typo.yaml: unknown key task; did you mean 'tasks'"):
        sweep.load_sweep(typo)
    negative = tmp_path / "negative.yaml"
    negative.write_text("n: [-1]\n")
    with pytest.raises(SweepError, match="negative.yaml: n must be a positive integer"):
        sweep.load_sweep(negative)
    listing = tmp_path / "list.yaml"
    listing.write_text("- parity\n")
    with pytest.raises(SweepError, match="list.yaml: expected a mapping"):
        sweep.load_sweep(listing)


def test_default_job_is_packaged_and_names_the_bundled_models_at_small_n() -> None:
    job = sweep.load_sweep(None)
    adapters = {choice.name: block.n for block in job.blocks for choice in block.adapters}
    assert set(adapters) == {"dit", "gpt"}
    assert all(max(n) <= 64 for n in adapters.values())
    assert {choice.name for block in job.blocks for choice in block.tasks} == {"parity"}
