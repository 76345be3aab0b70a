"""Every interval benchmark.analysis.stats prints covers what it says, over thousands of synthetic cells from known distributions.

Stated vs simulated coverage must agree within ±2 points; where censoring or ties make an interval
conservative, simulated ≥ stated − 2 points. Fixed numpy seeds: deterministic. tests/perf/coverage_table.py
prints the same comparison with more cells and more designs.
"""

from __future__ import annotations

import numpy as np
import pytest
from coverage_designs import (
    ALPHA_X,
    BETA_X,
    DISTRIBUTIONS,
    SlopeDesign,
    median_bootstrap_coverage,
    median_interval_coverage,
    shipped_coverage,
    slope_designs,
    v1_pairs_bootstrap_coverage,
)
from scipy import stats as scipy_stats

from benchmark.analysis import stats

TOLERANCE = 0.02


def _design_id(design: SlopeDesign) -> str:
    return design.label().replace("σ", "sigma").replace("τ", "tau")


MEDIAN_CELLS = 20_000  # binomial standard error ≤ 0.35 points: ±2 points is ≥ 5.7 standard errors
SLOPE_CELLS = 4_000  # ≤ 0.35 points at 95 %


def within(simulated: float, stated: float) -> bool:
    return abs(simulated - stated) <= TOLERANCE


@pytest.mark.parametrize("runs", [3, 4, 5, 6, 7])
@pytest.mark.parametrize("name", ["lognormal", "exponential", "mixture"])
def test_median_interval_has_its_stated_coverage(name, runs):
    rng = np.random.default_rng(1000 * runs + len(name))
    result = median_interval_coverage(DISTRIBUTIONS[name], runs, MEDIAN_CELLS, rng)
    assert within(result.covered, result.stated), (name, runs, result)
    summary = stats.median_summary(np.arange(runs, dtype=float), np.zeros(runs, bool))
    assert summary.coverage == result.stated  # what the summary states is what was simulated


@pytest.mark.parametrize("runs", [3, 4, 5, 6, 7])
@pytest.mark.parametrize("name, censor_at", [("lognormal", 0.7), ("mixture", 0.7), ("exponential", 0.4), ("discrete", 0.7), ("discrete", None)])
def test_median_interval_with_censoring_or_ties_covers_at_least_what_it_states(name, censor_at, runs):
    rng = np.random.default_rng(2000 * runs + len(name) + int(10 * (censor_at or 0)))
    result = median_interval_coverage(DISTRIBUTIONS[name], runs, MEDIAN_CELLS, rng, censor_at=censor_at)
    assert result.covered >= result.stated - TOLERANCE, (name, censor_at, runs, result)
    if censor_at is not None:
        assert result.exact_ends < 0.9  # the cells really were censored at an end


def test_the_coverage_test_detects_a_mislabelled_interval():
    """Protocol 1.0 labelled the percentile bootstrap of the median of 3 seeds '95 %': it is [min, max], a 75 % interval."""
    rng = np.random.default_rng(7)
    simulated = median_bootstrap_coverage(DISTRIBUTIONS["lognormal"], 3, 4_000, rng, resamples=200)
    assert simulated == pytest.approx(0.75, abs=TOLERANCE)
    assert not within(simulated, 0.95)


@pytest.mark.parametrize("design", slope_designs(seeds=(3, 5)), ids=_design_id)
def test_slope_interval_has_its_stated_coverage(design):
    rng = np.random.default_rng(_seed_of(design))
    result = shipped_coverage(design, SLOPE_CELLS, rng)
    assert result.stated == stats.SLOPE_CONFIDENCE
    assert result.printed >= 0.95, result  # an interval in (nearly) every cell: no silent selection of easy cells
    assert within(result.covered, result.stated), result


@pytest.mark.parametrize(
    "design",
    [SlopeDesign(3, ALPHA_X, 1.0, 1.0, 0.15, 0.15, 0.15), SlopeDesign(5, BETA_X, 0.5, 1.5, 0.15, 0.0, 0.30)],
    ids=_design_id,
)
def test_slope_interval_at_90_percent(design):
    result = shipped_coverage(design, SLOPE_CELLS, np.random.default_rng(_seed_of(design) + 1), confidence=0.90)
    assert result.stated == 0.90 and within(result.covered, 0.90), result


def test_the_slope_coverage_test_detects_protocol_1_fits():
    """Least squares on uncensored runs with a bootstrap over runs, labelled 95 %: with 30 % censored it covers far less."""
    design = SlopeDesign(3, ALPHA_X, 1.0, 1.0, 0.15, 0.15, 0.30)
    simulated = v1_pairs_bootstrap_coverage(design, 1_000, np.random.default_rng(11), resamples=100)
    assert simulated.covered < 0.90 and not within(simulated.covered, 0.95)


def _seed_of(design: SlopeDesign) -> int:
    """A fixed rng seed per design (Python's hash of strings changes between processes)."""
    return int(1000 * design.seeds + 100 * len(design.x) + 1000 * design.tau + 100 * design.sigma + 10_000 * design.censored_share)


@pytest.mark.parametrize("total", [256, 512, 1024])
def test_wilson_interval_covers_95_percent_at_the_eval_sizes(total):
    """Exact coverage (binomial sums, no simulation) at every p in [0.01, 0.99]: within 2 points of 95 %, 95 % on average."""
    successes = np.arange(total + 1)
    ends = np.array([stats.wilson_interval(s, total) for s in successes])
    p = np.linspace(0.01, 0.99, 981)
    pmf = scipy_stats.binom.pmf(successes[None, :], total, p[:, None])
    coverage = np.sum(pmf * ((ends[None, :, 0] <= p[:, None]) & (p[:, None] <= ends[None, :, 1])), axis=1)
    assert coverage.min() >= 0.95 - TOLERANCE and abs(coverage.mean() - 0.95) <= 0.005
