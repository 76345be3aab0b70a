"""Linear algebra over GF(2) for parity-check rules: rank, solvability, a particular solution, a null-space basis.

The valid set of a linear rule `H x = t (mod 2)` is an affine subspace: it holds `2**(cells - rank H)`
arrays when it is non-empty, and `x0 + z B` over all bit vectors `z` enumerates it exactly once,
which gives both the exact count and an exactly uniform sampler.
"""

from __future__ import annotations

import numpy as np


def _row_reduce(matrix: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Reduced row echelon form over GF(2) (zero rows dropped) and its pivot columns."""
    reduced = (np.asarray(matrix) % 2).astype(np.uint8)
    rows, cols = reduced.shape
    pivots: list[int] = []
    row = 0
    for col in range(cols):
        if row == rows:
            break
        candidates = np.flatnonzero(reduced[row:, col])
        if len(candidates) == 0:
            continue
        pivot = row + int(candidates[0])
        reduced[[row, pivot]] = reduced[[pivot, row]]
        others = np.flatnonzero(reduced[:, col])
        others = others[others != row]
        reduced[others] ^= reduced[row]
        pivots.append(col)
        row += 1
    return reduced[:row], pivots


def rank(matrix: np.ndarray) -> int:
    """Rank over GF(2)."""
    return len(_row_reduce(matrix)[1])


def null_space(matrix: np.ndarray) -> np.ndarray:
    """Basis `(cells - rank, cells)` uint8 of {z : matrix z = 0 (mod 2)}, one row per free column."""
    cols = np.asarray(matrix).shape[1]
    reduced, pivots = _row_reduce(matrix)
    free = [c for c in range(cols) if c not in set(pivots)]
    basis = np.zeros((len(free), cols), dtype=np.uint8)
    for i, column in enumerate(free):
        basis[i, column] = 1
        basis[i, pivots] = reduced[:, column]
    return basis


def particular_solution(matrix: np.ndarray, target: np.ndarray) -> np.ndarray | None:
    """One x with `matrix x = target (mod 2)` (free variables 0), or None when the system is inconsistent."""
    matrix = np.asarray(matrix)
    augmented = np.concatenate([matrix % 2, (np.asarray(target) % 2).reshape(-1, 1)], axis=1)
    reduced, pivots = _row_reduce(augmented)
    cols = matrix.shape[1]
    if pivots and pivots[-1] == cols:
        return None
    solution = np.zeros(cols, dtype=np.uint8)
    solution[pivots] = reduced[:, cols]
    return solution


def span_sample(offset: np.ndarray, basis: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """`n` uniform points of the affine space `offset + span(basis)` as uint8 `(n, cells)`."""
    coefficients = rng.integers(0, 2, size=(n, len(basis)), dtype=np.uint8)
    points = np.broadcast_to(offset.astype(np.uint8), (n, len(offset))).copy()
    for j, vector in enumerate(basis):  # XOR in each basis vector where its coefficient is 1 (no BLAS threads)
        points ^= coefficients[:, j : j + 1] & vector
    return points


__all__ = ["rank", "null_space", "particular_solution", "span_sample"]
