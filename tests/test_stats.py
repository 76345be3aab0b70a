"""benchmark.analysis.stats with known answers: exact coverages, order statistics and bounds under censoring, display strings, Tobit fits."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import optimize, special
from scipy import stats as scipy_stats

from benchmark.analysis import stats
from benchmark.run import metrics

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
    [
        (3, 1, 0.75, "range"),
        (4, 1, 0.875, "range"),
        (5, 1, 0.9375, "interval"),
        (6, 1, 0.96875, "interval"),
        (7, 1, 0.984375, "interval"),
        (8, 1, 0.9921875, "interval"),
        (9, 2, 0.9609375, "interval"),
    ],
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


# --- Tobit fits ----------------------------------------------------------------------------------


def tobit_by_scipy(x, y, censored):
    """Reference: maximise the Tobit likelihood over (a, b, log σ) with scipy.optimize from least squares."""
    b0, a0 = np.polyfit(x, y, 1)

    def negative_log_likelihood(params):
        a, b, log_sigma = params
        z = (y - a - b * x) / np.exp(log_sigma)
        return -np.sum(np.where(censored, special.log_ndtr(-z), scipy_stats.norm.logpdf(z) - log_sigma))

    start = [a0, b0, np.log(np.std(y - a0 - b0 * x) + 1e-3)]
    result = optimize.minimize(negative_log_likelihood, start, method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20_000})
    return result.x, -result.fun


def test_tobit_without_censoring_is_least_squares():
    rng = np.random.default_rng(0)
    x = np.repeat(np.log10([64, 128, 256, 512]), 3)
    y = 1.0 + 1.2 * x + rng.normal(0, 0.15, x.size)
    fit = stats.tobit_fit(x, y, np.zeros(x.size, bool))
    slope, intercept = np.polyfit(x, y, 1)
    assert fit.slope == pytest.approx(slope, rel=1e-12) and fit.intercept == pytest.approx(intercept, rel=1e-12)
    residual = y - intercept - slope * x
    assert fit.sigma == pytest.approx(np.sqrt(np.mean(residual**2)), rel=1e-12)  # the maximum-likelihood σ
    assert fit.log_likelihood == pytest.approx(np.sum(scipy_stats.norm.logpdf(residual, scale=fit.sigma)), rel=1e-12)
    assert fit.reason is None and fit.points_censored == 0


def test_tobit_matches_scipy_optimize_on_censored_data():
    rng = np.random.default_rng(1)
    for _ in range(20):
        x = np.repeat(np.log10([64, 128, 256, 512]), int(rng.integers(2, 5)))
        y = 1.0 + x + rng.normal(0, 0.15, x.size)
        bound = np.quantile(y, rng.uniform(0.5, 0.9))
        censored = y > bound
        fit = stats.tobit_fit(x, np.where(censored, bound, y), censored)
        (a, b, log_sigma), log_likelihood = tobit_by_scipy(x, np.where(censored, bound, y), censored)
        assert fit.log_likelihood >= log_likelihood - 1e-9  # Newton's maximum is at least as high
        assert (fit.intercept, fit.slope, fit.sigma) == pytest.approx((a, b, np.exp(log_sigma)), abs=1e-4)


def test_tobit_recovers_a_known_slope_where_dropping_censored_points_is_biased():
    rng = np.random.default_rng(2)
    x = np.repeat(np.log10([64, 128, 256, 512]), 500)
    y = 1.0 + 1.0 * x + rng.normal(0, 0.15, x.size)
    bound = np.quantile(y, 0.7)  # 30 % censored, most of them at the largest N (runs that stopped at max_steps)
    censored = y > bound
    fit = stats.tobit_fit(x, np.where(censored, bound, y), censored)
    assert fit.slope == pytest.approx(1.0, abs=0.03) and fit.sigma == pytest.approx(0.15, abs=0.01)
    dropped = np.polyfit(x[~censored], y[~censored], 1)[0]
    at_bound = np.polyfit(x, np.where(censored, bound, y), 1)[0]
    assert dropped < 0.85 and at_bound < 0.85  # both ways of ignoring censoring flatten the slope


@pytest.mark.parametrize(
    "x, y, censored, reason",
    [
        ([2.0, 2.0, 2.0], [1.0, 2.0, 3.0], [False, False, False], "fewer than 2 distinct x"),
        ([1.0, 2.0, 3.0], [1.0, 1.0, 1.0], [True, True, True], "every point censored"),
        ([1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 3.0], [False, False, True, True], "too few uncensored points"),
        ([1.0, 1.0, 1.0, 2.0], [1.0, 1.5, 2.0, 3.0], [False, False, False, True], "too few uncensored points"),  # one x uncensored
        ([1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 3.5], [False, False, False, True], "too few uncensored points"),  # on one line
        ([1.0], [1.0], [False], "fewer than 2 distinct x"),
    ],
)
def test_degenerate_tobit_inputs_give_a_reason_not_an_exception(x, y, censored, reason):
    fit = stats.tobit_fit(x, y, censored)
    assert fit.slope is None and fit.intercept is None and reason in fit.reason


def test_two_points_without_censoring_are_a_line():
    fit = stats.tobit_fit([1.0, 2.0], [1.0, 3.0], [False, False])
    assert (fit.slope, fit.intercept, fit.sigma) == pytest.approx((2.0, -1.0, 0.0))


def test_tobit_rows_rejects_bad_input():
    with pytest.raises(ValueError, match="y must have the shape of x"):
        stats.tobit_fit([1, 2], [1], [False, False])
    with pytest.raises(ValueError, match="x must be finite"):
        stats.tobit_fit([1, np.nan], [1, 2], [False, False])
    with pytest.raises(ValueError, match="weight must be 0 or 1"):
        stats.tobit_rows(np.ones((1, 2)), np.ones((1, 2)), np.zeros((1, 2), bool), weight=np.full((1, 2), 0.5))


# --- clustered slopes ----------------------------------------------------------------------------


def seeded_points(seeds: int, censor_above: float | None = None, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = np.tile(np.log10([64, 128, 256, 512]), seeds)
    cluster = np.repeat(np.arange(seeds) * 10, 4)  # seed labels need not be 0…S−1
    y = 1.0 + x + np.repeat(rng.normal(0, 0.1, seeds), 4) + rng.normal(0, 0.15, x.size)
    if censor_above is None:
        return x, y, np.zeros(x.size, bool), cluster
    censored = y > censor_above
    return x, np.where(censored, censor_above, y), censored, cluster


def test_clustered_slope_is_the_pooled_fit_with_a_seed_jackknife_interval():
    x, y, censored, cluster = seeded_points(3)
    fit = stats.clustered_slope(x, y, censored, cluster)
    assert fit.slope == pytest.approx(np.polyfit(x, y, 1)[0], rel=1e-12)
    leave_out = [np.polyfit(x[cluster != s], y[cluster != s], 1)[0] for s in (0, 10, 20)]
    half = scipy_stats.t.ppf(0.975, 2) * math.sqrt(2 / 3 * sum((b - fit.slope) ** 2 for b in leave_out))
    assert (fit.low, fit.high) == pytest.approx((fit.slope - half, fit.slope + half), rel=1e-10)
    assert (fit.coverage, fit.clusters, fit.points, fit.points_censored, fit.reason) == (0.95, 3, 12, 0, None)
    assert (fit.x_min, fit.x_max) == pytest.approx((math.log10(64), math.log10(512)))
    assert fit.display() == f"{fit.slope:.2f} [{fit.low:.2f}, {fit.high:.2f}] (95 %)"
    assert fit.method == "Tobit, seed-jackknife t(S−1)" and fit.to_dict()["coverage"] == 0.95
    # balanced and uncensored: the jackknife equals the t-interval over per-seed slopes
    per_seed = np.array([np.polyfit(x[cluster == s], y[cluster == s], 1)[0] for s in (0, 10, 20)])
    assert half == pytest.approx(scipy_stats.t.ppf(0.975, 2) * per_seed.std(ddof=1) / math.sqrt(3), rel=1e-10)


def test_clustered_slope_with_censoring_uses_tobit():
    x, y, censored, cluster = seeded_points(5, censor_above=3.3, seed=4)
    assert 0 < censored.sum() <= 10
    fit = stats.clustered_slope(x, y, censored, cluster)
    assert fit.slope == pytest.approx(stats.tobit_fit(x, y, censored).slope, rel=1e-12)
    assert fit.points_censored == censored.sum() and fit.low < fit.slope < fit.high and fit.coverage == 0.95


def test_clustered_slope_says_why_there_is_no_interval():
    x, y, censored, cluster = seeded_points(3)
    one = stats.clustered_slope(x, y, censored, np.zeros(x.size))
    assert one.low is None and one.coverage is None and one.reason == "one seed"
    assert one.display() == f"{one.slope:.2f} (no interval: one seed)"
    x, y, censored, cluster = seeded_points(3, censor_above=2.9)
    assert censored.mean() > 0.5
    heavy = stats.clustered_slope(x, y, censored, cluster)
    assert heavy.slope is not None and heavy.low is None and heavy.reason == "more than half the points censored"
    two = stats.clustered_slope(*seeded_points(2))
    assert two.slope is not None and two.low is None and two.reason == "two seeds"
    # one seed's points alone identify the pooled fit, the others' do not: leaving it out leaves no fit
    x = np.array([1.0, 2.0, 3.0, 1.0, 2.0, 3.0, 1.0, 2.0, 3.0])
    y = np.array([1.0, 2.2, 2.9, 1.1, 9.0, 9.0, 0.9, 9.0, 9.0])
    censored = np.array([False, False, False, False, True, True, False, True, True])
    missing = stats.clustered_slope(x, y, censored, [7, 7, 7, 8, 8, 8, 9, 9, 9])
    assert missing.slope is not None and missing.reason == "leaving out seed 7 leaves no identified fit"


def test_clustered_slope_without_a_fit():
    fit = stats.clustered_slope([1.0, 1.0, 1.0], [1.0, 2.0, 3.0], [False] * 3, [0, 1, 2])
    assert fit.slope is None and fit.display() == "no fit: fewer than 2 distinct x"


def test_clustered_slope_rejects_bad_input():
    with pytest.raises(ValueError, match="cluster must have one seed label per point"):
        stats.clustered_slope([1, 2, 3], [1, 2, 3], [False] * 3, [0, 1])
    with pytest.raises(ValueError, match="confidence must be one of"):
        stats.clustered_slope([1, 2, 3], [1, 2, 3], [False] * 3, [0, 1, 2], confidence=0.99)


def test_vectorised_slopes_agree_with_clustered_slope():
    rng = np.random.default_rng(5)
    x = np.tile(np.log10([64, 128, 256, 512]), 3)
    seed_index = np.repeat(np.arange(3), 4)
    y = 1.0 + x + rng.normal(0, 0.15, (40, x.size))
    censored = y > 3.4
    y = np.where(censored, 3.4, y)
    rows = stats.clustered_slope_rows(np.broadcast_to(x, y.shape), y, censored, seed_index, 3)
    for row in range(40):
        fit = stats.clustered_slope(x, y[row], censored[row], seed_index)
        assert (fit.slope, fit.low, fit.high) == pytest.approx((rows.slope[row], rows.low[row] if fit.low else None, rows.high[row] if fit.high else None), rel=1e-9, abs=0)
