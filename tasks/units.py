"""Shared pieces of k-symbol puzzles whose rule is "every unit holds each symbol once" (Latin squares, Sudoku).

A unit is a list of k cells (a row, a column, a box). Verification ORs one bit per symbol over each
unit: the unit is complete exactly when the OR has all k bits. Small orders are enumerated row by
row (each row a permutation compatible with the units so far), which gives exact counts and exact
uniform samplers.
"""

from __future__ import annotations

import itertools
from abc import abstractmethod

import numpy as np

from benchmark.core.task import Task


def line_units(order: int) -> np.ndarray:
    """(2·order, order) flat cell indices of the rows, then the columns, of an order×order grid."""
    cells = np.arange(order * order).reshape(order, order)
    return np.concatenate([cells, cells.T])


def box_units(order: int, box: int) -> np.ndarray:
    """(order, order) flat cell indices of the box×box boxes (order = box²), row-major."""
    cells = np.arange(order * order).reshape(order // box, box, order // box, box)
    return cells.transpose(0, 2, 1, 3).reshape(order, order)


def _symbol_bits(flat: np.ndarray, bad: np.ndarray | None) -> np.ndarray:
    """1 << symbol for every cell (uint32), 0 for out-of-range cells so their units cannot complete."""
    bits = np.left_shift(np.uint32(1), flat.astype(np.uint32))
    if bad is not None:
        bits[bad] = 0
    return bits


def _units_complete(bits: np.ndarray, units: np.ndarray, num_symbols: int) -> np.ndarray:
    """bool[n, U]: each unit holds every symbol (its k cells' bits OR to the full mask)."""
    acc = bits[:, units[:, 0]]
    for j in range(1, units.shape[1]):
        acc |= bits[:, units[:, j]]
    return acc == np.uint32((1 << num_symbols) - 1)


def enumerate_grids(order: int, units: np.ndarray) -> np.ndarray:
    """Every order×order grid whose rows are permutations and whose `units` hold distinct symbols, as uint8 `(count, cells)`.

    Built row by row: a partial grid keeps one used-symbol mask per unit, and a permutation extends it
    when none of its symbols is already used by a unit of its cells. Feasible for up to ~10^6 grids.
    """
    perms = np.array(list(itertools.permutations(range(order))), dtype=np.uint8)  # (P, order)
    perm_bits = np.left_shift(np.uint32(1), perms.astype(np.uint32))
    unit_of_cell = [np.flatnonzero((units == cell).any(axis=1)) for cell in range(order * order)]
    grids = np.zeros((1, 0), dtype=np.uint8)
    used = np.zeros((1, len(units)), dtype=np.uint32)
    for row in range(order):
        fits = np.ones((len(grids), len(perms)), dtype=bool)
        for col in range(order):
            taken = np.bitwise_or.reduce(used[:, unit_of_cell[row * order + col]], axis=1)  # (G,)
            fits &= (taken[:, None] & perm_bits[None, :, col]) == 0
        grid_index, perm_index = np.nonzero(fits)
        grids = np.concatenate([grids[grid_index], perms[perm_index]], axis=1)
        used = used[grid_index].copy()
        for col in range(order):
            for unit in unit_of_cell[row * order + col]:
                used[:, unit] |= perm_bits[perm_index, col]
    return grids


class UnitPuzzleTask(Task):
    """An order×order grid over `order` symbols whose units (rows, columns, boxes …) each hold every symbol once.

    Subclasses give the `order` knob in their config, the `units`, a sampler and `num_valid`; the
    verifier and the constraint counts are shared.
    """

    @property
    def order(self) -> int:
        return self.config.order  # type: ignore[attr-defined]  # each subclass's config has `order` (see the class docstring); TaskConfig does not

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.order, self.order)

    @property
    def num_symbols(self) -> int:
        return self.order

    @property
    def complexity(self) -> float:
        return float(self.order)

    @property
    @abstractmethod
    def units(self) -> np.ndarray:
        """(U, order) flat cell indices of every unit."""

    def satisfied(self, x: np.ndarray) -> np.ndarray:
        """bool[n, U]: which units hold every symbol once (a unit with an out-of-range cell fails)."""
        flat, bad = self.as_symbols(x)
        return _units_complete(_symbol_bits(flat, bad), self.units, self.order)

    def is_valid(self, x: np.ndarray) -> np.ndarray:
        return self.satisfied(x).all(axis=1)  # type: ignore[return-value]  # numpy types .all(axis=1) as bool-or-array; a 2-D input gives an array

    def constraint_satisfaction(self, x: np.ndarray) -> np.ndarray:
        return self.satisfied(x).mean(axis=1)


__all__ = ["line_units", "box_units", "enumerate_grids", "UnitPuzzleTask"]
