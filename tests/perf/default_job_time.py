"""Wall time of the default job as a user runs it (`python -m benchmark run`), in fresh folders: goal ≤ 60 s on 2 idle cores.

    python tests/perf/default_job_time.py                                        # the packaged default job, 3 times
    python tests/perf/default_job_time.py --config tests/perf/default_job_0x.yaml  # the pre-1.0 job, for comparison

Prints each run's wall time (the whole command: start-up, planning, both runs side by side, the table) and each
model's steps and training time from its record, then the median. Measure on idle cores: a busy machine slows it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", help="a sweep file (default: the packaged default job)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    walls = []
    for repeat in range(args.repeats):
        with tempfile.TemporaryDirectory(prefix="default-job-") as tmp:
            command = [sys.executable, "-m", "benchmark", "run", "--output", str(Path(tmp) / "runs"), "--quiet", *(["--config", args.config] if args.config else [])]
            start = time.perf_counter()
            subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
            walls.append(time.perf_counter() - start)
            runs = [json.loads(path.read_text()) for path in sorted((Path(tmp) / "runs").glob("*/record.json"))]
            parts = ", ".join(f"{r['adapter']['name']} {r['steps_trained']} steps in {r['wall_time_s']:.1f} s" for r in runs)
            print(f"run {repeat + 1}: {walls[-1]:.1f} s ({parts})", flush=True)
    print(f"median {statistics.median(walls):.1f} s over {len(walls)} (min {min(walls):.1f}, max {max(walls):.1f})")


if __name__ == "__main__":
    main()
