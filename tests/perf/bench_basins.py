"""Time the basin analysis of one run at the issue's size: 10 checkpoints × 3 classes × 64 probes × 8 σ.

Run: `python tests/perf/bench_basins.py [--depth 4 --width 128]`. Trains the default DiT for a few steps
with 10 kept checkpoints (training is not what is timed), then times `analyse_run` with the defaults.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--depth", type=int, default=4)
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    from benchmark.analysis.basins import BasinConfig, analyse_run
    from benchmark.run.protocol import run
    from benchmark.run.spec import resolve_spec

    knobs = {"depth": args.depth, "width": args.width}
    protocol = {"max_steps": 9, "eval_schedule": "linear", "eval_points": 9, "eval_samples": 8, "early_stop": False}
    spec = resolve_spec("parity", {"G": 2}, "dit", knobs, 64, 0, protocol)
    with tempfile.TemporaryDirectory() as output:
        run(spec, output, device="cpu", quiet=True, keep_checkpoints=True)
        config = BasinConfig()
        start = time.perf_counter()
        summary = analyse_run(f"{output}/{spec.run_id}", config)
        elapsed = time.perf_counter() - start
    checkpoints = len({row["step"] for row in summary["rows"] if row.get("kind") == "radius"})
    trajectories = checkpoints * 3 * config.probes * len(config.sigmas) * config.noise_draws
    print(
        f"| DiT {args.depth}x{args.width} | {checkpoints} checkpoints x 3 classes x {config.probes} probes x {len(config.sigmas)} sigmas "
        f"| {trajectories} denoisings | {elapsed:.1f} s | {args.threads} threads |"
    )


if __name__ == "__main__":
    main()
