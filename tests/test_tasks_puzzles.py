"""Sudoku and Latin squares against brute force, and the measured bias of their non-exact samplers.

Reference verifiers sort every unit of every array (rows, columns, boxes) and compare it with
0..k-1: a different method from the tasks' bitmask ORs.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.stats import chisquare

import tasks
from tasks.latin_square import jacobson_matthews, mixing_steps
from tasks.sudoku import fill_and_shuffle


def reference_latin(x: np.ndarray) -> np.ndarray:
    order = x.shape[1]
    symbols = np.arange(order)
    ok = np.ones(len(x), dtype=bool)
    for i in range(order):
        ok &= (np.sort(x[:, i, :], axis=1) == symbols).all(axis=1)
        ok &= (np.sort(x[:, :, i], axis=1) == symbols).all(axis=1)
    return ok


def reference_sudoku(x: np.ndarray) -> np.ndarray:
    order = x.shape[1]
    box = int(round(order**0.5))
    ok = reference_latin(x)
    for top in range(0, order, box):
        for left in range(0, order, box):
            cells = x[:, top : top + box, left : left + box].reshape(len(x), -1)
            ok &= (np.sort(cells, axis=1) == np.arange(order)).all(axis=1)
    return ok


def all_arrays(order: int) -> np.ndarray:
    """Every order×order array over `order` symbols (tractable for order ≤ 3)."""
    cells = order * order
    codes = np.arange(order**cells)
    return ((codes[:, None] // order ** np.arange(cells)) % order).astype(np.uint8).reshape(-1, order, order)


def row_permutation_arrays(order: int) -> np.ndarray:
    """Every order×order array whose rows are permutations: a superset of the valid grids (24⁴ at order 4)."""
    perms = np.array(list(itertools.permutations(range(order))), dtype=np.uint8)
    index = np.stack(np.meshgrid(*[np.arange(len(perms))] * order, indexing="ij"), axis=-1).reshape(-1, order)
    return perms[index]


def counts_over(keys_sorted: np.ndarray, task, samples: np.ndarray) -> np.ndarray:
    keys = task.key(samples)
    index = np.searchsorted(keys_sorted, keys)
    assert (keys_sorted[np.minimum(index, len(keys_sorted) - 1)] == keys).all(), "a sample is outside the valid set"
    return np.bincount(index, minlength=len(keys_sorted))


# --- Latin squares -------------------------------------------------------------------------------


@pytest.mark.parametrize("order", [1, 2, 3])
def test_latin_verifier_and_count_on_every_array(order):
    task = tasks.get("latin_square", order=order)
    arrays = all_arrays(order)
    expected = reference_latin(arrays)
    np.testing.assert_array_equal(task.is_valid(arrays), expected)
    assert task.num_valid() == expected.sum()
    np.testing.assert_array_equal(task.constraint_satisfaction(arrays) == 1.0, expected)


def test_latin_order_4_verifier_and_count_over_row_permutations():
    task = tasks.get("latin_square", order=4)
    arrays = row_permutation_arrays(4)
    expected = reference_latin(arrays)
    np.testing.assert_array_equal(task.is_valid(arrays), expected)
    assert task.num_valid() == expected.sum() == 576
    random_arrays = np.random.default_rng(0).integers(0, 4, size=(20000, 4, 4), dtype=np.uint8)
    np.testing.assert_array_equal(task.is_valid(random_arrays), reference_latin(random_arrays))


def test_latin_order_5_enumeration_matches_the_published_count():
    task = tasks.get("latin_square", order=5)
    squares = task.all_squares.reshape(-1, 5, 5)
    assert reference_latin(squares).all()
    assert len(np.unique(task.key(squares))) == len(squares) == task.num_valid() == 161_280


def test_latin_counts_follow_reduced_counts():
    # L(n) = n!·(n-1)!·R(n); spot-check published totals (OEIS A002860).
    assert tasks.get("latin_square", order=6).num_valid() == 812_851_200
    assert tasks.get("latin_square", order=8).num_valid() == 108_776_032_459_082_956_800
    assert tasks.get("latin_square", order=10).num_valid() == 9_982_437_658_213_039_871_725_064_756_920_320_000


@pytest.mark.parametrize("order", [3, 4])
def test_latin_exact_sampler_is_uniform(order):
    task = tasks.get("latin_square", order=order)
    keys = np.sort(task.key(task.all_squares.reshape(-1, order, order)))
    counts = counts_over(keys, task, task.sample(30 * len(keys), np.random.default_rng(5)))
    assert chisquare(counts).pvalue > 1e-3


def test_jacobson_matthews_is_uniform_at_order_4():
    task = tasks.get("latin_square", order=4)
    keys = np.sort(task.key(task.all_squares.reshape(-1, 4, 4)))
    samples = jacobson_matthews(20 * len(keys), 4, mixing_steps(4), np.random.default_rng(6))
    counts = counts_over(keys, task, samples)
    total_variation = 0.5 * np.abs(counts / counts.sum() - 1 / len(keys)).sum()
    print(f"JM order 4: chi-square p={chisquare(counts).pvalue:.3f}, TV from uniform {total_variation:.3f} (20 samples per square)")
    assert chisquare(counts).pvalue > 1e-3


def intercalates(squares: np.ndarray) -> np.ndarray:
    """Number of 2×2 Latin subsquares of each square: a statistic that moves between isotopy classes."""
    order = squares.shape[1]
    count = np.zeros(len(squares), dtype=np.int64)
    for r1, r2 in itertools.combinations(range(order), 2):
        for c1, c2 in itertools.combinations(range(order), 2):
            count += (squares[:, r1, c1] == squares[:, r2, c2]) & (squares[:, r1, c2] == squares[:, r2, c1])
    return count


def test_jacobson_matthews_matches_exact_statistics_at_order_5():
    task = tasks.get("latin_square", order=5)
    squares = task.all_squares.reshape(-1, 5, 5)
    keys = task.key(squares)
    order = np.argsort(keys)
    bins = 40
    bin_of = np.empty(len(keys), dtype=np.int64)
    bin_of[order] = np.arange(len(keys)) * bins // len(keys)  # lexicographic slices of the valid set
    exact_bins = np.bincount(bin_of, minlength=bins) / len(keys)
    exact_intercalates = np.bincount(intercalates(squares)) / len(keys)

    samples = jacobson_matthews(4000, 5, mixing_steps(5), np.random.default_rng(7))
    index = order[np.searchsorted(keys[order], task.key(samples))]
    assert (keys[index] == task.key(samples)).all()
    sample_bins = np.bincount(bin_of[index], minlength=bins)
    assert chisquare(sample_bins, exact_bins * len(samples)).pvalue > 1e-3
    sample_intercalates = np.bincount(intercalates(samples), minlength=len(exact_intercalates))
    support = exact_intercalates > 0
    assert sample_intercalates[~support].sum() == 0
    assert chisquare(sample_intercalates[support], exact_intercalates[support] * len(samples)).pvalue > 1e-3


def test_jacobson_matthews_moves_away_from_its_start():
    # The chain starts from isotopes of the cyclic square (no intercalates at order 5); it must leave that class.
    start = jacobson_matthews(500, 5, 0, np.random.default_rng(8))
    moved = jacobson_matthews(500, 5, mixing_steps(5), np.random.default_rng(8))
    assert intercalates(start).max() == 0
    assert (intercalates(moved) > 0).mean() > 0.8


def test_latin_large_orders_sample_valid_distinct_squares():
    task = tasks.get("latin_square", order=9)
    samples = task.sample(100, np.random.default_rng(9))
    assert reference_latin(samples).all() and task.is_valid(samples).all()
    assert len(np.unique(task.key(samples))) == 100


# --- Sudoku ----------------------------------------------------------------------------------------


def test_sudoku_4_verifier_and_count_over_row_permutations():
    task = tasks.get("sudoku", order=4)
    arrays = row_permutation_arrays(4)
    expected = reference_sudoku(arrays)
    np.testing.assert_array_equal(task.is_valid(arrays), expected)
    assert task.num_valid() == expected.sum() == 288
    np.testing.assert_array_equal(task.constraint_satisfaction(arrays) == 1.0, expected)
    random_arrays = np.random.default_rng(0).integers(0, 4, size=(20000, 4, 4), dtype=np.uint8)
    np.testing.assert_array_equal(task.is_valid(random_arrays), reference_sudoku(random_arrays))


def test_sudoku_4_sampler_is_exactly_uniform():
    task = tasks.get("sudoku", order=4)
    keys = np.sort(task.key(task.all_grids.reshape(-1, 4, 4)))
    counts = counts_over(keys, task, task.sample(30 * 288, np.random.default_rng(1)))
    assert chisquare(counts).pvalue > 1e-3


def test_sudoku_9_verifier_agrees_with_reference_on_near_misses():
    task = tasks.get("sudoku", order=9)
    rng = np.random.default_rng(2)
    grids = task.sample(300, rng)
    swapped = grids.copy()
    rows = rng.integers(0, 9, 300)
    a, b = rng.integers(0, 9, 300), rng.integers(0, 9, 300)
    swapped[np.arange(300), rows, a], swapped[np.arange(300), rows, b] = grids[np.arange(300), rows, b], grids[np.arange(300), rows, a]
    relabelled = np.where(grids == 0, 1, np.where(grids == 1, 0, grids))  # a symbol swap keeps validity
    mixture = np.concatenate([grids, swapped, relabelled])
    np.testing.assert_array_equal(task.is_valid(mixture), reference_sudoku(mixture))
    assert reference_sudoku(grids).all() and not reference_sudoku(swapped[a != b]).any()
    # A swap inside a row breaks exactly two columns, and two boxes unless the cells share a box.
    satisfaction = task.constraint_satisfaction(swapped[a != b])
    assert ((satisfaction == 25 / 27) | (satisfaction == 23 / 27)).all()


def sudoku_orbits_of_order_4(grids: np.ndarray, task) -> np.ndarray:
    """Class label (0, 1, ...) of each of the 288 grids under the full symmetry group, by explicit enumeration."""
    band_perms = [p for p in itertools.permutations(range(4)) if {p[0] // 2, p[1] // 2} in ({0}, {1}) and {p[2] // 2, p[3] // 2} in ({0}, {1})]
    keys = task.key(grids)
    label = np.full(len(grids), -1)
    for start in range(len(grids)):
        if label[start] >= 0:
            continue
        members = []
        for rows in band_perms:
            for cols in band_perms:
                for symbols in itertools.permutations(range(4)):
                    moved = np.array(symbols, dtype=np.uint8)[grids[start][np.ix_(rows, cols)]]
                    members.extend([moved, moved.T])
        label[np.isin(keys, task.key(np.array(members)))] = label.max() + 1
    return label


def test_sudoku_fill_sampler_bias_measured_at_order_4():
    """The 9×9 sampler's algorithm run where every grid is known: exactly uniform within a class, biased across classes."""
    task = tasks.get("sudoku", order=4)
    grids = task.all_grids.reshape(-1, 4, 4)
    label = sudoku_orbits_of_order_4(grids, task)
    sizes = np.bincount(label)
    assert sorted(sizes) == [96, 192]
    order = np.argsort(task.key(grids))
    samples = fill_and_shuffle(40_000, 2, np.random.default_rng(3))
    assert task.is_valid(samples).all()
    counts = counts_over(task.key(grids)[order], task, samples)[np.argsort(order)]  # per grid, enumeration order
    small = int(np.argmin(sizes))
    share_small = counts[label == small].sum() / counts.sum()
    total_variation = 0.5 * np.abs(counts / counts.sum() - 1 / 288).sum()
    print(f"order-4 fill+shuffle: P(class of 96) = {share_small:.3f} (uniform 1/3), TV from uniform {total_variation:.3f}")
    for cls in range(len(sizes)):  # within each class the symmetry layer makes it exactly uniform
        assert chisquare(counts[label == cls]).pvalue > 1e-3
    assert share_small == pytest.approx(0.25, abs=0.02)  # the documented bias: 0.25 instead of 1/3
    assert total_variation < 0.1


def test_sudoku_9_symmetry_layer_spreads_symbols_and_grids():
    task = tasks.get("sudoku", order=9)
    samples = task.sample(2000, np.random.default_rng(4))
    assert task.is_valid(samples).all()
    assert len(np.unique(task.key(samples))) == 2000
    for row, col in [(0, 0), (4, 4), (8, 2)]:
        assert chisquare(np.bincount(samples[:, row, col], minlength=9)).pvalue > 1e-3
    # Rows of a band hold the same three boxes' symbols: the first row's box-0 triple is uniform over 84 sets.
    triples = np.sort(samples[:, 0, :3], axis=1)
    codes = (1 << triples.astype(np.int64)).sum(axis=1)
    assert len(np.unique(codes)) == 84
