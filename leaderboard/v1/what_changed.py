"""Print the numbers leaderboard/v1/README.md quotes: what protocol 1.0 measured, and what 2.0's clocks read on the same curves.

python leaderboard/v1/what_changed.py        (from the repository root; reads runs/ and reclocked/ beside this file)
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from pathlib import Path

from benchmark.analysis.stats import median_coverage
from benchmark.core.display import count_text
from benchmark.core.records import load_records
from benchmark.run.rundir import read_eval_rows

ROOT = Path(__file__).resolve().parent


def cell_of(record) -> tuple:
    return (record.adapter_name, record.adapter_config["depth"], record.task_config["G"], record.n_train)


def at_v1_rule_clock() -> None:
    """Where 1.0's τ_rule fired: the median share of copies and of novel valid samples at that eval, per G ≥ 3 cell."""
    print("1. At the eval where protocol 1.0's tau_rule fired (G >= 3 cells, depth 4; medians over the seeds where it fired):")
    cells = defaultdict(list)
    for record in load_records([ROOT / "runs"]):
        clock = record.clocks["tau_rule"]
        if record.task_config["G"] < 3 or clock.censored or record.adapter_config["depth"] != 4:
            continue
        rows = read_eval_rows(ROOT / "runs" / record.run_id)
        fired = next(row for row in rows if row.step >= clock.step)
        cells[cell_of(record)].append((fired.mem, fired.novel_valid))
    mems, novels = [], []
    for cell, values in sorted(cells.items()):
        mem = statistics.median(v[0] for v in values)
        novel = statistics.median(v[1] for v in values)
        mems.append(mem)
        novels.append(novel)
        print(f"   {cell[0]} {cell[1]}x64 G={cell[2]} N={cell[3]}: {count_text(len(values), 'seed')}, mem {mem:.2f}, novel_valid {novel:.2f}")
    print(f"   range over cells: mem {min(mems):.2f}-{max(mems):.2f}, novel_valid {min(novels):.2f}-{max(novels):.2f}")


def coverage() -> None:
    print("\n2. Coverage of [min, max] of n seeds as an interval for the median: 1 - 2 * 0.5^n")
    for n in (3, 5, 7):
        print(f"   n = {n}: {median_coverage(n, 1):.4f}")


def full_batch() -> None:
    records = load_records([ROOT / "runs"])
    print(f"\n3. Runs with N <= batch size (full-batch): {sum(int(r.n_train) <= r.batch_size for r in records)} of {len(records)}")


def status_changes() -> None:
    """Per cell: 1.0's window status against the status 2.0's clocks read on the same curves."""
    print("\n4. Window status per cell, protocol 1.0 -> 2.0 clocks on the same curves (counts over seeds):")
    v1 = {r.run_id: r for r in load_records([ROOT / "runs"])}
    v2 = {r.run_id: r for r in load_records([ROOT / "reclocked"])}
    cells: dict[tuple, list[tuple[str, str]]] = defaultdict(list)
    for run_id, record in v1.items():
        cells[cell_of(record)].append((record.window.status, v2[run_id].window.status))
    for cell, pairs in sorted(cells.items()):
        before = ", ".join(f"{status} {sum(p[0] == status for p in pairs)}" for status in sorted({p[0] for p in pairs}))
        after = ", ".join(f"{status} {sum(p[1] == status for p in pairs)}" for status in sorted({p[1] for p in pairs}))
        print(f"   {cell[0]} {cell[1]}x64 G={cell[2]} N={cell[3]}: {before} -> {after}")
    totals = defaultdict(int)
    for pairs in cells.values():
        for before, after in pairs:
            totals[(before, after)] += 1
    print("   runs by (1.0 status -> 2.0 status): " + "; ".join(f"{a} -> {b}: {n}" for (a, b), n in sorted(totals.items())))


def main() -> None:
    at_v1_rule_clock()
    coverage()
    full_batch()
    status_changes()


if __name__ == "__main__":
    main()
