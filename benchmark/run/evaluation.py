"""One eval: draw samples from the model in growing chunks until every clock curve is clear of its threshold.

Sequential sampling keeps evals cheap where nothing is close to a threshold (most of a run) and spends
the full M = `eval_samples` where a clock may be crossing. The chunks are `eval_samples_min`, then
doubling totals (128, 256, 512, 1024 at the defaults), all drawn from one generator seeded with
`sampling_seed`, so the first samples of every eval come from the same noise and the whole eval is
deterministic. After each chunk the row is measured on every sample so far; drawing stops when each
clock curve's 99 % Wilson interval (DECISION_Z) lies wholly on one side of its threshold (rule in `decided`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from benchmark.core.task import SAMPLE_DTYPE
from benchmark.run.metrics import SampleMetrics, normalise_validity, wilson_interval

if TYPE_CHECKING:  # annotations only: torch loads lazily
    import torch

    from benchmark.core.adapter import Adapter
    from benchmark.core.task import Task
    from benchmark.run.spec import ProtocolConfig

# Two-sided 99 % per look: an eval looks up to four times (128, 256, 512, 1024 samples), so a curve whose
# true value sits on one side of a threshold is stopped on the wrong side at most about 2 % of the time.
# At 95 % per look the first small chunk stopped too eagerly: in a measured default-job GPT run, q = 0.81
# [0.70, 0.89] on 64 samples was taken as clear of 0.9, and τ_rule moved from 123 to 187 steps.
DECISION_Z = 2.5758293035489


def chunk_sizes(minimum: int, maximum: int) -> list[int]:
    """Chunk sizes whose running totals are minimum, 2·minimum, 4·minimum, … capped at maximum."""
    sizes, total = [], 0
    target = minimum
    while total < maximum:
        target = min(target, maximum)
        sizes.append(target - total)
        total = target
        target *= 2
    return sizes


def measure_eval(adapter: Adapter, task: Task, metrics: SampleMetrics, protocol: ProtocolConfig) -> dict[str, Any]:
    """Draw and measure one eval's samples under `protocol`'s sequential rule; the row says how many were drawn."""
    import torch

    generator = torch.Generator().manual_seed(protocol.sampling_seed)
    return measure_drawn(lambda size: draw_samples(adapter, size, generator, task), task, metrics, protocol)


def measure_drawn(draw: Callable[[int], np.ndarray], task: Any, metrics: SampleMetrics, protocol: Any) -> dict[str, Any]:
    """Measure samples from `draw(size)` in the sequential chunks until every clock curve is decided (the one eval rule).

    Shared by the protocol (draws from its adapter) and the ClockMonitor (draws from the caller's sampler).
    """
    drawn: list[np.ndarray] = []
    row: dict[str, Any] = {}
    for size in chunk_sizes(min(protocol.eval_samples_min, protocol.eval_samples), protocol.eval_samples):
        drawn.append(draw(size))
        row = metrics.measure(np.concatenate(drawn))
        if decided(row, protocol, task.chance_valid()):
            break
    return row


def decided(row: Mapping[str, Any], protocol: ProtocolConfig, chance: float) -> bool:
    """True when more samples could not move any clock curve across its threshold at 99 % (Wilson) confidence.

    - copy curves (`mem_excess` against θ_mem and θ_mem_strong, `copy_excess_near` against θ_mem): the
      Wilson interval of the copy fraction, shifted by the control fraction measured on the same samples,
      lies wholly above or below the threshold;
    - the rule curve (`noncopy_valid_norm` against θ_rule): its interval (Wilson on the non-copies,
      normalised) lies wholly on one side; while it is undefined (too few non-copies), it is decided only
      when even all M samples would hold too few non-copies at the upper end of the non-copy fraction's
      Wilson interval.
    """
    total = row["samples"]
    if total >= protocol.eval_samples:
        return True
    if row.get("mem") is not None:  # stream runs have no copy curves
        copies = {"mem_excess": (row["mem"], row["control"]), "copy_excess_near": (row["mem"] + row["near"], row["control"] + row["near_control"])}
        checks = [("mem_excess", protocol.theta_mem), ("mem_excess", protocol.theta_mem_strong), ("copy_excess_near", protocol.theta_mem)]
        for curve, threshold in checks:
            fraction, control = copies[curve]
            low, high = wilson_interval(round(fraction * total), total, DECISION_Z)
            if low - control < threshold <= high - control:
                return False
    if row["noncopy_valid_norm"] is None:
        _, noncopy_high = wilson_interval(row["noncopy_count"], total, DECISION_Z)
        return math.ceil(noncopy_high * protocol.eval_samples) < protocol.noncopy_floor
    low, high = (normalise_validity(end, chance) for end in wilson_interval(round(row["noncopy_valid"] * row["noncopy_count"]), row["noncopy_count"], DECISION_Z))
    return not (low < protocol.theta_rule <= high)


def draw_samples(adapter: Adapter, count: int, generator: torch.Generator, task: Task) -> np.ndarray:
    """`count` samples from the adapter, checked for shape and range, as the task's compact dtype."""
    import torch

    output = adapter.sample(count, generator)
    samples = output.detach().cpu().numpy() if isinstance(output, torch.Tensor) else np.asarray(output)  # a plugin may return an array
    expected = (count, *task.shape)
    if samples.shape != expected or not np.issubdtype(samples.dtype, np.integer):
        name = getattr(adapter, "registered_name", "") or type(adapter).__name__
        raise ValueError(f"adapter {name}.sample must return integers of shape {expected}, got {samples.dtype} {samples.shape}")
    if samples.size and (samples.min() < 0 or samples.max() >= task.num_symbols):
        raise ValueError(f"adapter samples must be symbols in [0, {task.num_symbols}), got values in [{samples.min()}, {samples.max()}]")
    return samples.astype(SAMPLE_DTYPE) if task.num_symbols <= 256 else samples  # verifiers run 3-5× faster on bytes


__all__ = ["DECISION_Z", "chunk_sizes", "decided", "draw_samples", "measure_drawn", "measure_eval"]
