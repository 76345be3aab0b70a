"""Per-eval metrics: Wilson intervals against published values, key lookup against brute force, one constructed eval."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tasks
from benchmark.core.task import sample_keys
from benchmark.run.metrics import KeySet, SampleMetrics, normalise_validity, wilson_interval
from benchmark.run.neighbours import HammingIndex


@pytest.mark.parametrize(
    "successes, total, low, high",
    [  # Newcombe (1998), Statistics in Medicine 17:857, Table I, method 3 (Wilson score, no continuity correction)
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_interval_matches_published_values(successes, total, low, high):
    result = wilson_interval(successes, total)
    assert result == pytest.approx((low, high), abs=6e-5)


def test_wilson_interval_is_symmetric_and_stays_in_the_unit_interval():
    low, high = wilson_interval(3, 50)
    mirror_low, mirror_high = wilson_interval(47, 50)
    assert (low, high) == pytest.approx((1 - mirror_high, 1 - mirror_low))
    assert wilson_interval(50, 50)[1] == 1.0 and wilson_interval(0, 50)[0] == 0.0
    assert wilson_interval(0, 50)[1] > 0  # unlike the normal interval, it does not collapse at 0
    with pytest.raises(ValueError):
        wilson_interval(0, 0)


def brute_force_contains(queries: np.ndarray, members: np.ndarray) -> np.ndarray:
    """O(M·N) reference: compare every query sample with every member sample element-wise."""
    q = queries.reshape(len(queries), -1)
    m = members.reshape(len(members), -1)
    return (q[:, None, :] == m[None, :, :]).all(axis=2).any(axis=1)


@pytest.mark.parametrize("num_symbols, shape", [(2, (6, 6)), (2, (2, 2)), (3, (3, 4)), (2, (9, 9))])
def test_key_lookup_agrees_with_brute_force(num_symbols, shape):
    rng = np.random.default_rng(1)
    members = rng.integers(0, num_symbols, size=(300, *shape), dtype=np.uint8)
    members[0] = 0  # all-zero sample: its key ends in NUL bytes, which numpy's S dtype likes to strip
    queries = np.concatenate([members[rng.integers(0, 300, 200)], rng.integers(0, num_symbols, size=(300, *shape), dtype=np.uint8)])
    queries[-1] = 0
    queries[-2, ...] = 0
    queries[-2].flat[-1] = 1  # differs from the all-zero member only in its last symbol
    expected = brute_force_contains(queries, members)
    found = KeySet(sample_keys(members, num_symbols)).contains(sample_keys(queries, num_symbols))
    np.testing.assert_array_equal(found, expected)
    assert expected[:200].all() and expected[-1]  # the comparison is not vacuous
    if shape != (2, 2):  # (16 possible 2×2 grids: that near-twin is likely a member there)
        assert not expected[-2]


def test_key_set_rejects_mismatched_keys_and_handles_empty_sets():
    keys = sample_keys(np.zeros((3, 6, 6), dtype=np.uint8), 2)
    assert not KeySet(keys[:0]).contains(keys).any()
    with pytest.raises(ValueError, match="S5"):
        KeySet(keys).contains(sample_keys(np.zeros((3, 3, 4), dtype=np.uint8), 3))
    with pytest.raises(TypeError):
        KeySet(np.zeros(3))


def test_measure_counts_a_constructed_eval():
    task = tasks.get("parity", G=2)
    rng = np.random.default_rng(0)
    valid = task.sample(40, rng)
    train, control, fresh = valid[:10], valid[10:20], valid[20:24]
    invalid = valid[24:30].copy()
    invalid[:, 0, 0] ^= 1  # flip one bit: exactly one group of G = 2 breaks
    near = train[3:5].copy()
    near[:, 5, 5] ^= 1  # copies of training samples with one error: near-copies, invalid
    # 5 copies (train[0] three times), 2 control, 4 novel valid, 6 invalid, 2 near-copies: M = 19.
    samples = np.concatenate([train[[0, 0, 0, 1, 2]], control[:2], fresh, invalid, near])
    row = SampleMetrics.for_sets(task, train, control, near_distance=1, min_noncopy=12).measure(samples.astype(np.int64))
    m = len(samples)
    assert row["samples"] == m
    assert row["valid"] == pytest.approx(11 / m)
    assert row["valid_norm"] == pytest.approx((11 / m - 2**-18) / (1 - 2**-18))
    assert row["mem"] == pytest.approx(5 / m) and row["control"] == pytest.approx(2 / m)
    assert row["mem_excess"] == pytest.approx(3 / m)
    assert row["near"] == pytest.approx(2 / m) and row["near_control"] == 0.0 and row["near_excess"] == pytest.approx(2 / m)
    assert row["copy_excess_near"] == pytest.approx((5 + 2 - 2) / m)
    assert row["novel_valid"] == pytest.approx(6 / m)  # valid and not in the training set (control samples count)
    assert row["unique"] == pytest.approx(17 / m)
    assert row["constraints"] == pytest.approx((11 + 8 * 17 / 18) / m)
    # Non-copies: 2 control + 4 fresh (valid) and 6 invalid = 12 ≥ min_noncopy.
    assert row["noncopy"] == pytest.approx(12 / m) and row["noncopy_count"] == 12
    assert row["noncopy_valid"] == pytest.approx(6 / 12)
    assert row["noncopy_valid_norm"] == pytest.approx(normalise_validity(0.5, 2**-18))
    assert row["noncopy_constraints"] == pytest.approx((6 + 6 * 17 / 18) / 12)
    assert row["nearest_train"][:2] == pytest.approx([5 / m, 2 / m]) and sum(row["nearest_train"]) == pytest.approx(1.0)
    assert row["mem_ci"] == pytest.approx(list(wilson_interval(5, m)))
    low, high = wilson_interval(11, m)
    assert row["valid_norm_ci"] == pytest.approx([normalise_validity(low, 2**-18), normalise_validity(high, 2**-18)])
    assert "unique_ci" not in row and "constraints_ci" not in row
    # One non-copy fewer than the floor: the rule curve is undefined, not 0.
    sparse = SampleMetrics.for_sets(task, train, control, near_distance=1, min_noncopy=13).measure(samples)
    assert sparse["noncopy_valid"] is None and sparse["noncopy_valid_norm"] is None and sparse["noncopy_count"] == 12
    # With near_distance = 0 the near-copies are non-copies (invalid ones): the rule curve drops to 6 / 14.
    exact = SampleMetrics.for_sets(task, train, control, near_distance=0, min_noncopy=12).measure(samples)
    assert exact["near"] == 0.0 and exact["noncopy_valid"] == pytest.approx(6 / 14)


def test_copies_cannot_raise_the_rule_curve():
    """Adding any number of exact copies changes mem, not the validity of the non-copies."""
    task = tasks.get("parity", G=3)
    rng = np.random.default_rng(5)
    train = task.sample(16, rng)
    control = task.sample(16, rng)
    generated = rng.integers(0, 2, size=(300, 6, 6), dtype=np.uint8)
    generated[:120] = task.sample(120, rng)  # 120 valid, 180 random (almost all invalid)
    metrics = SampleMetrics.for_sets(task, train, control, near_distance=1, min_noncopy=64)
    base = metrics.measure(generated)
    copied = metrics.measure(np.concatenate([generated, train[rng.integers(0, 16, 2000)]]))
    assert copied["valid"] > 0.9 > base["valid"]  # copying alone makes 90 % of samples valid …
    assert copied["noncopy_valid"] == base["noncopy_valid"] == pytest.approx(120 / 300)  # … and leaves q as it was


def test_stream_rows_have_no_copy_fields():
    task = tasks.get("parity", G=2)
    samples = task.sample(50, np.random.default_rng(0))
    row = SampleMetrics.for_sets(task, None, None, near_distance=1, min_noncopy=10).measure(samples)
    assert row["mem"] is None and row["mem_excess"] is None and row["near"] is None and row["copy_excess_near"] is None
    assert row["mem_ci"] is None and row["nearest_train"] is None
    assert row["novel_valid"] == row["valid"] == row["noncopy_valid"] == 1.0 and row["noncopy_count"] == 50


@pytest.mark.parametrize("num_symbols, shape", [(2, (6, 6)), (2, (9, 9)), (2, (6, 16)), (4, (4, 4)), (9, (3, 3))])
def test_nearest_distance_agrees_with_brute_force(num_symbols, shape):
    rng = np.random.default_rng(7)
    references = rng.integers(0, num_symbols, size=(200, *shape), dtype=np.uint8)
    queries = rng.integers(0, num_symbols, size=(150, *shape), dtype=np.uint8)
    queries[:50] = references[:50]
    for k in range(1, 4):  # k cells changed, in the first 50 + k·20 … queries
        rows = slice(30 + 20 * k, 50 + 20 * k)
        queries[rows] = references[rows]
        for cell in range(k):
            flat = queries[rows].reshape(20, -1)
            flat[:, cell] = (flat[:, cell] + 1) % num_symbols
            queries[rows] = flat.reshape(20, *shape)
    expected = (queries.reshape(150, -1)[:, None, :] != references.reshape(200, -1)[None]).sum(axis=2).min(axis=1)
    found = HammingIndex(references, num_symbols).nearest(queries)
    np.testing.assert_array_equal(found, expected)
    assert set(expected[:50]) == {0} and (expected[50:110] > 0).all()  # not vacuous: copies and near-copies are there
    assert HammingIndex(references[:0], num_symbols).nearest(queries[:3]).tolist() == [math.prod(shape) + 1] * 3


def test_validity_normalisation():
    assert normalise_validity(0.25, 0.25) == 0.0
    assert normalise_validity(1.0, 0.25) == 1.0
    assert normalise_validity(0.625, 0.25) == pytest.approx(0.5)
