"""Overlapping row-and-column parity: the grid is tiled by G×G blocks; every row and every column of every block is even.

Each cell sits in one row check and one column check, so the constraints overlap (unlike group
parity). A block's 2G checks have one dependency (the row parities and the column parities both sum
to the block's total), so the valid set holds 2**(H·W − (2G−1)·H·W/G²) grids; the count used is the
GF(2) rank of the checks, and the sampler (particular solution plus a uniform null-space combination)
is exactly uniform. G = H = W is the classic "every row and column even" grid.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from benchmark.core.config import ConfigError
from benchmark.core.task import GridTask, TaskConfig
from tasks import register_task
from tasks.groups import require_grid
from tasks.linear import LinearRuleTask


@dataclass(frozen=True)
class RowColParityConfig(TaskConfig):
    """Knobs of block row/column parity; G must divide both height and width."""

    G: int = field(default=3, metadata={"help": "block side: checks are rows and columns of G×G blocks (rule complexity)"})
    height: int = field(default=6, metadata={"help": "grid height"})
    width: int = field(default=6, metadata={"help": "grid width"})

    def validate(self) -> None:
        super().validate()
        require_grid(self, self.height, self.width)
        if self.G < 1 or self.height % self.G or self.width % self.G:
            allowed = [d for d in range(1, min(self.height, self.width) + 1) if self.height % d == 0 and self.width % d == 0]
            raise ConfigError(f"RowColParityConfig.G must divide both height={self.height} and width={self.width} (allowed: {', '.join(map(str, allowed))}), got {self.G!r}")


@register_task("rowcol_parity")
class RowColParityTask(LinearRuleTask, GridTask):
    """Even parity along every row and every column of every G×G block: 2·H·W/G overlapping checks."""

    config_class = RowColParityConfig
    config: RowColParityConfig

    def parity_checks(self) -> tuple[np.ndarray, np.ndarray]:
        height, width, side = self.config.height, self.config.width, self.config.G
        cells = np.arange(height * width).reshape(height, width)
        row_segments = cells.reshape(height, width // side, side).reshape(-1, side)
        col_segments = cells.T.reshape(width, height // side, side).reshape(-1, side)
        segments = np.concatenate([row_segments, col_segments])
        checks = np.zeros((len(segments), height * width), dtype=np.uint8)
        np.put_along_axis(checks, segments, 1, axis=1)
        return checks, np.zeros(len(segments), dtype=np.uint8)


__all__ = ["RowColParityConfig", "RowColParityTask"]
