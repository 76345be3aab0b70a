"""Cells over seeds: grouping, medians with their intervals, window status from the medians, predicted windows."""

from __future__ import annotations

import math

import pytest
from synthetic_records import make_record

from benchmark.analysis.groups import aggregate, measured_window, predict_window, predictions
from benchmark.analysis.stats import median_summary


def test_records_group_by_everything_but_the_seed() -> None:
    records = [make_record(100 + 10 * s, 1000 + 100 * s, seed=s) for s in range(3)]
    records += [make_record(50, None, seed=s, n_train=64) for s in range(2)]
    records += [make_record(80, 900, seed=0, adapter_knobs={"batch_size": 32}, batch_size=32)]
    groups = aggregate(records)
    assert len(groups) == 3
    by_shape = {(g.n_train, g.batch_size): g for g in groups}
    three = by_shape[(32, 64)]
    assert three.seeds == (0, 1, 2) and len(three.run_ids) == 3
    assert (three.clocks["tau_rule"].median, three.clocks["tau_mem"].median) == (110.0, 1100.0)
    assert three.clocks["tau_mem"].display() == "1100 (range 1000–1200, 75 %)"  # 3 seeds: [min, max] covers 75 %
    assert three.epochs["tau_mem"].median == pytest.approx(1100 * 64 / 32)
    assert three.window.status == "open" and three.window.steps == 990.0
    assert three.window.log_window == pytest.approx(math.log10(1100 / 110))
    assert three.full_batch  # N = 32 ≤ B = 64
    censored = by_shape[(64, 64)]
    assert censored.window.status == "open" and censored.window.kind == "lower"  # the rule fired, copying not yet
    assert censored.window.display_steps() == "> 1950"
    assert censored.clocks["tau_mem"].display() == "> 2000 (all 2 runs)"
    assert by_shape[(32, 32)].full_batch and not aggregate([make_record(100, 900, n_train=128)])[0].full_batch


def test_window_status_follows_the_median_clocks_and_keeps_seed_counts() -> None:
    # Seeds disagree: two open, one whose τ_mem is censored (also open); the median τ_mem fired.
    records = [make_record(100, 1000, seed=0), make_record(100, 1200, seed=1), make_record(None, 300, seed=2)]
    (group,) = aggregate(records)
    assert group.window.status == "open" and group.window.status_counts == {"not learned": 1, "open": 2}
    assert group.window.display_status() == "open (2/3)"
    (not_learned,) = aggregate([make_record(None, 300, seed=s) for s in range(3)])
    assert not_learned.window.status == "not learned" and not_learned.window.kind == "upper"
    assert not_learned.window.display_steps() == "< -1700"
    (closed,) = aggregate([make_record(900, 300, seed=s) for s in range(2)])
    assert closed.window.status == "closed" and closed.window.steps == -600
    (neither,) = aggregate([make_record(None, None)])
    assert neither.window.status == "censored" and neither.window.display_steps() == "—"
    assert neither.window.height is not None and neither.window.height.median == pytest.approx(0.9)


def test_stream_cells_have_no_copy_clocks_and_sort_after_finite_n() -> None:
    records = [make_record(200, None, seed=s, n_train="stream") for s in range(3)] + [make_record(100, 800)]
    finite, stream = aggregate(records)
    assert finite.n_train == 32 and stream.n_train == "stream" and stream.stream and not stream.full_batch
    assert stream.clocks["tau_mem"] is None and stream.clocks["tau_mem_near"] is None and stream.epochs["tau_rule"] is None
    assert stream.window.status == "stream" and stream.clocks["tau_rule"].median == 200.0


@pytest.mark.parametrize(
    "rule, rule_censored, mem, mem_censored, expected",
    [
        (100, False, 500, False, "open"),
        (600, False, 500, False, "not open"),
        (100, False, 2000, True, "open"),  # τ_mem > 2000 > τ_rule^∞
        (3000, False, 2000, True, "unknown"),  # τ_mem > 2000, τ_rule^∞ = 3000: either order
        (3000, True, 500, False, "not open"),  # the stream never learned by 3000, copying began at 500
        (1000, True, 1500, False, "unknown"),
        (1000, True, 1500, True, "unknown"),
    ],
)
def test_predicted_window_from_the_intrinsic_rule_clock(rule, rule_censored, mem, mem_censored, expected) -> None:
    assert predict_window(median_summary([rule], [rule_censored]), median_summary([mem], [mem_censored])) == expected


def test_predictions_pair_each_finite_cell_with_its_stream_cell_and_count_agreement() -> None:
    stream = [make_record(200, None, seed=s, n_train="stream", max_steps=4000) for s in range(3)]
    opens = [make_record(150, 900, seed=s, n_train=64) for s in range(3)]  # τ_mem 900 > 200: predicted open, measured open
    closes = [make_record(None, 150, seed=s, n_train=8) for s in range(3)]  # τ_mem 150 < 200: predicted not open, measured not learned
    other_task = [make_record(None, 150, seed=0, n_train=8, G=3)]  # no stream cell at G = 3: no prediction
    groups = aggregate(stream + opens + closes + other_task)
    found = {p.tau_mem.median: p for p in predictions(groups)}
    assert set(found) == {900.0, 150.0}
    assert (found[900.0].predicted, found[900.0].measured, found[900.0].agrees) == ("open", "open", True)
    assert (found[150.0].predicted, found[150.0].measured, found[150.0].agrees) == ("not open", "not open", True)
    wrong = aggregate(stream + [make_record(900, 1000, seed=s, n_train=64) for s in range(3)])  # open, though τ_rule^∞ < τ_mem
    (prediction,) = predictions(wrong)
    assert prediction.predicted == "open" and prediction.measured == "open"
    late = aggregate(stream + [make_record(100, 150, seed=s, n_train=8) for s in range(3)])  # predicted not open (150 < 200), measured open
    (prediction,) = predictions(late)
    assert (prediction.predicted, prediction.measured, prediction.agrees) == ("not open", "open", False)
    assert measured_window(aggregate([make_record(None, None)])[0].window) == "unknown"


def test_protocol_versions_never_share_a_cell() -> None:
    v2 = make_record(100, 1000, seed=0)
    data = v2.to_dict()
    data["protocol_version"] = "1.0"
    data["spec"] = {**data["spec"], "protocol": {**data["spec"]["protocol"], "version": "1.0"}}
    from benchmark.core.records import Record

    v1 = Record.from_dict(data)
    groups = aggregate([v2, v1])
    assert sorted(g.protocol_version for g in groups) == ["1.0", "2.0"]
