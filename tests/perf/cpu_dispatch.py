"""Which CPU dispatch knobs change the default job's float bits: `python tests/perf/cpu_dispatch.py`.

Trains the default job's GPT and DiT (4×64, 6×6 parity, batch 64, one thread) for a few steps in a fresh
process per setting, and prints a digest of the weights and the CPU seconds per step. A setting whose digest
differs from the default's moves the clocks. The settings are the ones that decide kernels on x86-64: MKL's
code branch (`MKL_CBWR`; MKL picks it by CPU vendor and model, and only AUTO and COMPATIBLE exist on
non-Intel CPUs), oneDNN on or off (`torch.backends.mkldnn`), and torch's own ISA (`ATEN_CPU_CAPABILITY`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = {
    "default": {},
    "MKL_CBWR=COMPATIBLE": {"MKL_CBWR": "COMPATIBLE"},
    "MKL_CBWR=AVX2": {"MKL_CBWR": "AVX2"},
    "MKL_CBWR=AVX512": {"MKL_CBWR": "AVX512"},
    "mkldnn off": {"TWO_CLOCKS_MKLDNN_OFF": "1"},
    "ATEN_CPU_CAPABILITY=avx2": {"ATEN_CPU_CAPABILITY": "avx2"},
}


def train(name: str, steps: int) -> dict[str, object]:
    """Train one bundled model `steps` steps on one thread; the sha256 of its weights and CPU s per step."""
    import torch

    sys.path.insert(0, str(ROOT))
    import adapters
    from adapters import DataSpec

    torch.set_num_threads(1)
    if os.environ.get("TWO_CLOCKS_MKLDNN_OFF"):
        torch.backends.mkldnn.enabled = False
    adapter = adapters.build(name, DataSpec((6, 6), 2), seed=0, batch_size=64, depth=4, width=64)
    batch = torch.randint(0, 2, (64, 6, 6), generator=torch.Generator().manual_seed(0))
    start = time.process_time()
    for _ in range(steps):
        adapter.train_step(batch)
    seconds = (time.process_time() - start) / steps
    digest = hashlib.sha256(b"".join(value.detach().cpu().numpy().tobytes() for value in adapter.model.state_dict().values())).hexdigest()[:12]
    return {"digest": digest, "s_per_step": seconds, "capability": torch.backends.cpu.get_cpu_capability()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(train(args.worker, args.steps)))
        return
    sys.path.insert(0, str(ROOT))
    from benchmark.run.environment import cpu_identity

    print(f"CPU: {cpu_identity()}")
    for model in ("gpt", "dit"):
        for label, extra in SETTINGS.items():
            env = {**os.environ, **extra}
            done = subprocess.run([sys.executable, __file__, "--worker", model, "--steps", str(args.steps)], env=env, capture_output=True, text=True, check=True)
            result = json.loads(done.stdout.strip().splitlines()[-1])
            print(f"{model} | {label:26} | weights {result['digest']} | {result['s_per_step'] * 1000:6.1f} ms/step | torch ISA {result['capability']}", flush=True)


if __name__ == "__main__":
    main()
