"""Paired tests, equivalence tests and per-run scores for a pre-registered study (study 3.0), exact where n is small.

Cells of a study share seeds (seed s: the same training set and initialisation in every cell where shapes
allow), so two cells are compared pair by pair. A run's clock is an `Obs`: exact, or censored (a lower
bound: the clock had not fired by `value`).

Censoring. A pair's order is decided only when it can be read: a censored run lies beyond the other run
when its bound is at or above the other's value; when the bound lies below an exact value, or both runs
are censored, the order is *undecidable*. Undecidable pairs are dropped, as exact ties are (the
conventional sign test, conditional on the decided pairs). Why: when both cells of a pair share their
budget (the plan's rule), swapping a pair's two runs maps decidable pairs onto decidable pairs, so under
no difference the decided signs are still fair coins and the p stays exact; the cost is power (fewer
pairs), never a false call. The count of undecided pairs is returned and printed beside every p.

The Wilcoxon signed-rank test needs the size of each difference, which a bound does not give: it uses
the pairs with both runs exact and drops the rest (reported), so the study uses it only where no run of
the two cells is censored and the sign test elsewhere.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from benchmark.analysis.stats import clustered_slope
from benchmark.run.clocks import first_held_index
from benchmark.run.metrics import wilson_interval

ALTERNATIVES = ("greater", "less", "two-sided")
Z99 = 2.5758293035489004  # two-sided 99 %: the Wilson interval an eval's undecided mark is read on


@dataclass(frozen=True)
class Obs:
    """One run's number: exact, or a lower bound (a censored clock: it had not fired by `value`)."""

    value: float
    censored: bool = False

    def scaled(self, factor: float) -> Obs:
        return Obs(self.value * factor, self.censored)


def pair_sign(a: Obs, b: Obs) -> int:
    """+1 when b lies beyond a, −1 when a lies beyond b, 0 for a tie or an undecidable order (see the module docstring)."""
    if a.censored and b.censored:
        return 0
    if a.censored:
        return -1 if b.value <= a.value else 0
    if b.censored:
        return 1 if a.value <= b.value else 0
    return int(np.sign(b.value - a.value))


def _check_alternative(alternative: str) -> None:
    if alternative not in ALTERNATIVES:
        raise ValueError(f"alternative must be one of {', '.join(ALTERNATIVES)}, got {alternative!r}")


def _tail_p(upper: float, lower: float, alternative: str) -> float:
    """The p of a one- or two-sided test from its two exact tails P(S ≥ s) and P(S ≤ s)."""
    if alternative == "greater":
        return upper
    if alternative == "less":
        return lower
    return min(1.0, 2.0 * min(upper, lower))


def smallest_p(n: int, alternative: str = "greater") -> float:
    """The smallest p an exact sign or signed-rank test over n decided pairs can reach: 2^−n one-sided, 2^(1−n) two-sided."""
    _check_alternative(alternative)
    if n <= 0:
        return 1.0
    return min(1.0, (2.0 if alternative == "two-sided" else 1.0) * 0.5**n)


@dataclass(frozen=True)
class PairedTest:
    """An exact paired test: its statistic, p, the decided pairs it used and the pairs it could not read."""

    test: str  # "sign" or "signed-rank"
    alternative: str  # "greater": the second cell's runs lie beyond the first's
    statistic: float  # sign: pairs where b lies beyond a; signed-rank: W+ (the rank sum of those pairs)
    n: int  # decided pairs used
    undecided: int  # pairs dropped: ties, undecidable orders (and, for signed-rank, any censored run)
    p: float
    smallest_p: float  # the smallest p this test could reach with n pairs

    def text(self) -> str:
        dropped = f", {self.undecided} tied or undecidable dropped" if self.undecided else ""
        return f"{self.test} test, {self.alternative}: {self.statistic:g} of {self.n} pairs{dropped}, p = {self.p:.4g} (smallest reachable {self.smallest_p:.4g})"


def _pairs(a: Sequence[Obs], b: Sequence[Obs]) -> list[tuple[Obs, Obs]]:
    if len(a) != len(b):
        raise ValueError(f"paired tests need as many runs in each cell, got {len(a)} and {len(b)}")
    return list(zip(a, b))


def sign_test(a: Sequence[Obs], b: Sequence[Obs], alternative: str = "greater") -> PairedTest:
    """Exact sign test of b against a, pair by pair (censored runs ranked beyond their bound, undecidable pairs dropped)."""
    _check_alternative(alternative)
    signs = [pair_sign(x, y) for x, y in _pairs(a, b)]
    n = sum(s != 0 for s in signs)
    k = sum(s > 0 for s in signs)
    upper = float(stats.binom.sf(k - 1, n, 0.5)) if n else 1.0
    lower = float(stats.binom.cdf(k, n, 0.5)) if n else 1.0
    return PairedTest("sign", alternative, float(k), n, len(signs) - n, _tail_p(upper, lower, alternative), smallest_p(n, alternative))


def signed_rank_null(ranks: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Exact null distribution of W+ over `ranks` (midranks allowed): every one of the 2^n sign patterns equally likely.

    Returns (values of W+, probabilities). Ranks are doubled to integers and the distribution built by
    convolution, one rank at a time, so ties stay exact and n costs O(n · Σranks), not 2^n.
    """
    doubled = np.rint(2 * np.asarray(ranks, dtype=float)).astype(np.int64)
    counts = np.zeros(int(doubled.sum()) + 1)
    counts[0] = 1.0
    for r in doubled:
        shifted = np.zeros_like(counts)
        shifted[r:] = counts[:-r]  # ranks are ≥ 1, so r ≥ 2
        counts = counts + shifted
    support = np.flatnonzero(counts)
    return support / 2.0, counts[support] / counts.sum()


def signed_rank_test(a: Sequence[Obs], b: Sequence[Obs], alternative: str = "greater") -> PairedTest:
    """Exact Wilcoxon signed-rank test of b − a over the pairs with both runs exact (zero differences dropped, midranks for ties)."""
    _check_alternative(alternative)
    pairs = _pairs(a, b)
    diffs = np.array([y.value - x.value for x, y in pairs if not x.censored and not y.censored], dtype=float)
    diffs = diffs[diffs != 0]
    n = int(diffs.size)
    if n == 0:
        return PairedTest("signed-rank", alternative, 0.0, 0, len(pairs), 1.0, 1.0)
    ranks = stats.rankdata(np.abs(diffs))
    w = float(ranks[diffs > 0].sum())
    values, probabilities = signed_rank_null(ranks)
    upper = float(probabilities[values >= w - 1e-9].sum())
    lower = float(probabilities[values <= w + 1e-9].sum())
    return PairedTest("signed-rank", alternative, w, n, len(pairs) - n, min(1.0, _tail_p(upper, lower, alternative)), smallest_p(n, alternative))


@dataclass(frozen=True)
class Holm:
    """Holm's step-down correction of m p values: adjusted p (in the input order) and which are rejected at α."""

    p: tuple[float, ...]
    adjusted: tuple[float, ...]
    rejected: tuple[bool, ...]
    alpha: float


def holm(p_values: Sequence[float], alpha: float = 0.05) -> Holm:
    """Holm (1979): sort p ascending, adjusted p(i) = max over j ≤ i of min(1, (m − j + 1)·p(j)); reject where adjusted ≤ α."""
    p = np.asarray(p_values, dtype=float)
    m = p.size
    order = np.argsort(p, kind="stable")
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    adjusted = np.empty(m)
    adjusted[order] = np.maximum.accumulate(scaled) if m else scaled
    return Holm(tuple(float(x) for x in p), tuple(float(x) for x in adjusted), tuple(bool(x <= alpha) for x in adjusted), alpha)


# --- equivalence (TOST) -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tost:
    """Two one-sided tests of equivalence: the estimate lies inside (low, high) when p = max(p_low, p_high) ≤ α."""

    estimate: float | None
    margin: tuple[float, float]
    p_low: float  # H0: estimate ≤ margin low
    p_high: float  # H0: estimate ≥ margin high
    alpha: float
    interval: tuple[float, float] | None  # the (1 − 2α) interval the TOST is equivalent to, where there is one
    reason: str | None = None  # why there is no test (no fit, no interval)

    @property
    def p(self) -> float:
        return max(self.p_low, self.p_high)

    @property
    def equivalent(self) -> bool:
        return self.reason is None and self.p <= self.alpha


def tost_slope(x: Sequence[float], y: Sequence[float], censored: Sequence[bool], seed: Sequence[Any], margin: tuple[float, float] = (0.8, 1.25), alpha: float = 0.05) -> Tost:
    """TOST of a scaling slope (α of τ_mem ∝ N^α: x = log10 N, y = log10 τ_mem) against `margin`, on `stats.clustered_slope`.

    The slope's leave-one-seed-out jackknife gives b ± t(S−1)·se; each one-sided test is a t test on S − 1
    degrees of freedom, so the TOST at α passes exactly when the (1 − 2α) interval lies inside the margin.
    """
    low_margin, high_margin = margin
    fit = clustered_slope(x, y, censored, seed, confidence=1.0 - 2.0 * alpha)
    if fit.slope is None or fit.low is None or fit.high is None:
        return Tost(fit.slope, margin, 1.0, 1.0, alpha, None, fit.reason or "no interval")
    df = fit.clusters - 1
    se = (fit.high - fit.low) / 2.0 / float(stats.t.ppf(1.0 - alpha, df))
    if se <= 0:
        inside = low_margin < fit.slope < high_margin
        return Tost(fit.slope, margin, 0.0 if inside else 1.0, 0.0 if inside else 1.0, alpha, (fit.low, fit.high))
    p_low = float(stats.t.sf((fit.slope - low_margin) / se, df))
    p_high = float(stats.t.cdf((fit.slope - high_margin) / se, df))
    return Tost(fit.slope, margin, p_low, p_high, alpha, (fit.low, fit.high))


def tost_ratio(a: Sequence[Obs], b: Sequence[Obs], factor: float = 1.5, alpha: float = 0.05) -> Tost:
    """TOST that b/a lies within [1/factor, factor], run by run: two exact one-sided sign tests on the paired ratios.

    H0 low: the median paired ratio is ≤ 1/factor (tested by b against a/factor); H0 high: it is ≥ factor
    (a·factor against b). Censored runs count as in `pair_sign`. The estimate is the ratio of the two
    cells' medians (exact runs only; None when a median rests on a bound).
    """
    if factor <= 1:
        raise ValueError(f"factor must be above 1, got {factor}")
    low = sign_test([x.scaled(1.0 / factor) for x in a], b, "greater")
    high = sign_test(b, [x.scaled(factor) for x in a], "greater")
    exact_a = [x.value for x in a if not x.censored]
    exact_b = [y.value for y in b if not y.censored]
    estimate = float(np.median(exact_b) / np.median(exact_a)) if len(exact_a) == len(a) and len(exact_b) == len(b) and a and b else None
    return Tost(estimate, (1.0 / factor, factor), low.p, high.p, alpha, None)


# --- proportions and predictions -------------------------------------------------------------------


def clopper_pearson(successes: int, total: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper–Pearson) interval of a binomial proportion: coverage at least `confidence` for every p."""
    if total <= 0 or not 0 <= successes <= total:
        raise ValueError(f"need 0 ≤ successes ≤ total and total > 0, got {successes} of {total}")
    tail = (1.0 - confidence) / 2.0
    low = 0.0 if successes == 0 else float(stats.beta.ppf(tail, successes, total - successes + 1))
    high = 1.0 if successes == total else float(stats.beta.ppf(1.0 - tail, successes + 1, total - successes))
    return low, high


def predict_window(rule_stream: Obs, mem_finite: Obs) -> str:
    """One run's predicted window: 'open' when τ_rule^∞ of seed s lies before τ_mem of seed s at N, 'closed' after, 'unknown' if undecidable."""
    sign = pair_sign(rule_stream, mem_finite)
    return {1: "open", -1: "closed", 0: "unknown"}[sign]


def measured_window(status: str) -> str:
    """A record's window status as the prediction reads it: 'open', 'closed' (closed or not learned), or 'unknown' (censored)."""
    return {"open": "open", "closed": "closed", "not learned": "closed"}.get(status, "unknown")


@dataclass(frozen=True)
class HitRate:
    """Per-run predictions scored: hits among the runs where both prediction and measurement are known, with an exact interval."""

    hits: int
    scored: int
    unknown: int
    low: float | None
    high: float | None
    confidence: float

    @property
    def rate(self) -> float | None:
        return self.hits / self.scored if self.scored else None


def hit_rate(predicted: Sequence[str], measured: Sequence[str], confidence: float = 0.95) -> HitRate:
    """Score per-run predictions ('open'/'closed'/'unknown') against measured windows; unknown on either side is not scored."""
    if len(predicted) != len(measured):
        raise ValueError(f"one prediction per measured run, got {len(predicted)} and {len(measured)}")
    known = [(p, m) for p, m in zip(predicted, measured) if p != "unknown" and m != "unknown"]
    hits = sum(p == m for p, m in known)
    low, high = clopper_pearson(hits, len(known), confidence) if known else (None, None)
    return HitRate(hits, len(known), len(predicted) - len(known), low, high, confidence)


# --- undecided evals and clocks ----------------------------------------------------------------------


def undecided_evals(rows: Sequence[Mapping[str, Any]], theta: float, chance: float, z: float = Z99) -> list[bool]:
    """Per eval: True when θ (chance-normalised) lies inside the 99 % Wilson interval of q on its non-copies; False where q is undefined.

    q = (v − c)/(1 − c) is read on `noncopy_count` non-copies, v of them valid; the bar θ on q is the bar
    c + θ·(1 − c) on v, so the mark asks whether M samples could tell v from that bar.
    """
    bar = chance + theta * (1.0 - chance)
    marks = []
    for row in rows:
        valid, count = row.get("noncopy_valid"), row.get("noncopy_count")
        if valid is None or not count:
            marks.append(False)
            continue
        low, high = wilson_interval(round(valid * count), int(count), z)
        marks.append(low <= bar <= high)
    return marks


@dataclass(frozen=True)
class RuleClockMark:
    """τ_rule read at (θ, hold) from a run's eval rows, and whether the eval it fired at (or the last eval, if censored) was undecided."""

    theta: float
    hold: int
    fired_index: int | None  # None: censored
    undecided_at_fire: bool
    undecided_at_end: bool  # the last eval is undecided: a censored clock that more samples might have fired
    undecided_evals: int


def rule_clock_mark(rows: Sequence[Mapping[str, Any]], theta: float, hold: int, chance: float, z: float = Z99) -> RuleClockMark:
    """The undecided marks of a run's τ_rule at (θ, hold): a pure function of metrics rows (nothing on disk changes)."""
    marks = undecided_evals(rows, theta, chance, z)
    q = [math.nan if row.get("noncopy_valid_norm") is None else float(row["noncopy_valid_norm"]) for row in rows]
    index = first_held_index(q, theta, hold)
    return RuleClockMark(theta, hold, index, bool(index is not None and marks[index]), bool(marks and marks[-1]), sum(marks))


__all__ = [
    "ALTERNATIVES",
    "HitRate",
    "Holm",
    "Obs",
    "PairedTest",
    "RuleClockMark",
    "Tost",
    "Z99",
    "clopper_pearson",
    "hit_rate",
    "holm",
    "measured_window",
    "pair_sign",
    "predict_window",
    "rule_clock_mark",
    "sign_test",
    "signed_rank_null",
    "signed_rank_test",
    "smallest_p",
    "tost_ratio",
    "tost_slope",
    "undecided_evals",
]
