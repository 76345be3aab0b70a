"""Every bundled network adapter through the protocol: a run killed mid-training resumes to the same record."""

from __future__ import annotations

from typing import Any

import pytest
import torch

import adapters
import benchmark.run.protocol as protocol
from benchmark.run.protocol import is_finished, load_metrics, run, run_dir
from benchmark.run.spec import resolve_spec

# Tiny and quick: a handful of evals of 64 samples over 24 steps.
TINY = {
    "dit": dict(depth=1, width=32, heads=2, sampling_steps=4, batch_size=8),
    "gpt": dict(depth=1, width=32, heads=2, batch_size=8),
    "hf_causal_lm": dict(model_type="llama", depth=1, width=32, heads=2, batch_size=8),
    "unet": dict(width=16, channel_mult=(1, 2), layers_per_block=1, norm_groups=8, attention_head_dim=8, sampling_steps=4, batch_size=8),
    "mdlm": dict(depth=1, width=32, heads=2, sampling_steps=20, batch_size=8),
}
PROTOCOL = {"max_steps": 24, "eval_points": 4, "eval_samples": 64}
TIMINGS = ("wall_time_s", "eval_time_s", "created")


class Interrupted(Exception):
    """Stands in for a kill: raised from inside train_step after a set number of steps."""


def without_timings(data: Any) -> Any:
    if hasattr(data, "to_dict"):
        return without_timings(data.to_dict())
    if isinstance(data, dict):
        return {key: without_timings(value) for key, value in data.items() if key not in TIMINGS}
    if isinstance(data, list):
        return [without_timings(value) for value in data]
    return data


@pytest.mark.parametrize("name", list(TINY))
def test_an_interrupted_run_resumes_to_the_same_record(name, tmp_path, monkeypatch):
    spec = resolve_spec("parity", {"G": 2}, name, {**TINY[name], "ema": True, "ema_decay": 0.9}, 16, 0, PROTOCOL)
    reference = run(spec, tmp_path / "straight", device="cpu", quiet=True)

    adapter_class = adapters.get_class(name)
    original = adapter_class.train_step
    taken = []

    def train_step_then_die(self, batch):
        if len(taken) == 9:  # between the evals at steps 8 and 24 (log schedule)
            raise Interrupted
        taken.append(1)
        return original(self, batch)

    monkeypatch.setattr(protocol, "CHECKPOINT_EVERY_S", 0.0)  # a checkpoint after every step: the kill lands mid-interval
    monkeypatch.setattr(adapter_class, "train_step", train_step_then_die)
    with pytest.raises(Interrupted):
        run(spec, tmp_path / "interrupted", device="cpu", quiet=True)
    assert not is_finished(tmp_path / "interrupted", spec)
    monkeypatch.setattr(adapter_class, "train_step", original)
    torch.manual_seed(12345)  # a resumed process starts with some other global RNG state
    resumed = run(spec, tmp_path / "interrupted", device="cpu", quiet=True)

    assert without_timings(resumed) == without_timings(reference)
    rows = load_metrics(run_dir(tmp_path / "straight", spec))
    assert without_timings(load_metrics(run_dir(tmp_path / "interrupted", spec))) == without_timings(rows)
    assert len({row["loss"] for row in rows[1:]}) == len(rows) - 1  # a real training curve, not a constant
