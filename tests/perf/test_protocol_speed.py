"""Protocol speed: memorization lookup throughput, per-eval costs, and the eval share of a run's wall time.

Run with `python -m pytest -m perf tests/perf/test_protocol_speed.py -s` (the numbers are printed and kept in
pytest-benchmark's extra_info). The eval share is measured with stand-in adapters whose train step and
sampling costs are sleeps in the ratio of the real models in the README's speed table (printed by
`python tools/readme_numbers.py --speeds`), scaled to a 2 ms step: the protocol's own costs (metrics, logs, checkpoints, batching) come on top and are what this
measures. To measure a real adapter, run it at the default schedule and read
`record.eval_time_s / record.wall_time_s`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
import torch

import tasks
from benchmark.core.adapter import Adapter, AdapterConfig
from benchmark.core.task import sample_keys
from benchmark.run.metrics import KeySet, SampleMetrics
from benchmark.run.protocol import run
from benchmark.run.rundir import save_checkpoint
from benchmark.run.spec import resolve_spec

pytestmark = pytest.mark.perf

LOOKUP_GOAL = 1e6  # samples per second (issue 4)
SCALED_STEP_S = 0.002


def rate(benchmark: Any, count: int) -> float:
    return count / benchmark.analysis.stats.stats.mean


@pytest.mark.parametrize("shape", [(6, 6), (9, 9)], ids=["uint64-path (≤ 8-byte keys)", "hash-set-path (wider keys)"])
def test_memorization_lookup_throughput(benchmark, shape):
    rng = np.random.default_rng(0)
    train_keys = sample_keys(rng.integers(0, 2, size=(100_000, *shape), dtype=np.uint8), 2)
    queries = sample_keys(rng.integers(0, 2, size=(1_000_000, *shape), dtype=np.uint8), 2)
    queries[::2] = train_keys[rng.integers(0, len(train_keys), len(queries) // 2)]  # half of them hit
    key_set = KeySet(train_keys)
    found = benchmark(key_set.contains, queries)
    assert found[::2].all()
    per_second = rate(benchmark, len(queries))
    benchmark.extra_info["samples_per_s"] = per_second
    print(f"\nmemorization lookup {shape}: {per_second:.3g} samples/s against N = 100,000")
    assert per_second >= LOOKUP_GOAL


def test_one_eval_of_metrics(benchmark):
    task = tasks.get("parity", G=2)
    rng = np.random.default_rng(0)
    metrics = SampleMetrics.for_sets(task, task.sample(2000, rng), task.sample(2000, rng))
    samples = task.sample(1024, rng)
    benchmark(metrics.measure, samples)
    per_eval_ms = benchmark.analysis.stats.stats.mean * 1e3
    benchmark.extra_info["ms_per_eval"] = per_eval_ms
    print(f"\nmetrics of one eval (M = 1024): {per_eval_ms:.2f} ms")
    assert per_eval_ms < 50


def test_checkpoint_write_of_a_small_dit(benchmark, tmp_path):
    """A 1.42 M-parameter model with Adam's two moments: what each eval writes to disk (atomic, fsynced)."""
    state = {"adapter": {"weights": torch.zeros(3 * 1_420_000)}, "rows": [{"step": 0}] * 30}
    benchmark.pedantic(save_checkpoint, args=(tmp_path, state), rounds=5, iterations=1, warmup_rounds=1)
    per_checkpoint_ms = benchmark.analysis.stats.stats.mean * 1e3
    benchmark.extra_info["ms_per_checkpoint"] = per_checkpoint_ms
    print(f"\ncheckpoint of 17 MB of state: {per_checkpoint_ms:.1f} ms")


@dataclass(frozen=True)
class StandInConfig(AdapterConfig):
    step_s: float = field(default=SCALED_STEP_S, metadata={"help": "seconds one train step takes"})
    sample_s: float = field(default=0.0, metadata={"help": "seconds per generated sample"})


class StandIn(Adapter):
    """Costs without compute: sleeps for its step and sampling times and emits uniform noise (no clock fires)."""

    config_class = StandInConfig

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sampling_s = 0.0
        self.training_s = 0.0

    def train_step(self, batch: torch.Tensor) -> float:
        start = time.perf_counter()
        time.sleep(self.config.step_s)
        self.training_s += time.perf_counter() - start
        return 0.0

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        start = time.perf_counter()
        if self.config.sample_s:
            time.sleep(n * self.config.sample_s)
        samples = torch.randint(0, self.data.num_symbols, (n, *self.data.shape), generator=generator)
        self.sampling_s += time.perf_counter() - start
        return samples

    def state_dict(self) -> dict[str, Any]:
        return {"sampling_s": self.sampling_s, "training_s": self.training_s}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.sampling_s, self.training_s = state["sampling_s"], state["training_s"]

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "sampling_s": self.sampling_s, "training_s": self.training_s}


# Real rates on 2 cores from the README's speed table (`python tools/readme_numbers.py --speeds`): train steps/s at
# batch 64 and samples/s of the default DiT and GPT.
PROFILES = {
    "protocol-only (free sampling)": (None, None),
    "dit-4x128-p2-like (10.6 steps/s, 106 samples/s)": (10.6, 106.0),
    "gpt-4x128-like (4.43 steps/s, 340 samples/s)": (4.43, 340.0),
}


@pytest.mark.parametrize("profile", list(PROFILES))
def test_eval_share_of_wall_time_at_the_default_schedule(benchmark, tmp_path, profile):
    steps_per_s, samples_per_s = PROFILES[profile]
    sample_s = 0.0 if samples_per_s is None else SCALED_STEP_S * steps_per_s / samples_per_s  # keep the real ratio
    spec = resolve_spec("parity", {"G": 2}, f"{__name__}:StandIn", {"sample_s": sample_s}, 2000, 0, {})
    record = benchmark.pedantic(run, args=(spec, tmp_path), kwargs={"device": "cpu", "quiet": True}, rounds=1, iterations=1)
    adapter = record.adapter
    share = record.eval_time_s / record.wall_time_s
    adapter_share = adapter["sampling_s"] / record.wall_time_s
    protocol_share = 1.0 - (adapter["sampling_s"] + adapter["training_s"]) / record.wall_time_s
    benchmark.extra_info.update(eval_share=share, adapter_sampling_share=adapter_share, protocol_share=protocol_share)
    print(f"\n{profile}: eval share {share:.1%} of {record.wall_time_s:.1f} s (adapter sampling {adapter_share:.1%}; protocol's own work, evals and steps, {protocol_share:.1%})")
    assert record.steps_trained == 2000
    assert protocol_share < 0.10  # the runner itself must stay cheap next to even a 2 ms step


def test_nearest_training_distance_at_m1024_n16384(benchmark):
    """Near-copy search (protocol 2.0): Hamming distance from M = 1,024 samples to the nearest of N = 16,384 training samples."""
    from benchmark.run.neighbours import HammingIndex

    rng = np.random.default_rng(0)
    train = rng.integers(0, 2, size=(16_384, 6, 6), dtype=np.uint8)
    samples = rng.integers(0, 2, size=(1_024, 6, 6), dtype=np.uint8)
    samples[:10] = train[:10]
    index = HammingIndex(train, 2)
    distances = benchmark(index.nearest, samples)
    brute = np.array([(train.reshape(len(train), -1) != s.reshape(-1)).sum(axis=1).min() for s in samples[:64]])
    assert (distances[:64] == brute).all() and (distances[:10] == 0).all()
    seconds = benchmark.analysis.stats.stats.mean
    benchmark.extra_info["seconds"] = seconds
    print(f"\nnearest training distance, M = 1,024 against N = 16,384 (6x6 binary): {seconds:.3f} s")
