"""Group parity (the seed paper's task): an H×W binary grid split into groups of G bits, each of even (or odd) parity.

Groups are contiguous row-major blocks by default (bits 0..G-1 of the flattened grid form group 1,
and so on), or a fixed random partition drawn from `layout_seed`. Sampler: draw every bit uniformly,
then set the last bit of each group to fix its parity; the map from the free bits to valid grids is
a bijection, so the sampler is exactly uniform over the 2**(H·W - H·W/G) valid grids.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from benchmark.core.config import require
from benchmark.core.task import SAMPLE_DTYPE, GridTask, TaskConfig
from tasks import register_task
from tasks.groups import partition, require_grid, require_group_size, require_layout
from tasks.linear import LinearRuleTask

PARITIES = ("even", "odd")


@dataclass(frozen=True)
class ParityConfig(TaskConfig):
    """Knobs of group parity; G must divide H·W."""

    G: int = field(default=2, metadata={"help": "bits per parity group (rule complexity); must divide height*width"})
    height: int = field(default=6, metadata={"help": "grid height"})
    width: int = field(default=6, metadata={"help": "grid width"})
    layout: str = field(default="contiguous", metadata={"help": "contiguous row-major blocks, or a random partition"})
    layout_seed: int = field(default=0, metadata={"help": "seed of the random partition (layout=random)"})
    parity: str = field(default="even", metadata={"help": "required parity of every group: even or odd"})

    def validate(self) -> None:
        super().validate()
        require_grid(self, self.height, self.width)
        require_group_size(self, "G", self.G, self.height * self.width)
        require_layout(self, self.layout, self.layout_seed)
        require(self.parity in PARITIES, self, "parity", f"one of {', '.join(PARITIES)}", self.parity)


@register_task("parity")
class ParityTask(LinearRuleTask, GridTask):
    """Every group of G bits has the required parity; K = H·W/G independent constraints."""

    config_class = ParityConfig
    config: ParityConfig

    @cached_property
    def groups(self) -> np.ndarray:
        """(K, G) flat cell indices of each group."""
        cfg: ParityConfig = self.config
        return partition(cfg.height * cfg.width, cfg.G, cfg.layout, cfg.layout_seed)

    @property
    def _target_bit(self) -> int:
        return 0 if self.config.parity == "even" else 1

    @property
    def num_groups(self) -> int:
        return len(self.groups)

    def parity_checks(self) -> tuple[np.ndarray, np.ndarray]:
        checks = np.zeros((self.num_groups, self.size), dtype=np.uint8)
        np.put_along_axis(checks, self.groups, 1, axis=1)
        return checks, np.full(self.num_groups, self._target_bit, dtype=np.uint8)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        flat = rng.integers(0, 2, size=(n, self.size), dtype=SAMPLE_DTYPE)
        parities = np.bitwise_xor.reduce(flat[:, self.groups], axis=2)  # (n, K)
        flat[:, self.groups[:, -1]] ^= parities ^ SAMPLE_DTYPE(self._target_bit)
        return flat.reshape(n, *self.shape)

    def num_valid(self) -> int:
        return 2 ** (self.size - self.num_groups)

    def chance_valid(self) -> float:
        return 2.0**-self.num_groups


__all__ = ["PARITIES", "ParityConfig", "ParityTask"]
