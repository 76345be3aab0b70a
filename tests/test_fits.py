"""Scaling fits over runs: known slopes recovered, censored runs kept (Tobit), seeds as the units, what a fit covers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from synthetic_records import make_record

from benchmark.analysis.fits import scaling_fits


def test_alpha_recovers_a_known_exponent_keeps_censored_runs_and_says_its_n_range() -> None:
    rng = np.random.default_rng(3)
    # τ_mem = 3·N^1.0 × lognormal noise; at N = 512 two of three seeds are censored at max_steps = 1600.
    records = []
    for seed in range(3):
        for n in (64, 128, 256, 512):
            tau = 3 * n * 10 ** rng.normal(0, 0.03)
            records.append(make_record(50, None if (n == 512 and seed < 2) else tau, seed=seed, n_train=n, max_steps=1600))
    (fit,) = scaling_fits(records)["tau_mem_vs_n"]
    assert fit.fit.points == 12 and fit.fit.points_censored == 2 and fit.fit.clusters == 3
    assert fit.fit.slope == pytest.approx(1.0, abs=0.12)  # the censored runs pull the fit up to where they must lie, not down
    assert (10**fit.fit.x_min, 10**fit.fit.x_max) == (pytest.approx(64), pytest.approx(512))
    assert fit.full_batch_points == 3  # N = 64 ≤ B = 64
    assert fit.fit.low is not None and fit.fit.low < fit.fit.slope < fit.fit.high and fit.fit.coverage == 0.95


def test_dropping_censored_runs_would_bias_alpha_and_the_tobit_fit_does_not() -> None:
    # τ_mem = N exactly, but runs past max_steps = 300 are censored: dropping them fits only N ≤ 256.
    records = [make_record(5, n * 10 ** (0.02 * s) if n * 10 ** (0.02 * s) <= 300 else None, seed=s, n_train=n, max_steps=300) for n in (64, 128, 256, 512) for s in range(3)]
    (fit,) = scaling_fits(records)["tau_mem_vs_n"]
    assert fit.fit.points_censored == 3
    assert fit.fit.slope == pytest.approx(1.0, abs=0.1)


def test_beta_is_fitted_per_n_stream_included() -> None:
    # τ_rule = 10^(1 + 0.5·G) for both a finite N and a stream; one adapter config only has one G.
    records = [make_record(10 ** (1 + 0.5 * G) * 10 ** (0.01 * s), 5000, seed=s, G=G, max_steps=20000) for G in (2, 3, 4) for s in range(3)]
    records += [make_record(10 ** (1 + 0.5 * G) * 10 ** (0.01 * s), None, seed=s, G=G, n_train="stream", max_steps=20000) for G in (2, 3, 4) for s in range(3)]
    records += [make_record(100, 5000, seed=0, G=2, adapter="oracle", max_steps=20000)]
    fits = scaling_fits(records)["tau_rule_vs_complexity"]
    assert [(f.adapter, f.n_train) for f in fits] == [("uniform", 32), ("uniform", "stream")]
    for fit in fits:
        assert fit.fit.slope == pytest.approx(0.5, abs=0.01) and fit.fit.points == 9
    assert scaling_fits(records)["tau_mem_vs_n"] == []  # one N only; stream runs never enter an α fit


def test_a_fit_with_one_seed_has_a_slope_but_no_interval() -> None:
    records = [make_record(50, 10 * n, seed=0, n_train=n) for n in (16, 32, 64)]
    (fit,) = scaling_fits(records)["tau_mem_vs_n"]
    assert fit.fit.slope == pytest.approx(1.0) and fit.fit.low is None and fit.fit.reason
    assert math.isfinite(fit.fit.intercept)
