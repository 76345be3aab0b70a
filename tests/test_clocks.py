"""Clock extraction on synthetic curves with known crossings: persistence, log-step interpolation, censoring, windows."""

from __future__ import annotations

import math

import numpy as np
import pytest

from benchmark.core.records import Clock
from benchmark.run.clocks import crossing_step, first_held_index, not_applicable, read_clock, read_clocks, read_window, window_height_and_area
from benchmark.run.spec import ProtocolConfig


def clock(steps, values, threshold=0.9, hold=2, batch_size=64, n_train=100):
    return read_clock(steps, values, threshold, hold, metric="valid_norm", batch_size=batch_size, n_train=n_train)


def test_a_one_eval_blip_does_not_fire_the_clock():
    steps = [0, 10, 20, 40, 80, 160]
    values = [0.0, 0.95, 0.1, 0.2, 0.95, 0.97]
    assert first_held_index(values, 0.9, hold=2) == 4
    result = clock(steps, values)
    # Geometric interpolation between (40, 0.2) and (80, 0.95): the crossing is 40·2^((0.9−0.2)/(0.95−0.2)).
    assert result.step == pytest.approx(40 * 2 ** ((0.9 - 0.2) / (0.95 - 0.2)))
    assert not result.censored
    # With hold = 1 the blip itself fires it; its eval below is step 0, so the clock is that eval's step.
    assert clock(steps, values, hold=1).step == 10


def test_longer_hold_needs_longer_runs_above():
    values = [0.0, 0.95, 0.95, 0.1, 0.95, 0.95, 0.95]
    assert first_held_index(values, 0.9, hold=2) == 1
    assert first_held_index(values, 0.9, hold=3) == 4
    assert first_held_index(values, 0.9, hold=4) is None


def test_interpolation_is_linear_in_log_step_and_recovers_a_log_linear_curve():
    steps = np.array([0, 3, 10, 30, 100, 300, 1000, 3000])
    true_crossing = 137.0
    slope = 0.4  # value = 0.5 + slope·log10(step / true_crossing): crosses 0.5 exactly at true_crossing
    values = np.concatenate([[0.0], 0.5 + slope * np.log10(steps[1:] / true_crossing)])
    result = read_clock(steps, values, 0.5, 2, metric="mem_excess", batch_size=32, n_train=64)
    assert result.step == pytest.approx(true_crossing, rel=1e-9)
    # Linear-in-step interpolation would land elsewhere, so this test tells the two apart.
    linear = 100 + (0.5 - values[4]) / (values[5] - values[4]) * (300 - 100)
    assert abs(linear - true_crossing) > 10
    assert result.epoch == pytest.approx(true_crossing * 32 / 64)


def test_crossing_from_step_zero_takes_the_first_eval_at_or_above():
    assert crossing_step(np.array([0, 7, 20]), np.array([0.0, 1.0, 1.0]), 0.1, 1) == 7.0
    assert clock([0, 7, 20], [0.95, 0.99, 1.0]).step == 0.0  # held from the very first eval: fired at step 0
    with pytest.raises(ValueError, match="below"):
        crossing_step(np.array([0, 7, 20]), np.array([0.0, 0.95, 0.2]), 0.9, 2)


def test_a_clock_that_never_fires_is_censored_at_the_last_step():
    result = clock([0, 10, 100, 1000], [0.0, 0.3, 0.6, 0.8], batch_size=50, n_train=200)
    assert result.censored and result.step == 1000 and result.epoch == 250.0
    assert result.display() == "> 1000"
    # Crossing only at the last eval cannot be confirmed with hold = 2: still censored, never NaN.
    late = clock([0, 10, 100, 1000], [0.0, 0.3, 0.6, 0.95])
    assert late.censored and late.step == 1000 and math.isfinite(late.step)
    nan = clock([0, 10, 100], [float("nan")] * 3)
    assert nan.censored and nan.step == 100


def test_epochs_are_steps_times_batch_over_n():
    result = clock([0, 100, 200, 400], [0.0, 0.0, 0.9, 0.95], batch_size=64, n_train=320)
    assert result.step == 200.0  # exactly at the threshold on an eval: fraction 1
    assert result.epoch == pytest.approx(200 * 64 / 320)


def test_bad_curves_are_rejected():
    with pytest.raises(ValueError, match="strictly increasing"):
        clock([0, 10, 10], [0, 1, 1])
    with pytest.raises(ValueError, match="equal-length"):
        clock([0, 10], [0, 1, 1])


def fired(step: float) -> Clock:
    return Clock(step=step, censored=False, epoch=step, metric="m", threshold=0.5)


def censored(step: float) -> Clock:
    return Clock(step=step, censored=True, epoch=step, metric="m", threshold=0.5)


STEPS, NOVEL = [0, 10, 100, 1000, 2000], [0.0, 0.5, 1.0, 0.2, 0.0]


def window(rule: Clock, mem: Clock):
    return read_window(rule, mem, STEPS, NOVEL)


def test_open_window():
    result = window(fired(100.0), fired(1000.0))
    assert result.status == "open" and result.steps == 900.0 and result.log_window == pytest.approx(1.0)
    assert result.lower is None and result.upper is None


def test_window_from_step_zero_uses_one_for_the_log():
    assert window(fired(0.0), fired(100.0)).log_window == pytest.approx(2.0)


def test_closed_and_not_learned_windows():
    late_rule = window(fired(1000.0), fired(100.0))
    assert late_rule.status == "closed" and late_rule.steps == -900.0 and late_rule.log_window == pytest.approx(-1.0)
    same = window(fired(300.0), fired(300.0))
    assert same.status == "closed" and same.steps == 0.0
    # Memorization fired, the rule never did by step 2000: not learned, the window is below 400 − 2000 steps.
    never_learned = window(censored(2000.0), fired(400.0))
    assert never_learned.status == "not learned" and never_learned.steps is None
    assert never_learned.upper == -1600.0 and never_learned.lower is None


def test_open_window_whose_end_is_censored_carries_a_lower_bound():
    rule_only = window(fired(150.0), censored(2000.0))
    assert rule_only.status == "open" and rule_only.lower == 1850.0 and rule_only.upper is None
    neither = window(censored(2000.0), censored(2000.0))
    assert neither.status == "censored" and neither.lower is None and neither.upper is None and neither.steps is None


def test_a_stream_run_has_no_copy_clock_and_says_so():
    result = window(fired(150.0), not_applicable("mem_excess", 0.1))
    assert result.status == "stream" and result.steps is None
    assert result.height == 1.0  # over every eval: there is no τ_mem to stop at


def test_window_height_and_area_on_a_known_curve():
    # novel_valid rises linearly in log-step from 0 at step 1 to 1 at step 100, then stays at 1.
    steps = [0, 1, 10, 100, 1000, 10000]
    novel = [0.0, 0.0, 0.5, 1.0, 1.0, 1.0]
    height, area = window_height_and_area(steps, novel, until=1000.0)
    assert height == 1.0
    assert area == pytest.approx(0.5 * 2 + 1.0)  # a triangle over two decades, then one full decade
    height, area = window_height_and_area(steps, novel, until=10**0.5)  # τ_mem halfway through the first decade
    assert height == 0.0 and area == pytest.approx(0.5 * 0.5 * 0.25)  # value 0.25 at log-step 0.5
    assert window_height_and_area(steps, novel, until=None) == (1.0, pytest.approx(1.0 + 2.0))
    # The first eval after step 0 at step 4: the curve is held flat back to step 1.
    assert window_height_and_area([0, 4, 40], [0.0, 1.0, 1.0], until=None)[1] == pytest.approx(math.log10(40))
    assert window_height_and_area([0, 4, 40], [None, None, None], until=None) == (0.0, 0.0)
    assert window_height_and_area([0, 4, 40], [0.3, 0.9, 0.9], until=0.5) == (0.3, 0.0)  # τ_mem before step 1


def test_validity_reached_only_through_copies_never_fires_the_rule_clock():
    # The known-answer case: valid 0.97 from step 100 on, but 95 % of samples are copies and only
    # 2 % are new and valid; with M = 1024 that leaves 51 non-copies, below the floor of 103.
    protocol = ProtocolConfig()
    steps = [0, 10, 30, 100, 300, 1000, 2000]
    rows = []
    for step in steps:
        copying = step >= 100
        rows.append(
            {
                "step": step,
                "valid_norm": 0.97 if copying else 0.01,
                "mem_excess": 0.95 if copying else 0.0,
                "copy_excess_near": 0.96 if copying else 0.0,
                "novel_valid": 0.02 if copying else 0.01,
                "noncopy_valid_norm": None if copying else 0.01,
            }
        )
    result = read_clocks(rows, protocol, batch_size=64, n_train=32)
    assert result["tau_rule"].censored and result["tau_rule"].step == 2000
    assert result["tau_mem"].fired and result["tau_mem"].step <= 100
    assert result["window"].status == "not learned"
    assert result["window"].height == pytest.approx(0.01)  # the innovation shown before copying began


def test_read_clocks_uses_the_protocol_thresholds_on_the_right_curves():
    steps = [0, 10, 100, 1000, 2000, 3000]
    rows = [
        {"step": s, "noncopy_valid_norm": v, "mem_excess": m, "copy_excess_near": m + 0.05, "novel_valid": v}
        for s, v, m in zip(steps, [0.0, 0.95, 0.97, 0.99, 0.99, 0.99], [0.0, 0.0, 0.05, 0.3, 0.6, 0.7])
    ]
    result = read_clocks(rows, ProtocolConfig(hold=2), batch_size=10, n_train=100)
    assert result["tau_rule"].step == 10.0 and result["tau_rule"].metric == "noncopy_valid_norm"
    assert result["tau_mem"].step == pytest.approx(100 * 10 ** ((0.1 - 0.05) / (0.3 - 0.05)))
    assert result["tau_mem_near"].step == pytest.approx(100 * 10 ** ((0.1 - 0.1) / (0.35 - 0.1)))
    assert result["tau_mem_strong"].step == pytest.approx(1000 * 2 ** ((0.5 - 0.3) / (0.6 - 0.3)))
    assert result["tau_mem_strong"].threshold == 0.5 and result["tau_mem"].metric == "mem_excess"
    assert result["window"].status == "open"
    assert result["window"].steps == pytest.approx(result["tau_mem"].step - 10.0)
    stream = read_clocks(rows, ProtocolConfig(hold=2), batch_size=10, n_train=None)
    assert not stream["tau_mem"].applicable and stream["tau_mem"].step is None and stream["tau_mem"].display() == "n/a"
    assert stream["tau_rule"].step == 10.0 and stream["tau_rule"].epoch is None and stream["window"].status == "stream"


def test_an_undefined_value_below_the_crossing_gives_the_first_eval_at_or_above():
    result = read_clock([0, 10, 20, 40], [0.0, None, 0.95, 0.97], 0.9, 2, metric="q", batch_size=1, n_train=1)
    assert result.step == 20.0 and not result.censored
