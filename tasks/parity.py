"""Group parity (the seed paper's task): an H×W binary grid split into groups of G bits, each of even parity.

Sampler: draw every bit uniformly, then set the last bit of each group to fix its parity. The map from
the free bits to valid grids is a bijection, so the sampler is exactly uniform over the valid set.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from benchmark.config import ConfigError, require
from tasks import register_task
from tasks.base import SAMPLE_DTYPE, Task, TaskConfig

LAYOUTS = ("contiguous", "random")
PARITIES = ("even", "odd")


@dataclass(frozen=True)
class ParityConfig(TaskConfig):
    """Knobs of group parity; G must divide H·W."""

    G: int = field(default=2, metadata={"help": "bits per parity group (rule complexity)"})
    height: int = field(default=6, metadata={"help": "grid height"})
    width: int = field(default=6, metadata={"help": "grid width"})
    layout: str = field(default="contiguous", metadata={"help": "contiguous row-major blocks, or a random partition"})
    layout_seed: int = field(default=0, metadata={"help": "seed of the random partition (layout=random)"})
    parity: str = field(default="even", metadata={"help": "required parity of every group: even or odd"})

    def validate(self) -> None:
        super().validate()
        require(self.height >= 1, self, "height", "a positive integer", self.height)
        require(self.width >= 1, self, "width", "a positive integer", self.width)
        cells = self.height * self.width
        if self.G < 1 or cells % self.G:
            allowed = ", ".join(str(d) for d in range(1, cells + 1) if cells % d == 0)
            raise ConfigError(f"ParityConfig.G must divide height*width={cells} (allowed: {allowed}), got {self.G!r}")
        require(self.layout in LAYOUTS, self, "layout", f"one of {', '.join(LAYOUTS)}", self.layout)
        require(self.parity in PARITIES, self, "parity", f"one of {', '.join(PARITIES)}", self.parity)


@register_task("parity")
class ParityTask(Task):
    """Every group of G bits has the required parity; K = H·W/G independent constraints."""

    config_class = ParityConfig

    def __init__(self, config: ParityConfig | None = None) -> None:
        super().__init__(config)
        cfg: ParityConfig = self.config  # type: ignore[assignment]
        cells = cfg.height * cfg.width
        order = np.arange(cells)
        if cfg.layout == "random":
            order = np.random.default_rng(cfg.layout_seed).permutation(cells)
        self.groups = order.reshape(cells // cfg.G, cfg.G)  # (K, G) flat indices of each group's bits
        self._contiguous = cfg.layout == "contiguous"
        self._target = 0 if cfg.parity == "even" else 1

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.config.height, self.config.width)  # type: ignore[attr-defined]

    @property
    def complexity(self) -> float:
        return float(self.config.G)  # type: ignore[attr-defined]

    @property
    def num_groups(self) -> int:
        return len(self.groups)

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        flat = rng.integers(0, 2, size=(n, self.size), dtype=SAMPLE_DTYPE)
        wrong = self._group_parities(flat) != self._target
        flat[:, self.groups[:, -1]] ^= wrong.astype(SAMPLE_DTYPE)
        return flat.reshape(n, *self.shape)

    def _group_parities(self, flat: np.ndarray) -> np.ndarray:
        """(n, K) parity bit of every group."""
        grouped = flat.reshape(len(flat), self.num_groups, -1) if self._contiguous else flat[:, self.groups]
        return np.bitwise_xor.reduce(grouped & 1, axis=2)

    def is_valid(self, x: np.ndarray) -> np.ndarray:
        flat = self.check_samples(x)
        return ~(self._group_parities(flat) != self._target).any(axis=1)

    def constraint_satisfaction(self, x: np.ndarray) -> np.ndarray:
        flat = self.check_samples(x)
        return (self._group_parities(flat) == self._target).mean(axis=1)

    def num_valid(self) -> float:
        return float(2 ** (self.size - self.num_groups))

    def chance_valid(self) -> float:
        return 2.0 ** -self.num_groups
