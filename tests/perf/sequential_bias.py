"""Does sequential sampling move the clocks? A simulation on synthetic curves with a known crossing.

    python tests/perf/sequential_bias.py

A rule curve rises logistically in log-step and crosses θ = 0.9 at step 100 (a copy curve, likewise, the
0.1 threshold at step 600); each eval measures it on binomial draws, either all M at once or with the
protocol's sequential rule (`benchmark.run.evaluation.chunk_sizes` and the stop rule of `decided`, here on
one curve); the clock is read with `benchmark.run.clocks.read_clock`. Printed: the median and the 10–90 %
range of log10(τ / true τ) over many simulated runs, and the mean samples per eval.
"""

from __future__ import annotations

import math

import numpy as np

from benchmark.analysis.stats import wilson_interval
from benchmark.run.clocks import read_clock
from benchmark.run.evaluation import chunk_sizes
from benchmark.run.schedule import eval_steps

RUNS = 2000


def curve(steps: np.ndarray, crossing: float, threshold: float, slope: float) -> np.ndarray:
    """A logistic rise in log10(step) through `threshold` at `crossing`, from 0 to 1."""
    logit_at = math.log(threshold / (1 - threshold))
    x = np.log10(np.maximum(steps, 1.0)) - math.log10(crossing)
    return 1.0 / (1.0 + np.exp(-(logit_at + slope * x)))


def measured(p: float, rng: np.random.Generator, total: int, minimum: int | None, z: float, threshold: float) -> tuple[float, int]:
    """One eval's value and samples drawn: all `total` at once (minimum None), or sequentially."""
    if minimum is None:
        return rng.binomial(total, p) / total, total
    hits = drawn = 0
    for size in chunk_sizes(minimum, total):
        hits += rng.binomial(size, p)
        drawn += size
        low, high = wilson_interval(hits, drawn, z)
        if drawn >= total or not (low < threshold <= high):
            break
    return hits / drawn, drawn


def simulate(crossing: float, threshold: float, slope: float, minimum: int | None, z: float, seed: int = 0) -> tuple[float, float, float, float]:
    rng = np.random.default_rng(seed)
    steps = eval_steps(1500, 20, "log").astype(float)
    truth = curve(steps, crossing, threshold, slope)
    ratios, samples = [], []
    for _ in range(RUNS):
        values, counts = zip(*(measured(p, rng, 512, minimum, z, threshold) for p in truth))
        clock = read_clock(steps, values, threshold, 2, metric="sim", batch_size=1, n_train=1)
        if not clock.censored:
            ratios.append(math.log10(max(clock.step, 1.0) / crossing))
        samples.append(np.mean(counts))
    low, mid, high = np.quantile(ratios, [0.1, 0.5, 0.9])
    return float(mid), float(low), float(high), float(np.mean(samples))


def main() -> None:
    print(f"{RUNS} simulated runs per row; default job schedule (20 log-spaced evals to step 1500), M = 512, hold 2")
    print(f"{'curve':<34} {'sampling':<26} {'median log10(τ/true)':>21} {'10–90 %':>16} {'samples/eval':>13}")
    for label, crossing, threshold, slope in (("rule: 0.9 at step 100, steep", 100.0, 0.9, 6.0), ("rule: 0.9 at step 100, gentle", 100.0, 0.9, 2.5), ("copies: 0.1 at step 600", 600.0, 0.1, 4.0)):
        for name, minimum, z in (
            ("all M", None, 1.96),
            ("sequential 128, 95 %", 128, 1.959964),
            ("sequential 128, 99 %", 128, 2.575829),
            ("sequential 64, 95 %", 64, 1.959964),
            ("sequential 64, 99 %", 64, 2.575829),
        ):
            mid, low, high, drawn = simulate(crossing, threshold, slope, minimum, z)
            print(f"{label:<34} {name:<26} {mid:>+21.3f} {f'[{low:+.3f}, {high:+.3f}]':>16} {drawn:>13.0f}")


if __name__ == "__main__":
    main()
