"""Latin squares of order n: an n×n array over n symbols in which every row and every column holds each symbol once.

Counts are exact for n ≤ 11 (reduced Latin squares, OEIS A000315, times n!(n−1)!). Sampler: for
n ≤ 5 every square is enumerated (161,280 at n = 5) and drawn exactly uniformly; above that, each
sample is the end of its own Jacobson–Matthews Markov chain (Jacobson & Matthews 1996), whose
stationary distribution is exactly uniform over Latin squares. Each chain starts from a random
isotope of the cyclic square and stops at its `mixing_steps(n)` = n³-th visit to a proper square
(stopping at the first proper square after a fixed number of raw moves would be biased). No bound on
the chain's mixing time is known; at n = 4 and 5 chains of a few dozen steps are already
indistinguishable from uniform in the tests, so n³ leaves a wide margin there. The residual bias of a chain of that length is measured in
tests/test_tasks_puzzles.py at n = 4 and 5, where the exact distribution is known.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from benchmark.core.config import require
from benchmark.core.task import SAMPLE_DTYPE, TaskConfig
from tasks import register_task
from tasks.units import UnitPuzzleTask, enumerate_grids, line_units

MAX_ORDER = 11
EXACT_MAX_ORDER = 5
REDUCED_COUNTS = {  # OEIS A000315: Latin squares with first row and column in order
    1: 1,
    2: 1,
    3: 1,
    4: 4,
    5: 56,
    6: 9408,
    7: 16942080,
    8: 535281401856,
    9: 377597570964258816,
    10: 7580721483160132811489280,
    11: 5363937773277371298119673540771840,
}


def mixing_steps(order: int) -> int:
    """Proper squares each Jacobson–Matthews chain visits before its sample is read off (n³, a common heuristic)."""
    return order**3


@dataclass(frozen=True)
class LatinSquareConfig(TaskConfig):
    """Knobs of Latin squares: the order (side and number of symbols)."""

    order: int = field(default=6, metadata={"help": f"side and number of symbols (rule complexity), 1..{MAX_ORDER}; exact sampler up to {EXACT_MAX_ORDER}"})

    def validate(self) -> None:
        super().validate()
        require(1 <= self.order <= MAX_ORDER, self, "order", f"an integer in 1..{MAX_ORDER}", self.order)


@register_task("latin_square")
class LatinSquareTask(UnitPuzzleTask):
    """Every row and every column a permutation of 0..n-1: 2n unit constraints."""

    config_class = LatinSquareConfig
    config: LatinSquareConfig

    @cached_property
    def units(self) -> np.ndarray:
        """(2n, n) flat cells of the rows, then the columns."""
        return line_units(self.order)

    @cached_property
    def all_squares(self) -> np.ndarray:
        """Every Latin square of this order, `(count, cells)` uint8 (orders up to EXACT_MAX_ORDER)."""
        if self.order > EXACT_MAX_ORDER:
            raise ValueError(f"Latin squares of order {self.order} are too many to enumerate (max {EXACT_MAX_ORDER})")
        return enumerate_grids(self.order, self.units)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        if self.order <= EXACT_MAX_ORDER:
            flat = self.all_squares[rng.integers(0, len(self.all_squares), size=n)]
            return flat.reshape(n, *self.shape)
        return jacobson_matthews(n, self.order, mixing_steps(self.order), rng)

    def num_valid(self) -> int:
        return REDUCED_COUNTS[self.order] * math.factorial(self.order) * math.factorial(self.order - 1)


def jacobson_matthews(n: int, order: int, steps: int, rng: np.random.Generator) -> np.ndarray:
    """`n` Latin squares `(n, order, order)`, each the state of an independent Jacobson–Matthews chain after `steps` moves.

    A square is its incidence cube f[r, c, s] (1 where cell (r, c) holds s); an improper state has one
    entry −1. A move picks a 0 entry (r, c, s) of a proper cube (or the −1 entry of an improper one),
    picks r', c', s' with f[r', c, s] = f[r, c', s] = f[r, c, s'] = 1 (at random among the two
    choices in an improper cube), adds 1 at (r,c,s), (r,c',s'), (r',c,s'), (r',c',s) and subtracts 1 at
    (r,c,s'), (r,c',s), (r',c,s), (r',c',s'); the cube is improper afterwards iff f[r',c',s'] = −1.
    """
    if order < 2:
        return np.zeros((n, order, order), dtype=SAMPLE_DTYPE)
    cube = _random_isotope_cubes(n, order, rng)
    improper = np.zeros(n, dtype=bool)
    bad_cell = np.zeros((n, 3), dtype=np.intp)
    # Count only moves that land on a proper square: the chain watched on proper squares is itself a
    # Markov chain with the uniform distribution as its stationary law, so stopping at its `steps`-th
    # state is unbiased in the limit (stopping at the first proper state after a fixed number of raw
    # moves is not: it favours squares from which moves rarely leave the proper set).
    proper_visits = np.zeros(n, dtype=np.int64)
    active = np.arange(n) if steps > 0 else np.arange(0)
    while len(active):
        _move(cube, active, improper, bad_cell, rng)
        proper_visits[active[~improper[active]]] += 1
        active = active[proper_visits[active] < steps]
    return cube.argmax(axis=3).astype(SAMPLE_DTYPE)


def _random_isotope_cubes(n: int, order: int, rng: np.random.Generator) -> np.ndarray:
    """Incidence cubes `(n, order, order, order)` int8 of the cyclic square under random row, column and symbol permutations."""
    rows = np.argsort(rng.random((n, order)), axis=1)
    cols = np.argsort(rng.random((n, order)), axis=1)
    symbols = np.argsort(rng.random((n, order)), axis=1)
    cyclic = (rows[:, :, None] + cols[:, None, :]) % order
    squares = np.take_along_axis(symbols, cyclic.reshape(n, order * order), axis=1).reshape(n, order, order)
    return (squares[..., None] == np.arange(order)).astype(np.int8)


def _pick_one(line: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Index of a uniformly random entry equal to 1 in each row of `line` (k, order)."""
    return np.argmax((line == 1) * (1.0 + rng.random(line.shape)), axis=1)


def _move(cube: np.ndarray, chains: np.ndarray, improper: np.ndarray, bad_cell: np.ndarray, rng: np.random.Generator) -> None:
    """One Jacobson–Matthews move of each chain in `chains`, in place."""
    k = len(chains)
    order = cube.shape[1]
    was_improper = improper[chains]
    r = np.where(was_improper, bad_cell[chains, 0], rng.integers(0, order, k))
    c = np.where(was_improper, bad_cell[chains, 1], rng.integers(0, order, k))
    current = cube[chains, r, c, :].argmax(axis=1)  # the symbol at (r, c) of a proper cube
    s = np.where(was_improper, bad_cell[chains, 2], (current + 1 + rng.integers(0, order - 1, k)) % order)
    r2 = _pick_one(cube[chains, :, c, s], rng)
    c2 = _pick_one(cube[chains, r, :, s], rng)
    s2 = _pick_one(cube[chains, r, c, :], rng)
    cube[chains, r, c, s] += 1
    cube[chains, r, c2, s2] += 1
    cube[chains, r2, c, s2] += 1
    cube[chains, r2, c2, s] += 1
    cube[chains, r, c, s2] -= 1
    cube[chains, r, c2, s] -= 1
    cube[chains, r2, c, s] -= 1
    cube[chains, r2, c2, s2] -= 1
    improper[chains] = cube[chains, r2, c2, s2] == -1
    bad_cell[chains] = np.stack([r2, c2, s2], axis=1)


__all__ = ["MAX_ORDER", "EXACT_MAX_ORDER", "REDUCED_COUNTS", "mixing_steps", "LatinSquareConfig", "LatinSquareTask", "jacobson_matthews"]
