"""Test plugin: `sleepy`, the memorizer slowed down, logging every build so that tests can count trainings.

Each construction appends "<pid> <seed>" to the file named by $TWO_CLOCKS_TEST_LOG (one short O_APPEND
write: atomic between processes). A run that resumes or restarts builds its adapter again, so the number
of lines for a seed is the number of times that run started training.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

import torch

from adapters import register_adapter
from adapters.baselines import MemorizerAdapter
from benchmark.core.adapter import AdapterConfig

LOG_ENV = "TWO_CLOCKS_TEST_LOG"


@dataclass(frozen=True)
class SleepyConfig(AdapterConfig):
    step_s: float = field(default=0.01, metadata={"help": "seconds each training step sleeps"})


@register_adapter("sleepy")
class SleepyAdapter(MemorizerAdapter):
    """Replays the training samples seen so far, `step_s` seconds per step."""

    config_class = SleepyConfig

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        path = os.environ.get(LOG_ENV)
        if path:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, f"{os.getpid()} {self.seed}\n".encode())
            finally:
                os.close(fd)

    def train_step(self, batch: torch.Tensor) -> float:
        time.sleep(self.config.step_s)
        return super().train_step(batch)


def builds(path: str | os.PathLike[str]) -> list[tuple[int, int]]:
    """(pid, adapter seed) of every build logged so far."""
    try:
        text = open(path).read()
    except FileNotFoundError:
        return []
    return [(int(pid), int(seed)) for pid, seed in (line.split() for line in text.splitlines() if line.strip())]
