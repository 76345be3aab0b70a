"""Synthetic cells from known distributions for the coverage simulations (tests/test_stats_coverage.py, tests/perf/coverage_table.py).

A slope design is the leaderboard's scaling fit in miniature: S seeds, each run once at every x, with
y = a + b·x + u_seed + ε (u_seed ~ N(0, τ²) shared by a seed's runs, ε ~ N(0, σ²)), and every y above a
fixed bound c censored at c (runs that stop at max_steps), c chosen so that a given share of points is
censored on average. Median cells are n seeds' clocks drawn from a known distribution with a known median.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize
from scipy import stats as scipy_stats

from benchmark.analysis import stats

ALPHA_X = tuple(np.log10([64, 128, 256, 512]).tolist())  # log10 N
ALPHA_X3 = tuple(np.log10([64, 128, 256]).tolist())
ALPHA_X5 = tuple(np.log10([32, 64, 128, 256, 512]).tolist())
BETA_X = (2.0, 3.0, 4.0)  # complexity G


@dataclass(frozen=True)
class SlopeDesign:
    """One simulated fitting situation: seeds, x values, true line, noise and the expected censored share."""

    seeds: int
    x: tuple[float, ...]
    slope: float
    intercept: float
    sigma: float  # run-level noise ε, log10 units
    tau: float  # per-seed random intercept u, log10 units
    censored_share: float  # expected share of points censored at a fixed bound

    def label(self) -> str:
        return f"S={self.seeds} x={len(self.x)} b={self.slope:g} σ={self.sigma:g} τ={self.tau:g} cens={self.censored_share:.0%}"

    def bound(self) -> float:
        """The censoring bound c that censors `censored_share` of points on average (+∞ for none)."""
        if self.censored_share <= 0:
            return np.inf
        means = self.intercept + self.slope * np.asarray(self.x)
        scale = float(np.hypot(self.sigma, self.tau))
        share = lambda c: float(np.mean(scipy_stats.norm.sf((c - means) / scale))) - self.censored_share  # noqa: E731
        return float(optimize.brentq(share, means.min() - 10 * scale, means.max() + 10 * scale))

    def draw(self, cells: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(x (points,), y (cells, points), censored (cells, points), seed_index (points,)) for `cells` synthetic fits."""
        x = np.tile(np.asarray(self.x), self.seeds)
        seed_index = np.repeat(np.arange(self.seeds), len(self.x))
        u = rng.normal(0.0, self.tau, size=(cells, self.seeds))[:, seed_index]
        y = self.intercept + self.slope * x + u + rng.normal(0.0, self.sigma, size=(cells, x.size))
        bound = self.bound()
        censored = y > bound
        return x, np.where(censored, bound, y), censored, seed_index


def slope_designs(seeds: tuple[int, ...] = (3, 5), shares: tuple[float, ...] = (0.0, 0.15, 0.30), full: bool = False) -> list[SlopeDesign]:
    """The α and β designs of the project; `full` adds more x layouts, noise levels and seed effects."""
    layouts = [(ALPHA_X, 1.0, 1.0), (BETA_X, 0.5, 1.5)]
    if full:
        layouts += [(ALPHA_X3, 1.0, 1.0), (ALPHA_X5, 1.0, 1.0)]
    noise = [(0.15, 0.0), (0.15, 0.15)] if not full else [(0.1, 0.0), (0.1, 0.05), (0.1, 0.1), (0.2, 0.0), (0.2, 0.1), (0.2, 0.2)]
    return [SlopeDesign(s, x, b, a, sigma, tau, share) for s in seeds for x, b, a in layouts for sigma, tau in noise for share in shares]


@dataclass(frozen=True)
class SlopeCoverage:
    """Simulated behaviour of one interval method in one design."""

    covered: float  # share of printed intervals that contain the true slope
    printed: float  # share of cells that got an interval at all
    stated: float | None  # the coverage the method states (None: it states none)
    median_width: float


def jackknife_coverage(design: SlopeDesign, cells: int, rng: np.random.Generator, centre: str = "full") -> SlopeCoverage:
    """Seed jackknife t(S−1) with no printing rule: centred at the pooled slope (CV3) or at the leave-one-out mean (CV3J)."""
    x, y, censored, seed_index = design.draw(cells, rng)
    rows = stats.seed_jackknife_rows(np.broadcast_to(x, y.shape), y, censored, seed_index, design.seeds)
    centre_at = rows.slope if centre == "full" else np.mean(rows.leave_one_out, axis=1)
    seeds = design.seeds
    variance = (seeds - 1) / seeds * np.sum((rows.leave_one_out - centre_at[:, None]) ** 2, axis=1)
    half = scipy_stats.t.ppf(0.975, seeds - 1) * np.sqrt(variance)
    return _coverage(design.slope, rows.slope - half, rows.slope + half, stats.SLOPE_CONFIDENCE)


def printing_rule_coverage(design: SlopeDesign, cells: int, rng: np.random.Generator, max_share: float, *, any_censored: bool = True) -> SlopeCoverage:
    """The seed jackknife printed only where at most `max_share` of points (or, any_censored=False, none) are censored."""
    x, y, censored, seed_index = design.draw(cells, rng)
    rows = stats.seed_jackknife_rows(np.broadcast_to(x, y.shape), y, censored, seed_index, design.seeds)
    low, high = stats.jackknife_interval(rows.slope, rows.leave_one_out)
    hidden = np.mean(censored, axis=1) > max_share
    if not any_censored:
        hidden |= np.any(censored, axis=1)
    low[hidden] = high[hidden] = np.nan
    return _coverage(design.slope, low, high, stats.SLOPE_CONFIDENCE)


def shipped_coverage(design: SlopeDesign, cells: int, rng: np.random.Generator, confidence: float = stats.SLOPE_CONFIDENCE) -> SlopeCoverage:
    """Coverage of what `clustered_slope` prints (its interval and its stated coverage), vectorised."""
    x, y, censored, seed_index = design.draw(cells, rng)
    result = stats.clustered_slope_rows(np.broadcast_to(x, y.shape), y, censored, seed_index, design.seeds, confidence=confidence)
    stated = np.unique(result.coverage[np.isfinite(result.coverage)])
    if stated.size > 1:
        raise AssertionError(f"{design.label()}: one design should state one coverage, got {stated}")
    return _coverage(design.slope, result.low, result.high, float(stated[0]) if stated.size else None)


def per_seed_coverage(design: SlopeDesign, cells: int, rng: np.random.Generator) -> SlopeCoverage:
    """Coverage of mean ± t(S−1)·sd/√S over per-seed Tobit slopes (no interval where a seed's own fit is missing)."""
    x, y, censored, seed_index = design.draw(cells, rng)
    seeds = design.seeds
    weight = (seed_index[None, :] == np.arange(seeds)[:, None]).astype(float)  # (seeds, points)
    fits = stats.tobit_rows(
        np.broadcast_to(x, (cells * seeds, x.size)),
        np.repeat(y, seeds, axis=0),
        np.repeat(censored, seeds, axis=0),
        np.tile(weight, (cells, 1)),
    )
    slopes = fits.slope.reshape(cells, seeds)
    centre = slopes.mean(axis=1)
    half = scipy_stats.t.ppf(0.975, seeds - 1) * slopes.std(axis=1, ddof=1) / np.sqrt(seeds)
    return _coverage(design.slope, centre - half, centre + half, stats.SLOPE_CONFIDENCE)


def seed_bootstrap_coverage(design: SlopeDesign, cells: int, rng: np.random.Generator, resamples: int = 200) -> SlopeCoverage:
    """Coverage of the percentile bootstrap over seeds (resample seeds, refit the pooled Tobit slope)."""
    x, y, censored, seed_index = design.draw(cells, rng)
    seeds, per_seed = design.seeds, len(design.x)
    picks = rng.integers(0, seeds, size=(cells, resamples, seeds))
    columns = (picks[..., None] * per_seed + np.arange(per_seed)).reshape(cells, resamples, seeds * per_seed)
    cell = np.arange(cells)[:, None, None]
    fits = stats.tobit_rows(x[columns].reshape(-1, x.size), y[cell, columns].reshape(-1, x.size), censored[cell, columns].reshape(-1, x.size))
    slopes = fits.slope.reshape(cells, resamples)
    usable = np.mean(np.isfinite(slopes), axis=1) > 0.5
    with np.errstate(invalid="ignore"):
        low, high = np.nanquantile(np.where(usable[:, None], slopes, 0.0), [0.025, 0.975], axis=1)
    return _coverage(design.slope, np.where(usable, low, np.nan), np.where(usable, high, np.nan), stats.SLOPE_CONFIDENCE)


def v1_pairs_bootstrap_coverage(design: SlopeDesign, cells: int, rng: np.random.Generator, resamples: int = 200) -> SlopeCoverage:
    """Coverage of protocol 1.0's fit: least squares on uncensored runs only, percentile bootstrap over runs (not seeds)."""
    x, y, censored, _ = design.draw(cells, rng)
    picks = rng.integers(0, x.size, size=(cells, resamples, x.size))
    cell = np.arange(cells)[:, None, None]
    mask = ~censored[cell, picks].reshape(-1, x.size)
    _, slopes, _, sxx = stats._least_squares(x[picks].reshape(-1, x.size), y[cell, picks].reshape(-1, x.size), mask)
    slopes = np.where(sxx > 0, slopes, np.nan).reshape(cells, resamples)
    _, point, _, _ = stats._least_squares(np.broadcast_to(x, y.shape), y, ~censored)
    usable = np.isfinite(point) & (np.mean(np.isfinite(slopes), axis=1) > 0.5)
    with np.errstate(invalid="ignore"):
        low, high = np.nanquantile(np.where(usable[:, None], slopes, 0.0), [0.025, 0.975], axis=1)
    return _coverage(design.slope, np.where(usable, low, np.nan), np.where(usable, high, np.nan), stats.SLOPE_CONFIDENCE)


def _coverage(truth: float, low: np.ndarray, high: np.ndarray, stated: float | None) -> SlopeCoverage:
    printed = np.isfinite(low) & np.isfinite(high)
    covered = (low[printed] <= truth) & (truth <= high[printed])
    return SlopeCoverage(
        covered=float(np.mean(covered)) if covered.size else float("nan"),
        printed=float(np.mean(printed)),
        stated=stated,
        median_width=float(np.median(high[printed] - low[printed])) if covered.size else float("nan"),
    )


# --- median cells ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClockDistribution:
    """A known distribution of a clock over seeds (steps), with its median."""

    name: str
    median: float

    def draw(self, size: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        if self.name == "lognormal":
            return np.exp(rng.normal(np.log(500.0), 0.5, size))
        if self.name == "exponential":
            return rng.exponential(500.0 / np.log(2.0), size)
        if self.name == "mixture":  # most seeds at ~400 steps, 30 % much later: skewed and bimodal
            late = rng.random(size) < 0.3
            return np.where(late, np.exp(rng.normal(np.log(2000.0), 0.3, size)), np.exp(rng.normal(np.log(400.0), 0.2, size)))
        if self.name == "discrete":  # lognormal (median 450) rounded up to the next multiple of 100 steps: ties
            return np.ceil(np.exp(rng.normal(np.log(450.0), 0.5, size)) / 100.0) * 100.0
        raise ValueError(f"unknown distribution {self.name!r}")

    def quantile(self, q: float) -> float:
        """The q-quantile of the clock (a censoring bound): closed forms, root finding for the mixture."""
        if self.name == "lognormal":
            return 500.0 * float(np.exp(0.5 * scipy_stats.norm.ppf(q)))
        if self.name == "discrete":
            return float(np.ceil(450.0 * np.exp(0.5 * scipy_stats.norm.ppf(q)) / 100.0) * 100.0)
        if self.name == "exponential":
            return float(-500.0 / np.log(2.0) * np.log1p(-q))
        cdf = lambda t: 0.7 * scipy_stats.norm.cdf((np.log(t) - np.log(400.0)) / 0.2) + 0.3 * scipy_stats.norm.cdf((np.log(t) - np.log(2000.0)) / 0.3) - q  # noqa: E731
        return float(optimize.brentq(cdf, 1.0, 1e6))


DISTRIBUTIONS = {
    "lognormal": ClockDistribution("lognormal", 500.0),
    "exponential": ClockDistribution("exponential", 500.0),
    "mixture": ClockDistribution("mixture", 0.0),  # median filled in below
    "discrete": ClockDistribution("discrete", 500.0),  # ceil to 100s is monotone: 450 → 500, the unique median of the rounded clock
}
DISTRIBUTIONS["mixture"] = ClockDistribution("mixture", DISTRIBUTIONS["mixture"].quantile(0.5))


@dataclass(frozen=True)
class MedianCoverage:
    """Simulated coverage of the order-statistic interval for one (distribution, n, censoring)."""

    stated: float
    covered: float  # shown interval read as printed: low end as shown, a '> x' top end open above
    exact_ends: float  # share of cells whose two ends are both exact numbers
    median_bound: float  # share of cells whose median is a bound


def median_interval_coverage(distribution: ClockDistribution, runs: int, cells: int, rng: np.random.Generator, censor_at: float | None = None) -> MedianCoverage:
    """Coverage of `median_summary`'s interval over `cells` synthetic cells; `censor_at`: censoring bound at that quantile."""
    clocks = distribution.draw((cells, runs), rng)
    bound = np.inf if censor_at is None else distribution.quantile(censor_at)
    censored = clocks > bound
    shown = np.where(censored, bound, clocks)
    rank, stated = stats.median_rank(runs)
    low, low_is_bound = stats.order_statistics(shown, censored, rank)
    high, high_is_bound = stats.order_statistics(shown, censored, runs + 1 - rank)
    _, median_is_bound = stats.censored_medians(shown, censored)
    truth = distribution.median
    covered = (low <= truth) & (high_is_bound | (truth <= high))
    return MedianCoverage(stated, float(np.mean(covered)), float(np.mean(~low_is_bound & ~high_is_bound)), float(np.mean(median_is_bound)))


def median_bootstrap_coverage(distribution: ClockDistribution, runs: int, cells: int, rng: np.random.Generator, resamples: int = 500) -> float:
    """Coverage of protocol 1.0's interval: the 2.5–97.5 % percentile bootstrap of the median over seeds (uncensored)."""
    clocks = distribution.draw((cells, runs), rng)
    picks = rng.integers(0, runs, size=(cells, resamples, runs))
    medians = np.median(np.take_along_axis(clocks[:, None, :], picks, axis=2), axis=2)
    low, high = np.quantile(medians, [0.025, 0.975], axis=1)
    return float(np.mean((low <= distribution.median) & (distribution.median <= high)))
