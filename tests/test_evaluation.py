"""Sequential sampling: chunk sizes, when an eval may stop early, and that it draws all M near a threshold."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

import tasks
from benchmark.core.adapter import Adapter, AdapterConfig, DataSpec
from benchmark.run.evaluation import chunk_sizes, decided, measure_eval
from benchmark.run.metrics import SampleMetrics
from benchmark.run.spec import ProtocolConfig


def test_chunks_double_the_total_up_to_m() -> None:
    assert chunk_sizes(128, 1024) == [128, 128, 256, 512]
    assert chunk_sizes(128, 1000) == [128, 128, 256, 488]
    assert chunk_sizes(1024, 1024) == [1024] and chunk_sizes(1, 5) == [1, 1, 2, 1]


def row(total: int, *, mem: float = 0.0, control: float = 0.0, near: float = 0.0, q: float | None = 0.5, noncopy: int | None = None) -> dict[str, Any]:
    noncopy = total if noncopy is None else noncopy
    return {"samples": total, "mem": mem, "control": control, "near": near, "near_control": 0.0, "noncopy_count": noncopy, "noncopy_valid": q, "noncopy_valid_norm": q}


@pytest.mark.parametrize(
    "case, expected",
    [
        (row(64), True),  # nothing copied, q far below 0.9: stop at the first chunk
        (row(32), False),  # 32 samples cannot tell 0 copies from the 0.1 threshold at 99 %
        (row(128, q=0.99), True),  # far above θ_rule
        (row(128, q=0.86), False),  # within the interval of θ_rule: draw more
        (row(128, mem=0.08), False),  # copies near θ_mem = 0.1
        (row(128, mem=0.6, noncopy=51, q=0.9), False),  # copies near θ_mem_strong = 0.5 (and q near θ_rule)
        (row(128, mem=0.97, noncopy=4, q=None), True),  # q undefined and even all M would leave too few non-copies
        (row(128, mem=0.7, noncopy=38, q=None), False),  # undefined now, could be defined with more samples
        (row(1024, q=0.9), True),  # M reached: always stop
        ({**row(128, q=0.2), "mem": None}, True),  # a stream row has no copy curves
    ],
)
def test_an_eval_stops_only_when_every_clock_curve_is_clear_of_its_threshold(case: dict[str, Any], expected: bool) -> None:
    assert decided(case, ProtocolConfig(eval_samples=1024), chance=0.0) is expected


class FixedValidity(Adapter):
    """Samples a fixed mix of valid and invalid parity grids, never copies: its q is `fraction`."""

    fraction = 0.5
    drawn: list[int] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rule = tasks.get("parity", G=2)

    def train_step(self, batch: torch.Tensor) -> float:
        return 0.0

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        FixedValidity.drawn.append(n)
        rng = np.random.default_rng(int(torch.randint(0, 2**31, (1,), generator=generator)))
        samples = self.rule.sample(n, rng)
        broken = rng.random(n) >= FixedValidity.fraction
        samples[broken, 0, 0] ^= 1
        return torch.from_numpy(samples.astype(np.int64))

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass


# q = 0.3 or 1.0 is clear of 0.9 at once, but q needs 103 non-copies (10 % of M) to be defined: 128 samples.
@pytest.mark.parametrize("fraction, expected_samples", [(0.3, 128), (0.9, 1024), (1.0, 128)])
def test_measure_eval_draws_all_m_only_near_a_threshold(fraction: float, expected_samples: int) -> None:
    task = tasks.get("parity", G=2)
    train, control = task.sample(16, np.random.default_rng(1)), task.sample(16, np.random.default_rng(2))
    metrics = SampleMetrics.for_sets(task, train, control, near_distance=1, min_noncopy=103)
    adapter = FixedValidity(AdapterConfig(), DataSpec((6, 6), 2))
    FixedValidity.fraction, FixedValidity.drawn = fraction, []
    result = measure_eval(adapter, task, metrics, ProtocolConfig(eval_samples=1024))
    assert result["samples"] == expected_samples == sum(FixedValidity.drawn)
    assert FixedValidity.drawn[0] == 64  # every eval starts with eval_samples_min
    # the same generator seed every eval: the first chunk is the same samples
    again = measure_eval(adapter, task, metrics, ProtocolConfig(eval_samples=1024))
    assert again == result
