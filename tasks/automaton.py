"""Cellular-automaton evolution: each row of an H×W binary grid is the image of the row above under a fixed rule.

The rule is a radius-r automaton on a ring of W cells, given by its Wolfram code: cell c of the next
row is bit `v` of `rule`, where `v` reads the 2r+1 cells c−r..c+r of the previous row as a binary
number (leftmost most significant; radius 1 gives the 256 elementary automata, rule 30 by default).
The first row is free and determines the rest, so the valid set holds exactly 2**W grids and the
sampler (a uniform first row, evolved) is exactly uniform. The default grid is 6×16, so that the
valid set (2**16 grids) is not exhausted by a training set of a few thousand. Constraints: the (H−1)·W cells below the
first row, each a function of 2r+1 cells above it; the complexity is that neighbourhood size 2r+1.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from benchmark.core.config import require
from benchmark.core.task import SAMPLE_DTYPE, Task, TaskConfig
from tasks import register_task
from tasks.bitpack import CHUNK
from tasks.groups import require_grid

MAX_RADIUS = 3
MAX_TABLE_WIDTH = 16  # rows of at most this many cells are checked by one lookup per row


@dataclass(frozen=True)
class AutomatonConfig(TaskConfig):
    """Knobs of the automaton rule; `rule` is a Wolfram code below 2**(2**(2*radius+1))."""

    rule: int = field(default=30, metadata={"help": "Wolfram code of the rule (0..255 for radius 1)"})
    radius: int = field(default=1, metadata={"help": "neighbourhood radius r; each cell reads 2r+1 cells (rule complexity)"})
    height: int = field(default=6, metadata={"help": "grid height: the number of rows (generations), at least 2"})
    width: int = field(default=16, metadata={"help": "grid width: cells on the ring, at least 2*radius+1 (2**width valid grids)"})

    def validate(self) -> None:
        super().validate()
        require_grid(self, self.height, self.width)
        require(self.height >= 2, self, "height", "at least 2 (the first row is free)", self.height)
        require(1 <= self.radius <= MAX_RADIUS, self, "radius", f"an integer in 1..{MAX_RADIUS}", self.radius)
        require(self.width >= 2 * self.radius + 1, self, "width", f"at least 2*radius+1={2 * self.radius + 1}", self.width)
        codes = 2 ** (2 ** (2 * self.radius + 1))
        require(0 <= self.rule < codes, self, "rule", f"a Wolfram code in 0..{codes - 1} for radius {self.radius}", self.rule)


@register_task("automaton")
class AutomatonTask(Task):
    """Row i+1 equals the rule applied to row i, for every row; (H−1)·W cell constraints."""

    config_class = AutomatonConfig
    config: AutomatonConfig

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.config.height, self.config.width)

    @property
    def complexity(self) -> float:
        return float(2 * self.config.radius + 1)

    @cached_property
    def rule_table(self) -> np.ndarray:
        """uint8[2**(2r+1)]: the next state for each neighbourhood value."""
        cfg: AutomatonConfig = self.config
        return np.array([(cfg.rule >> v) & 1 for v in range(2 ** (2 * cfg.radius + 1))], dtype=SAMPLE_DTYPE)

    def step(self, rows: np.ndarray) -> np.ndarray:
        """Image of rows `(..., W)` of 0/1 under the rule (periodic boundary)."""
        radius = self.config.radius
        index = np.zeros(rows.shape, dtype=np.intp)
        for offset in range(-radius, radius + 1):
            index = (index << 1) | np.roll(rows, -offset, axis=-1)  # rolled[c] = rows[c + offset]
        return self.rule_table[index]

    @cached_property
    def _row_weights(self) -> np.ndarray:
        """Weights that read a row as a W-bit number, leftmost cell most significant."""
        width = self.config.width
        dtype = np.uint8 if width <= 8 else np.uint16
        return (1 << np.arange(width - 1, -1, -1)).astype(dtype)

    @cached_property
    def _row_images(self) -> np.ndarray | None:
        """Row code -> code of its image, for widths up to MAX_TABLE_WIDTH (else None)."""
        width = self.config.width
        if width > MAX_TABLE_WIDTH:
            return None
        codes = np.arange(2**width)
        rows = ((codes[:, None] >> np.arange(width - 1, -1, -1)) & 1).astype(SAMPLE_DTYPE)
        return self.step(rows) @ self._row_weights

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        grid = np.empty((n, *self.shape), dtype=SAMPLE_DTYPE)
        grid[:, 0] = rng.integers(0, 2, size=(n, self.shape[1]), dtype=SAMPLE_DTYPE)
        for row in range(1, self.shape[0]):
            grid[:, row] = self.step(grid[:, row - 1])
        return grid

    def is_valid(self, x: np.ndarray) -> np.ndarray:
        flat, bad = self.as_symbols(x)
        grid = flat.reshape(len(flat), *self.shape)
        images = self._row_images
        if images is None:
            ok = (self.step(grid[:, :-1]) == grid[:, 1:]).all(axis=(1, 2))
        else:
            ok = np.empty(len(grid), dtype=bool)
            for start in range(0, len(grid), CHUNK):
                codes = grid[start : start + CHUNK] @ self._row_weights  # (chunk, H) one number per row
                mismatch = np.take(images, codes[:, :-1]) ^ codes[:, 1:]
                for row in range(1, mismatch.shape[1]):
                    mismatch[:, 0] |= mismatch[:, row]
                ok[start : start + CHUNK] = mismatch[:, 0] == 0
        if bad is not None:
            ok &= ~bad.any(axis=1)
        return ok

    def satisfied(self, x: np.ndarray) -> np.ndarray:
        """bool[n, H−1, W]: which cells below the first row follow the rule (reading an out-of-range cell fails)."""
        flat, bad = self.as_symbols(x)
        grid = flat.reshape(len(flat), *self.shape)
        satisfied = self.step(grid[:, :-1]) == grid[:, 1:]
        if bad is not None:
            bad_grid = bad.reshape(grid.shape)
            radius = self.config.radius
            touched = bad_grid[:, 1:].copy()
            for offset in range(-radius, radius + 1):
                touched |= np.roll(bad_grid[:, :-1], -offset, axis=-1)
            satisfied &= ~touched
        return satisfied

    def constraint_satisfaction(self, x: np.ndarray) -> np.ndarray:
        return self.satisfied(x).mean(axis=(1, 2))

    def num_valid(self) -> int:
        return 2**self.config.width


__all__ = ["MAX_RADIUS", "MAX_TABLE_WIDTH", "AutomatonConfig", "AutomatonTask"]
