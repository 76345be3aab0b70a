"""Sudoku grids: an order×order array (order = box²) whose rows, columns and box×box boxes each hold every symbol once.

Order 4: all 288 grids are enumerated and sampled exactly uniformly. Order 9 (6,670,903,752,021,072,936,960
grids, too many to sample exactly here) uses a documented sampler, `fill_and_shuffle`:
1. a randomised fill builds each grid cell by cell, always choosing a cell with the fewest remaining
   candidates (ties broken at random) and a uniformly random candidate, restarting a grid that hits a
   dead end; every valid grid can come out of it, but not with equal probability;
2. a uniformly random validity-preserving symmetry is then applied: a relabelling of the symbols, a
   permutation of the bands and of the rows within each band, the same for stacks and columns, and a
   transpose with probability 1/2.
Step 2 makes the output exactly uniform within each symmetry class (each "essentially different"
grid's orbit), so the only bias is in how often step 1 picks each class, relative to its size. That
bias is measured in tests/test_tasks_puzzles.py by running the same sampler at order 4, where all
grids are known: its 288 grids fall in two classes of 96 and 192, and the sampler picks the class of
96 with probability 0.25 instead of 1/3 (total-variation distance 0.085 from uniform). At order 9
the classes number about 5.5·10⁹ and their probabilities under step 1 are not known; the sampler
reaches every grid, with class weights that are not proportional to class sizes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from benchmark.core.config import require
from benchmark.core.task import SAMPLE_DTYPE, TaskConfig
from tasks import register_task
from tasks.units import UnitPuzzleTask, box_units, enumerate_grids, line_units

ORDERS = {4: 2, 9: 3}  # order -> box side
GRID_COUNTS = {4: 288, 9: 6_670_903_752_021_072_936_960}  # 9×9: Felgenhauer & Jarvis (2006)
ENUMERATED_ORDERS = (4,)


@dataclass(frozen=True)
class SudokuConfig(TaskConfig):
    """Knobs of Sudoku: the order (grid side and number of symbols)."""

    order: int = field(default=4, metadata={"help": "grid side and number of symbols: 4 (exact sampler) or 9 (documented sampler)"})

    def validate(self) -> None:
        super().validate()
        require(self.order in ORDERS, self, "order", f"one of {', '.join(map(str, ORDERS))}", self.order)


@register_task("sudoku")
class SudokuTask(UnitPuzzleTask):
    """Rows, columns and boxes each a permutation of 0..order-1: 3·order unit constraints."""

    config_class = SudokuConfig
    config: SudokuConfig

    @cached_property
    def units(self) -> np.ndarray:
        """(3·order, order) flat cells of the rows, columns and boxes."""
        return np.concatenate([line_units(self.order), box_units(self.order, ORDERS[self.order])])

    @cached_property
    def all_grids(self) -> np.ndarray:
        """Every valid grid, `(count, cells)` uint8 (enumerated orders only)."""
        if self.order not in ENUMERATED_ORDERS:
            raise ValueError(f"sudoku of order {self.order} is too large to enumerate")
        return enumerate_grids(self.order, self.units)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        if self.order in ENUMERATED_ORDERS:
            flat = self.all_grids[rng.integers(0, len(self.all_grids), size=n)]
            return flat.reshape(n, *self.shape)
        return fill_and_shuffle(n, ORDERS[self.order], rng)

    def num_valid(self) -> int:
        return GRID_COUNTS[self.order]


def fill_and_shuffle(n: int, box: int, rng: np.random.Generator) -> np.ndarray:
    """`n` Sudoku grids of order box² from a randomised fill, each then moved by a uniform random symmetry."""
    return _shuffle_symmetries(_random_fill(n, box, rng), box, rng)


def _random_fill(n: int, box: int, rng: np.random.Generator) -> np.ndarray:
    """`n` valid grids `(n, order, order)` built by fewest-candidates-first random filling, restarting dead ends."""
    order = box * box
    out = np.empty((n, order * order), dtype=SAMPLE_DTYPE)
    pending = np.arange(n)
    while len(pending):
        grids, complete = _fill_attempt(len(pending), box, rng)
        out[pending[complete]] = grids[complete]
        pending = pending[~complete]
    return out.reshape(n, order, order)


def _fill_attempt(m: int, box: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One fill pass over `m` grids; returns the grids and which of them completed without a dead end."""
    order = box * box
    cells = order * order
    row_of = np.arange(cells) // order
    col_of = np.arange(cells) % order
    box_of = (row_of // box) * box + col_of // box
    full = np.uint32((1 << order) - 1)
    index = np.arange(m)
    grids = np.zeros((m, cells), dtype=SAMPLE_DTYPE)
    filled = np.zeros((m, cells), dtype=bool)
    row_used = np.zeros((m, order), dtype=np.uint32)
    col_used = np.zeros((m, order), dtype=np.uint32)
    box_used = np.zeros((m, order), dtype=np.uint32)
    alive = np.ones(m, dtype=bool)
    for _ in range(cells):
        candidates = ~(row_used[:, row_of] | col_used[:, col_of] | box_used[:, box_of]) & full
        counts = np.bitwise_count(candidates).astype(np.float64)
        counts[filled] = np.inf
        cell = np.argmin(counts + rng.random((m, cells)) * 0.5, axis=1)  # fewest candidates, random tie-break
        options = candidates[index, cell]
        num_options = np.bitwise_count(options).astype(np.int64)
        alive &= num_options > 0
        choice = (rng.random(m) * np.maximum(num_options, 1)).astype(np.int64)  # which set bit to take
        symbol = np.zeros(m, dtype=np.int64)
        seen = np.zeros(m, dtype=np.int64)
        for bit in range(order):
            present = ((options >> np.uint32(bit)) & np.uint32(1)).astype(np.int64)
            symbol[(present == 1) & (seen == choice)] = bit
            seen += present
        grids[index, cell] = symbol
        filled[index, cell] = True
        mark = np.left_shift(np.uint32(1), symbol.astype(np.uint32))
        row_used[index, row_of[cell]] |= mark
        col_used[index, col_of[cell]] |= mark
        box_used[index, box_of[cell]] |= mark
    return grids, alive


def _shuffle_symmetries(grids: np.ndarray, box: int, rng: np.random.Generator) -> np.ndarray:
    """Apply to each grid an independent uniform element of the Sudoku symmetry group (relabel, bands, rows, stacks, columns, transpose)."""
    n, order, _ = grids.shape
    relabel = np.argsort(rng.random((n, order)), axis=1).astype(SAMPLE_DTYPE)
    grids = np.take_along_axis(relabel, grids.reshape(n, order * order).astype(np.intp), axis=1).reshape(n, order, order)
    rows = _band_preserving_permutations(n, box, rng)
    cols = _band_preserving_permutations(n, box, rng)
    grids = grids[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]
    transpose = rng.random(n) < 0.5
    grids[transpose] = grids[transpose].transpose(0, 2, 1)
    return np.ascontiguousarray(grids)


def _band_preserving_permutations(n: int, box: int, rng: np.random.Generator) -> np.ndarray:
    """(n, box²) uniform permutations that move whole bands and rows only within a band."""
    band_order = np.argsort(rng.random((n, box)), axis=1)
    within = np.argsort(rng.random((n, box, box)), axis=2)
    return (band_order[:, :, None] * box + within).reshape(n, box * box)


__all__ = ["ORDERS", "GRID_COUNTS", "ENUMERATED_ORDERS", "SudokuConfig", "SudokuTask", "fill_and_shuffle"]
