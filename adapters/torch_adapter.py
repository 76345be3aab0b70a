"""The torch tier, under every bundled network adapter: seeded init, AdamW, optional EMA, resumable state.

A subclass builds its `torch.nn.Module` in `build_model()`, defines `loss(batch)` and `sample()`;
this base owns everything a bit-identical resume needs (weights, optimiser, EMA, training RNG, step).
The model tiers build on it: `adapters.causal_lm`, `adapters.edm`, `adapters.masked_diffusion`.
"""

from __future__ import annotations

import contextlib
import os
from abc import abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from adapters.ema import EMA
from benchmark.core.adapter import Adapter, AdapterConfig, DataSpec
from benchmark.core.config import require

STATE_FORMAT = 1  # bump when the layout of `state_dict()` changes


@dataclass(frozen=True)
class NetworkConfig(AdapterConfig):
    """Knobs every trained network shares: optimiser, EMA and sampling chunk size."""

    lr: float = field(default=1e-3, metadata={"help": "AdamW learning rate"})
    weight_decay: float = field(default=0.0, metadata={"help": "AdamW decoupled weight decay (0: plain Adam)"})
    ema: bool = field(default=False, metadata={"help": "sample from an exponential moving average of the weights"})
    ema_decay: float = field(default=0.999, metadata={"help": "EMA decay per optimiser step (used when ema=true)"})
    sample_batch_size: int = field(default=1024, metadata={"help": "samples drawn per forward pass when sampling", "max": 2**20})
    init_from: str = field(
        default="",
        metadata={"help": "start from these weights: an exported run or a save_pretrained folder (safetensors only); empty: from the seed", "omit_at_default": True},
    )

    def validate(self) -> None:
        super().validate()
        require(self.lr > 0, self, "lr", "a positive number", self.lr)
        require(self.weight_decay >= 0, self, "weight_decay", "a number >= 0", self.weight_decay)
        require(0.0 < self.ema_decay < 1.0, self, "ema_decay", "a number in (0, 1)", self.ema_decay)
        require(self.sample_batch_size >= 1, self, "sample_batch_size", "a positive integer", self.sample_batch_size)
        require(not self.init_from or os.path.isdir(self.init_from), self, "init_from", "an existing folder (an exported run or a save_pretrained folder)", self.init_from)


class TorchAdapter(Adapter):
    """A network trained by AdamW on a per-batch loss; weights are built on the CPU from the seed alone."""

    config: NetworkConfig

    def __init__(self, config: NetworkConfig, data: DataSpec, *, seed: int = 0, device: str | torch.device = "cpu", task: Any = None) -> None:
        super().__init__(config, data, seed=seed, device=device, task=task)
        init_seed, train_seed = np.random.SeedSequence(seed).generate_state(2, dtype=np.uint64).tolist()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(init_seed)
            model = self.build_model()
        init_from = getattr(config, "init_from", None)  # a config with this knob starts from those weights (adapters.init_from)
        if init_from:
            from adapters.init_from import load_initial_weights

            load_initial_weights(model, init_from)
        self.model = model.to(self.device).train()
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        self.ema = EMA(self.model, config.ema_decay) if config.ema else None
        self.generator = torch.Generator().manual_seed(train_seed)  # training noise, drawn on the CPU
        self.steps = 0

    # --- what a subclass provides ----------------------------------------------------------------
    @classmethod
    def check_data(cls, config: NetworkConfig, data: DataSpec) -> None:  # type: ignore[override]  # called with this class's config_class only
        """Refuse data this architecture cannot model, with an error that says what would work."""
        if data.num_symbols < 2:
            raise ValueError(f"{cls.__name__} needs at least 2 symbols, got num_symbols={data.num_symbols}")

    @abstractmethod
    def build_model(self) -> torch.nn.Module:
        """The freshly initialised network (called under a seeded, forked CPU RNG)."""

    @abstractmethod
    def loss(self, batch: torch.Tensor) -> torch.Tensor:
        """Scalar training loss of a LongTensor batch already on `self.device`."""

    # --- the contract ----------------------------------------------------------------------------
    @property
    def sampling_model(self) -> torch.nn.Module:
        """The weights samples come from: the EMA copy when `ema` is on, else the trained weights."""
        return self.ema.model if self.ema is not None else self.model

    @contextlib.contextmanager
    def evaluating(self) -> Iterator[torch.nn.Module]:
        """The sampling model in eval mode without gradients; training mode is restored afterwards."""
        model = self.sampling_model
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                yield model
        finally:
            model.train(was_training)

    def train_step(self, batch: torch.Tensor) -> float:
        if batch.shape[1:] != self.data.shape:
            raise ValueError(f"{type(self).__name__}.train_step expects a batch of shape (B, {', '.join(map(str, self.data.shape))}), got {tuple(batch.shape)}")
        loss = self.loss(batch.to(self.device, dtype=torch.long, non_blocking=True))
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        if self.ema is not None:
            self.ema.update(self.model)
        self.steps += 1
        return float(loss.item())

    def state_dict(self) -> dict[str, Any]:
        return _cpu_clone(
            {
                "format": STATE_FORMAT,
                "steps": self.steps,
                "model": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "ema": self.ema.state_dict() if self.ema is not None else None,
                "generator": self.generator.get_state(),
            }
        )

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("format") != STATE_FORMAT:
            raise ValueError(f"{type(self).__name__} state has format {state.get('format')!r}, expected {STATE_FORMAT}")
        if (state["ema"] is None) != (self.ema is None):
            raise ValueError(f"{type(self).__name__} state was saved with ema={state['ema'] is not None}, this adapter has ema={self.ema is not None}")
        state = _cpu_clone(state)  # never alias the caller's tensors: the optimiser updates its state in place
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.ema is not None:
            self.ema.load_state_dict(state["ema"])
        self.generator.set_state(state["generator"])
        self.steps = int(state["steps"])

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters() if p.requires_grad)

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "sampled_weights": "ema" if self.ema is not None else "raw",
            "optimizer": "AdamW",
            "device": str(self.device),
        }

    # --- export (the benchmark.core.adapter.Exportable capability) ------------------------------------------
    def export(self, directory: str | os.PathLike[str]) -> dict[str, Any]:
        """The sampled weights via the model's own `save_pretrained`, plus its generation config or scheduler.

        diffusers' `LabelEmbedding` tables that were cut to their classes (the DiT drops its unused "null"
        row) get that row back as a copy of class 0, so `from_pretrained` of the model class builds the same
        shapes and its label dropout, if re-enabled by training, changes nothing. A transformers model gets
        the adapter's `GenerationConfig`, so `generate()` samples as the adapter does.
        """
        import copy
        from importlib import metadata
        from pathlib import Path

        model: Any = copy.deepcopy(self.sampling_model).to("cpu").eval()  # a transformers or diffusers model: save_pretrained is checked next
        if not hasattr(model, "save_pretrained"):
            raise TypeError(f"{type(self).__name__}'s model {type(model).__name__} has no save_pretrained: nothing to export it with")
        _restore_null_label_rows(model)
        make_generation_config = getattr(self, "_generation_config", None)
        if callable(make_generation_config) and hasattr(model, "generation_config"):
            model.generation_config = make_generation_config()
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        with library_output_silenced():
            model.save_pretrained(directory)
            scheduler: Any = getattr(self, "_scheduler", None)
            if hasattr(scheduler, "save_pretrained"):
                scheduler.save_pretrained(directory / "scheduler")
        library = type(model).__module__.split(".")[0]
        try:
            version = metadata.version(library)
        except metadata.PackageNotFoundError:
            version = None
        return {
            "library": library,
            "library_version": version,
            "class": type(model).__name__,
            "scheduler": type(scheduler).__name__ if hasattr(scheduler, "save_pretrained") else None,
            "sampled_weights": "ema" if self.ema is not None else "raw",
            "data": {"shape": list(self.data.shape), "num_symbols": self.data.num_symbols},
        }


def _restore_null_label_rows(model: torch.nn.Module) -> None:
    """Give every label table that lacks its classifier-free-guidance row one (a copy of row 0)."""
    for module in model.modules():
        table = getattr(module, "embedding_table", None)
        classes = getattr(module, "num_classes", None)
        if isinstance(table, torch.nn.Embedding) and isinstance(classes, int) and table.num_embeddings == classes:
            padded = torch.nn.Embedding(classes + 1, table.embedding_dim)
            with torch.no_grad():
                padded.weight.copy_(torch.cat([table.weight, table.weight[:1]]))
            module.embedding_table = padded


def _cpu_clone(value: Any) -> Any:
    """A deep copy with every tensor cloned onto the CPU, so saved state never aliases live tensors."""
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, dict):
        return {key: _cpu_clone(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cpu_clone(item) for item in value)
    return value


@contextlib.contextmanager
def library_output_silenced() -> Iterator[None]:
    """transformers' and diffusers' progress bars and info logs off while they save or load for us; restored after."""
    import diffusers.utils.logging as diffusers_logging
    import transformers.utils.logging as transformers_logging

    saved = [(module, module.get_verbosity(), module.is_progress_bar_enabled()) for module in (transformers_logging, diffusers_logging)]
    for module, _, _ in saved:
        module.set_verbosity_error()
        module.disable_progress_bar()
    try:
        yield
    finally:
        for module, verbosity, bar in saved:
            module.set_verbosity(verbosity)
            if bar:
                module.enable_progress_bar()


__all__ = ["STATE_FORMAT", "NetworkConfig", "TorchAdapter", "library_output_silenced"]
