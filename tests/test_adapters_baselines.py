"""The reference baselines behave as their clocks assume: uniform is chance, oracle always valid, memorizer replays."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch

import adapters
import tasks
from adapters import DataSpec


def spec_of(task) -> DataSpec:
    return DataSpec(tuple(task.shape), task.num_symbols)


def keys_of(task, x: torch.Tensor) -> list:
    return task.key(x.numpy()).tolist()


def test_uniform_hits_the_valid_set_at_chance_and_every_symbol_equally():
    task = tasks.get("parity", G=36)  # one group: chance of a valid grid is exactly 1/2
    adapter = adapters.build("uniform", spec_of(task), task=task)
    samples = adapter.sample(4000, torch.Generator().manual_seed(0))
    assert samples.shape == (4000, 6, 6) and samples.dtype == torch.long
    assert abs(task.is_valid(samples.numpy()).mean() - 0.5) < 0.03
    assert adapter.train_step(samples[:8]) == 0.0 and adapter.num_parameters() == 0
    four = adapters.build("uniform", DataSpec((4, 4), 4)).sample(4000, torch.Generator().manual_seed(0))
    counts = torch.bincount(four.flatten(), minlength=4).float() / four.numel()
    assert torch.allclose(counts, torch.full((4,), 0.25), atol=0.01)


def test_uniform_is_deterministic_in_the_generator():
    adapter = adapters.build("uniform", DataSpec((6, 6), 2))
    assert torch.equal(adapter.sample(10, torch.Generator().manual_seed(3)), adapter.sample(10, torch.Generator().manual_seed(3)))
    assert not torch.equal(adapter.sample(10, torch.Generator().manual_seed(3)), adapter.sample(10, torch.Generator().manual_seed(4)))


@pytest.mark.parametrize("G", [2, 4])
def test_oracle_samples_are_all_valid_new_and_deterministic(G):
    task = tasks.get("parity", G=G)
    adapter = adapters.build("oracle", spec_of(task), task=task)
    samples = adapter.sample(500, torch.Generator().manual_seed(0))
    assert samples.shape == (500, 6, 6) and samples.dtype == torch.long
    assert task.is_valid(samples.numpy()).all()
    train = task.sample(100, np.random.default_rng(1))
    overlap = sum(key in set(task.key(train).tolist()) for key in keys_of(task, samples))
    assert overlap <= 3  # chance level: 500 · 100 / |valid| ≤ 0.2 expected hits
    assert len(set(keys_of(task, samples))) > 490
    assert torch.equal(samples, adapter.sample(500, torch.Generator().manual_seed(0)))


def test_oracle_needs_a_matching_task():
    task = tasks.get("parity", G=2)
    with pytest.raises(ValueError, match="needs the task"):
        adapters.build("oracle", spec_of(task))
    with pytest.raises(ValueError, match=r"task has shape \(6, 6\) and 2 symbols, but the data spec says \(4, 4\) and 2"):
        adapters.build("oracle", DataSpec((4, 4), 2), task=task)


def test_memorizer_replays_exactly_the_distinct_samples_it_was_trained_on():
    task = tasks.get("parity", G=2)
    train = torch.from_numpy(task.sample(4, np.random.default_rng(0)).astype(np.int64))
    adapter = adapters.build("memorizer", spec_of(task))
    before = adapter.sample(200, torch.Generator().manual_seed(0))
    assert not set(keys_of(task, before)) & set(keys_of(task, train))  # before training: uniform noise
    adapter.train_step(train[:2])
    adapter.train_step(train)  # repeats are stored once
    assert len(adapter.memory) == 4
    after = adapter.sample(200, torch.Generator().manual_seed(0))
    assert set(keys_of(task, after)) == set(keys_of(task, train))


def test_memorizer_state_round_trips():
    adapter = adapters.build("memorizer", DataSpec((4, 4), 4))
    adapter.train_step(torch.randint(0, 4, (5, 4, 4), generator=torch.Generator().manual_seed(0)))
    buffer = io.BytesIO()
    torch.save(adapter.state_dict(), buffer)
    buffer.seek(0)
    fresh = adapters.build("memorizer", DataSpec((4, 4), 4))
    fresh.load_state_dict(torch.load(buffer))
    assert torch.equal(fresh.sample(50, torch.Generator().manual_seed(1)), adapter.sample(50, torch.Generator().manual_seed(1)))


@pytest.mark.parametrize("name", ["memorizer", "oracle", "uniform"])
def test_baselines_describe_themselves(name):
    task = tasks.get("parity", G=2)
    description = adapters.build(name, spec_of(task), task=task).describe()
    assert description["name"] == name and description["num_parameters"] == 0
