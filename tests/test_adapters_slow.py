"""Every bundled network adapter learns group parity G=2 (slow: minutes in all).

The DiT and GPT at their default sizes from 300 samples, as the seed measurements say; the adapters added
with the tiers from a large N (4,096: no memorisation possible in these few hundred steps) at the sizes
and step budgets below.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import adapters
import tasks
from adapters import DataSpec

pytestmark = pytest.mark.slow

# name, knobs, N, steps: valid >= 0.9 after `steps` steps, measured with seed 0.
LEARNERS = {
    "dit": ({}, 300, 200),
    "gpt": ({}, 300, 200),
    "llama": ({"model_type": "llama", "depth": 4, "width": 64}, 4096, 300),
    "unet": ({}, 4096, 600),
    "mdlm": ({}, 4096, 800),
}
ADAPTER = {"llama": "hf_causal_lm"}


@pytest.mark.parametrize("case", list(LEARNERS))
def test_adapter_learns_parity_g2(case):
    knobs, n_train, steps = LEARNERS[case]
    task = tasks.get("parity", G=2)
    train = torch.from_numpy(task.sample(n_train, np.random.default_rng(0)).astype(np.int64))
    adapter = adapters.build(ADAPTER.get(case, case), DataSpec((6, 6), 2), seed=0, **knobs)
    picks = torch.Generator().manual_seed(0)
    # untrained samples are far from the rule (the untrained DiT's are blocky, so above the chance 2^-18)
    assert task.is_valid(adapter.sample(512, torch.Generator().manual_seed(1)).numpy()).mean() < 0.1
    for _ in range(steps):
        adapter.train_step(train[torch.randint(0, len(train), (adapter.batch_size,), generator=picks)])
    samples = adapter.sample(512, torch.Generator().manual_seed(1)).numpy()
    assert task.is_valid(samples).mean() >= 0.9
    assert np.isin(task.key(samples), task.key(train.numpy())).mean() < 0.1  # valid, yet mostly new: the innovation window
