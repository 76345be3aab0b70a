"""Multi-seed aggregation: censoring-aware medians, bootstrap intervals, window status, scaling fits."""

from __future__ import annotations

import math

import numpy as np
import pytest

from benchmark.aggregate import aggregate, censored_median, fit_line, scaling_fits, summarize_clock
from synthetic_records import make_record


def test_median_is_exact_without_censoring_and_a_bound_when_it_falls_on_a_censored_value() -> None:
    assert censored_median([300, 100, 200], [False, False, False]) == (200.0, False)
    # Two of three censored at 2000: the median is censored.
    assert censored_median([100, 2000, 2000], [False, True, True]) == (2000.0, True)
    # One of three censored: the median is the largest uncensored value, exact.
    assert censored_median([100, 200, 2000], [False, False, True]) == (200.0, False)
    # A censored value equal to an exact value at the median position cannot move the median.
    assert censored_median([100, 2000, 2000], [False, False, True]) == (2000.0, False)
    # Even count: the median averages a censored value, so it is a bound.
    median, bound = censored_median([100, 200, 300, 2000], [False, False, True, True])
    assert (median, bound) == (250.0, True)


def test_bootstrap_interval_covers_the_median_is_deterministic_and_marks_censored_ends() -> None:
    values, censored = [100, 110, 120, 130, 140], [False] * 5
    summary = summarize_clock(values, censored)
    assert summary.low <= summary.median == 120 <= summary.high
    assert summary.low >= 100 and summary.high <= 140 and summary.low < summary.high
    assert summary == summarize_clock(values, censored)  # fixed bootstrap seed
    assert summary.display() == f"120 [{summary.low:.0f}, {summary.high:.0f}]"
    mixed = summarize_clock([100, 2000, 2000], [False, True, True])
    assert mixed.censored and mixed.high_censored and not mixed.low_censored
    assert mixed.display().startswith("> 2000 [100, > 2000]")
    assert (mixed.runs, mixed.runs_censored) == (3, 2)
    single = summarize_clock([500], [True])
    assert single.display() == "> 500"


def test_records_group_by_everything_but_the_seed() -> None:
    records = [make_record(100 + 10 * s, 1000 + 100 * s, seed=s) for s in range(3)]
    records += [make_record(50, None, seed=s, n_train=64) for s in range(2)]
    records += [make_record(80, 900, seed=0, adapter_knobs={"batch_size": 32})]
    groups = aggregate(records)
    assert len(groups) == 3
    by_shape = {(g.n_train, g.batch_size): g for g in groups}
    three = by_shape[(32, 64)]
    assert three.seeds == (0, 1, 2) and len(three.run_ids) == 3
    assert (three.tau_rule.median, three.tau_mem.median) == (110.0, 1100.0)
    assert three.tau_mem_epochs.median == pytest.approx(1100 * 64 / 32)
    assert three.window.status == "open" and three.window.steps == 990.0
    assert three.window.log_window == pytest.approx(math.log10(1100 / 110))
    censored = by_shape[(64, 64)]
    assert censored.window.status == "censored" and censored.window.kind == "lower"
    assert censored.window.display_steps() == "> 1950"
    assert censored.tau_mem.display() == "> 2000"  # every seed censored: no interval to show


def test_window_status_follows_the_median_clocks_and_keeps_seed_counts() -> None:
    # Seeds disagree: two open, one censored; the median τ_mem (1200) fired, so the group is open.
    records = [make_record(100, 1000, seed=0), make_record(100, 1200, seed=1), make_record(100, None, seed=2)]
    (group,) = aggregate(records)
    assert group.window.status == "open" and group.window.status_counts == {"censored": 1, "open": 2}
    # Memorization fires, the rule never does: vanished, window only bounded above.
    (vanished,) = aggregate([make_record(None, 300, seed=s) for s in range(3)])
    assert vanished.window.status == "vanished" and vanished.window.kind == "upper"
    assert vanished.window.display_steps() == "< -1700"
    (late_rule,) = aggregate([make_record(900, 300, seed=s) for s in range(2)])
    assert late_rule.window.status == "vanished" and late_rule.window.steps == -600
    (neither,) = aggregate([make_record(None, None)])
    assert neither.window.status == "censored" and neither.window.display_steps() == "—"


def test_fit_line_recovers_a_known_slope_and_interval_covers_it() -> None:
    rng = np.random.default_rng(1)
    x = np.repeat(np.log10([32, 64, 128, 256]), 3)
    y = 0.5 + 1.0 * x + rng.normal(0, 0.02, x.size)
    fit = fit_line(x, y)
    assert fit.slope == pytest.approx(1.0, abs=0.05)
    assert fit.low < 1.0 < fit.high and fit.high - fit.low < 0.2
    assert fit.points_used == 12 and fit.distinct_x == 4
    assert fit_line([1.0, 1.0], [2.0, 3.0]).slope is None


def test_scaling_fits_use_only_uncensored_runs_and_say_how_many() -> None:
    # τ_mem = 10·N exactly (α = 1) for fired runs; one run censored.
    records = [make_record(50, 10 * n, seed=s, n_train=n) for n in (16, 32, 64, 128) for s in range(2)]
    records.append(make_record(50, None, seed=2, n_train=128))
    fits = scaling_fits(records)
    (mem_fit,) = fits["tau_mem_vs_n"]
    assert mem_fit.fit.slope == pytest.approx(1.0) and mem_fit.fit.points_used == 8 and mem_fit.fit.points_censored == 1
    assert mem_fit.fit.low == pytest.approx(1.0) and mem_fit.fit.high == pytest.approx(1.0)
    assert fits["tau_rule_vs_complexity"] == []  # one complexity only


def test_tau_rule_fit_against_complexity_per_adapter() -> None:
    # τ_rule = 10^(1 + 0.5·G): β = 0.5 per unit complexity; the G = 6 runs never learn (censored).
    records = [make_record(10 ** (1 + 0.5 * G), 5000 if G < 6 else None, seed=s, G=G, max_steps=20000) for G in (2, 3, 4) for s in range(2)]
    records += [make_record(None, None, seed=s, G=6, max_steps=20000) for s in range(2)]
    records += [make_record(100, 5000, seed=0, G=2, adapter="oracle", max_steps=20000)]
    fits = scaling_fits(records)
    (rule_fit,) = fits["tau_rule_vs_complexity"]  # the oracle has one complexity: no fit
    assert rule_fit.adapter == "uniform" and rule_fit.n_train == 32
    assert rule_fit.fit.slope == pytest.approx(0.5) and rule_fit.fit.points_used == 6 and rule_fit.fit.points_censored == 2
