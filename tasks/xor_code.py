"""A random sparse linear code: `checks` parity checks, each over G cells drawn anywhere in the grid from `code_seed`.

Unlike group parity the checks are non-local and may overlap, so a model cannot learn the rule
patch by patch. The valid set is the code's affine space: exactly 2**(H·W − rank) arrays (GF(2)
rank of the drawn checks, which may be below `checks` when they are dependent); the sampler draws a
uniform combination of a null-space basis, which is exactly uniform over the valid set.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from benchmark.core.config import require
from benchmark.core.task import GridTask, TaskConfig
from tasks import register_task
from tasks.groups import require_grid
from tasks.linear import LinearRuleTask


@dataclass(frozen=True)
class XorCodeConfig(TaskConfig):
    """Knobs of the random parity-check code."""

    G: int = field(default=4, metadata={"help": "cells per parity check, the check weight (rule complexity)"})
    checks: int = field(default=0, metadata={"help": "number of parity checks; 0 = height*width // G, as many as parity's groups"})
    code_seed: int = field(default=0, metadata={"help": "seed that draws the checks"})
    height: int = field(default=6, metadata={"help": "grid height"})
    width: int = field(default=6, metadata={"help": "grid width"})

    def validate(self) -> None:
        super().validate()
        require_grid(self, self.height, self.width)
        cells = self.height * self.width
        require(1 <= self.G <= cells, self, "G", f"an integer in 1..height*width={cells}", self.G)
        require(0 <= self.checks <= cells, self, "checks", f"an integer in 0..height*width={cells} (0 = height*width // G)", self.checks)
        require(self.code_seed >= 0, self, "code_seed", "a non-negative integer", self.code_seed)

    @property
    def num_checks(self) -> int:
        """The resolved number of checks (the 0 default means height*width // G)."""
        return self.checks or (self.height * self.width) // self.G


@register_task("xor_code")
class XorCodeTask(LinearRuleTask, GridTask):
    """Every one of the code's random weight-G parity checks is even."""

    config_class = XorCodeConfig
    config: XorCodeConfig

    def parity_checks(self) -> tuple[np.ndarray, np.ndarray]:
        cfg: XorCodeConfig = self.config
        cells = cfg.height * cfg.width
        rng = np.random.default_rng(cfg.code_seed)
        # Each check's cells: the first G of an independent uniform permutation of the grid.
        members = np.argsort(rng.random((cfg.num_checks, cells)), axis=1)[:, : cfg.G]
        checks = np.zeros((cfg.num_checks, cells), dtype=np.uint8)
        np.put_along_axis(checks, members, 1, axis=1)
        return checks, np.zeros(cfg.num_checks, dtype=np.uint8)


__all__ = ["XorCodeConfig", "XorCodeTask"]
