"""Statistics the leaderboard prints, each with the coverage it really has.

- A binomial fraction of one eval: `wilson_interval` (score interval, nominal 95 %).
- A clock's median over seeds: `median_summary` → `MedianSummary`, with the distribution-free
  order-statistic interval [x(k), x(n+1−k)] and its exact coverage C(n, k) = 1 − 2·P(Bin(n, ½) ≤ k − 1):
  3 seeds [min, max] 75 %, 4: 87.5 % (both a "range", never called a confidence interval), 5: 93.75 %,
  6: 96.9 %, 7: 98.4 %, 8: 99.2 %, 9: [x(2), x(8)] 96.1 %. Right-censored clocks become bounds `> x`.
- A scaling slope over runs (α: log10 τ_mem on log10 N; β: log10 τ_rule on complexity): `clustered_slope`
  → `SlopeFit`, the pooled Tobit line (`tobit_fit`: censored runs are lower bounds in the likelihood,
  least squares when none is) with a leave-one-seed-out jackknife interval on t(S−1).
- Vectorised forms run the same code over many cells at once (`order_statistics`, `censored_medians`,
  `tobit_rows`, `seed_jackknife_rows`, `clustered_slope_rows`); the coverage simulations use them.

Coverage, stated vs simulated (`python tests/perf/coverage_table.py`, which prints the full tables;
tests/test_stats_coverage.py checks the same within ±2 points):

| interval | cells simulated | stated | simulated |
|---|---|---|---|
| median, n = 3…9, lognormal / exponential / bimodal mixture | 100,000 each | C(n, k) | C(n, k) ± 0.2 |
| median, clocks rounded to 100 steps (ties) | 100,000 each | C(n, k) | above it (n = 3: 86.0 %, 5: 97.6 %) |
| median, censored at the 70th or 40th percentile | 100,000 each | C(n, k) | ≥ C(n, k) − 0.2 |
| protocol 1.0: percentile bootstrap of the median | 10,000 each | 95 % | n = 3: 75.2 %, 5: 94.0 %, 7: 87.4 % |
| slope, 3–5 seeds, 0–40 % of points censored (24 designs per seed count and share) | 4,000 a design | 95 % | 93.5–96.1 % |
| slope, as above, 90 % (≤ 30 % censored; at 40 % the worst design 87.5 %) | 2,000 a design | 90 % | 88.0–92.0 % |
| slope, 50 % of points censored in expectation | 4,000 a design | 95 % | 91.2–95.5 % (at least 41 % of cells get one) |
| slope, 60 % censored | 4,000 a design | 95 % | 73–92 % (up to 32 % of a design's cells get one) |
| slope, percentile bootstrap over seeds (not shipped) | 2,000 a design | 95 % | 62–84 % |
| slope, protocol 1.0: least squares on uncensored runs, bootstrap over runs | 2,000 a design | 95 % | 79–97 % |
| Wilson, M ≥ 256, p in [0.01, 0.99] (exact) | — | 95 % | at worst 93.8 %, mean over p 95.0–95.1 % |
| Wilson, M = 64 | — | 95 % | 91.7 % at worst (p near 0.01), 93.0 % for p in [0.05, 0.95] |

Slope designs: y = a + b·x + u_seed + ε, u_seed ~ N(0, τ²) shared by a seed's runs, ε ~ N(0, σ²),
σ ∈ {0.1, 0.2}, τ ∈ {0, σ/2, σ}, x = log10 N for N = 64…256, 64…512, 32…512, or G = 2, 3, 4; every y
above a fixed bound (max_steps) censored at it. The per-seed t-interval (mean ± t·sd/√S of per-seed
slopes) equals the jackknife without censoring but is missing in most censored cells (a seed's 3–5
runs rarely identify a Tobit fit). With 2 seeds, or more than half the points censored, there is no
interval: any rule that hides intervals by how many runs were censored keeps the cells whose late runs
came out early, and those under-cover (measured in the table: 2 seeds, printed only uncensored,
89–94 %). Where half or more of the points are censored in expectation, the printed 95 % overstates
by up to 4 points (50 %) and more (60 %, rare): read α and β there with `points_censored` beside them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import special, stats

from benchmark.core.display import count_text, format_bound, format_percent  # noqa: F401 - one formatter for the whole suite
from benchmark.run.metrics import WILSON_Z, wilson_interval  # noqa: F401 - the per-eval interval lives with the metrics

# --- medians over seeds ------------------------------------------------------------------------

MEDIAN_TARGET = 0.95  # the interval is the narrowest with at least this coverage
MEDIAN_MINIMUM = 0.90  # below this it is a "range", never called a confidence interval


def median_coverage(runs: int, rank: int) -> float:
    """Exact coverage of [x(k), x(n+1−k)] for the median of a continuous distribution: 1 − 2·P(Bin(n, ½) ≤ k − 1)."""
    if runs < 1:
        raise ValueError(f"runs must be at least 1, got {runs}")
    if not 1 <= rank <= (runs + 1) // 2:
        raise ValueError(f"rank must be between 1 and (runs + 1) // 2 = {(runs + 1) // 2}, got {rank}")
    below = sum(math.comb(runs, i) for i in range(rank))  # integers: exact up to the final division
    return 1.0 - 2.0 * below / 2**runs


def median_rank(runs: int, *, target: float = MEDIAN_TARGET) -> tuple[int, float]:
    """(k, coverage): the largest k (narrowest interval) whose coverage reaches `target`; k = 1 when none does."""
    if not 0.0 < target < 1.0:
        raise ValueError(f"target must be a coverage strictly between 0 and 1, got {target}")
    best = 1
    for rank in range(2, (runs + 1) // 2 + 1):
        if median_coverage(runs, rank) >= target:
            best = rank
        else:
            break  # coverage falls as k grows
    return best, median_coverage(runs, best)


def order_statistics(values: np.ndarray, censored: np.ndarray, rank: int) -> tuple[np.ndarray, np.ndarray]:
    """(x(rank), is_bound) along the last axis: a censored value counted once at its bound, once at +∞; where they differ, a bound."""
    at_bound, at_infinity = _sorted_both_ways(values, censored)
    index = rank - 1
    if not 0 <= index < at_bound.shape[-1]:
        raise ValueError(f"rank must be between 1 and {at_bound.shape[-1]}, got {rank}")
    return at_bound[..., index], at_infinity[..., index] != at_bound[..., index]


def censored_medians(values: np.ndarray, censored: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(median, is_bound) along the last axis; an even count averages the middle two (a bound if either is)."""
    at_bound, at_infinity = _sorted_both_ways(values, censored)
    runs = at_bound.shape[-1]
    middle = [runs // 2] if runs % 2 else [runs // 2 - 1, runs // 2]
    median = at_bound[..., middle].mean(axis=-1)
    return median, at_infinity[..., middle].mean(axis=-1) != median


def _sorted_both_ways(values: np.ndarray, censored: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Values sorted along the last axis with censored ones at their bound, and again with them at +∞."""
    values = np.asarray(values, dtype=float)
    censored = np.asarray(censored, dtype=bool)
    if values.shape != censored.shape or values.ndim == 0 or values.shape[-1] == 0:
        raise ValueError(f"values and censored must have one equal, non-empty shape, got {values.shape} and {censored.shape}")
    return np.sort(values, axis=-1), np.sort(np.where(censored, np.inf, values), axis=-1)


@dataclass(frozen=True)
class MedianSummary:
    """Median of a clock over seeds and its order-statistic interval, with the interval's exact coverage beside it."""

    median: float
    median_is_bound: bool  # True: the median is at least `median` (`> x`)
    low: float | None  # None for a single run
    low_is_bound: bool | None
    high: float | None
    high_is_bound: bool | None  # True: the interval's top is at least `high`, its true extent unknown
    coverage: float | None  # exact for continuous clocks, at least this with ties; None for a single run
    kind: str  # "interval" (coverage ≥ minimum), "range" (below: not a confidence interval), "single"
    ranks: tuple[int, int] | None  # (k, n + 1 − k): the order statistics that bound the interval
    runs: int
    runs_censored: int

    def display(self, digits: int = 0) -> str:
        """'412 [380, 455] (93 %)', '412 (range 380–455, 75 %)', '> 2000' or '412' for one run; bounds as '> x'."""
        median = format_bound(self.median, self.median_is_bound, digits)
        if self.kind == "single" or self.low is None or self.high is None or self.coverage is None:
            return median
        if self.low == self.high == self.median and self.low_is_bound == self.high_is_bound == self.median_is_bound:
            return f"{median} (all {count_text(self.runs, 'run')})"  # every run the same (e.g. all censored at one bound): no spread to show
        low = format_bound(self.low, bool(self.low_is_bound), digits)
        high = format_bound(self.high, bool(self.high_is_bound), digits)
        percent = format_percent(self.coverage)
        if self.kind == "range":
            return f"{median} (range {low}–{high}, {percent})"
        return f"{median} [{low}, {high}] ({percent})"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def median_summary(
    values: Sequence[float] | np.ndarray,
    censored: Sequence[bool] | np.ndarray,
    *,
    target: float = MEDIAN_TARGET,
    minimum: float = MEDIAN_MINIMUM,
) -> MedianSummary:
    """Median of one clock over seeds with the distribution-free interval [x(k), x(n+1−k)] and its exact coverage.

    k is the largest rank whose coverage C(n, k) = 1 − 2·P(Bin(n, ½) ≤ k − 1) reaches `target` (k = 1, i.e.
    [min, max], when none does); below `minimum` the summary is a "range", not a confidence interval.
    Right-censoring (a censored value c means the clock had not fired by step c; bounds may differ between
    runs): every number is computed with censored values at their bound and again at +∞, and where the two
    differ it is shown as a lower bound `> x`. The coverage statement stays valid because it is a statement
    about the interval of the true (uncensored) values, [X(k), X(n+1−k)], and the shown interval contains it
    when read as printed: a shown end is either that order statistic itself or a lower bound on it, so the
    shown low end is at most X(k), and a high end shown as `> x` is read as open above (X(n+1−k) ≥ x).
    Coverage is exact for a continuous clock; with ties (steps are discrete) the closed interval covers
    the median with probability at least C(n, k).
    """
    values = np.asarray(values, dtype=float)
    censored = np.asarray(censored, dtype=bool)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"values must be a non-empty 1-D sequence, got shape {values.shape}")
    if censored.shape != values.shape:
        raise ValueError(f"censored must have the shape of values {values.shape}, got {censored.shape}")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"values must be finite (a censored run is its bound with censored=True), got {values.tolist()}")
    if not 0.0 < minimum <= target < 1.0:
        raise ValueError(f"need 0 < minimum <= target < 1, got minimum={minimum}, target={target}")
    runs = int(values.size)
    median, median_is_bound = (v.item() for v in censored_medians(values, censored))
    common: dict[str, Any] = {"median": float(median), "median_is_bound": bool(median_is_bound), "runs": runs, "runs_censored": int(censored.sum())}
    if runs == 1:
        return MedianSummary(low=None, low_is_bound=None, high=None, high_is_bound=None, coverage=None, kind="single", ranks=None, **common)
    rank, coverage = median_rank(runs, target=target)
    low, low_is_bound = (v.item() for v in order_statistics(values, censored, rank))
    high, high_is_bound = (v.item() for v in order_statistics(values, censored, runs + 1 - rank))
    return MedianSummary(
        low=float(low),
        low_is_bound=bool(low_is_bound),
        high=float(high),
        high_is_bound=bool(high_is_bound),
        coverage=coverage,
        kind="interval" if coverage >= minimum else "range",
        ranks=(rank, runs + 1 - rank),
        **common,
    )


# --- censored regression (Tobit) ---------------------------------------------------------------

_NEWTON_ITERATIONS = 100
_LINE_SEARCH_HALVINGS = 40
_GRADIENT_TOLERANCE = 1e-10  # on the Newton decrement g·H⁻¹g, in standardised units
_COLLINEAR_TOLERANCE = 1e-12  # residual variance / total variance below which uncensored points lie on one line
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)

# Why a row has no fit (index into REASONS; 0 is a fit).
REASONS = (
    None,
    "fewer than 2 distinct x",
    "every point censored",
    "too few uncensored points (a censored fit needs 3 not on one line, at 2 or more x)",
    "the likelihood maximisation did not converge",
)


@dataclass(frozen=True)
class TobitRows:
    """Fits of many point sets at once (one per row); NaN and a nonzero `reason` code where a row has no fit."""

    intercept: np.ndarray
    slope: np.ndarray
    sigma: np.ndarray
    log_likelihood: np.ndarray
    reason: np.ndarray  # int index into REASONS; 0 where the row has a fit

    @property
    def fitted(self) -> np.ndarray:
        return self.reason == 0


def tobit_rows(x: np.ndarray, y: np.ndarray, censored: np.ndarray, weight: np.ndarray | None = None) -> TobitRows:
    """Maximum-likelihood lines y = a + b·x + N(0, σ²) for each row, a censored y a lower bound; vectorised over rows.

    A row's points are those with weight 1 (weight 0 leaves a point out: leave-one-seed-out fits share one
    array). Rows without censored points get the closed-form least-squares line (σ² = RSS/n, its maximum
    likelihood). Rows with censored points are maximised by Newton's method with step halving in Olsen's
    parameters (b/σ, a/σ, 1/σ), where the Tobit log-likelihood is globally concave: the maximum is unique
    and Newton reaches it from the least-squares start on all points.
    """
    x, y, censored = (np.atleast_2d(np.asarray(v, dtype=dtype)) for v, dtype in ((x, float), (y, float), (censored, bool)))
    if not x.shape == y.shape == censored.shape:
        raise ValueError(f"x, y and censored must have one shape, got {x.shape}, {y.shape}, {censored.shape}")
    weight = np.ones(x.shape) if weight is None else np.atleast_2d(np.asarray(weight, dtype=float))
    if weight.shape != x.shape or not np.all((weight == 0) | (weight == 1)):
        raise ValueError(f"weight must be 0 or 1 with the shape of x {x.shape}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError("x and y must be finite (a censored point is its bound with censored=True)")
    rows = x.shape[0]
    used = weight > 0
    uncensored = used & ~censored
    has_censored = np.any(used & censored, axis=1)
    _, _, uncensored_rss, _ = _least_squares(x, y, uncensored)
    with np.errstate(invalid="ignore"):
        spread = _weighted_variance(y, uncensored) * np.sum(uncensored, axis=1)
        off_one_line = uncensored_rss > _COLLINEAR_TOLERANCE * spread
    identified = (np.sum(uncensored, axis=1) >= 3) & (_distinct_counts(x, uncensored) >= 2) & off_one_line
    reason = np.select(
        [_distinct_counts(x, used) < 2, ~np.any(uncensored, axis=1), has_censored & ~identified],
        [1, 2, 3],
        default=0,
    )

    intercept, slope, sigma, loglik = (np.full(rows, np.nan) for _ in range(4))
    closed = (reason == 0) & ~has_censored
    if np.any(closed):
        a, b, rss, _ = (v[closed] for v in _least_squares(x, y, used))
        count = np.sum(used[closed], axis=1)
        s = np.sqrt(rss / count)
        intercept[closed], slope[closed], sigma[closed] = a, b, s
        with np.errstate(divide="ignore"):
            loglik[closed] = -count * (np.log(s) + _LOG_SQRT_2PI + 0.5)
    censored_rows = np.flatnonzero((reason == 0) & has_censored)
    if censored_rows.size:
        fit = _tobit_newton(x[censored_rows], y[censored_rows], censored[censored_rows], used[censored_rows])
        intercept[censored_rows], slope[censored_rows], sigma[censored_rows], loglik[censored_rows], converged = fit
        reason[censored_rows[~converged]] = 4
    failed = reason != 0
    for array in (intercept, slope, sigma, loglik):
        array[failed] = np.nan
    return TobitRows(intercept, slope, sigma, loglik, reason)


def _distinct_counts(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Distinct x values among the masked points of each row."""
    ordered = np.sort(np.where(mask, x, np.inf), axis=1)
    finite = np.isfinite(ordered)
    new = finite.copy()
    new[:, 1:] &= ordered[:, 1:] != ordered[:, :-1]
    return np.sum(new, axis=1)


def _weighted_variance(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    count = np.maximum(np.sum(mask, axis=1), 1)
    mean = np.sum(np.where(mask, values, 0.0), axis=1) / count
    return np.sum(np.where(mask, (values - mean[:, None]) ** 2, 0.0), axis=1) / count


def _least_squares(x: np.ndarray, y: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Row-wise least squares over masked points: (intercept, slope, residual sum of squares, Sxx); NaN where x is constant."""
    count = np.maximum(np.sum(mask, axis=1), 1)
    x_mean = np.sum(np.where(mask, x, 0.0), axis=1) / count
    y_mean = np.sum(np.where(mask, y, 0.0), axis=1) / count
    dx = np.where(mask, x - x_mean[:, None], 0.0)
    dy = np.where(mask, y - y_mean[:, None], 0.0)
    sxx = np.sum(dx * dx, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = np.sum(dx * dy, axis=1) / sxx
        rss = np.maximum(np.sum(dy * dy, axis=1) - slope * np.sum(dx * dy, axis=1), 0.0)
    return y_mean - slope * x_mean, slope, rss, sxx


def _tobit_newton(x: np.ndarray, y: np.ndarray, censored: np.ndarray, used: np.ndarray) -> tuple[np.ndarray, ...]:
    """Newton's method with step halving on the concave Tobit log-likelihood; (a, b, σ, log-likelihood, converged) per row."""
    rows = x.shape[0]
    count = np.sum(used, axis=1)
    x_mean = np.sum(np.where(used, x, 0.0), axis=1) / count
    y_mean = np.sum(np.where(used, y, 0.0), axis=1) / count
    x_scale = np.sqrt(_weighted_variance(x, used))
    y_scale = np.sqrt(_weighted_variance(y, used))
    y_scale = np.where(y_scale > 0, y_scale, 1.0)
    xs = np.where(used, (x - x_mean[:, None]) / x_scale[:, None], 0.0)
    ys = np.where(used, (y - y_mean[:, None]) / y_scale[:, None], 0.0)
    exact = (used & ~censored).astype(float)
    bound = (used & censored).astype(float)
    a0, b0, rss0, _ = _least_squares(xs, ys, used)  # least squares on all points, censored ones at their bound
    h0 = 1.0 / np.maximum(np.sqrt(rss0 / count), 0.1)
    theta = np.stack([a0 * h0, b0 * h0, h0], axis=1)
    loglik, gradient, hessian = _tobit_evaluate(theta, xs, ys, exact, bound)
    converged = np.zeros(rows, dtype=bool)
    active = np.arange(rows)
    for _ in range(_NEWTON_ITERATIONS):
        step = -np.linalg.solve(hessian[active], gradient[active][..., None])[..., 0]
        done = np.sum(gradient[active] * step, axis=1) < _GRADIENT_TOLERANCE  # Newton decrement
        converged[active[done]] = True
        searching, step = active[~done], step[~done]
        scale = np.ones(searching.size)
        for _ in range(_LINE_SEARCH_HALVINGS):
            if searching.size == 0:
                break
            trial = theta[searching] + scale[:, None] * step
            values = _tobit_evaluate(trial, xs[searching], ys[searching], exact[searching], bound[searching])
            better = values[0] >= loglik[searching]
            accepted = searching[better]
            theta[accepted] = trial[better]
            loglik[accepted], gradient[accepted], hessian[accepted] = (v[better] for v in values)
            searching, step, scale = searching[~better], step[~better], scale[~better] * 0.5
        converged[searching] = True  # no step along Newton's direction improves: at the maximum to machine precision
        active = np.flatnonzero(~converged)
        if active.size == 0:
            break
    sigma_s = 1.0 / theta[:, 2]
    slope = theta[:, 1] * sigma_s * y_scale / x_scale
    intercept = y_mean + theta[:, 0] * sigma_s * y_scale - slope * x_mean
    loglik_y = loglik - np.sum(exact, axis=1) * np.log(y_scale)  # density in y units, not standardised
    finite = np.isfinite(slope) & np.isfinite(intercept) & (theta[:, 2] > 0)
    return intercept, slope, sigma_s * y_scale, loglik_y, converged & finite


def _tobit_evaluate(theta: np.ndarray, xs: np.ndarray, ys: np.ndarray, exact: np.ndarray, bound: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row-wise log-likelihood, gradient (rows, 3) and Hessian (rows, 3, 3) in Olsen's parameters θ = (a/σ, b/σ, 1/σ).

    Uncensored point: ℓ = log h − ½ r², r = h·y − γ₀ − γ₁·x. Censored point: ℓ = log Φ(s), s = −r. Both are
    concave in θ; with v = ∂s/∂θ = (1, x, −y), ℓ' = r·v (uncensored, plus 1/h on h) or λ(s)·v (censored, λ
    the inverse Mills ratio φ/Φ), and ℓ'' = −v vᵀ (minus 1/h² on h) or −λ(s + λ)·v vᵀ.
    """
    h = theta[:, 2:3]
    residual = h * ys - theta[:, 0:1] - theta[:, 1:2] * xs
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        log_phi_cdf = special.log_ndtr(-residual)
        mills = np.exp(-0.5 * residual**2 - _LOG_SQRT_2PI - log_phi_cdf)
        exact_count = np.sum(exact, axis=1)
        loglik = exact_count * (np.log(theta[:, 2]) - _LOG_SQRT_2PI) + np.sum(bound * log_phi_cdf - 0.5 * exact * residual**2, axis=1)
    loglik = np.where((theta[:, 2] > 0) & np.isfinite(loglik), loglik, -np.inf)
    score = exact * residual + bound * mills
    weight = exact + bound * (mills * (mills - residual))
    gradient = np.stack([np.sum(score, axis=1), np.sum(score * xs, axis=1), exact_count / theta[:, 2] - np.sum(score * ys, axis=1)], axis=1)
    wx, wy = weight * xs, weight * ys
    h00, h01, h02 = np.sum(weight, axis=1), np.sum(wx, axis=1), -np.sum(wy, axis=1)
    h11, h12, h22 = np.sum(wx * xs, axis=1), -np.sum(wx * ys, axis=1), np.sum(wy * ys, axis=1) + exact_count / theta[:, 2] ** 2
    hessian = -np.stack([np.stack([h00, h01, h02], -1), np.stack([h01, h11, h12], -1), np.stack([h02, h12, h22], -1)], axis=1)
    return loglik, gradient, hessian


@dataclass(frozen=True)
class TobitFit:
    """A censored-data line y = intercept + slope·x + N(0, sigma²); `slope` None with a `reason` where there is no fit."""

    slope: float | None
    intercept: float | None
    sigma: float | None
    log_likelihood: float | None
    points: int
    points_censored: int
    reason: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def tobit_fit(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray, censored: Sequence[bool] | np.ndarray) -> TobitFit:
    """Maximum-likelihood line through points whose censored y are lower bounds; least squares when none is censored."""
    x, y, censored = _points(x, y, censored)
    rows = tobit_rows(x[None, :], y[None, :], censored[None, :])
    counts = {"points": int(x.size), "points_censored": int(censored.sum())}
    if not rows.fitted[0]:
        return TobitFit(None, None, None, None, reason=REASONS[int(rows.reason[0])], **counts)
    return TobitFit(float(rows.slope[0]), float(rows.intercept[0]), float(rows.sigma[0]), float(rows.log_likelihood[0]), reason=None, **counts)


def _points(x: Any, y: Any, censored: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x, y, censored = np.asarray(x, dtype=float), np.asarray(y, dtype=float), np.asarray(censored, dtype=bool)
    if x.ndim != 1:
        raise ValueError(f"x must be a 1-D sequence, got shape {x.shape}")
    for name, array in (("y", y), ("censored", censored)):
        if array.shape != x.shape:
            raise ValueError(f"{name} must have the shape of x {x.shape}, got {array.shape}")
    for name, array in (("x", x), ("y", y)):
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{name} must be finite (a censored point is its bound with censored=True)")
    return x, y, censored


# --- slopes over seeds ---------------------------------------------------------------------------

SLOPE_CONFIDENCE = 0.95


@dataclass(frozen=True)
class JackknifeRows:
    """Pooled slope of each row of points and its leave-one-seed-out slopes (rows, seeds); NaN where a fit is missing."""

    slope: np.ndarray
    intercept: np.ndarray
    leave_one_out: np.ndarray
    reason: np.ndarray  # the pooled fit's reason code (REASONS)


def seed_jackknife_rows(x: np.ndarray, y: np.ndarray, censored: np.ndarray, seed_index: np.ndarray, seeds: int) -> JackknifeRows:
    """Pooled Tobit slope of each row and the slope with each seed's points left out, in one vectorised fit."""
    x, y, censored = (np.atleast_2d(np.asarray(v)) for v in (x, y, censored))
    seed_index = np.broadcast_to(np.asarray(seed_index), x.shape)
    rows, points = x.shape
    keep = seed_index[:, None, :] != np.arange(seeds)[None, :, None]  # (rows, seeds, points)
    weight = np.concatenate([np.ones((rows, 1, points)), keep], axis=1).reshape(rows * (seeds + 1), points)
    stacked_x, stacked_y, stacked_censored = (np.repeat(v, seeds + 1, axis=0) for v in (x, y, censored))
    fits = tobit_rows(stacked_x, stacked_y, stacked_censored, weight=weight)
    slopes = fits.slope.reshape(rows, seeds + 1)
    return JackknifeRows(slopes[:, 0], fits.intercept.reshape(rows, seeds + 1)[:, 0], slopes[:, 1:], fits.reason.reshape(rows, seeds + 1)[:, 0])


def jackknife_interval(slope: np.ndarray, leave_one_out: np.ndarray, confidence: float = SLOPE_CONFIDENCE) -> tuple[np.ndarray, np.ndarray]:
    """slope ± t(S−1)·√((S−1)/S·Σ(b₋ₛ − b)²): the cluster jackknife (CV3) with t critical values on S − 1 degrees of freedom."""
    seeds = leave_one_out.shape[-1]
    variance = (seeds - 1) / seeds * np.sum((leave_one_out - slope[..., None]) ** 2, axis=-1)
    half = stats.t.ppf(0.5 + confidence / 2.0, seeds - 1) * np.sqrt(variance)
    return slope - half, slope + half


SLOPE_CONFIDENCES = (0.90, 0.95)  # the confidence levels whose coverage the simulation measured
SLOPE_MAX_CENSORED_SHARE = 0.5  # above it no interval: the line rests mostly on bounds, and printed intervals under-cover
SLOPE_METHOD = "Tobit, seed-jackknife t(S−1)"
SLOPE_REASONS = (
    None,
    "one seed",
    "more than half the points censored",
    "a leave-one-seed-out fit is missing",
    "two seeds",
)


@dataclass(frozen=True)
class SlopeRows:
    """`clustered_slope` for many point sets at once (rows); NaN ends and a nonzero `reason` code where there is no interval."""

    slope: np.ndarray
    intercept: np.ndarray
    low: np.ndarray
    high: np.ndarray
    coverage: np.ndarray  # NaN where there is no interval
    fit_reason: np.ndarray  # REASONS code of the pooled fit (0: a slope)
    interval_reason: np.ndarray  # SLOPE_REASONS code (0: an interval)


def clustered_slope_rows(x: np.ndarray, y: np.ndarray, censored: np.ndarray, seed_index: np.ndarray, seeds: int, *, confidence: float = SLOPE_CONFIDENCE) -> SlopeRows:
    """Pooled Tobit slope per row and its seed-jackknife interval where its coverage was measured; vectorised over rows."""
    if confidence not in SLOPE_CONFIDENCES:
        raise ValueError(f"confidence must be one of {SLOPE_CONFIDENCES} (the levels whose coverage was simulated), got {confidence}")
    censored = np.atleast_2d(np.asarray(censored, dtype=bool))
    rows = censored.shape[0]
    if seeds < 2:
        fit = tobit_rows(x, y, censored)
        nan = np.full(rows, np.nan)
        return SlopeRows(fit.slope, fit.intercept, nan, nan.copy(), nan.copy(), fit.reason, np.ones(rows, dtype=int))
    jackknife = seed_jackknife_rows(x, y, censored, seed_index, seeds)
    low, high = jackknife_interval(jackknife.slope, jackknife.leave_one_out, confidence)
    reason = np.zeros(rows, dtype=int)
    reason[~np.all(np.isfinite(jackknife.leave_one_out), axis=1)] = 3
    if seeds == 2:  # exact without censoring, but with it printing only uncensored cells selects low ones: 87–91 % measured
        reason[:] = 4
    reason[np.mean(censored, axis=1) > SLOPE_MAX_CENSORED_SHARE] = 2
    no_interval = (reason != 0) | (jackknife.reason != 0)
    low[no_interval] = high[no_interval] = np.nan
    coverage = np.where(no_interval, np.nan, confidence)
    return SlopeRows(jackknife.slope, jackknife.intercept, low, high, coverage, jackknife.reason, reason)


@dataclass(frozen=True)
class SlopeFit:
    """A scaling slope fitted over runs (Tobit where points are censored) with a seed-clustered interval and its coverage."""

    slope: float | None  # None: no fit (see reason)
    intercept: float | None
    low: float | None  # None: no interval (see reason)
    high: float | None
    coverage: float | None  # the coverage the interval has (measured by simulation), None without one
    method: str
    points: int
    points_censored: int
    clusters: int
    x_min: float
    x_max: float
    reason: str | None  # why there is no fit or no interval; None when both exist

    def display(self, digits: int = 2) -> str:
        """'1.21 [1.02, 1.40] (95 %)', '1.21 (no interval: one seed)' or 'no fit: every point censored'."""
        if self.slope is None:
            return f"no fit: {self.reason}"
        slope = f"{self.slope:.{digits}f}"
        if self.low is None or self.high is None or self.coverage is None:
            return f"{slope} (no interval: {self.reason})"
        return f"{slope} [{self.low:.{digits}f}, {self.high:.{digits}f}] ({format_percent(self.coverage)})"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def clustered_slope(
    x: Sequence[float] | np.ndarray,
    y: Sequence[float] | np.ndarray,
    censored: Sequence[bool] | np.ndarray,
    cluster: Sequence[Any] | np.ndarray,
    *,
    confidence: float = SLOPE_CONFIDENCE,
) -> SlopeFit:
    """Slope of y on x over runs, seeds as the independent units: pooled Tobit fit, leave-one-seed-out jackknife interval.

    Runs of one seed share its training-set draws and initialisation, so the interval resamples seeds, not
    runs: slope ± t(S−1)·√((S−1)/S·Σ(b₋ₛ − b)²) over the S leave-one-seed-out fits (CV3 jackknife). Its
    coverage was measured by simulation (tests/perf/coverage_table.py) for 3–5 seeds, 3–5 distinct x,
    per-seed random intercepts and up to 40 % of points censored at a fixed bound: within 2 points of
    95 % (of 90 % up to 30 % censored). No interval with fewer than 3 seeds, or with more than half the
    points censored (the line then rests mostly on bounds; the module docstring gives the shortfall).
    """
    x, y, censored = _points(x, y, censored)
    cluster = np.asarray(cluster)
    if cluster.shape != x.shape:
        raise ValueError(f"cluster must have one seed label per point, shape {x.shape}, got {cluster.shape}")
    labels, seed_index = np.unique(cluster, return_inverse=True)
    seeds = int(labels.size)
    common: dict[str, Any] = {
        "method": SLOPE_METHOD,
        "points": int(x.size),
        "points_censored": int(censored.sum()),
        "clusters": seeds,
        "x_min": float(x.min()) if x.size else float("nan"),
        "x_max": float(x.max()) if x.size else float("nan"),
    }
    if x.size == 0:
        return SlopeFit(None, None, None, None, None, reason="no points", **common)
    rows = clustered_slope_rows(x[None, :], y[None, :], censored[None, :], seed_index[None, :], seeds, confidence=confidence)
    if rows.fit_reason[0] != 0:
        return SlopeFit(None, None, None, None, None, reason=REASONS[int(rows.fit_reason[0])], **common)
    slope, intercept = float(rows.slope[0]), float(rows.intercept[0])
    if rows.interval_reason[0] != 0:
        reason = SLOPE_REASONS[int(rows.interval_reason[0])]
        if rows.interval_reason[0] == 3:
            missing = [str(label) for label, value in zip(labels, _leave_one_out_missing(x, y, censored, seed_index, seeds)) if value]
            reason = f"leaving out seed {', '.join(missing)} leaves no identified fit"
        return SlopeFit(slope, intercept, None, None, None, reason=reason, **common)
    return SlopeFit(slope, intercept, float(rows.low[0]), float(rows.high[0]), float(rows.coverage[0]), reason=None, **common)


def _leave_one_out_missing(x: np.ndarray, y: np.ndarray, censored: np.ndarray, seed_index: np.ndarray, seeds: int) -> np.ndarray:
    """bool[seeds]: True where leaving that seed out leaves no fit."""
    return ~np.isfinite(seed_jackknife_rows(x[None, :], y[None, :], censored[None, :], seed_index[None, :], seeds).leave_one_out[0])


__all__ = [
    "MEDIAN_TARGET",
    "MEDIAN_MINIMUM",
    "median_coverage",
    "median_rank",
    "order_statistics",
    "censored_medians",
    "MedianSummary",
    "median_summary",
    "REASONS",
    "TobitRows",
    "tobit_rows",
    "TobitFit",
    "tobit_fit",
    "SLOPE_CONFIDENCE",
    "JackknifeRows",
    "seed_jackknife_rows",
    "jackknife_interval",
    "SLOPE_CONFIDENCES",
    "SLOPE_MAX_CENSORED_SHARE",
    "SLOPE_METHOD",
    "SLOPE_REASONS",
    "SlopeRows",
    "clustered_slope_rows",
    "SlopeFit",
    "clustered_slope",
]
