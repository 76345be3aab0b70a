"""The protocol end to end on `parity`, in seconds: baselines with known clocks, the record, resume, skip, errors.

To add a real model (the lead's tiny GPT/DiT run), call `run_quick("gpt", {...}, G=2, n_train=..., max_steps=...)`
and assert on `record.clocks["tau_rule"]`, as the baseline tests below do.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
import torch

import benchmark.run.protocol as protocol
import tasks
from benchmark.core.adapter import Adapter, AdapterConfig
from benchmark.core.config import ConfigError
from benchmark.core.records import RECORD_SCHEMA_VERSION, to_dict
from benchmark.run.protocol import is_finished, load_metrics, run, run_dir
from benchmark.run.schedule import eval_steps
from benchmark.run.spec import PROTOCOL_VERSION, RunSpec, resolve_spec

RECORD_KEYS = {
    "schema_version", "protocol_version", "run_id", "spec", "task", "adapter", "num_parameters", "n_train",
    "batch_size", "max_steps", "steps_trained", "stopped_early", "stop_reason", "clocks", "window", "final_metrics",
    "environment", "wall_time_s", "eval_time_s", "created",
}  # fmt: skip
ROW_KEYS = {
    "step", "epoch", "samples", "valid", "valid_norm", "constraints", "mem", "control", "mem_excess", "near", "near_control",
    "near_excess", "copy_excess_near", "novel_valid", "unique", "noncopy", "noncopy_count", "noncopy_valid",
    "noncopy_valid_norm", "noncopy_valid_norm_ci", "noncopy_constraints", "nearest_train", "nearest_control",
    "loss", "wall_time_s", "eval_time_s", "valid_ci", "valid_norm_ci", "mem_ci", "control_ci", "near_ci", "novel_valid_ci",
}  # fmt: skip
TIMING_KEYS = ("wall_time_s", "eval_time_s", "created")


def quick_spec(adapter: str, adapter_knobs: dict | None = None, *, n_train: int = 64, seed: int = 0, **settings: Any) -> RunSpec:
    """A small parity spec; task knobs (G, height, width) and protocol knobs both go in `settings`."""
    task_knobs = {k: settings.pop(k) for k in ("G", "height", "width") if k in settings}
    return resolve_spec("parity", task_knobs, adapter, adapter_knobs or {}, n_train, seed, settings)


def run_quick(adapter: str, adapter_knobs: dict | None = None, *, output: Path, **settings: Any) -> dict:
    return run(quick_spec(adapter, adapter_knobs, **settings), output, device="cpu", quiet=True)


def without_timings(data: Any) -> Any:
    """A record or row with the wall-clock fields removed (they differ between otherwise identical runs)."""
    if hasattr(data, "to_dict"):
        return without_timings(data.to_dict())
    if isinstance(data, dict):
        return {k: without_timings(v) for k, v in data.items() if k not in TIMING_KEYS}
    if isinstance(data, list):
        return [without_timings(v) for v in data]
    return data


def test_memorizer_fires_tau_mem_at_the_first_eval_after_step_zero(tmp_path):
    record = run_quick("memorizer", {"batch_size": 16}, output=tmp_path, max_steps=500)
    first_eval = int(eval_steps(500, 30, "log")[1])
    tau_mem = to_dict(record.clocks["tau_mem"])
    assert tau_mem == {"step": first_eval, "censored": False, "epoch": first_eval * 16 / 64, "metric": "mem_excess", "threshold": 0.1, "applicable": True}
    assert record.clocks["tau_mem_strong"].step == record.clocks["tau_mem_near"].step == first_eval
    assert record.final_metrics["valid"] == 1.0 and record.final_metrics["mem"] == 1.0
    assert record.final_metrics["control"] == 0.0  # the control set is disjoint from what it replays
    # Every sample is valid, but every one is a copy: the rule clock cannot fire, and the window is "not learned".
    assert record.clocks["tau_rule"].censored and record.window.status == "not learned"
    assert record.window.height == 0.0 and record.window.area == 0.0
    rows = load_metrics(run_dir(tmp_path, quick_spec("memorizer", {"batch_size": 16}, max_steps=500)))
    assert [row["noncopy_valid_norm"] for row in rows[1:]] == [None, None]  # nothing new left to read the rule on
    assert [row["step"] for row in rows] == eval_steps(500, 30, "log")[:3].tolist()  # early stop after the hold
    assert record.stopped_early and record.steps_trained == rows[-1]["step"] and record.stop_reason == "unreadable"


def test_oracle_fires_tau_rule_at_step_zero_and_mem_stays_at_the_control_level(tmp_path):
    # 3×4 grids with G = 2: 64 valid grids, N = 16, so a perfect rule sampler hits the training set 1/4 of the time.
    record = run_quick("oracle", output=tmp_path, G=2, height=3, width=4, n_train=16, max_steps=40, eval_samples=4096)
    assert record.clocks["tau_rule"].step == 0.0 and not record.clocks["tau_rule"].censored
    rows = load_metrics(run_dir(tmp_path, quick_spec("oracle", G=2, height=3, width=4, n_train=16, max_steps=40, eval_samples=4096)))
    mem = np.array([row["mem"] for row in rows])
    control = np.array([row["control"] for row in rows])
    assert np.all(np.abs(mem - 0.25) < 0.04) and np.all(np.abs(control - 0.25) < 0.04)  # raw mem is far above θ_mem …
    assert np.all(np.abs(mem - control) < 0.05)  # … but not above the chance level the control set measures
    assert all(row["noncopy_valid"] == 1.0 for row in rows)  # the non-copies of a perfect rule sampler are all valid
    assert record.clocks["tau_mem"].censored and record.window.status == "open"
    assert record.window.lower == 40.0  # the window is at least max_steps − τ_rule
    assert not record.stopped_early and record.steps_trained == 40 and record.stop_reason == "max_steps"


def test_a_stream_run_of_the_oracle_has_tau_rule_at_once_and_no_copy_clock(tmp_path):
    record = run_quick("oracle", output=tmp_path, n_train="stream", max_steps=100)
    assert record.n_train == "stream" and record.stream and "Nstream" in record.run_id
    assert record.clocks["tau_rule"].step == 0.0 and record.clocks["tau_rule"].fired and record.clocks["tau_rule"].epoch is None
    for name in ("tau_mem", "tau_mem_strong", "tau_mem_near"):
        clock = record.clocks[name]
        assert not clock.applicable and clock.step is None and not clock.censored  # not applicable, never "censored"
    assert record.window.status == "stream" and record.stop_reason == "stream"
    rows = load_metrics(run_dir(tmp_path, quick_spec("oracle", n_train="stream", max_steps=100)))
    assert all(row["mem"] is None and row["epoch"] is None for row in rows)


def test_stream_batches_are_fresh_valid_samples(tmp_path):
    spec = resolve_spec("parity", {"G": 3}, f"{__name__}:BatchRecorder", {}, "stream", 0, {"max_steps": 20, "early_stop": False})
    BatchRecorder.seen.clear()
    run(spec, tmp_path, device="cpu", quiet=True)
    task = tasks.get("parity", G=3)
    batches = torch.cat(BatchRecorder.seen).numpy()
    assert len(BatchRecorder.seen) == 20 and task.is_valid(batches).all()
    assert len(np.unique(task.key(batches))) > 0.99 * len(batches)  # fresh draws, not a fixed set replayed


def test_uniform_fires_neither_clock(tmp_path):
    record = run_quick("uniform", output=tmp_path, max_steps=50)
    for name in ("tau_rule", "tau_mem", "tau_mem_strong", "tau_mem_near"):
        assert record.clocks[name].censored and record.clocks[name].step == 50.0
    assert to_dict(record.window) == {"status": "censored", "steps": None, "log_window": None, "lower": None, "upper": None, "height": 0.0, "area": 0.0}
    assert record.final_metrics["valid"] < 0.01


def test_record_and_run_directory_layout(tmp_path):
    spec = quick_spec("memorizer", max_steps=30, eval_points=5, eval_schedule="linear", early_stop=False)
    record = run(spec, tmp_path, device="cpu", quiet=True, keep_checkpoints=True)
    directory = run_dir(tmp_path, spec)
    assert set(record.to_dict()) == RECORD_KEYS
    assert record.schema_version == RECORD_SCHEMA_VERSION and record.protocol_version == PROTOCOL_VERSION
    assert record.run_id == spec.run_id == directory.name and record.spec == json.loads(json.dumps(spec.to_dict()))
    assert set(record.environment) == {
        "python", "torch", "numpy", "diffusers", "transformers", "two_clocks", "git_commit", "device", "platform",
        "threads", "cpu", "cpu_vendor", "cpu_capability", "gpu",
    }  # fmt: skip
    assert record.environment["threads"] == spec.protocol.threads == 1 and record.environment["gpu"] is None
    assert record.environment["device"] == "cpu" and record.task["name"] == "parity"
    assert set(record.clocks) == {"tau_rule", "tau_mem", "tau_mem_strong", "tau_mem_near"}
    assert (record.n_train, record.batch_size, record.max_steps, record.steps_trained) == (64, 64, 30, 30)
    assert json.loads((directory / "record.json").read_text()) == record.to_dict()
    rows = load_metrics(directory)
    assert [row["step"] for row in rows] == [0, 6, 12, 18, 24, 30] and record.final_metrics == rows[-1]
    assert all(set(row) == ROW_KEYS for row in rows)
    assert rows[0]["loss"] is None and all(row["loss"] == 0.0 for row in rows[1:])
    assert all(row["mem_excess"] == row["mem"] - row["control"] for row in rows)
    assert sorted(p.name for p in (directory / "checkpoints").iterdir()) == sorted(f"step_{s}.pt" for s in [0, 6, 12, 18, 24, 30])
    assert (directory / "checkpoint.pt").is_file()
    kept = torch.load(directory / "checkpoints" / "step_12.pt", weights_only=True)
    assert kept["step"] == 12 and len(kept["rows"]) == 3 and len(kept["adapter"]["memory"]) == 64  # one epoch per step
    assert len(torch.load(directory / "checkpoints" / "step_0.pt", weights_only=True)["adapter"]["memory"]) == 0


def test_checkpoint_is_removed_when_not_kept(tmp_path):
    spec = quick_spec("uniform", max_steps=10)
    run(spec, tmp_path, device="cpu", quiet=True)
    assert sorted(p.name for p in run_dir(tmp_path, spec).iterdir()) == [".lock", "metrics.jsonl", "record.json", "spec.json"]


def test_a_finished_run_is_returned_without_training(tmp_path, monkeypatch):
    spec = quick_spec("uniform", max_steps=20)
    first = run(spec, tmp_path, device="cpu", quiet=True)
    assert is_finished(tmp_path, spec)

    def no_training(*args, **kwargs):
        raise AssertionError("a finished run must not build its adapter again")

    monkeypatch.setattr(protocol, "build_adapter", no_training)
    monkeypatch.setattr(protocol, "draw_sets", no_training)
    assert run(spec, tmp_path, device="cpu", quiet=True) == first


def test_n_train_above_the_valid_set_fails_before_training(tmp_path, monkeypatch):
    monkeypatch.setattr(protocol, "build_adapter", lambda *a, **k: pytest.fail("the adapter must not be built"))
    spec = quick_spec("memorizer", G=2, height=2, width=2, n_train=5)  # 4 valid 2×2 grids
    with pytest.raises(ConfigError, match="n_train must be at most the number of valid samples"):
        run(spec, tmp_path, device="cpu", quiet=True)
    assert not run_dir(tmp_path, spec).exists()


@pytest.mark.parametrize(
    "bad_samples, message",
    [(lambda n: torch.full((n, 6, 6), 2), r"symbols in \[0, 2\)"), (lambda n: torch.zeros((n, 36), dtype=torch.long), "shape")],
)
def test_adapter_samples_are_checked(tmp_path, monkeypatch, bad_samples, message):
    from adapters.baselines import UniformAdapter

    monkeypatch.setattr(UniformAdapter, "sample", lambda self, n, generator: bad_samples(n))
    with pytest.raises(ValueError, match=message):
        run_quick("uniform", output=tmp_path, max_steps=5)


# --- resume -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NoisyBernoulliConfig(AdapterConfig):
    lr: float = field(default=0.05, metadata={"help": "Adam learning rate"})


class NoisyBernoulli(Adapter):
    """Independent per-cell Bernoulli logits trained by Adam, with gradient noise from torch's global RNG.

    Its losses depend on the exact batches, the optimiser state and the global RNG stream, so a resume
    that lost any of them would change the curve. `interrupt_after` simulates a kill after k steps.
    """

    config_class = NoisyBernoulliConfig
    interrupt_after: ClassVar[int | None] = None
    steps_taken: ClassVar[int] = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.logits = torch.nn.Parameter(torch.randn(self.data.size) * 0.1)
        self.optimizer = torch.optim.Adam([self.logits], lr=self.config.lr)

    def train_step(self, batch: torch.Tensor) -> float:
        if NoisyBernoulli.interrupt_after is not None and NoisyBernoulli.steps_taken >= NoisyBernoulli.interrupt_after:
            raise KeyboardInterrupt
        NoisyBernoulli.steps_taken += 1
        target = batch.reshape(len(batch), -1).float()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(self.logits.expand_as(target), target)
        self.optimizer.zero_grad()
        loss.backward()
        self.logits.grad += 0.05 * torch.randn_like(self.logits)
        self.optimizer.step()
        return float(loss.detach())

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        probabilities = torch.sigmoid(self.logits.detach())
        return (torch.rand((n, self.data.size), generator=generator) < probabilities).long().reshape(n, *self.data.shape)

    def state_dict(self) -> dict[str, Any]:
        return {"logits": self.logits.detach().clone(), "optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        with torch.no_grad():
            self.logits.copy_(state["logits"])
        self.optimizer.load_state_dict(state["optimizer"])


NOISY = f"{__name__}:NoisyBernoulli"


class BatchRecorder(Adapter):
    """Keeps every batch it is given; samples uniform noise."""

    seen: ClassVar[list[torch.Tensor]] = []

    def train_step(self, batch: torch.Tensor) -> float:
        BatchRecorder.seen.append(batch.clone())
        return 0.0

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return torch.randint(0, 2, (n, *self.data.shape), generator=generator)

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass


@pytest.mark.parametrize("n_train", [20, "stream"])
@pytest.mark.parametrize("checkpoint_every_s", [600.0, 0.0], ids=["at-evals", "every-step"])
@pytest.mark.parametrize("interrupt_after", [1, 37, 121])
def test_an_interrupted_run_resumes_to_the_same_record(tmp_path, monkeypatch, interrupt_after, checkpoint_every_s, n_train):
    spec = quick_spec(NOISY, {"batch_size": 8}, n_train=n_train, max_steps=150, eval_points=8, eval_samples=256, G=4)
    monkeypatch.setattr(NoisyBernoulli, "steps_taken", 0)
    reference = run(spec, tmp_path / "straight", device="cpu", quiet=True)

    monkeypatch.setattr(protocol, "CHECKPOINT_EVERY_S", checkpoint_every_s)
    monkeypatch.setattr(NoisyBernoulli, "steps_taken", 0)
    monkeypatch.setattr(NoisyBernoulli, "interrupt_after", interrupt_after)
    with pytest.raises(KeyboardInterrupt):
        run(spec, tmp_path / "interrupted", device="cpu", quiet=True)
    assert not is_finished(tmp_path / "interrupted", spec)
    torch.manual_seed(12345)  # a resumed process starts with some other global RNG state
    monkeypatch.setattr(NoisyBernoulli, "interrupt_after", None)
    resumed = run(spec, tmp_path / "interrupted", device="cpu", quiet=True)

    assert without_timings(resumed) == without_timings(reference)
    straight_rows = load_metrics(run_dir(tmp_path / "straight", spec))
    resumed_rows = load_metrics(run_dir(tmp_path / "interrupted", spec))
    assert without_timings(resumed_rows) == without_timings(straight_rows)
    assert len({row["loss"] for row in straight_rows[1:]}) == len(straight_rows) - 1  # the curve is not trivially constant


def test_progress_is_a_bar_on_a_terminal_plain_log_lines_elsewhere_and_nothing_when_quiet(tmp_path, capsys, caplog, monkeypatch):
    import logging
    import sys

    # not a terminal (pytest's capture, like a redirected log): log lines only, no bar, no control characters
    with caplog.at_level(logging.INFO, logger="benchmark"):
        run(quick_spec("uniform", max_steps=20), tmp_path / "plain", device="cpu", quiet=False)
    lines = [r.getMessage() for r in caplog.records if r.name == "benchmark.run.progress"]
    assert lines and "step 20/20 (100 %)" in lines[-1] and "valid" in lines[-1] and "mem" in lines[-1]
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""  # the library itself prints nothing; logging is the user's to configure

    # a terminal: tqdm's bar with step, valid and mem
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    run(quick_spec("uniform", max_steps=20), tmp_path / "loud", device="cpu", quiet=False)
    shown = capsys.readouterr().err
    assert "valid=" in shown and "mem=" in shown and "20/20" in shown

    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="benchmark"):
        run(quick_spec("uniform", max_steps=20), tmp_path / "quiet", device="cpu", quiet=True)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == "" and not [r for r in caplog.records if r.name == "benchmark.run.progress"]
