"""Per-eval metrics: Wilson intervals against published values, key lookup against brute force, one constructed eval."""

from __future__ import annotations

import numpy as np
import pytest

import tasks
from benchmark.metrics import KeySet, SampleMetrics, normalise_validity, wilson_interval
from tasks.base import sample_keys


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
    # 5 memorized (train[0] three times), 2 control, 4 novel valid, 6 invalid: M = 17.
    samples = np.concatenate([train[[0, 0, 0, 1, 2]], control[:2], fresh, invalid])
    row = SampleMetrics.for_sets(task, train, control).measure(samples.astype(np.int64))
    m = len(samples)
    assert row["valid"] == pytest.approx(11 / m)
    assert row["valid_norm"] == pytest.approx((11 / m - 2**-18) / (1 - 2**-18))
    assert row["mem"] == pytest.approx(5 / m) and row["control"] == pytest.approx(2 / m)
    assert row["mem_excess"] == pytest.approx(3 / m)
    assert row["novel_valid"] == pytest.approx(6 / m)  # valid and not in the training set (control samples count)
    assert row["unique"] == pytest.approx(15 / m)
    assert row["constraints"] == pytest.approx((11 + 6 * 17 / 18) / m)
    assert row["mem_ci"] == pytest.approx(list(wilson_interval(5, m)))
    low, high = wilson_interval(11, m)
    assert row["valid_norm_ci"] == pytest.approx([normalise_validity(low, 2**-18), normalise_validity(high, 2**-18)])
    assert "unique_ci" not in row and "constraints_ci" not in row


def test_validity_normalisation():
    assert normalise_validity(0.25, 0.25) == 0.0
    assert normalise_validity(1.0, 0.25) == 1.0
    assert normalise_validity(0.625, 0.25) == pytest.approx(0.5)
