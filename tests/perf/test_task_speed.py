"""Verifier and sampler throughput of every task (pytest-benchmark; run with `python -m pytest -m perf tests/perf/test_task_speed.py`).

Verifiers run on one core (numpy's table lookups and ufuncs are single-threaded; torch is pinned to
one thread in conftest). The machine is shared, so each figure is the best of several rounds;
`extra_info["samples_per_s"]` holds it. The goal of issue 2: parity on 6×6 at ≥ 10⁷ samples/s.
"""

from __future__ import annotations

import numpy as np
import pytest

import tasks

pytestmark = pytest.mark.perf

PARITY_GOAL = 1e7
DEFAULTS = ["parity", "rowcol_parity", "xor_code", "balanced", "automaton", "sudoku", "latin_square"]


def valid_batch(task: tasks.Task, n: int, distinct: int = 4096) -> np.ndarray:
    """`n` valid uint8 samples: `distinct` drawn ones tiled (sampling stays cheap for slow samplers)."""
    drawn = task.sample(min(n, distinct), np.random.default_rng(0))
    return np.ascontiguousarray(np.resize(drawn, (n, *task.shape)))


def throughput(benchmark, function, x: np.ndarray, rounds: int = 9) -> float:
    """Best-of-rounds samples per second of `function(x)`, recorded in the benchmark's extra_info."""
    benchmark.pedantic(function, args=(x,), rounds=rounds, iterations=1, warmup_rounds=1)
    rate = len(x) / benchmark.analysis.stats.stats.min
    benchmark.extra_info["samples_per_s"] = rate
    print(f"\n{benchmark.name}: {rate:,.0f} samples/s")
    return rate


@pytest.mark.parametrize("G", [2, 3, 4, 6, 9, 12, 18, 36])
def test_parity_verifier_meets_the_goal(benchmark, G):
    task = tasks.get("parity", G=G)
    x = valid_batch(task, 1 << 20)
    rate = throughput(benchmark, task.is_valid, x)
    assert rate >= PARITY_GOAL, f"parity G={G}: {rate:,.0f} samples/s < {PARITY_GOAL:,.0f}"


def test_parity_verifier_random_layout_odd(benchmark):
    task = tasks.get("parity", G=4, layout="random", parity="odd")
    rate = throughput(benchmark, task.is_valid, valid_batch(task, 1 << 20))
    assert rate >= PARITY_GOAL


def test_parity_verifier_on_int64_input(benchmark):
    task = tasks.get("parity", G=4)  # what adapters hand back (LongTensor -> int64): a range check and a cast first
    throughput(benchmark, task.is_valid, valid_batch(task, 1 << 18).astype(np.int64), rounds=5)


@pytest.mark.parametrize("name", DEFAULTS)
def test_verifier_throughput_at_default(benchmark, name):
    task = tasks.get(name)
    x = valid_batch(task, 1 << 18)
    rate = throughput(benchmark, task.is_valid, x, rounds=5)
    assert task.is_valid(x).all() and rate > 0


@pytest.mark.parametrize("name", DEFAULTS)
def test_constraint_satisfaction_throughput_at_default(benchmark, name):
    task = tasks.get(name)
    throughput(benchmark, task.constraint_satisfaction, valid_batch(task, 1 << 16), rounds=5)


@pytest.mark.parametrize("name", DEFAULTS + ["sudoku-9"])
def test_sampler_throughput_at_default(benchmark, name):
    task = tasks.get("sudoku", order=9) if name == "sudoku-9" else tasks.get(name)
    n = 1024 if name in ("latin_square", "sudoku-9") else 1 << 16
    rng = np.random.default_rng(0)
    benchmark.pedantic(task.sample, args=(n, rng), rounds=3, iterations=1)
    rate = n / benchmark.analysis.stats.stats.min
    benchmark.extra_info["samples_per_s"] = rate
    print(f"\n{benchmark.name}: {rate:,.0f} samples/s")
