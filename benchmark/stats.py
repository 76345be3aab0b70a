"""Statistics the leaderboard prints, each with the coverage it really has.

- `wilson_interval`: a binomial proportion's score interval (per-eval fractions).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Sequence

import numpy as np

WILSON_Z = 1.959963984540054  # two-sided 95 %


# --- binomial proportions ----------------------------------------------------------------------


def wilson_interval(successes: np.ndarray | float, total: int, z: float = WILSON_Z) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion: sensible at 0 and 1, where the normal interval collapses."""
    if total <= 0:
        raise ValueError(f"total must be positive, got {total}")
    p = float(successes) / total
    z2 = z * z
    denominator = 1.0 + z2 / total
    centre = (p + z2 / (2 * total)) / denominator
    half = z / denominator * math.sqrt(p * (1.0 - p) / total + z2 / (4.0 * total * total))
    return max(0.0, centre - half), min(1.0, centre + half)


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
    common = {"median": float(median), "median_is_bound": bool(median_is_bound), "runs": runs, "runs_censored": int(censored.sum())}
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


def format_bound(value: float, is_bound: bool, digits: int = 0) -> str:
    """A number as printed, '> x' when it is a lower bound; digits=0: whole numbers (two significant digits below 1)."""
    if digits == 0 and abs(value) >= 1:
        text = f"{value:.0f}"
    else:
        text = f"{value:.2g}" if digits == 0 else f"{value:.{digits}f}"
    return f"> {text}" if is_bound else text


def format_percent(coverage: float) -> str:
    """A coverage as a whole percent rounded down (93.75 → '93 %'), so the label never overstates it."""
    return f"{math.floor(coverage * 100 + 1e-9)} %"

