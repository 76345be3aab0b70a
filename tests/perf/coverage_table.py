"""Print stated vs simulated coverage of every interval in benchmark/analysis/stats.py, and of the methods it replaced.

Run: `python tests/perf/coverage_table.py` (about ten minutes on one idle core; `--quick` for a smaller
run). Everything is seeded: the same command prints the same table. Cells are synthetic: median cells
draw n seeds' clocks from a known distribution; slope cells are the designs in tests/coverage_designs.py.
The test suite (tests/test_stats_coverage.py) checks a subset of these rows with fewer cells.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats as scipy_stats

sys.path[:0] = [str(Path(__file__).resolve().parents[2]), str(Path(__file__).resolve().parents[1])]

from coverage_designs import (  # noqa: E402
    ALPHA_X,
    ALPHA_X3,
    ALPHA_X5,
    BETA_X,
    DISTRIBUTIONS,
    SlopeDesign,
    jackknife_coverage,
    median_bootstrap_coverage,
    median_interval_coverage,
    per_seed_coverage,
    printing_rule_coverage,
    seed_bootstrap_coverage,
    shipped_coverage,
    slope_designs,
    v1_pairs_bootstrap_coverage,
)

from benchmark.analysis import stats  # noqa: E402


def percent(value: float | None) -> str:
    return "—" if value is None or not np.isfinite(value) else f"{100 * value:.1f}"


def median_table(cells: int, rng: np.random.Generator) -> None:
    print(f"## Median of n seeds: order-statistic interval [x(k), x(n+1−k)] ({cells} cells per entry)\n")
    print("Coverage in %. 'censored q': every clock above the distribution's q-quantile is censored at it; the interval")
    print("is read as printed (low end as shown, a '> x' top end open above). v1 bootstrap: protocol 1.0's interval.\n")
    heads = [
        "n",
        "k",
        "kind",
        "stated",
        "lognormal",
        "exponential",
        "mixture",
        "discrete (ties)",
        "lognormal censored 0.7",
        "mixture censored 0.7",
        "discrete censored 0.7",
        "lognormal censored 0.4",
        "v1 bootstrap, lognormal",
    ]
    print("| " + " | ".join(heads) + " |")
    print("|" + "---|" * len(heads))
    for runs in range(2, 10):
        rank, stated = stats.median_rank(runs)
        kind = "interval" if stated >= stats.MEDIAN_MINIMUM else "range"
        row = [str(runs), str(rank), kind, percent(stated)]
        for name in ("lognormal", "exponential", "mixture", "discrete"):
            row.append(percent(median_interval_coverage(DISTRIBUTIONS[name], runs, cells, rng).covered))
        for name, q in (("lognormal", 0.7), ("mixture", 0.7), ("discrete", 0.7), ("lognormal", 0.4)):
            row.append(percent(median_interval_coverage(DISTRIBUTIONS[name], runs, cells, rng, censor_at=q).covered))
        row.append(percent(median_bootstrap_coverage(DISTRIBUTIONS["lognormal"], runs, max(cells // 10, 1000), rng)))
        print("| " + " | ".join(row) + " |")
    print()


def slope_method_table(cells: int, bootstrap_cells: int, rng: np.random.Generator) -> None:
    print(f"## Slope intervals, nominal 95 %: methods compared ({cells} cells per entry; bootstraps {bootstrap_cells})\n")
    print("Coverage in % (share of cells that got an interval, where below 100 %). x=4: log10 N, N = 64…512 (α);")
    print("x=3 b=0.5: complexity G = 2, 3, 4 (β). shipped: clustered_slope as printed (seed jackknife of the pooled Tobit slope,")
    print("t(S−1), no interval beyond half the points censored); CV3J: the same centred at the leave-one-out mean;")
    print("per-seed t: mean ± t(S−1)·sd/√S of per-seed Tobit slopes; seed bootstrap: percentile bootstrap over seeds")
    print("of the pooled Tobit slope; v1: least squares on uncensored runs, percentile bootstrap over runs.\n")
    heads = ["design", "shipped", "width", "CV3J", "per-seed t", "seed bootstrap", "v1"]
    print("| " + " | ".join(heads) + " |")
    print("|" + "---|" * len(heads))
    columns: list[list[float]] = [[] for _ in range(5)]
    for design in slope_designs():
        shipped = shipped_coverage(design, cells, rng)
        others = [
            jackknife_coverage(design, cells, rng, centre="mean"),
            per_seed_coverage(design, cells, rng),
            seed_bootstrap_coverage(design, bootstrap_cells, rng),
            v1_pairs_bootstrap_coverage(design, bootstrap_cells, rng),
        ]
        for column, result in zip(columns, [shipped, *others]):
            column.append(result.covered if result.printed >= 0.5 else float("nan"))  # a method that mostly prints nothing fails
        row = [design.label(), _with_share(shipped), f"{shipped.median_width:.2f}", *(_with_share(r) for r in others)]
        print("| " + " | ".join(row) + " |", flush=True)
    summary = []
    for column in columns:
        values = np.array(column)
        summary.append("—" if np.isnan(values).any() else f"min {percent(values.min())}, mean |Δ| {100 * np.mean(np.abs(values - 0.95)):.1f}")
    print("| **all designs** (— where a method gives no interval in half the cells of some design) | " + summary[0] + " | | " + " | ".join(summary[1:]) + " |")
    print()


def _with_share(result) -> str:
    text = percent(result.covered)
    return text if result.printed >= 0.995 else f"{text} ({100 * result.printed:.0f} %)"


def slope_grid_table(cells: int, rng: np.random.Generator, confidence: float) -> None:
    layouts = [(ALPHA_X, 1.0, 1.0), (ALPHA_X3, 1.0, 1.0), (ALPHA_X5, 1.0, 1.0), (BETA_X, 0.5, 1.5)]
    noise = [(0.1, 0.0), (0.1, 0.05), (0.1, 0.1), (0.2, 0.0), (0.2, 0.1), (0.2, 0.2)]
    shares = (0.0, 0.15, 0.3, 0.4, 0.5, 0.6)
    print(f"## Shipped slope interval, nominal {confidence:.0%}: worst and best design per (seeds, censored share) ({cells} cells per design)\n")
    print(f"Over {len(layouts)} x layouts (log10 N for N = 64…256, 64…512, 32…512; G = 2…4) × {len(noise)} (σ, τ) in")
    print("{0.1, 0.2} × {0, σ/2, σ}. Coverage in % among cells with an interval (designs where any get one); 'printed': the")
    print("lowest and highest share of a design's cells that get one.\n")
    heads = ["seeds", "censored share", "min", "mean", "max", "printed (min–max)"]
    print("| " + " | ".join(heads) + " |")
    print("|" + "---|" * len(heads))
    for seeds in (3, 4, 5):
        for share in shares:
            results = [shipped_coverage(SlopeDesign(seeds, x, b, a, sigma, tau, share), cells, rng, confidence=confidence) for x, b, a in layouts for sigma, tau in noise]
            covered = np.array([r.covered for r in results if r.printed > 0.01])  # designs where intervals print at all
            printed = [r.printed for r in results]
            low, mean, high = (f(covered) if covered.size else float("nan") for f in (np.min, np.mean, np.max))
            shares_printed = f"{100 * min(printed):.0f}–{100 * max(printed):.0f} %"
            print(f"| {seeds} | {share:.0%} | {percent(low)} | {percent(mean)} | {percent(high)} | {shares_printed} |", flush=True)
    print()


def printing_rule_table(cells: int, rng: np.random.Generator) -> None:
    print(f"## Printing rules compared: coverage among printed intervals, nominal 95 % ({cells} cells per entry)\n")
    print("Any rule that hides an interval because of how many points were censored keeps the cells whose top runs came out")
    print("low, and those under-cover. The shipped rule (no interval beyond half the points censored, none with two seeds) is")
    print("the column 'cap 1/2'. 'two seeds, only uncensored cells': the exact t(1) interval printed only where no point is censored.\n")
    heads = ["design", "no cap", "cap 1/2", "cap 1/3", "two seeds, only uncensored cells"]
    print("| " + " | ".join(heads) + " |")
    print("|" + "---|" * len(heads))
    for share in (0.15, 0.3, 0.4, 0.5, 0.6):
        for x, b, a, sigma, tau in ((ALPHA_X, 1.0, 1.0, 0.2, 0.0), (BETA_X, 0.5, 1.5, 0.1, 0.1)):
            design = SlopeDesign(3, x, b, a, sigma, tau, share)
            row = [design.label().replace("S=3 ", "S=3/2 ")]
            row += [_with_share(printing_rule_coverage(design, cells, rng, cap)) for cap in (1.0, 0.5, 1 / 3)]
            two = SlopeDesign(2, x, b, a, sigma, tau, share)
            row.append(_with_share(printing_rule_coverage(two, cells, rng, 1.0, any_censored=False)))
            print("| " + " | ".join(row) + " |", flush=True)
    print()


def wilson_table() -> None:
    print("## Wilson interval of a binomial fraction, nominal 95 %: exact coverage (binomial sums, no simulation)\n")
    heads = ["M", "p range", "min", "mean", "share of p below 93 %"]
    print("| " + " | ".join(heads) + " |")
    print("|" + "---|" * len(heads))
    for total in (64, 256, 1024):
        successes = np.arange(total + 1)
        ends = np.array([stats.wilson_interval(s, total) for s in successes])
        for low_p, high_p in ((0.01, 0.99), (0.05, 0.95)):
            grid = np.linspace(low_p, high_p, 981)
            pmf = scipy_stats.binom.pmf(successes[None, :], total, grid[:, None])
            inside = (ends[None, :, 0] <= grid[:, None]) & (grid[:, None] <= ends[None, :, 1])
            coverage = np.sum(pmf * inside, axis=1)
            print(f"| {total} | {low_p}–{high_p} | {percent(coverage.min())} | {percent(coverage.mean())} | {np.mean(coverage < 0.93):.0%} |")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer cells (a minute or two)")
    parser.add_argument("--seed", type=int, default=20260101)
    args = parser.parse_args()
    scale = 0.2 if args.quick else 1.0
    rng = np.random.default_rng(args.seed)
    start = time.process_time()
    print(f"# Coverage table (`python tests/perf/coverage_table.py{' --quick' if args.quick else ''}`, seed {args.seed})\n")
    median_table(int(100_000 * scale), rng)
    slope_method_table(int(20_000 * scale), int(2_000 * scale), rng)
    slope_grid_table(int(4_000 * scale), rng, confidence=0.95)
    slope_grid_table(int(2_000 * scale), rng, confidence=0.90)
    printing_rule_table(int(10_000 * scale), rng)
    wilson_table()
    print(f"CPU time: {time.process_time() - start:.0f} s")


if __name__ == "__main__":
    main()
