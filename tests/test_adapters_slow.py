"""The default-size bundled adapters learn group parity G=2 as the seed measurements say (slow: ~1 min)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import adapters
import tasks
from adapters import DataSpec

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("name", ["dit", "gpt"])
def test_default_adapter_learns_parity_g2_within_200_steps(name):
    task = tasks.get("parity", G=2)
    train = torch.from_numpy(task.sample(300, np.random.default_rng(0)).astype(np.int64))
    adapter = adapters.build(name, DataSpec((6, 6), 2), seed=0)
    picks = torch.Generator().manual_seed(0)
    # untrained samples are far from the rule (the untrained DiT's are blocky, so above the chance 2^-18)
    assert task.is_valid(adapter.sample(512, torch.Generator().manual_seed(1)).numpy()).mean() < 0.1
    for _ in range(200):
        adapter.train_step(train[torch.randint(0, len(train), (adapter.batch_size,), generator=picks)])
    samples = adapter.sample(512, torch.Generator().manual_seed(1)).numpy()
    assert task.is_valid(samples).mean() >= 0.9
    assert np.isin(task.key(samples), task.key(train.numpy())).mean() < 0.1  # valid, yet mostly new: the innovation window
