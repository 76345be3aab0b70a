"""Study 3.0: write its pre-registered plan, then render its page from the plan and the records in leaderboard/runs.

    python leaderboard/study.py plan         # write configs/study3/block*.yaml and PLAN.json (commit them alone, before any run)
    python leaderboard/study.py              # print the page's generated block: deviations, claims, sensitivity, predictions
    python leaderboard/study.py --write      # ... rewrite it in leaderboard/README.md; write leaderboard.md/.json and figures/

Study 2.0 (protocol 2.0, 69 runs) is in v2/ with its own study.py; the protocol-1.0 study in v1/.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(HERE)]

from study3 import design, figures, page  # noqa: E402
from study3 import plan as plan_module  # noqa: E402

from benchmark.core.records import RecordError, load_records  # noqa: E402
from benchmark.core.version import __version__  # noqa: E402
from benchmark.run.rundir import load_metrics  # noqa: E402
from benchmark.run.spec import PROTOCOL_VERSION  # noqa: E402
from benchmark.sweep import files as sweep  # noqa: E402

RUNS = HERE / "runs"
CONFIGS = HERE / "configs" / "study3"
PLAN = HERE / plan_module.PLAN_FILE
README = HERE / "README.md"
V2_RUNS = HERE / "v2" / "runs"
REASONS = HERE / "deviations.json"  # optional: {run_id: why it deviates}, written by whoever runs the blocks
BLOCK = "study3"


def make_plan(configs: Path = CONFIGS, path: Path = PLAN) -> dict:
    """Pack the design into blocks, write their sweep files and the plan (rates measured from study 2.0's records)."""
    v2 = load_records([V2_RUNS])
    rates = design.measured_rates((r, len(load_metrics(V2_RUNS / r.run_id))) for r in v2)
    measured = design.study2(v2)
    cells = design.cells(measured)
    blocks = design.pack(cells, rates)
    hashes = design.write_sweeps(blocks, configs, "leaderboard/runs")
    run_ids = {block.name: [spec.run_id for spec in sweep.expand(sweep.load_sweep(configs / f"{block.name}.yaml"))] for block in blocks}
    plan = plan_module.build(cells, measured, blocks, hashes, run_ids, rates, __version__, PROTOCOL_VERSION)
    plan_module.write(plan, path)
    return plan


def render(plan: dict, runs: Path, reasons: dict[str, str] | None = None) -> str:
    """The generated block of README.md: the planned page with no records, else the results checked against the plan.

    `reasons` ({run_id: why}, default: deviations.json) explains deviations; a planned run it names no longer holds its claims pending.
    """
    records = load_records([runs]) if runs.is_dir() and any(runs.glob("*/record.json")) else []
    commit, amended = page.plan_commit(ROOT), page.plan_amendments(ROOT)
    if not records:
        return page.planned_page(plan, commit, amended)
    rows = {r.run_id: load_metrics(runs / r.run_id) for r in records}
    missing = sorted(run_id for run_id, found in rows.items() if not found)
    rows = {run_id: found for run_id, found in rows.items() if found}
    if reasons is None:
        reasons = json.loads(REASONS.read_text()) if REASONS.exists() else {}
    found = page.deviations(plan, records, missing, reasons)
    return page.results_page(plan, records, rows, found, commit, amended, reasons)


def write_companions(plan: dict, runs: Path, out: Path = HERE) -> int:
    """With records: leaderboard.md/.json of the study's runs, its two figures and each run's curves, under `out`; returns the figures written."""
    records = load_records([runs]) if runs.is_dir() and any(runs.glob("*/record.json")) else []
    if not records:
        return 0
    from benchmark.report import leaderboard, plots

    leaderboard.write(leaderboard.build(records), out / "leaderboard.md", out / "leaderboard.json")
    rows = {r.run_id: load_metrics(runs / r.run_id) for r in records}
    cells = page.read_cells(records, {k: v for k, v in rows.items() if v}, plan_module.PRIMARY)
    return len(figures.write_all(plan, cells, out, plan_module.PRIMARY)) + len(plots.plot_all([runs], out / "figures"))


def replace_block(text: str, body: str) -> str:
    pattern = re.compile(rf"(<!-- generated: {BLOCK} .*?-->\n).*?(<!-- /generated -->)", re.S)
    if not pattern.search(text):
        raise SystemExit(f"{README}: no '<!-- generated: {BLOCK} ... -->' block")
    return pattern.sub(lambda m: m.group(1) + body + "\n" + m.group(2), text)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("step", nargs="?", choices=["plan", "render"], default="render", help="plan: write the plan; render (default): the page")
    parser.add_argument("--runs", default=str(RUNS), help="folder of run folders (default: leaderboard/runs)")
    parser.add_argument("--plan", default=str(PLAN), help="the plan file (default: leaderboard/PLAN.json)")
    parser.add_argument("--write", action="store_true", help="rewrite README.md's generated block")
    args = parser.parse_args(argv)
    if args.step == "plan":
        plan = make_plan(path=Path(args.plan))
        print(f"wrote {args.plan} and {len(plan['blocks'])} sweep files in {CONFIGS}: {plan['estimate']['runs']} runs, about {plan['estimate']['worker_hours']:.1f} worker-hours", file=sys.stderr)
        return 0
    try:
        plan = plan_module.load(Path(args.plan))
    except FileNotFoundError:
        print(f"error: {args.plan}: no plan; write it first with `python leaderboard/study.py plan`", file=sys.stderr)
        return 2
    try:
        body = render(plan, Path(args.runs))
    except RecordError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(body)
    if args.write:
        README.write_text(replace_block(README.read_text(), body))
        written = write_companions(plan, Path(args.runs))
        print(f"wrote {README}" + (f", leaderboard.md, leaderboard.json and {written} figures" if written else ""), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
