"""What the protocol's loop carries from one step to the next, and how it is saved to and resumed from `checkpoint.pt`.

`LoopState` is the loop's own state (step, eval rows, loss accumulators, timings, done, stop reason);
`save` writes it with the model, batch order and RNGs, `resume` reads it back, so an interrupted run
resumes to the same record. The checkpoint's keys and their order are those of protocol 2.x.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmark.run.rundir import CHECKPOINT_FILE, RunDirError, load_checkpoint, save_checkpoint, way_out
from benchmark.run.spec import PROTOCOL_VERSION, RunSpec


@dataclass
class LoopState:
    """The loop's mutable state; everything but `session_start` and `last_saved` is saved in the checkpoint."""

    step: int = 0
    rows: list[dict[str, Any]] = field(default_factory=list)
    loss_sum: float = 0.0
    loss_count: int = 0
    elapsed: float = 0.0  # wall time of the sessions before this one (resumes)
    eval_time: float = 0.0
    done: bool = False
    stop_reason: str | None = None
    session_start: float = field(default_factory=time.perf_counter)
    last_saved: float = 0.0  # wall time of the last checkpoint, for the periodic one between far-apart evals

    def wall_time(self) -> float:
        """Wall time of the run so far, across resumes."""
        return self.elapsed + time.perf_counter() - self.session_start

    def add_loss(self, loss: float) -> None:
        """Count one optimiser step and its loss."""
        self.loss_sum += loss
        self.loss_count += 1
        self.step += 1

    def take_loss(self) -> tuple[float, int]:
        """The loss accumulated since the last eval (sum, count), reset for the next one."""
        taken = self.loss_sum, self.loss_count
        self.loss_sum, self.loss_count = 0.0, 0
        return taken


def save(directory: Path, spec: RunSpec, state: LoopState, adapter: Any, sampler: Any, *, keep_step: int | None = None) -> None:
    """Write `checkpoint.pt`: the loop state, the adapter, the batch order and torch's RNGs (and keep a copy at `keep_step`)."""
    saved = {
        "protocol_version": PROTOCOL_VERSION,
        "run_id": spec.run_id,
        "step": state.step,
        "done": state.done,
        "stop_reason": state.stop_reason,
        "adapter": adapter.state_dict(),
        "sampler": sampler.state_dict(),
        "torch_rng": _get_rng_state(adapter.device),
        "rows": state.rows,
        "loss_sum": state.loss_sum,
        "loss_count": state.loss_count,
        "wall_time_s": state.wall_time(),
        "eval_time_s": state.eval_time,
    }
    save_checkpoint(directory, saved, spec=spec, keep_step=keep_step)
    state.last_saved = state.wall_time()


def resume(directory: Path, spec: RunSpec, schedule: list[int], adapter: Any, sampler: Any) -> LoopState:
    """The state of the latest checkpoint, with adapter, sampler and RNGs restored from it; a fresh state when there is none."""
    saved = load_checkpoint(directory, spec)
    if saved is None:
        return LoopState()
    _check_resumable(saved, schedule, directory, spec)
    adapter.load_state_dict(saved["adapter"])
    sampler.load_state_dict(saved["sampler"])
    _set_rng_state(saved["torch_rng"], adapter.device)
    state = LoopState(
        step=saved["step"],
        rows=saved["rows"],
        loss_sum=saved["loss_sum"],
        loss_count=saved["loss_count"],
        elapsed=saved["wall_time_s"],
        eval_time=saved["eval_time_s"],
        done=saved["done"],
        stop_reason=saved["stop_reason"],
    )
    state.last_saved = state.elapsed
    return state


def _check_resumable(state: dict[str, Any], schedule: list[int], directory: Path, spec: RunSpec) -> None:
    """A checkpoint of this spec must sit on its eval schedule; else resuming would index past it or mix curves."""
    steps = [row.get("step") for row in state["rows"]]
    consistent = 0 < len(steps) <= len(schedule) and steps == schedule[: len(steps)] and steps[-1] <= state["step"] <= spec.protocol.max_steps and (state["done"] or len(steps) < len(schedule))
    if not consistent:
        raise RunDirError(f"{directory / CHECKPOINT_FILE}: its eval rows do not match this spec's schedule; refusing to resume from it; {way_out(directory, spec.run_id)}")


def _get_rng_state(device: Any) -> dict[str, Any]:
    """torch's global RNG state (CPU, and the device's on CUDA): adapters that draw from it resume exactly."""
    import torch

    state = {"cpu": torch.get_rng_state()}
    if getattr(device, "type", None) == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def _set_rng_state(state: dict[str, Any], device: Any) -> None:
    import torch

    torch.set_rng_state(state["cpu"])
    if "cuda" in state and getattr(device, "type", None) == "cuda":
        torch.cuda.set_rng_state(state["cuda"], device)


__all__ = ["LoopState", "resume", "save"]
