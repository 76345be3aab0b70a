"""The continuous-diffusion tier: symbols as points in R^C, trained and sampled with EDM (Karras et al. 2022).

A subclass supplies the network (`build_model()`) and how it is called (`call_network(model, x, c_noise)`:
the raw output F for the preconditioned input x = c_in·x_σ and the noise embedding c_noise = ¼·ln σ, a 1-D
tensor of length B). Everything else is here:

- Encoding: a binary task is one channel, symbol s ↦ (2s−1)·σ_data (±0.5), decoded by sign; a k-symbol
  task is k channels, +σ_data in the symbol's channel and −σ_data elsewhere, decoded by argmax. A sample
  of shape `shape` becomes `(C, *shape)`.
- Training: σ ~ exp(N(P_mean, P_std²)), noise drawn by hand from the adapter's CPU generator (the
  schedulers' `add_noise` only takes their own discrete σ grid); D(x; σ) = c_skip·x + c_out·F(c_in·x, c_noise)
  through the EDM scheduler's `precondition_inputs/outputs/noise`; loss weight (σ²+σ_d²)/(σ·σ_d)².
- Sampling: `EDMEulerScheduler` (or `EDMDPMSolverMultistepScheduler`), Karras σ schedule, `sampling_steps`
  network evaluations; initial noise drawn on the CPU from the caller's generator, then moved to the device.
- The `Denoiser` capability (`benchmark.core.adapter`, used by `benchmark.analysis.basins`): `encode`, `decode`, and
  `denoise` from any σ down to 0 with the same scheduler.
"""

from __future__ import annotations

import contextlib
from abc import abstractmethod
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F

from adapters.torch_adapter import NetworkConfig, TorchAdapter
from benchmark.core.config import require

SAMPLERS = ("euler", "dpmsolver")
PRECISIONS = ("fp32", "bf16")


@dataclass(frozen=True)
class EDMConfig(NetworkConfig):
    """Knobs of EDM training and sampling, shared by every network on this tier."""

    sampling_steps: int = field(default=18, metadata={"help": "network evaluations per sample", "max": 10000})
    sampler: str = field(default="euler", metadata={"help": "euler (EDMEulerScheduler) or dpmsolver (EDMDPMSolverMultistepScheduler)"})
    sigma_min: float = field(default=0.002, metadata={"help": "smallest σ of the sampling schedule"})
    sigma_max: float = field(default=80.0, metadata={"help": "largest σ of the sampling schedule"})
    sigma_data: float = field(default=0.5, metadata={"help": "EDM σ_data; symbols are encoded as ±sigma_data"})
    p_mean: float = field(default=-1.2, metadata={"help": "mean of ln σ during training"})
    p_std: float = field(default=1.2, metadata={"help": "standard deviation of ln σ during training"})
    precision: str = field(default="fp32", metadata={"help": "fp32, or bf16 autocast of the network"})

    def validate(self) -> None:
        super().validate()
        require(self.sampling_steps >= 2, self, "sampling_steps", "an integer >= 2", self.sampling_steps)
        require(self.sampler in SAMPLERS, self, "sampler", f"one of {', '.join(SAMPLERS)}", self.sampler)
        require(0 < self.sigma_min < self.sigma_max, self, "sigma_min", f"a number in (0, sigma_max={self.sigma_max})", self.sigma_min)
        require(self.sigma_data > 0, self, "sigma_data", "a positive number", self.sigma_data)
        require(self.p_std > 0, self, "p_std", "a positive number", self.p_std)
        require(self.precision in PRECISIONS, self, "precision", f"one of {', '.join(PRECISIONS)}", self.precision)


class EDMAdapter(TorchAdapter):
    """An EDM-preconditioned denoiser of encoded symbol arrays, sampled by integrating the probability-flow ODE."""

    config_class = EDMConfig
    config: EDMConfig

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._scheduler = self._make_scheduler()  # its preconditioning functions serve training

    # --- what a subclass provides ------------------------------------------------------------
    @abstractmethod
    def call_network(self, model: torch.nn.Module, x: torch.Tensor, c_noise: torch.Tensor) -> torch.Tensor:
        """F(x, c_noise): the raw network output for x = c_in·x_σ `(B, C, *shape)` and c_noise = ln(σ)/4 `(B,)`."""

    # --- encoding ------------------------------------------------------------------------------
    @property
    def channels(self) -> int:
        """One ±σ_data channel for binary tasks, one channel per symbol otherwise."""
        return 1 if self.data.num_symbols == 2 else self.data.num_symbols

    def encode(self, symbols: torch.Tensor) -> torch.Tensor:
        """LongTensor (B, *shape) → float (B, C, *shape) with values ±σ_data."""
        if self.data.num_symbols == 2:
            signs = symbols.unsqueeze(1).float() * 2 - 1
        else:
            signs = F.one_hot(symbols, self.data.num_symbols).movedim(-1, 1).float() * 2 - 1
        return signs * self.config.sigma_data

    def decode(self, values: torch.Tensor) -> torch.Tensor:
        """float (B, C, *shape) → LongTensor (B, *shape): sign for binary, argmax over channels otherwise."""
        if self.data.num_symbols == 2:
            return (values[:, 0] > 0).long()
        return values.argmax(dim=1)

    # --- the network as an EDM denoiser ------------------------------------------------------
    def _make_scheduler(self, sigma_max: float | None = None) -> Any:
        from diffusers import EDMDPMSolverMultistepScheduler, EDMEulerScheduler

        cfg = self.config
        scheduler_class = EDMEulerScheduler if cfg.sampler == "euler" else EDMDPMSolverMultistepScheduler
        sigma_max = cfg.sigma_max if sigma_max is None else sigma_max
        return scheduler_class(sigma_min=cfg.sigma_min, sigma_max=sigma_max, sigma_data=cfg.sigma_data, prediction_type="epsilon")

    def _autocast(self) -> contextlib.AbstractContextManager[object]:
        if self.config.precision == "bf16":
            return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _network(self, model: torch.nn.Module, scaled: torch.Tensor, c_noise: torch.Tensor) -> torch.Tensor:
        """`call_network` under the configured precision, returned as float32."""
        with self._autocast():
            out = self.call_network(model, scaled, c_noise)
        return out.float()

    def loss(self, batch: torch.Tensor) -> torch.Tensor:
        cfg, scheduler = self.config, self._scheduler
        clean = self.encode(batch)
        broadcast = (-1,) + (1,) * (clean.dim() - 1)
        log_sigma = torch.randn(len(clean), generator=self.generator) * cfg.p_std + cfg.p_mean
        noise = torch.randn(clean.shape, generator=self.generator)
        sigma = log_sigma.exp().to(self.device).view(broadcast)
        noisy = clean + sigma * noise.to(self.device)
        out = self._network(self.model, scheduler.precondition_inputs(noisy, sigma), scheduler.precondition_noise(sigma.flatten()))
        denoised = scheduler.precondition_outputs(noisy, out, sigma)
        weight = (sigma**2 + cfg.sigma_data**2) / (sigma * cfg.sigma_data) ** 2
        return (weight * (denoised - clean) ** 2).mean()

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        noise = torch.randn((n, self.channels, *self.data.shape), generator=generator)
        if n == 0:
            return torch.empty((0, *self.data.shape), dtype=torch.long)
        return torch.cat([self._denoise(chunk) for chunk in noise.split(self.config.sample_batch_size)])

    def _denoise(self, noise: torch.Tensor) -> torch.Tensor:
        """Integrate the probability-flow ODE from σ_max to 0 with the scheduler; decode to symbols on the CPU."""
        scheduler = self._sampling_scheduler(self.config.sigma_max)
        return self._integrate(noise.to(self.device) * scheduler.sigmas[0].to(self.device), scheduler)

    def denoise(self, noisy: torch.Tensor, sigma: float) -> torch.Tensor:
        """The `Denoiser` capability: from `noisy` at noise level σ down to σ = 0 (probability-flow ODE), decoded.

        The same scheduler and number of steps as sampling, on a Karras schedule from σ to σ_min; at or
        below σ_min there is nothing to integrate and the input is decoded as it is.
        """
        if sigma <= self.config.sigma_min:
            return self.decode(noisy).cpu()
        chunks = noisy.split(self.config.sample_batch_size)
        return torch.cat([self._integrate(chunk.to(self.device), self._sampling_scheduler(sigma)) for chunk in chunks])

    def _sampling_scheduler(self, sigma_max: float) -> Any:
        """A fresh scheduler with its Karras σ schedule from `sigma_max` down to σ_min, then 0."""
        scheduler = self._make_scheduler(sigma_max)
        scheduler.set_timesteps(self.config.sampling_steps, device=self.device)
        return scheduler

    def _integrate(self, x: torch.Tensor, scheduler: Any) -> torch.Tensor:
        """Run the scheduler's ODE steps on `x` (at its first σ) down to σ = 0; decode to symbols on the CPU."""
        with self.evaluating() as model:
            for t in scheduler.timesteps:
                scaled = scheduler.scale_model_input(x, t)
                out = self._network(model, scaled, t.expand(len(x)))
                x = scheduler.step(out, t, x, return_dict=False)[0]
        return self.decode(x).cpu()

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "architecture": self.architecture(),
            "training": "EDM",
            "scheduler": type(self._scheduler).__name__,
            "encoding": "one channel, ±sigma_data, decoded by sign" if self.channels == 1 else f"{self.channels} one-hot channels, ±sigma_data, decoded by argmax",
        }

    def architecture(self) -> str:
        """One line for records: which network this is."""
        return type(self.model).__name__


__all__ = ["SAMPLERS", "PRECISIONS", "EDMConfig", "EDMAdapter"]
