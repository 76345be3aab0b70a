"""Print the numbers benchmark/PROTOCOL.md quotes for its defaults.

    python tests/perf/protocol_numbers.py            # arithmetic: per-group bar, Wilson widths, chance near-copies
    python tests/perf/protocol_numbers.py --pilot    # also trains the near-copy pilot (4 runs, ~5 min on 2 cores)

The pilot sweep is `tests/perf/pilot_near_copies.yaml`; its runs land in runs/pilot_near_copies/ and a
rerun reuses them.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from benchmark.run.metrics import wilson_interval

PILOT = Path(__file__).with_name("pilot_near_copies.yaml")


def arithmetic() -> None:
    print("Per-group accuracy that sample validity 0.9 needs on 6x6 parity, 0.9^(G/36):")
    for G in (2, 3, 4, 6, 9):
        print(f"  G = {G}: {0.9 ** (G / 36):.4f}")
    print("\nWilson 95 % half-width of a fraction at 0.9 (the rule threshold) and at 0.1 (the copy threshold):")
    for n in (64, 103, 128, 256, 512, 1024):
        at_rule = wilson_interval(round(0.9 * n), n)
        at_copy = wilson_interval(round(0.1 * n), n)
        print(f"  n = {n:4d}: ±{(at_rule[1] - at_rule[0]) / 2:.3f} at 0.9, ±{(at_copy[1] - at_copy[0]) / 2:.3f} at 0.1")
    print("\nA perfect rule sampler's chance of a valid sample within 2 cells of one of N training samples (parity 6x6):")
    print("  (distance 1 is impossible: one flip breaks one group's parity)")
    for G in (2, 3, 4):
        groups = 36 // G
        neighbours = groups * math.comb(G, 2)  # flipping two bits of one group keeps every parity
        valid = 2 ** (36 - groups)
        for n in (32, 64, 1024, 16384):
            print(f"  G = {G}, N = {n:5d}: {1 - math.exp(-n * neighbours / valid):.4f}")


def pilot() -> None:
    import json

    from benchmark.sweep import files as sweep
    from benchmark.sweep.backends import RunOptions, execute

    plan = sweep.load_sweep(PILOT)
    specs = sweep.expand(plan)
    output = Path(plan.output)
    output.mkdir(parents=True, exist_ok=True)
    result = execute(specs, RunOptions(output=str(output.resolve()), quiet=True), jobs=plan.jobs)
    print("\nNear-copy pilot: fraction of samples whose nearest training sample is 0, 1, 2, 3, >= 4 cells away")
    for record in sorted(result.records, key=lambda r: (r.adapter_name, r.task_config["G"])):
        print(f"\n  {record.adapter_name} {record.adapter_config['depth']}x{record.adapter_config['width']}, parity G = {record.task_config['G']}, N = {record.n_train}")
        rows = [json.loads(line) for line in (output / record.run_id / "metrics.jsonl").read_text().splitlines()]
        for row in rows[::2] + ([rows[-1]] if len(rows) % 2 == 0 else []):
            nearest = ", ".join(f"{x:.3f}" for x in row["nearest_train"])
            print(f"    step {row['step']:5d}: valid {row['valid']:.3f}, nearest [{nearest}]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pilot", action="store_true", help="also train and print the near-copy pilot")
    args = parser.parse_args()
    arithmetic()
    if args.pilot:
        pilot()


if __name__ == "__main__":
    main()
