"""Reference baselines whose clocks are known by construction, for testing the protocol end to end in seconds.

- `memorizer` replays the training samples it has seen: τ_mem at the first eval after training starts.
- `oracle` samples the task's valid set through the task's own sampler: τ_rule at once, mem at chance.
- `uniform` emits uniformly random arrays: neither clock ever fires.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from adapters import register_adapter
from benchmark.core.adapter import Adapter


def _numpy_rng(generator: torch.Generator) -> np.random.Generator:
    """A numpy generator seeded from (and advancing) the torch generator, so sampling stays deterministic."""
    seed = int(torch.randint(0, 2**62, (1,), generator=generator).item())
    return np.random.default_rng(seed)


def _uniform_symbols(adapter: Adapter, n: int, generator: torch.Generator) -> torch.Tensor:
    """Uniformly random symbol arrays of the adapter's data shape."""
    return torch.randint(0, adapter.data.num_symbols, (n, *adapter.data.shape), generator=generator)


class _NoTrainingAdapter(Adapter):
    """Shared plumbing of baselines that hold no network."""

    def train_step(self, batch: torch.Tensor) -> float:
        return 0.0

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass


@register_adapter("uniform")
class UniformAdapter(_NoTrainingAdapter):
    """Uniformly random symbol arrays; its valid fraction is the task's chance level."""

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return _uniform_symbols(self, n, generator)


@register_adapter("oracle")
class OracleAdapter(_NoTrainingAdapter):
    """A perfect rule learner that never memorizes: samples come from the task's exact sampler."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.task is None:
            raise ValueError("the oracle adapter needs the task (pass task=...) to sample its valid set")
        if tuple(self.task.shape) != tuple(self.data.shape) or self.task.num_symbols != self.data.num_symbols:
            raise ValueError(f"the oracle's task has shape {tuple(self.task.shape)} and {self.task.num_symbols} symbols, but the data spec says {tuple(self.data.shape)} and {self.data.num_symbols}")

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        samples = self.task.sample(n, _numpy_rng(generator))  # type: ignore[union-attr]  # __init__ refused task=None
        return torch.from_numpy(samples.astype(np.int64))


@register_adapter("memorizer")
class MemorizerAdapter(Adapter):
    """Replays the distinct training samples seen so far; uniform noise before the first step."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.memory = torch.empty((0, *self.data.shape), dtype=torch.long)

    def train_step(self, batch: torch.Tensor) -> float:
        self.memory = torch.unique(torch.cat([self.memory, batch.detach().cpu().long()]), dim=0)
        return 0.0

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        if len(self.memory) == 0:
            return _uniform_symbols(self, n, generator)
        picks = torch.randint(0, len(self.memory), (n,), generator=generator)
        return self.memory[picks].clone()

    def state_dict(self) -> dict[str, Any]:
        return {"memory": self.memory.clone()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.memory = state["memory"].clone().long()


__all__ = ["UniformAdapter", "OracleAdapter", "MemorizerAdapter"]
