"""leaderboard/study.py (study 3.0): the plan meets the issue's design, and the page's verdicts follow its rules on synthetic runs."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path

import pytest

from benchmark.analysis import paired
from benchmark.core.records import write_json_atomic
from benchmark.sweep import files as sweep

ROOT = Path(__file__).resolve().parent.parent
SPEC = importlib.util.spec_from_file_location("study3_cli", ROOT / "leaderboard" / "study.py")
study = importlib.util.module_from_spec(SPEC)
sys.modules["study3_cli"] = study
SPEC.loader.exec_module(study)

from study3 import design, page, rules  # noqa: E402  (study.py put leaderboard/ on the path)
from synthetic_records import make_record  # noqa: E402

KNOBS = {"gpt 4×64": ("gpt", {"depth": 4, "width": 64}), "llama 4×64": ("hf_causal_lm", {"model_type": "llama", "depth": 4, "width": 64}), "dit 4×64": ("dit", {"depth": 4, "width": 64})}


@pytest.fixture(scope="module")
def plan(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("plan")
    return study.make_plan(folder / "configs", folder / "PLAN.json") | {"_folder": str(folder)}


def test_the_committed_plan_is_what_the_tool_writes(plan: dict) -> None:
    """PLAN.json and configs/study3/ in the repository are byte for byte what `study.py plan` writes now."""
    folder = Path(plan["_folder"])
    if not study.PLAN.exists():
        pytest.skip("no committed plan in this checkout")
    assert (folder / "PLAN.json").read_text() == study.PLAN.read_text()
    for block in plan["blocks"]:
        assert (folder / "configs" / Path(block["config"]).name).read_bytes() == (ROOT / block["config"]).read_bytes()


def test_plan_meets_the_issue_design(plan: dict) -> None:
    """≥ 5 paired seeds per cell, finite N ≥ 2B only, τ_mem over ≥ 3 N spanning ≥ 8× for ≥ 2 models, blocks ≤ 90 min, about 15 worker-hours."""
    folder = Path(plan["_folder"])
    specs = {}
    for block in plan["blocks"]:
        expanded = sweep.expand(sweep.load_sweep(folder / "configs" / Path(block["config"]).name))
        assert [s.run_id for s in expanded] == [run["run_id"] for run in block["runs"]]
        assert block["wall_minutes"] <= design.PACK_MINUTES < design.BLOCK_MINUTES
        specs.update({s.run_id: s for s in expanded})
    assert len(specs) == plan["estimate"]["runs"] >= 100
    assert plan["estimate"]["worker_hours"] <= 16
    seeds: dict[str, set] = {}
    for block in plan["blocks"]:
        for run in block["runs"]:
            seeds.setdefault(run["cell"], set()).add(run["seed"])
    assert all(found == set(plan["seeds"]) and len(found) >= 5 for found in seeds.values())
    for spec in specs.values():
        assert spec.stream or spec.n_train >= 2 * spec.adapter.config["batch_size"], spec.run_id
        assert spec.protocol.theta_rule == 0.95 and spec.protocol.hold == 3  # the stop rule waits for the strictest setting
    ladders = plan["claims"][[c["key"] for c in plan["claims"]].index("C4a")]["ladders"]
    assert len(ladders) >= 2
    for names in ladders.values():
        ns = [int(name.rsplit("N=", 1)[1]) for name in names]
        assert len(ns) >= 3 and max(ns) / min(ns) >= 8
    budget = {cell["name"]: cell["max_steps"] for cell in plan["cells"]}
    c6 = plan["claims"][[c["key"] for c in plan["claims"]].index("C6")]["family"]
    names = {name for comparison in c6 for side in ("a", "b") for name in comparison[side].split(" | ")}
    assert len(names) == 8 and len({budget[name] for name in names}) == 1  # every model, both layouts, one budget at G = 3


def test_holm_can_reach_alpha_in_every_family(plan: dict) -> None:
    from benchmark.analysis.paired import smallest_p

    for claim in plan["claims"]:
        if claim["test"] == "sign":
            assert len(claim["family"]) * smallest_p(len(plan["seeds"])) <= plan["alpha"], claim["key"]


def test_the_stop_setting_settles_every_looser_one() -> None:
    """A curve that holds ≥ 0.95 for 3 evals has already fired and held at every (θ, hold) of the grid: read on random curves."""
    import numpy as np

    from benchmark.run.clocks import first_held_index

    rng = np.random.default_rng(0)
    for _ in range(2000):
        q = np.clip(np.cumsum(rng.normal(0.05, 0.1, 30)), 0, 1)
        strict = first_held_index(q, 0.95, 3)
        if strict is None:
            continue
        for theta in (0.8, 0.9, 0.95):
            for hold in (1, 2, 3):
                loose = first_held_index(q[: strict + 3], theta, hold)
                assert loose is not None and loose + hold <= strict + 3


# --- the page on synthetic runs ---------------------------------------------------------------------------

STEPS = sorted({0, *(int(round(10 ** (k / 8))) for k in range(1, 30))})  # 1 … 5623, log-spaced, distinct


def _write_run(root: Path, model: str, G: int, n, seed: int, q_at, mem_step: float | None = None, max_steps: int = 3600) -> str:
    """A run whose q follows q_at(step) and whose copies start at mem_step (None: never)."""
    adapter, knobs = KNOBS[model]
    record = make_record(None, None, seed=seed, n_train=n, G=G, adapter=adapter, adapter_knobs=knobs, max_steps=max_steps)
    chance = record.task["chance_valid"]
    rows = []
    for step in [s for s in STEPS if s <= max_steps]:
        q = q_at(step)
        raw = chance + q * (1 - chance)
        mem = 0.0 if n == "stream" or mem_step is None or step < mem_step else 0.5
        rows.append(
            {
                "step": step,
                "samples": 512,
                "noncopy_count": 512,
                "noncopy_valid": raw,
                "noncopy_valid_norm": q,
                "mem_excess": None if n == "stream" else mem,
                "copy_excess_near": None if n == "stream" else mem,
                "novel_valid": raw * (1 - mem),
            }
        )
    folder = root / record.run_id
    folder.mkdir(parents=True)
    write_json_atomic(folder / "record.json", record.to_dict())
    (folder / "metrics.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    return record.run_id


def _step(at: float, level: float = 1.0):
    return lambda step: level if step >= at else 0.0


def test_no_records_renders_the_planned_page(plan: dict, tmp_path: Path) -> None:
    text = study.render(plan, tmp_path / "absent")
    assert "planned, not run" in text
    for block in plan["blocks"]:
        assert f"| {block['name']} |" in text
    for claim in plan["claims"]:
        assert f"**{claim['key']}**" in text


def test_c1_reproduced_when_g3_is_later_in_every_pair(plan: dict, tmp_path: Path) -> None:
    for model in ("gpt 4×64", "llama 4×64"):
        for seed in plan["seeds"]:
            _write_run(tmp_path, model, 2, "stream", seed, _step(100 + seed))
            _write_run(tmp_path, model, 3, "stream", seed, _step(1000 + seed))
    text = study.render(plan, tmp_path, _explained(plan))
    line = next(row for row in text.splitlines() if row.startswith("| **C1**"))
    assert "**reproduced**" in line and "fragile" not in line
    assert "not in the plan" in text or "spec differs" in text  # synthetic specs are not the plan's
    assert "missing:" in text  # every planned run explained as given up: listed as a deviation with its reason


def test_c1_not_reproduced_when_reversed_and_fragile_when_theta_decides(plan: dict, tmp_path: Path) -> None:
    reversed_root, fragile_root = tmp_path / "reversed", tmp_path / "fragile"
    for model in ("gpt 4×64", "llama 4×64"):
        for seed in plan["seeds"]:
            _write_run(reversed_root, model, 2, "stream", seed, _step(1000 + seed))
            _write_run(reversed_root, model, 3, "stream", seed, _step(100 + seed))
            _write_run(fragile_root, model, 2, "stream", seed, _step(100 + seed, 0.85))  # G = 2 plateaus at q = 0.85
            _write_run(fragile_root, model, 3, "stream", seed, _step(1000 + seed))
    line = next(row for row in study.render(plan, reversed_root, _explained(plan)).splitlines() if row.startswith("| **C1**"))
    assert "**not reproduced**" in line
    text = study.render(plan, fragile_root, _explained(plan))
    line = next(row for row in text.splitlines() if row.startswith("| **C1**"))
    assert "**not reproduced**, *fragile*" in line  # at θ 0.9 G = 2 never fires: censored beyond G = 3's 1000
    grid = next(row for row in text.splitlines() if row.startswith("| C1 |")).strip("| ").split(" | ")[1:]
    assert grid == ["R", "R", "R", "NR", "NR", "NR", "NR", "NR", "NR"]  # θ 0.8 (hold 1, 2, 3): G = 2 fires at ~100


def _explained(plan: dict, but: frozenset[str] = frozenset()) -> dict[str, str]:
    """deviations.json explaining every planned run (except `but`): the synthetic records stand in for the whole study."""
    return {run["run_id"]: "synthetic test" for block in plan["blocks"] for run in block["runs"] if run["run_id"] not in but}


def test_a_claim_is_pending_until_every_planned_run_is_recorded_or_explained(plan: dict, tmp_path: Path) -> None:
    for model in ("gpt 4×64", "llama 4×64"):
        for seed in plan["seeds"]:
            _write_run(tmp_path, model, 2, "stream", seed, _step(100 + seed))
            _write_run(tmp_path, model, 3, "stream", seed, _step(1000 + seed))
    c1_cells = {"gpt 4×64 G=2 N=stream", "gpt 4×64 G=3 N=stream", "llama 4×64 G=2 N=stream", "llama 4×64 G=3 N=stream"}  # C1's family
    assert page.claim_cells(next(c for c in plan["claims"] if c["key"] == "C1")) == c1_cells
    c1_runs = [run["run_id"] for block in plan["blocks"] for run in block["runs"] if run["cell"] in c1_cells]
    assert len(c1_runs) == 4 * len(plan["seeds"])

    def c1_row(reasons: dict[str, str]) -> str:
        return next(row for row in study.render(plan, tmp_path, reasons).splitlines() if row.startswith("| **C1**"))

    assert f"| **pending** | 0 of its {len(c1_runs)} planned runs recorded |" in c1_row({})
    assert "**pending**" in c1_row(_explained(plan, but=frozenset(c1_runs[:1])))  # one C1 run unexplained is enough
    assert "**reproduced**" in c1_row(_explained(plan))
    others = [run["run_id"] for block in plan["blocks"] for run in block["runs"] if run["cell"] not in c1_cells]
    assert "**reproduced**" in c1_row(_explained(plan, but=frozenset(others)))  # other claims' runs do not hold C1
    text = study.render(plan, tmp_path, {})
    assert next(row for row in text.splitlines() if row.startswith("| C1 |")).count("| P") == 9


def test_predictions_are_scored_per_run(plan: dict, tmp_path: Path) -> None:
    """Seed s on the stream against seed s at N: rule at 300 against copying at 500 predicts open; at 700, closed."""
    for seed in plan["seeds"]:
        _write_run(tmp_path, "gpt 4×64", 3, "stream", seed, _step(300))
        _write_run(tmp_path, "gpt 4×64", 3, 128, seed, _step(300), mem_step=500 if seed < 4 else 200, max_steps=17000)
    text = study.render(plan, tmp_path)
    assert "Hit rate: 6 of 6 runs scored" in text
    rows = [row for row in text.splitlines() if row.startswith("| gpt 4×64 G=3 N=128 |")]
    assert len(rows) == 6 and sum("| open | open" in row for row in rows) == 4 and sum("| closed | closed" in row for row in rows) == 2


def test_a_clock_on_an_undecided_eval_is_listed(plan: dict, tmp_path: Path) -> None:
    _write_run(tmp_path, "gpt 4×64", 2, "stream", 0, lambda step: 0.9 if step >= 100 else 0.0)  # sits exactly on θ = 0.9
    _write_run(tmp_path, "gpt 4×64", 2, "stream", 1, _step(100))
    text = study.render(plan, tmp_path)
    assert "gpt 4×64 G=2 N=stream seed 0: τ_rule fired at an undecided eval" in text
    assert "seed 1: τ_rule fired at an undecided eval" not in text


def test_the_page_renders_the_same_twice_and_lists_time_and_cpu(plan: dict, tmp_path: Path) -> None:
    _write_run(tmp_path, "gpt 4×64", 2, "stream", 0, _step(100))
    first = study.render(plan, tmp_path)
    assert first == study.render(plan, tmp_path)
    assert "Worker time" in first and "CPU:" in first
    assert "| block01 | 0 of 12 | 80 | – | 160 | – |" in first  # a run the plan does not list counts in no block
    assert "(read at θ_rule 0.9, hold 2)" in first and "as the runs recorded them, at θ_rule 0.95, hold 3" in first  # which reading each companion shows


def test_each_block_shows_its_measured_time(plan: dict) -> None:
    import dataclasses

    block = plan["blocks"][1]
    base = make_record(100, None, seed=0, n_train="stream", G=2, adapter="gpt", adapter_knobs={"depth": 4, "width": 64})
    ends = ["2026-12-05T10:30:00Z", "2026-12-05T11:10:00Z"]  # 30 and 40 minutes long: the block ran 10:00–11:10
    runs = [dataclasses.replace(base, run_id=run["run_id"], created=end, wall_time_s=w) for run, end, w in zip(block["runs"], ends, [1800.0, 2400.0])]
    table = page.time_table(plan, runs)
    assert f"| {block['name']} | 2 of {len(block['runs'])} | {block['wall_minutes']:.0f} | 70 | {block['worker_minutes']:.0f} | 70 |" in table
    assert table[-1].startswith("Worker time 70 minutes in all; CPU: ")
    later = dataclasses.replace(runs[1], run_id=block["runs"][2]["run_id"], created="2026-12-06T09:20:00Z", wall_time_s=1200.0)  # the next day
    assert f"| {block['name']} | 3 of {len(block['runs'])} | {block['wall_minutes']:.0f} | 90 |" in "\n".join(page.time_table(plan, [*runs, later]))  # 70 + 20: no overnight gap


def test_design_checks_count_records_thin_cells_and_the_smallest_n_over_b(plan: dict) -> None:
    import dataclasses

    cells = len(plan["cells"])

    def run(seed: int, run_id: str):
        record = make_record(100, 200, seed=seed, n_train=128, G=3, adapter="gpt", adapter_knobs={"depth": 4, "width": 64}, max_steps=3600)
        return dataclasses.replace(record, run_id=run_id)

    four = [run(seed, f"r{seed}") for seed in range(4)]
    assert rules.cell_name(four[0]) in {cell["name"] for cell in plan["cells"]}
    checks = page.design_checks(plan, four)
    assert "- records: 4 (4 at protocol 2.0)" in checks
    assert f"- planned cells with fewer than 5 seeds recorded: {cells} of {cells} (100 %)" in checks  # 4 seeds: still thin
    assert "- smallest finite N over batch size B: 2" in checks  # N = 128, B = 64
    five = [*four, run(4, "r4"), run(0, "again")]  # a repeated seed counts once
    assert f"- planned cells with fewer than 5 seeds recorded: {cells - 1} of {cells} ({100 * (cells - 1) / cells:.0f} %)" in page.design_checks(plan, five)
    stream = make_record(100, None, seed=0, n_train="stream", G=2, adapter="gpt", adapter_knobs={"depth": 4, "width": 64})
    assert page.design_checks(plan, [stream])[-1] == "- smallest finite N over batch size B: no finite run"


def test_deviations_name_the_claims_they_touch(plan: dict) -> None:
    import dataclasses

    record = make_record(100, None, seed=9, n_train="stream", G=2, adapter="gpt", adapter_knobs={"depth": 4, "width": 64}, max_steps=3600)
    record = dataclasses.replace(record, environment={**record.environment, "two_clocks": plan["code_version"]})  # run with the planned code
    found = page.deviations(plan, [record], [], {record.run_id: "an extra seed, run by mistake"})
    extra = [d for d in found if record.run_id in d.what]
    assert extra and extra[0].claims == ("C1",) and extra[0].reason == "an extra seed, run by mistake"
    assert not any("code version" in d.what for d in found)
    older = dataclasses.replace(record, environment={**record.environment, "two_clocks": "0.0.9"})
    assert any("code version 0.0.9" in d.what for d in page.deviations(plan, [older], [], {}))
    assert not any(d.what.startswith("missing:") for d in found)  # not yet run: no reason given, so not a deviation
    given_up = {run["run_id"]: "crashed twice" for run in plan["blocks"][0]["runs"][:2]}
    missing = [d for d in page.deviations(plan, [record], [], given_up) if d.what.startswith("missing:")]
    assert len(missing) == 2 and {d.reason for d in missing} == {"crashed twice"}
    unrun = page.not_yet_run(plan, [record], given_up)
    assert unrun[0] == f"- block01: {len(plan['blocks'][0]['runs']) - 2} of {len(plan['blocks'][0]['runs'])} runs not yet recorded"
    assert len(unrun) == len(plan["blocks"]) and unrun[1].startswith("- block02: all ")


def test_cell_names_match_the_design() -> None:
    record = make_record(100, None, n_train=256, G=3, adapter="hf_causal_lm", adapter_knobs={"model_type": "llama", "depth": 4, "width": 64})
    assert rules.cell_name(record) == "llama 4×64 G=3 N=256"
    assert math.isclose(design.list_schedule([3, 2, 2], 2), 4)


def test_a_missing_plan_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert study.main(["--plan", str(tmp_path / "none.json")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no plan" in err


def test_readme_block_is_what_the_script_renders() -> None:
    """leaderboard/README.md's generated block is `study.py`'s output on the committed plan and records (byte for byte)."""
    import re

    if not study.PLAN.exists():
        pytest.skip("no committed plan in this checkout")
    block = re.search(r"<!-- generated: study3 .*?-->\n(.*?)\n<!-- /generated -->", study.README.read_text(), re.S)
    assert block is not None and block.group(1) == study.render(study.plan_module.load(study.PLAN), study.RUNS)


def test_an_open_window_whose_copying_never_started_is_a_bound_on_its_area() -> None:
    from benchmark.analysis.paired import Obs

    run = rules.RunValues("r", 0, Obs(100), Obs(17000, True), 1.5, "open", 1.0)
    assert rules._value(run, "area") == Obs(1.5, True)
    assert rules._value(rules.RunValues("r", 0, Obs(100), Obs(900), 1.5, "open", 1.0), "area") == Obs(1.5, False)


def test_median_of_censored_values_is_drawn_only_when_known() -> None:
    from study3.figures import _median

    fired = [paired.Obs(float(v), False) for v in (100, 300, 200)]
    assert _median(fired) == 200.0
    assert _median([*fired, paired.Obs(400.0, True)]) == 250.0  # the bound lies above the middle: the median is known
    assert _median([*fired, paired.Obs(150.0, True)]) is None  # '> 150' may lie above 200: unknown
    assert _median([]) is None


def test_write_companions_draws_the_figures_and_the_board_the_same_twice(plan: dict, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    runs = tmp_path / "runs"
    for seed in range(3):
        _write_run(runs, "gpt 4×64", 3, 128, seed, _step(300 + 10 * seed), mem_step=800 + 100 * seed)
        _write_run(runs, "gpt 4×64", 3, 256, seed, _step(300 + 10 * seed), mem_step=1800 + 100 * seed)
        _write_run(runs, "gpt 4×64", 3, "stream", seed, _step(300 + 10 * seed))
    first, second = tmp_path / "a", tmp_path / "b"
    written = study.write_companions(plan, runs, first)
    assert written == study.write_companions(plan, runs, second) > 2
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert Path("figures/tau_mem_vs_n.png") in files and Path("figures/tau_rule_stream.png") in files and Path("leaderboard.md") in files
    for name in files:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    assert (first / "figures/tau_mem_vs_n.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_c3c_says_why_a_cell_has_no_prediction() -> None:
    run = rules.RunValues("r0", 0, paired.Obs(300.0, False), paired.Obs(900.0, False), 1.0, "open", 1.0)
    cells = {"gpt 4×64 G=3 N=128": [run]}
    outcome = rules.c3c("C3c", cells, {}, {"gpt 4×64 G=3 N=128": "gpt 4×64 G=3 N=stream"})
    assert outcome.lines == ("gpt 4×64 G=3 N=128: no prediction (no run paired with a gpt 4×64 G=3 N=stream seed yet)",)
    outcome = rules.c3c("C3c", cells, {"gpt 4×64 G=3 N=stream": [run]}, {"gpt 4×64 G=3 N=128": "gpt 4×64 G=3 N=stream"})
    assert outcome.lines[0] == "gpt 4×64 G=3 N=128: no prediction (per run: open)"  # one run cannot make the 5-of-6 call
