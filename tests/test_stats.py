"""benchmark.stats with known answers: exact coverages, order statistics and bounds under censoring, display strings."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from benchmark import metrics, stats

# --- median intervals ----------------------------------------------------------------------------


def brute_force_coverage(runs: int, rank: int) -> float:
    """P(x(k) ≤ median ≤ x(n+1−k)) by enumerating which of n continuous draws fall below the median (each with p = ½)."""
    covered = 0
    for below in itertools.product((0, 1), repeat=runs):
        count = sum(below)  # draws below the median; x(k) ≤ m iff ≥ k below, m ≤ x(n+1−k) iff ≤ n − k below
        covered += rank <= count <= runs - rank
    return covered / 2**runs


@pytest.mark.parametrize("runs", range(1, 12))
def test_median_coverage_matches_enumeration_and_scipy(runs):
    for rank in range(1, (runs + 1) // 2 + 1):
        exact = stats.median_coverage(runs, rank)
        assert exact == pytest.approx(brute_force_coverage(runs, rank), abs=1e-15)
        assert exact == pytest.approx(1 - 2 * scipy_stats.binom.cdf(rank - 1, runs, 0.5), abs=1e-12)


@pytest.mark.parametrize(
    "runs, rank, coverage, kind",
    [(3, 1, 0.75, "range"), (4, 1, 0.875, "range"), (5, 1, 0.9375, "interval"), (6, 1, 0.96875, "interval"),
     (7, 1, 0.984375, "interval"), (8, 1, 0.9921875, "interval"), (9, 2, 0.9609375, "interval")],
)
def test_median_rank_is_the_narrowest_interval_reaching_95_percent(runs, rank, coverage, kind):
    assert stats.median_rank(runs) == (rank, coverage)
    summary = stats.median_summary(np.arange(runs, dtype=float), np.zeros(runs, bool))
    assert (summary.ranks, summary.coverage, summary.kind) == ((rank, runs + 1 - rank), coverage, kind)
    if rank + 1 <= (runs + 1) // 2:
        assert stats.median_coverage(runs, rank + 1) < 0.95  # the next narrower one does not reach it (n = 8: 93.0 %)


def test_median_summary_exact_order_statistics():
    summary = stats.median_summary([455, 380, 412], [False, False, False])
    assert (summary.median, summary.low, summary.high) == (412, 380, 455)
    assert not (summary.median_is_bound or summary.low_is_bound or summary.high_is_bound)
    assert summary.display() == "412 (range 380–455, 75 %)"
    nine = stats.median_summary([9, 1, 8, 2, 7, 3, 6, 4, 5], [False] * 9)
    assert (nine.median, nine.low, nine.high, nine.ranks) == (5, 2, 8, (2, 8))  # k = 2: second smallest and second largest
    assert nine.display() == "5 [2, 8] (96 %)"
    even = stats.median_summary([10, 40, 20, 30], [False] * 4)
    assert even.median == 25 and even.display() == "25 (range 10–40, 87 %)"


def test_median_summary_bounds_under_censoring():
    # Censoring points differ between runs: 1500 and 2000 are bounds (> 1500, > 2000).
    summary = stats.median_summary([1200, 1500, 2000, 1800, 900], [False, True, True, False, False])
    # at the bounds: 900 1200 1500 1800 2000; at +∞: 900 1200 1800 ∞ ∞
    assert (summary.median, summary.median_is_bound) == (1500, True)
    assert (summary.low, summary.low_is_bound) == (900, False)
    assert (summary.high, summary.high_is_bound) == (2000, True)
    assert summary.runs_censored == 2
    assert summary.display() == "> 1500 [900, > 2000] (93 %)"
    # a censored value below the median: the true value may lie anywhere above 1000, so the minimum and the median are bounds
    low = stats.median_summary([1000, 1400, 1600, 1700, 1800], [True, False, False, False, False])
    assert (low.low, low.low_is_bound, low.median, low.median_is_bound) == (1000, True, 1600, True)
    assert low.display() == "> 1600 [> 1000, > 1800] (93 %)"  # and so is the maximum: it might be the censored run
    # ... unless ties pin the median: at +∞ it is still 1600
    tied = stats.median_summary([1000, 1600, 1600, 1600, 1800], [True, False, False, False, False])
    assert (tied.median, tied.median_is_bound, tied.low_is_bound) == (1600, False, True)
    # even n: the median is a bound when either middle value is
    even = stats.median_summary([2000, 1500, 2000, 1800], [True, False, True, False])
    assert (even.median, even.median_is_bound) == (1900, True)
    assert even.display() == "> 1900 (range 1500–> 2000, 87 %)"


def test_median_summary_single_run_and_display_digits():
    assert stats.median_summary([2000], [True]).display() == "> 2000"
    single = stats.median_summary([412.4], [False])
    assert single.display() == "412" and single.kind == "single" and single.low is None and single.coverage is None
    assert stats.median_summary([0.5, 0.25, 0.75, 0.6, 0.4], [False] * 5).display(digits=2) == "0.50 [0.25, 0.75] (93 %)"
    assert stats.median_summary([0.5, 0.25, 0.75, 0.6, 0.4], [False] * 5).display() == "0.5 [0.25, 0.75] (93 %)"
    assert stats.median_summary([1, 2, 3], [False] * 3).to_dict()["ranks"] == (1, 3)


def test_coverage_is_printed_rounded_down():
    assert stats.format_percent(0.9375) == "93 %"
    assert stats.format_percent(0.984375) == "98 %"
    assert stats.format_percent(0.95) == "95 %"  # 0.95 · 100 is 95.00000000000001 in floats, not 94
    assert stats.format_percent(0.29) == "29 %"  # 0.29 · 100 is 28.999999999999996 in floats


def test_median_summary_rejects_bad_input():
    with pytest.raises(ValueError, match="values must be a non-empty"):
        stats.median_summary([], [])
    with pytest.raises(ValueError, match="censored must have the shape"):
        stats.median_summary([1, 2], [False])
    with pytest.raises(ValueError, match="values must be finite"):
        stats.median_summary([1, math.inf], [False, False])
    with pytest.raises(ValueError, match="minimum <= target"):
        stats.median_summary([1, 2, 3], [False] * 3, target=0.8, minimum=0.9)


def test_vectorised_order_statistics_agree_with_median_summary():
    rng = np.random.default_rng(3)
    values = rng.integers(100, 2000, size=(200, 5)).astype(float)
    censored = rng.random((200, 5)) < 0.3
    low, low_bound = stats.order_statistics(values, censored, 1)
    median, median_bound = stats.censored_medians(values, censored)
    for row in range(200):
        summary = stats.median_summary(values[row], censored[row])
        assert (summary.low, summary.low_is_bound, summary.median, summary.median_is_bound) == (low[row], low_bound[row], median[row], median_bound[row])


def test_wilson_interval_lives_in_stats_and_is_still_importable_from_metrics():
    assert metrics.wilson_interval is stats.wilson_interval and metrics.WILSON_Z == stats.WILSON_Z
    assert stats.wilson_interval(81, 263) == pytest.approx((0.2553, 0.3662), abs=6e-5)

