"""Binary rules on grids small enough to enumerate: verifier vs an independent loop-based reference, exact counts, uniform samplers.

Each reference verifier below is written from the rule's definition, one constraint at a time
(loops over groups, blocks, checks or cells; numpy only across the enumerated arrays), and shares
no code with the task's table-based verifier.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import chisquare

import tasks
from tasks import gf2


def all_binary_arrays(height: int, width: int) -> np.ndarray:
    """Every height×width 0/1 array, (2**(h·w), h, w) uint8."""
    cells = height * width
    codes = np.arange(2**cells, dtype=np.int64)
    return ((codes[:, None] >> np.arange(cells)) & 1).astype(np.uint8).reshape(-1, height, width)


def reference_parity(x: np.ndarray, task) -> np.ndarray:
    cfg = task.config
    cells = cfg.height * cfg.width
    if cfg.layout == "contiguous":
        groups = [list(range(k * cfg.G, (k + 1) * cfg.G)) for k in range(cells // cfg.G)]
    else:  # the documented layout: a seeded permutation of the cells cut into consecutive groups
        order = np.random.default_rng(cfg.layout_seed).permutation(cells)
        groups = [list(order[k * cfg.G : (k + 1) * cfg.G]) for k in range(cells // cfg.G)]
    want = 0 if cfg.parity == "even" else 1
    flat = x.reshape(len(x), -1).astype(np.int64)
    ok = np.ones(len(x), dtype=bool)
    for group in groups:
        total = np.zeros(len(x), dtype=np.int64)
        for cell in group:
            total += flat[:, cell]
        ok &= total % 2 == want
    return ok


def reference_rowcol(x: np.ndarray, task) -> np.ndarray:
    side = task.config.G
    ok = np.ones(len(x), dtype=bool)
    for top in range(0, x.shape[1], side):
        for left in range(0, x.shape[2], side):
            for i in range(side):
                row_sum = sum(x[:, top + i, left + j].astype(np.int64) for j in range(side))
                col_sum = sum(x[:, top + j, left + i].astype(np.int64) for j in range(side))
                ok &= (row_sum % 2 == 0) & (col_sum % 2 == 0)
    return ok


def reference_xor_code(x: np.ndarray, task) -> np.ndarray:
    flat = x.reshape(len(x), -1).astype(np.int64)
    ok = np.ones(len(x), dtype=bool)
    for check in task.checks:
        ok &= sum(flat[:, cell] for cell in np.flatnonzero(check)) % 2 == 0
    return ok


def reference_balanced(x: np.ndarray, task) -> np.ndarray:
    flat = x.reshape(len(x), -1).astype(np.int64)
    ok = np.ones(len(x), dtype=bool)
    for group in task.groups:
        ok &= sum(flat[:, cell] for cell in group) == task.config.G // 2
    return ok


def reference_automaton(x: np.ndarray, task) -> np.ndarray:
    rule, radius = task.config.rule, task.config.radius
    height, width = x.shape[1:]
    ok = np.ones(len(x), dtype=bool)
    for row in range(1, height):
        for col in range(width):
            neighbourhood = np.zeros(len(x), dtype=np.int64)
            for offset in range(-radius, radius + 1):
                neighbourhood = neighbourhood * 2 + x[:, row - 1, (col + offset) % width]
            ok &= x[:, row, col] == (rule >> neighbourhood) & 1
    return ok


REFERENCES = {
    "parity": reference_parity,
    "rowcol_parity": reference_rowcol,
    "xor_code": reference_xor_code,
    "balanced": reference_balanced,
    "automaton": reference_automaton,
}

SMALL_CASES = [
    ("parity", {"height": 4, "width": 4, "G": 1}),
    ("parity", {"height": 4, "width": 4, "G": 2}),
    ("parity", {"height": 4, "width": 4, "G": 4, "parity": "odd"}),
    ("parity", {"height": 4, "width": 4, "G": 8, "layout": "random", "layout_seed": 1}),
    ("parity", {"height": 4, "width": 4, "G": 16, "parity": "odd", "layout": "random"}),
    ("parity", {"height": 2, "width": 7, "G": 7, "layout": "random", "layout_seed": 5}),
    ("rowcol_parity", {"height": 4, "width": 4, "G": 1}),
    ("rowcol_parity", {"height": 4, "width": 4, "G": 2}),
    ("rowcol_parity", {"height": 4, "width": 4, "G": 4}),
    ("rowcol_parity", {"height": 2, "width": 6, "G": 2}),
    ("xor_code", {"height": 4, "width": 4, "G": 2}),
    ("xor_code", {"height": 4, "width": 4, "G": 3, "checks": 12, "code_seed": 4}),
    ("xor_code", {"height": 4, "width": 4, "G": 5, "checks": 16, "code_seed": 9}),
    ("balanced", {"height": 4, "width": 4, "G": 2}),
    ("balanced", {"height": 4, "width": 4, "G": 4, "layout": "random", "layout_seed": 2}),
    ("balanced", {"height": 4, "width": 4, "G": 8}),
    ("balanced", {"height": 4, "width": 4, "G": 16}),
    ("automaton", {"height": 4, "width": 4, "rule": 30}),
    ("automaton", {"height": 4, "width": 4, "rule": 90}),
    ("automaton", {"height": 4, "width": 4, "rule": 110}),
    ("automaton", {"height": 2, "width": 8, "rule": 0}),
    ("automaton", {"height": 3, "width": 5, "radius": 2, "rule": 3_735_928_559}),
]
IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in knobs.items())}" for name, knobs in SMALL_CASES]


@pytest.mark.parametrize("name, knobs", SMALL_CASES, ids=IDS)
def test_verifier_matches_reference_on_every_array_and_counts_are_exact(name, knobs):
    task = tasks.get(name, **knobs)
    arrays = all_binary_arrays(*task.shape)
    expected = REFERENCES[name](arrays, task)
    np.testing.assert_array_equal(task.is_valid(arrays), expected)
    assert task.num_valid() == int(expected.sum())
    assert task.chance_valid() == pytest.approx(expected.mean(), rel=1e-12)
    satisfaction = task.constraint_satisfaction(arrays)
    np.testing.assert_array_equal(satisfaction == 1.0, expected)
    assert (satisfaction[~expected] < 1).all()


@pytest.mark.parametrize("name, knobs", SMALL_CASES, ids=IDS)
def test_sampler_is_uniform_over_the_enumerated_valid_set(name, knobs):
    task = tasks.get(name, **knobs)
    arrays = all_binary_arrays(*task.shape)
    valid_keys = np.sort(task.key(arrays[REFERENCES[name](arrays, task)]))
    per_array = 30 if len(valid_keys) <= 1024 else 10
    samples = task.sample(max(per_array * len(valid_keys), 200), np.random.default_rng(11))
    index = np.searchsorted(valid_keys, task.key(samples))
    assert (valid_keys[np.minimum(index, len(valid_keys) - 1)] == task.key(samples)).all(), "sampled an invalid array"
    counts = np.bincount(index, minlength=len(valid_keys))
    if len(valid_keys) == 1:
        assert counts[0] == len(samples)
        return
    assert chisquare(counts).pvalue > 1e-3


def test_parity_satisfaction_counts_groups():
    task = tasks.get("parity", height=4, width=4, G=4)
    x = np.zeros((1, 4, 4), dtype=np.uint8)
    x[0, 0, 0] = x[0, 1, 1] = x[0, 1, 2] = 1  # group 1 odd; group 2 has two ones (even)
    assert task.constraint_satisfaction(x)[0] == pytest.approx(3 / 4)
    x[0, 3, 3] = 1
    assert task.constraint_satisfaction(x)[0] == pytest.approx(2 / 4)


def test_closed_form_counts_at_default_size():
    assert tasks.get("parity", G=4).num_valid() == 2 ** (36 - 9)
    for side in (1, 2, 3, 6):
        blocks = 36 // side**2
        assert tasks.get("rowcol_parity", G=side).num_valid() == 2 ** (36 - (2 * side - 1) * blocks)
    assert tasks.get("balanced", G=6).num_valid() == 20**6
    assert tasks.get("automaton", rule=54).num_valid() == 2**16 and tasks.get("automaton", width=7).num_valid() == 2**7


def test_gf2_rank_and_null_space_against_brute_force():
    rng = np.random.default_rng(0)
    vectors = all_binary_arrays(1, 10).reshape(-1, 10).astype(np.int64)
    for _ in range(20):
        matrix = rng.integers(0, 2, size=(rng.integers(1, 9), 10))
        in_kernel = ((vectors @ matrix.T) % 2 == 0).all(axis=1)
        assert 2 ** (10 - gf2.rank(matrix)) == in_kernel.sum()
        basis = gf2.null_space(matrix)
        assert not ((basis.astype(np.int64) @ matrix.T) % 2).any()
        assert gf2.rank(basis) == len(basis)
        target = rng.integers(0, 2, size=len(matrix))
        solution = gf2.particular_solution(matrix, target)
        solvable = ((vectors @ matrix.T) % 2 == target).all(axis=1).any()
        assert (solution is not None) == solvable
        if solution is not None:
            np.testing.assert_array_equal((matrix @ solution) % 2, target)
