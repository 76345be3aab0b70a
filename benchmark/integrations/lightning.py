"""ClockMonitorLightning: the ClockMonitor inside a Lightning `Trainer.fit`, logged through the LightningModule's `log_dict`.

At the protocol's eval schedule (spanning `trainer.max_steps` unless the protocol says otherwise) it samples
the module through `sample_fn(n)` in eval mode, updates the clocks, logs `clocks/*` to every logger the
Trainer has, and with `stop_at_tau_mem` sets `trainer.should_stop` when the protocol's stop rule fires.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

import lightning.pytorch as pl

from benchmark.run.monitor import ClockMonitor, clock_logs
from benchmark.run.spec import ProtocolConfig


class ClockMonitorLightning(pl.Callback):
    """Runs a `ClockMonitor` at its schedule inside `Trainer.fit`; `batch_size` is the samples per optimiser step."""

    def __init__(
        self,
        task: Any,
        train_samples: Any,
        sample_fn: Callable[[int], Any],
        *,
        batch_size: int,
        protocol: ProtocolConfig | Mapping[str, Any] | None = None,
        task_config: Mapping[str, Any] | None = None,
        output: str | os.PathLike[str] | None = None,
        model_name: str = "lightning",
        stop_at_tau_mem: bool = False,
        seed: int = 0,
        strict: bool = False,
    ) -> None:
        super().__init__()
        self.arguments = dict(task=task, train_samples=train_samples, sample_fn=sample_fn, batch_size=batch_size, task_config=task_config, output=output, seed=seed, strict=strict)
        self.protocol, self.model_name, self.stop_at_tau_mem = protocol, model_name, stop_at_tau_mem
        self.monitor: ClockMonitor | None = None

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        protocol = self.protocol if isinstance(self.protocol, ProtocolConfig) else {"max_steps": trainer.max_steps, **dict(self.protocol or {})}
        model = {"name": self.model_name, "architecture": type(pl_module).__name__, "num_parameters": sum(p.numel() for p in pl_module.parameters()), "trainer": "lightning.Trainer"}
        arguments = dict(self.arguments)
        self.monitor = ClockMonitor(arguments.pop("task"), arguments.pop("train_samples"), arguments.pop("sample_fn"), protocol=protocol, model=model, **arguments)

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, batch_idx: int) -> None:
        self._maybe_evaluate(trainer, pl_module)  # the eval at step 0 sees the untrained model, like the protocol's

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int) -> None:
        self._maybe_evaluate(trainer, pl_module)

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.monitor is not None:
            self._maybe_evaluate(trainer, pl_module, log=False)
            self.monitor.finish(trainer.global_step)

    def _maybe_evaluate(self, trainer: pl.Trainer, pl_module: pl.LightningModule, *, log: bool = True) -> None:
        assert self.monitor is not None
        if not self.monitor.step(trainer.global_step):
            return
        reading = self.monitor.evaluate(trainer.global_step, model=pl_module)
        if log:
            pl_module.log_dict(clock_logs(reading), on_step=True, on_epoch=False)
        if self.stop_at_tau_mem and reading.should_stop:
            trainer.should_stop = True


__all__ = ["ClockMonitorLightning"]
