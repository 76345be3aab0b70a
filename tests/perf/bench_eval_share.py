"""How much of a run is spent evaluating: sequential sampling (protocol 2.0) against every eval at the full M.

    python tests/perf/bench_eval_share.py                    # the packaged default job, both ways (~5 min on 2 cores)
    python tests/perf/bench_eval_share.py --config FILE.yaml # any sweep (e.g. a study config), both ways

Each sweep runs twice into a temporary folder: as written (sequential: `eval_samples_min` first, doubled
until every clock curve is clear of its threshold), and with `eval_samples_min = eval_samples` (every eval
draws all M, as protocol 1.0 did). It prints, per run, the share of wall time spent evaluating
(`eval_time_s / wall_time_s` of the record: sampling, metrics and checkpoints), the samples drawn, and
the clocks both ways, so that a cheaper eval is seen to measure the same thing.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

from benchmark.core.display import format_clock
from benchmark.run.rundir import load_metrics
from benchmark.sweep import files as sweep
from benchmark.sweep.backends import RunOptions, execute


def run_both_ways(plan: sweep.Sweep, root: Path, jobs: int, sequential_only: bool = False) -> dict[str, list]:
    results = {}
    for label, extra in (("sequential", {}), ("full M", None))[: 1 if sequential_only else 2]:
        blocks = []
        for block in plan.blocks:
            protocol = dict(block.protocol)
            if extra is None:
                protocol["eval_samples_min"] = protocol.get("eval_samples", 1024)
            blocks.append(dataclasses.replace(block, protocol=tuple(protocol.items())))
        specs = sweep.expand(dataclasses.replace(plan, blocks=tuple(blocks)))
        output = root / label.replace(" ", "_")
        start = time.perf_counter()
        result = execute(specs, RunOptions(output=str(output), device="cpu", quiet=True), jobs=jobs)
        wall = time.perf_counter() - start
        if result.failures:
            raise SystemExit(result.failures[0].error)
        results[label] = (sorted(result.records, key=lambda r: (r.adapter_name, str(r.n_train), r.task_name)), wall, output)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", help="sweep file (default: the packaged default job)")
    parser.add_argument("-j", "--jobs", type=int, help="runs side by side (default: the sweep's)")
    parser.add_argument("--sequential-only", action="store_true", help="skip the full-M comparison run")
    args = parser.parse_args()
    plan = sweep.load_sweep(args.config)
    with tempfile.TemporaryDirectory() as tmp:
        results = run_both_ways(plan, Path(tmp), args.jobs or plan.jobs, args.sequential_only)
        print(f"{'run':<34} {'evals':>14} {'eval share':>12} {'samples/eval':>13} {'wall s':>8} {'tau_rule':>9} {'tau_mem':>9} {'status':>12}")
        for label, (records, wall, output) in results.items():
            print(f"-- {label} (whole sweep: {wall:.0f} s wall)")
            for record in records:
                rows = load_metrics(output / record.run_id)
                drawn = sum(row["samples"] for row in rows) / len(rows)
                name = f"{record.adapter_name} {record.task_name} N={record.n_train}"
                print(
                    f"{name:<34} {label:>14} {record.eval_time_s / record.wall_time_s:>11.1%} {drawn:>13.0f} {record.wall_time_s:>8.1f} "
                    f"{format_clock(record.clocks['tau_rule']):>9} {format_clock(record.clocks['tau_mem']):>9} {record.window.status:>12}"
                )


if __name__ == "__main__":
    main()
