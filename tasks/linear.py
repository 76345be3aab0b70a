"""Shared machinery of linear binary rules `H x = t (mod 2)`: exact count, exact sampler, table verifier.

A family subclasses `LinearRuleTask` and says which parity checks it imposes (`parity_checks`);
the GF(2) rank gives the exact size of the valid set, the null space an exactly uniform sampler,
and `PackedRule` a verifier that checks every parity at once from the packed sample.
"""

from __future__ import annotations

from abc import abstractmethod

import numpy as np

from benchmark.core.config import ConfigError
from benchmark.core.task import SAMPLE_DTYPE, Task, TaskConfig
from tasks import gf2
from tasks.bitpack import PackedRule, fields_target, membership_contributions


class LinearRuleTask(Task):
    """Binary arrays whose parity checks `checks @ x (mod 2)` equal `target`; one constraint per check."""

    def __init__(self, config: TaskConfig | None = None) -> None:
        super().__init__(config)
        checks, target = self.parity_checks()
        self.checks = (np.asarray(checks) % 2).astype(np.uint8)  # (m, cells)
        self.target = (np.asarray(target) % 2).astype(np.uint8)  # (m,)
        offset = gf2.particular_solution(self.checks, self.target)
        if offset is None:
            raise ConfigError(f"{type(self.config).__name__}: no array satisfies these parity checks ({self.config})")
        self._offset = offset
        self._basis = gf2.null_space(self.checks)
        self._rank = self.size - len(self._basis)
        contributions, self._word, self._shift = membership_contributions(self.checks, width=1)
        words = contributions.shape[1]
        self._rule = PackedRule.from_contributions(contributions, fields_target(self.target, self._word, self._shift, words), "xor")

    @abstractmethod
    def parity_checks(self) -> tuple[np.ndarray, np.ndarray]:
        """`(checks (m, cells) 0/1, target (m,) 0/1)` over the row-major flattened array."""

    @property
    def num_constraints(self) -> int:
        return len(self.checks)

    @property
    def rank(self) -> int:
        """Number of independent checks: the valid set has `2**(cells - rank)` arrays."""
        return self._rank

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        flat = gf2.span_sample(self._offset, self._basis, n, rng)
        return flat.astype(SAMPLE_DTYPE, copy=False).reshape(n, *self.shape)

    def is_valid(self, x: np.ndarray) -> np.ndarray:
        return self._rule.holds_in_range(*self.as_symbols(x))

    def satisfied(self, x: np.ndarray) -> np.ndarray:
        """bool[n, m]: which checks each sample satisfies (checks reading an out-of-range cell fail)."""
        flat, bad = self.as_symbols(x)
        combined = self._rule.combined(flat)  # (n, words): bit `shift` of word `word` is check k's parity
        parities = (combined[:, self._word] >> self._shift.astype(np.uint64)) & np.uint64(1)
        satisfied = parities.astype(np.uint8) == self.target
        if bad is not None:
            satisfied &= (bad.astype(np.int32) @ self.checks.T.astype(np.int32)) == 0  # integer: no BLAS threads
        return satisfied

    def constraint_satisfaction(self, x: np.ndarray) -> np.ndarray:
        return self.satisfied(x).mean(axis=1)

    def num_valid(self) -> int:
        return 2 ** (self.size - self._rank)


__all__ = ["LinearRuleTask"]
