"""ClockMonitorCallback: τ_rule and τ_mem read live inside a Hugging Face `Trainer`, logged through the Trainer's own `log`.

`trainer.add_callback(ClockMonitorCallback(task=..., train_samples=...).attach(trainer))`: at the protocol's
eval schedule (spanning the Trainer's `max_steps` unless the protocol says otherwise) the callback samples
the model, updates the clocks, and logs `clocks/*` through `trainer.log`, so every tracker the Trainer
reports to sees them. It can stop training when the protocol's stop rule fires (`stop_at_tau_mem`) and
saves the model with the most novel valid samples inside the innovation window (`best_innovation/`).
The default `sample_fn` samples a causal LM on the suite's encoding: BOS = `num_symbols`, then the cells.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
from transformers import GenerationConfig, TrainerCallback

from benchmark.run.monitor import ClockMonitor, MonitorState, clock_logs
from benchmark.run.spec import ProtocolConfig

logger = logging.getLogger(__name__)

BEST_INNOVATION_DIR = "best_innovation"


def causal_lm_sampler(model: Any, task: Any, *, seed: int = 0, chunk: int = 256) -> Callable[[int], torch.Tensor]:
    """A `sample_fn` for a causal LM over the suite's encoding (BOS = num_symbols, then the row-major cells), temperature 1.

    Each call draws its own seed from a generator seeded with `seed`, so a run's samples are deterministic;
    `generate` runs in a forked RNG, so the Trainer's RNG stream is left untouched.
    """
    size, bos = task.size, task.num_symbols
    config = GenerationConfig(
        do_sample=True, temperature=1.0, top_k=0, top_p=1.0, max_new_tokens=size, min_new_tokens=size, suppress_tokens=[bos], bos_token_id=bos, eos_token_id=None, pad_token_id=bos, use_cache=True
    )
    seeds = torch.Generator().manual_seed(seed)

    def sample(n: int) -> torch.Tensor:
        device = next(model.parameters()).device
        call_seed = int(torch.randint(0, 2**63 - 1, (1,), generator=seeds))
        drawn = []
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []), torch.no_grad():
            torch.manual_seed(call_seed)
            for start in range(0, n, chunk):
                prompt = torch.full((min(chunk, n - start), 1), bos, dtype=torch.long, device=device)
                drawn.append(model.generate(prompt, attention_mask=torch.ones_like(prompt), generation_config=config)[:, 1:].cpu())
        return torch.cat(drawn).reshape(n, *task.shape)

    return sample


class ClockMonitorCallback(TrainerCallback):
    """Runs a `ClockMonitor` at its schedule inside `Trainer.train()`; `attach(trainer)` routes its logs through `trainer.log`."""

    def __init__(
        self,
        task: Any,
        train_samples: Any,
        sample_fn: Callable[[int], Any] | None = None,
        *,
        protocol: ProtocolConfig | Mapping[str, Any] | None = None,
        task_config: Mapping[str, Any] | None = None,
        output: str | os.PathLike[str] | None = None,
        model_name: str = "hf-trainer",
        stop_at_tau_mem: bool = False,
        save_best_innovation: bool = True,
        seed: int = 0,
        strict: bool = False,
    ) -> None:
        self.task, self.train_samples, self.sample_fn = task, train_samples, sample_fn
        self.protocol, self.task_config, self.output = protocol, task_config, output
        self.model_name, self.stop_at_tau_mem, self.save_best_innovation = model_name, stop_at_tau_mem, save_best_innovation
        self.seed, self.strict = seed, strict
        self.monitor: ClockMonitor | None = None
        self.trainer: Any = None
        self.best_novel_valid = -1.0
        self.best_dir: Path | None = None
        self.time_s = self.cpu_s = 0.0  # wall and process CPU time spent in the callback's evals (sampling, measuring, logging, saving)

    def attach(self, trainer: Any) -> ClockMonitorCallback:
        """Log through `trainer.log` (reaching every tracker the Trainer reports to); returns self for `add_callback`."""
        self.trainer = trainer
        return self

    def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        protocol = self.protocol if isinstance(self.protocol, ProtocolConfig) else {"max_steps": state.max_steps, **dict(self.protocol or {})}
        batch_size = args.per_device_train_batch_size * args.gradient_accumulation_steps * max(1, args.world_size)
        description = {"name": self.model_name, "architecture": type(model).__name__, "num_parameters": int(model.num_parameters()), "trainer": "transformers.Trainer"}
        self.monitor = ClockMonitor(
            self.task,
            self.train_samples,
            self.sample_fn or _unset_sampler,
            batch_size=batch_size,
            protocol=protocol,
            task_config=self.task_config,
            output=self.output,
            model=description,
            seed=self.seed,
            strict=self.strict,
        )
        if self.sample_fn is None:
            self.monitor.sample_fn = causal_lm_sampler(model, self.monitor.task, seed=self.seed)
        base = Path(self.monitor.directory) if self.monitor.directory is not None else Path(args.output_dir)
        self.best_dir = base / BEST_INNOVATION_DIR
        self._maybe_evaluate(state, control, model)

    def on_step_end(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        self._maybe_evaluate(state, control, model)

    def on_train_end(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        if self.monitor is not None:
            self.monitor.finish(state.global_step)

    def _maybe_evaluate(self, state: Any, control: Any, model: Any) -> None:
        """Eval when the schedule says so: sample in eval mode, log the clocks, keep the best checkpoint, maybe stop."""
        assert self.monitor is not None
        if not self.monitor.step(state.global_step):
            return
        start, start_cpu = time.perf_counter(), time.process_time()
        reading = self.monitor.evaluate(state.global_step, model=model)
        self._log(state, reading)
        self.keep_best_innovation(model, reading)
        if self.stop_at_tau_mem and reading.should_stop:
            logger.info("clock monitor: stopping training at step %d (%s)", state.global_step, reading.stop_reason)
            control.should_training_stop = True
        self.time_s += time.perf_counter() - start
        self.cpu_s += time.process_time() - start_cpu

    def _log(self, state: Any, reading: MonitorState) -> None:
        logs = clock_logs(reading)
        if self.trainer is not None:
            self.trainer.log(logs)
        else:
            state.log_history.append({**logs, "step": state.global_step})

    def keep_best_innovation(self, model: Any, reading: MonitorState) -> None:
        """Save the model whose samples are most often novel and valid while the window is open (τ_rule fired, τ_mem not)."""
        inside = reading.tau_rule is not None and reading.tau_rule.fired and reading.tau_mem is not None and not reading.tau_mem.fired
        if not (self.save_best_innovation and inside and reading.novel_valid is not None and reading.novel_valid > self.best_novel_valid):
            return
        assert self.best_dir is not None
        self.best_novel_valid = reading.novel_valid
        from adapters.torch_adapter import library_output_silenced

        with library_output_silenced():  # no 'Writing model shards' bar in the middle of the user's training log
            model.save_pretrained(self.best_dir)
        (self.best_dir / "innovation.json").write_text(json.dumps({"step": reading.step, "novel_valid": reading.novel_valid, "q_rule": reading.q_rule}, indent=2) + "\n")


def _unset_sampler(n: int) -> Any:
    raise RuntimeError("no sample_fn set")  # replaced by causal_lm_sampler once the model is known


__all__ = ["BEST_INNOVATION_DIR", "ClockMonitorCallback", "causal_lm_sampler", "clock_logs"]
