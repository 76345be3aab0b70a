"""Training batches as index arrays into the training set, from a numpy Generator whose state is checkpointed.

`epochs` (default): a fresh permutation per epoch, consumed B at a time; a batch that runs past the end of
an epoch continues into the next permutation, so every sample is seen exactly once per epoch and the
epoch axis (step·B/N) is exact. `replacement`: each batch is B independent uniform draws.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from benchmark.run.spec import BATCHING


class BatchSampler:
    """Yields int64 index arrays of length `batch_size` into a training set of size `n`; resumable bit-for-bit."""

    def __init__(self, n: int, batch_size: int, mode: str, seed: int) -> None:
        if mode not in BATCHING:
            raise ValueError(f"batching must be one of {', '.join(BATCHING)}, got {mode!r}")
        if n < 1 or batch_size < 1:
            raise ValueError(f"n and batch_size must be positive, got {n} and {batch_size}")
        self.n, self.batch_size, self.mode = n, batch_size, mode
        self.rng = np.random.default_rng(seed)
        self.order = np.empty(0, dtype=np.int64)  # the current epoch's permutation
        self.position = 0  # next unread index into `order`

    def next(self) -> np.ndarray:
        if self.mode == "replacement":
            return self.rng.integers(0, self.n, size=self.batch_size, dtype=np.int64)
        parts, needed = [], self.batch_size
        while needed:
            if self.position == len(self.order):
                self.order, self.position = self.rng.permutation(self.n).astype(np.int64), 0
            take = self.order[self.position : self.position + needed]
            parts.append(take)
            self.position += len(take)
            needed -= len(take)
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def state_dict(self) -> dict[str, Any]:
        return {"rng": self.rng.bit_generator.state, "order": self.order.copy(), "position": self.position}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.rng.bit_generator.state = state["rng"]
        self.order = np.asarray(state["order"], dtype=np.int64)
        self.position = int(state["position"])


class TrainingSetSampler:
    """Batches of the fixed training set, in the order a `BatchSampler` of indices gives."""

    def __init__(self, train: np.ndarray, batch_size: int, mode: str, seed: int) -> None:
        self.train = train
        self.indices = BatchSampler(len(train), batch_size, mode, seed)

    def next(self) -> np.ndarray:
        """(batch_size, *shape) training samples."""
        return self.train[self.indices.next()]

    def state_dict(self) -> dict[str, Any]:
        return self.indices.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.indices.load_state_dict(state)


class StreamSampler:
    """Batches drawn fresh from the task's exact sampler (`n: stream`): no fixed training set, nothing to copy.

    The numpy Generator's state is checkpointed, so a resumed run draws the very batches it would have.
    """

    def __init__(self, task: Any, batch_size: int, seed: int) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        self.task, self.batch_size = task, batch_size
        self.rng = np.random.default_rng(seed)

    def next(self) -> np.ndarray:
        """(batch_size, *shape) valid samples."""
        return self.task.sample(self.batch_size, self.rng)

    def state_dict(self) -> dict[str, Any]:
        return {"rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.rng.bit_generator.state = state["rng"]


__all__ = ["BatchSampler", "TrainingSetSampler", "StreamSampler"]
