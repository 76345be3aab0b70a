"""The README's measured numbers, measured: run this, never copy numbers into the README by hand.

    python tools/readme_numbers.py              # run the default job in a fresh folder, print the README block
    python tools/readme_numbers.py --write      # ... and rewrite README.md's generated block(s) in place
    python tools/readme_numbers.py --speeds     # also measure the adapter speed table (a few minutes)

The default job runs as `python -m benchmark run` runs it (its packaged sweep, two runs side by side), but
with exactly one torch thread per run whatever the machine: clocks are bit-reproducible only for the same
CPU model, torch build and thread count (the BLAS picks its kernels by CPU vendor and model, not only by
`torch.backends.cpu.get_cpu_capability()`), and the block records the CPU model, torch and capability.
`tests/test_readme_numbers.py` reruns the job and fails when the README's clocks no longer match (it skips,
saying why, on another CPU model, torch or capability). After a protocol change, rerun with `--write` and
commit the README.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

README = ROOT / "README.md"
BLOCKS = {"default-job": "default job", "speeds": "adapter speeds"}
REFERENCE_THREADS = 1


# --- the default job --------------------------------------------------------------------------------


def _run_one(spec_data: dict[str, Any], output: str) -> dict[str, Any]:
    """One run of the default job in a spawned worker with one torch thread; its record as JSON."""
    import torch

    torch.set_num_threads(REFERENCE_THREADS)
    from benchmark.run import protocol
    from benchmark.run.spec import RunSpec

    return protocol.run(RunSpec.from_dict(spec_data), output, device="cpu", quiet=True).to_dict()


def default_job_specs() -> list[Any]:
    from benchmark.sweep import files as sweep

    return sweep.expand(sweep.load_sweep(None))


def measure_default_job(output: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Run the packaged default job (its runs side by side, one thread each) and return what the README states."""
    import torch

    specs = default_job_specs()
    with tempfile.TemporaryDirectory(prefix="two-clocks-readme-") as scratch:
        target = str(output or scratch)
        load_before = os.getloadavg()[0]
        start = time.perf_counter()
        with ProcessPoolExecutor(len(specs), mp_context=get_context("spawn")) as pool:
            records = list(pool.map(_run_one, [spec.to_dict() for spec in specs], [target] * len(specs)))
        wall = time.perf_counter() - start
        load_after = os.getloadavg()[0]
    rows = []
    for record in records:
        config = record["spec"]["adapter"]["config"]
        rows.append(
            {
                "adapter": record["spec"]["adapter"]["name"],
                "size": f"{config.get('depth', '?')}×{config.get('width', '?')}",
                "n_train": record["n_train"],
                "tau_rule": _clock(record["clocks"]["tau_rule"]),
                "tau_mem": _clock(record["clocks"]["tau_mem"]),
                "window": record["window"]["status"],
                "steps_trained": record["steps_trained"],
                "max_steps": record["max_steps"],
                "stopped_early": record["stopped_early"],
                "wall_time_s": record["wall_time_s"],
            }
        )
    from benchmark.run.environment import cpu_identity

    return {
        "rows": rows,
        "cpu": cpu_identity().model or "unknown CPU",
        "wall_time_s": wall,
        "load": (load_before, load_after),
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "torch": torch.__version__.split("+")[0],
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
    }


def _clock(clock: dict[str, Any]) -> str:
    if clock.get("step") is None:
        return "n/a"
    value = f"{clock['step']:,.0f}"
    return f"> {value}" if clock["censored"] else value


def default_job_block(numbers: dict[str, Any]) -> str:
    """The README's generated default-job block: a sentence of conditions, then the clocks table."""
    from benchmark.run.progress import format_duration

    lines = [
        "| model | N | τ_rule | τ_mem | window | steps trained |",
        "|---|---|---|---|---|---|",
    ]
    for row in numbers["rows"]:
        stop = f"{row['steps_trained']:,} of {row['max_steps']:,}" + (" (early stop)" if row["stopped_early"] else "")
        lines.append(f"| `{row['adapter']}` {row['size']} | {row['n_train']} | {row['tau_rule']} | {row['tau_mem']} | {row['window']} | {stop} |")
    load = max(numbers["load"])
    return "\n".join(
        [
            f"Reference: CPU `{numbers['cpu']}`, torch {numbers['torch']}, CPU capability {numbers['cpu_capability']}, {REFERENCE_THREADS} torch thread per run "
            f"(`tools/readme_numbers.py`; clocks are identical for the same CPU model, torch build and thread count). "
            f"The job took {format_duration(numbers['wall_time_s'])} on {numbers['cores']} cores (load average up to {load:.1f}):",
            "",
            *lines,
        ]
    )


# --- adapter speeds ---------------------------------------------------------------------------------

SPEED_ROWS = (
    ("dit", dict(depth=4, width=128, heads=4), "`dit` 4×128, patch 2 (default)"),
    ("dit", dict(depth=2, width=64, heads=4), "`dit` 2×64, patch 2"),
    ("dit", dict(depth=6, width=256, heads=4), "`dit` 6×256, patch 2"),
    ("gpt", dict(depth=4, width=128, heads=4), "`gpt` 4×128 (default)"),
    ("gpt", dict(depth=4, width=64, heads=4), "`gpt` 4×64"),
    ("gpt", dict(depth=6, width=256, heads=4), "`gpt` 6×256"),
    ("hf_causal_lm", dict(model_type="llama", depth=4, width=128, heads=4), "`hf_causal_lm` llama 4×128 (default)"),
    ("hf_causal_lm", dict(model_type="llama", depth=4, width=64, heads=4), "`hf_causal_lm` llama 4×64"),
    ("hf_causal_lm", dict(model_type="qwen2", depth=4, width=128, heads=4), "`hf_causal_lm` qwen2 4×128"),
    ("unet", dict(), "`unet` 32×64 channels, 2 levels (default)"),
    ("unet", dict(channel_mult=(1, 2, 2)), "`unet` 32×64×64, 3 levels (padded to 8×8)"),
    ("mdlm", dict(), "`mdlm` 4×64, 1000 steps (default)"),
    ("mdlm", dict(sampling_steps=100), "`mdlm` 4×64, 100 steps"),
)


def measure_speeds(steps: int = 10, rounds: int = 5, samples: int = 512) -> list[list[str]]:
    """Train steps/s (median of `rounds` rounds of `steps`) and samples/s per CPU-second, one thread, batch 64, 6×6 parity."""
    import importlib.util
    import statistics

    import torch

    import adapters
    from adapters import DataSpec

    spec = importlib.util.spec_from_file_location("bench_adapters", ROOT / "tests" / "perf" / "bench_adapters.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)  # type: ignore[union-attr]
    torch.set_num_threads(1)
    batch = torch.randint(0, 2, (64, 6, 6), generator=torch.Generator().manual_seed(0))
    table = []
    for name, knobs, label in SPEED_ROWS:
        adapter = adapters.build(name, DataSpec((6, 6), 2), seed=0, batch_size=64, **knobs)
        bench.rate(adapter.train_step, batch, 2)  # warm-up
        train = statistics.median(bench.rate(adapter.train_step, batch, steps) for _ in range(rounds))
        sampled = bench.samples_per_second(adapter.sample, samples)
        table.append([label, f"{adapter.num_parameters() / 1e6:.2f} M", f"{train:.3g}", f"{sampled:,.0f}"])
        print(" | ".join(table[-1]), file=sys.stderr, flush=True)
    return table


def speeds_block(table: list[list[str]], load: float) -> str:
    """The speed table, with the load it was measured under (other work on the cores slows even CPU-time rates)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    lines = [f"Measured at load average {load:.1f} on {cores} cores:", "", "| adapter | params | train steps/s | samples/s |", "|---|---|---|---|"]
    lines += [f"| {' | '.join(row)} |" for row in table]
    return "\n".join(lines)


# --- the README ----------------------------------------------------------------------------------------


def block_pattern(name: str) -> re.Pattern[str]:
    return re.compile(rf"(<!-- generated: {re.escape(name)} \(python tools/readme_numbers.py[^>]*\) -->\n)(.*?)(<!-- /generated -->)", re.S)


def read_block(name: str, text: str | None = None) -> str:
    """The current content of a generated block of the README."""
    text = README.read_text() if text is None else text
    match = block_pattern(name).search(text)
    if match is None:
        raise ValueError(f"README.md has no generated block {name!r}")
    return match.group(2).rstrip("\n")


def replace_block(text: str, name: str, content: str) -> str:
    pattern = block_pattern(name)
    if not pattern.search(text):
        raise ValueError(f"README.md has no generated block {name!r}")
    return pattern.sub(lambda m: m.group(1) + content.rstrip("\n") + "\n" + m.group(3), text, count=1)


def clocks_table(block: str) -> dict[tuple[str, str], tuple[str, str]]:
    """{(model, N): (τ_rule, τ_mem)} from a default-job block: what the test compares."""
    table = {}
    for line in block.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 6 and cells[0].startswith("`"):
            table[(cells[0], cells[1])] = (cells[2], cells[3])
    return table


@dataclass(frozen=True)
class Reference:
    """What a default-job block was measured on: the clocks are identical only where all three are the same."""

    cpu: str
    torch: str
    cpu_capability: str


def reference(block: str) -> Reference:
    """The CPU model, torch version and CPU capability that a default-job block was measured on."""
    match = re.search(r"Reference: CPU `([^`]+)`, torch (\S+), CPU capability (\S+),", block)
    if match is None:
        raise ValueError("the default-job block does not say which CPU model, torch and CPU capability it was measured on")
    return Reference(*match.groups())


def this_machine() -> Reference:
    """The same three facts for the machine this runs on."""
    import torch

    from benchmark.run.environment import cpu_capability, cpu_identity

    return Reference(cpu_identity().model or "unknown CPU", torch.__version__.split("+")[0], cpu_capability() or "unknown")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite README.md's generated blocks")
    parser.add_argument("--speeds", action="store_true", help="also measure the adapter speed table (a few minutes)")
    parser.add_argument("--no-default-job", action="store_true", help="skip the default job (with --speeds: speeds only)")
    args = parser.parse_args()
    text = README.read_text()
    if not args.no_default_job:
        block = default_job_block(measure_default_job())
        print(block)
        text = replace_block(text, "default-job", block)
    if args.speeds:
        load_before = os.getloadavg()[0]
        table = measure_speeds()
        block = speeds_block(table, max(load_before, os.getloadavg()[0]))
        print(block)
        text = replace_block(text, "speeds", block)
    if args.write:
        README.write_text(text)
        print(f"wrote {README}", file=sys.stderr)


if __name__ == "__main__":
    main()
