"""The ClockMonitor's share of the HF example's training time at the monitor's default schedule (goal: ≤ 10 %).

Trains examples/hf_trainer_parity.py for its whole budget (no early stop) with the callback at the default
eval schedule (20 log-spaced evals, up to 512 samples each: MONITOR_DEFAULTS; --eval-points 30 --eval-samples 1024 for the protocol's) and prints the monitor's eval time over the
Trainer's train_runtime, both measured in the same process (so a busy machine slows both alike).

    PYTHONPATH=$PWD python tests/perf/monitor_overhead.py [--max-steps 1500]
"""

from __future__ import annotations

import argparse
import importlib.util
import tempfile
import time
from pathlib import Path

from benchmark.run.monitor import MONITOR_DEFAULTS

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-steps", type=int, default=1500)
    parser.add_argument("--eval-points", type=int, default=MONITOR_DEFAULTS["eval_points"], help="default: the monitor's")
    parser.add_argument("--eval-samples", type=int, default=MONITOR_DEFAULTS["eval_samples"], help="default: the monitor's")
    args = parser.parse_args()
    spec = importlib.util.spec_from_file_location("hf_trainer_parity", ROOT / "examples" / "hf_trainer_parity.py")
    assert spec is not None and spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    with tempfile.TemporaryDirectory() as output:
        start = time.process_time()
        trainer = example.main(["--output", output, "--max-steps", str(args.max_steps), "--eval-points", str(args.eval_points), "--eval-samples", str(args.eval_samples), "--keep-training"])
        cpu = time.process_time() - start
        callback = next(c for c in trainer.callback_handler.callbacks if hasattr(c, "monitor"))
        monitor = callback.monitor
        runtime = trainer.state.log_history[-1]["train_runtime"]
        drawn = sum(row["samples"] for row in monitor.rows)
        print(f"steps {trainer.state.global_step}, evals {len(monitor.rows)} ({drawn} samples drawn), train_runtime {runtime:.1f} s (process CPU {cpu:.1f} s)")
        print(f"monitor, wall: {callback.time_s:.1f} s in the callback ({monitor.eval_time:.1f} s sampling and measuring) = {100 * callback.time_s / runtime:.1f} % of train_runtime")
        print(f"monitor, CPU: {callback.cpu_s:.1f} s of the process's {cpu:.1f} s = {100 * callback.cpu_s / cpu:.1f} % (wall is inflated by a busy machine)")


if __name__ == "__main__":
    main()
