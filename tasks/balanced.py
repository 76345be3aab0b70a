"""Balanced groups: an H×W binary grid split into groups of G bits (G even), each holding exactly G/2 ones.

A counting rule rather than a parity: it is not linear over GF(2), and its chance level falls only
like G^(-1/2) per group. Groups are laid out as in `parity` (contiguous row-major blocks or a seeded
random partition). The valid set holds C(G, G/2)**(H·W/G) grids; the sampler shuffles G/2 ones into
each group independently, which is exactly uniform.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from benchmark.core.task import SAMPLE_DTYPE, GridTask, TaskConfig
from tasks import register_task
from tasks.bitpack import PackedRule, fields_target, membership_contributions
from tasks.groups import partition, require_grid, require_group_size, require_layout


@dataclass(frozen=True)
class BalancedConfig(TaskConfig):
    """Knobs of balanced groups; G must be an even divisor of H·W."""

    G: int = field(default=4, metadata={"help": "bits per group, each with exactly G/2 ones (rule complexity); even, divides height*width"})
    height: int = field(default=6, metadata={"help": "grid height"})
    width: int = field(default=6, metadata={"help": "grid width"})
    layout: str = field(default="contiguous", metadata={"help": "contiguous row-major blocks, or a random partition"})
    layout_seed: int = field(default=0, metadata={"help": "seed of the random partition (layout=random)"})

    def validate(self) -> None:
        super().validate()
        require_grid(self, self.height, self.width)
        require_group_size(self, "G", self.G, self.height * self.width, even=True)
        require_layout(self, self.layout, self.layout_seed)


@register_task("balanced")
class BalancedTask(GridTask):
    """Every group of G bits has exactly G/2 ones; K = H·W/G constraints."""

    config_class = BalancedConfig
    config: BalancedConfig

    @cached_property
    def groups(self) -> np.ndarray:
        """(K, G) flat cell indices of each group."""
        cfg: BalancedConfig = self.config
        return partition(cfg.height * cfg.width, cfg.G, cfg.layout, cfg.layout_seed)

    @cached_property
    def _rule(self) -> PackedRule:
        """Group counts as bit fields wide enough to hold G, and the target of G/2 in each."""
        group_size = self.config.G
        members = np.zeros((len(self.groups), self.size), dtype=np.uint8)
        np.put_along_axis(members, self.groups, 1, axis=1)
        contributions, word, shift = membership_contributions(members, width=group_size.bit_length())
        target = fields_target(np.full(len(self.groups), group_size // 2), word, shift, contributions.shape[1])
        return PackedRule.from_contributions(contributions, target, "add")

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        num_groups, group_size = self.groups.shape
        pattern = np.repeat(np.array([0, 1], dtype=SAMPLE_DTYPE), group_size // 2)
        shuffled = rng.permuted(np.broadcast_to(pattern, (n * num_groups, group_size)), axis=1)
        flat = np.empty((n, self.size), dtype=SAMPLE_DTYPE)
        flat[:, self.groups] = shuffled.reshape(n, num_groups, group_size)
        return flat.reshape(n, *self.shape)

    def is_valid(self, x: np.ndarray) -> np.ndarray:
        return self._rule.holds_in_range(*self.as_symbols(x))

    def satisfied(self, x: np.ndarray) -> np.ndarray:
        """bool[n, K]: which groups hold exactly G/2 ones (a group with an out-of-range cell fails)."""
        flat, bad = self.as_symbols(x)
        counts = flat[:, self.groups].sum(axis=2, dtype=np.int64)
        satisfied = counts == self.config.G // 2
        if bad is not None:
            satisfied &= ~bad[:, self.groups].any(axis=2)
        return satisfied

    def constraint_satisfaction(self, x: np.ndarray) -> np.ndarray:
        return self.satisfied(x).mean(axis=1)

    def num_valid(self) -> int:
        group_size = self.config.G
        return math.comb(group_size, group_size // 2) ** len(self.groups)


__all__ = ["BalancedConfig", "BalancedTask"]
