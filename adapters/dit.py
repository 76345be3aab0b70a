"""The bundled Diffusion Transformer: `diffusers.DiTTransformer2DModel` trained with EDM (Karras et al. 2022).

- Encoding: a binary task is one channel, symbol s ↦ (2s−1)·σ_data (±0.5), decoded by sign; a k-symbol
  task is k channels, +σ_data in the symbol's channel and −σ_data elsewhere, decoded by argmax.
- Training: σ ~ exp(N(P_mean, P_std²)), noise drawn by hand from the adapter's CPU generator (the
  schedulers' `add_noise` only takes their own discrete σ grid); D(x; σ) = c_skip·x + c_out·F(c_in·x, c_noise)
  through the EDM scheduler's `precondition_inputs/outputs/noise`; loss weight (σ²+σ_d²)/(σ·σ_d)².
- Noise conditioning: c_noise = ¼·ln σ (≈ −1.55 … 1.10 over σ ∈ [0.002, 80]) is passed to the DiT as its
  1-D float `timestep` multiplied by `timestep_scale` (default 250, so σ_min…σ_max spans about 660
  "timesteps"): DiT's sinusoidal embedding has frequencies from 1 down to 1e-4 per unit and was designed for
  timesteps in 0…999; unscaled, c_noise would leave most of its channels nearly constant.
- The DiT needs `class_labels`: one class (all zeros), and each block's built-in 10 % label dropout
  (`LabelEmbedding.dropout_prob`, for classifier-free guidance) is set to 0 with its unused "null" row removed.
- Sampling: `EDMEulerScheduler` (or `EDMDPMSolverMultistepScheduler`), Karras σ schedule, `sampling_steps`
  network evaluations; initial noise drawn on the CPU from the caller's generator, then moved to the device.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F

from adapters.base import DataSpec
from adapters.torch_adapter import NetworkConfig, TorchAdapter
from benchmark.config import require

SAMPLERS = ("euler", "dpmsolver")
PRECISIONS = ("fp32", "bf16")


@dataclass(frozen=True)
class DiTConfig(NetworkConfig):
    """Knobs of the EDM-trained DiT; width must be a multiple of 4 and of heads."""

    depth: int = field(default=4, metadata={"help": "transformer blocks", "max": 256})
    width: int = field(default=128, metadata={"help": "hidden size (multiple of 4 and of heads)", "max": 16384})
    heads: int = field(default=4, metadata={"help": "attention heads", "max": 1024})
    patch_size: int = field(default=2, metadata={"help": "patch side; must divide the grid side (6x6, patch 2: 9 tokens)"})
    sampling_steps: int = field(default=18, metadata={"help": "network evaluations per sample", "max": 10000})
    sampler: str = field(default="euler", metadata={"help": "euler (EDMEulerScheduler) or dpmsolver (EDMDPMSolverMultistepScheduler)"})
    sigma_min: float = field(default=0.002, metadata={"help": "smallest σ of the sampling schedule"})
    sigma_max: float = field(default=80.0, metadata={"help": "largest σ of the sampling schedule"})
    sigma_data: float = field(default=0.5, metadata={"help": "EDM σ_data; symbols are encoded as ±sigma_data"})
    p_mean: float = field(default=-1.2, metadata={"help": "mean of ln σ during training"})
    p_std: float = field(default=1.2, metadata={"help": "standard deviation of ln σ during training"})
    timestep_scale: float = field(default=250.0, metadata={"help": "DiT timestep = timestep_scale * c_noise (c_noise = ln(σ)/4)"})
    precision: str = field(default="fp32", metadata={"help": "fp32, or bf16 autocast of the network"})

    def validate(self) -> None:
        super().validate()
        require(self.depth >= 1, self, "depth", "a positive integer", self.depth)
        require(self.heads >= 1, self, "heads", "a positive integer", self.heads)
        require(self.width >= 4 and self.width % 4 == 0 and self.width % self.heads == 0, self, "width", f"a positive multiple of 4 and of heads={self.heads}", self.width)
        require(self.patch_size >= 1, self, "patch_size", "a positive integer", self.patch_size)
        require(self.sampling_steps >= 2, self, "sampling_steps", "an integer >= 2", self.sampling_steps)
        require(self.sampler in SAMPLERS, self, "sampler", f"one of {', '.join(SAMPLERS)}", self.sampler)
        require(0 < self.sigma_min < self.sigma_max, self, "sigma_min", f"a number in (0, sigma_max={self.sigma_max})", self.sigma_min)
        require(self.sigma_data > 0, self, "sigma_data", "a positive number", self.sigma_data)
        require(self.p_std > 0, self, "p_std", "a positive number", self.p_std)
        require(self.timestep_scale > 0, self, "timestep_scale", "a positive number", self.timestep_scale)
        require(self.precision in PRECISIONS, self, "precision", f"one of {', '.join(PRECISIONS)}", self.precision)


class DiTAdapter(TorchAdapter):
    """EDM-preconditioned `diffusers.DiTTransformer2DModel` on square symbol grids."""

    config_class = DiTConfig
    config: DiTConfig

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._scheduler = self._make_scheduler()  # its preconditioning functions serve training

    @classmethod
    def check_data(cls, config: DiTConfig, data: DataSpec) -> None:  # type: ignore[override]
        super().check_data(config, data)
        shape = tuple(data.shape)
        if len(shape) != 2 or shape[0] != shape[1]:
            raise ValueError(f"the dit adapter needs square 2-D samples (H, H), got shape {shape}; pad the task or use another adapter")
        side = shape[0]
        if side % config.patch_size:
            allowed = ", ".join(str(d) for d in range(1, side + 1) if side % d == 0)
            raise ValueError(f"DiTConfig.patch_size must divide the grid side {side} (allowed: {allowed}), got {config.patch_size}")

    @property
    def channels(self) -> int:
        """One ±σ_data channel for binary tasks, one channel per symbol otherwise."""
        return 1 if self.data.num_symbols == 2 else self.data.num_symbols

    def build_model(self) -> torch.nn.Module:
        from diffusers import DiTTransformer2DModel
        from diffusers.models.embeddings import LabelEmbedding

        cfg = self.config
        model = DiTTransformer2DModel(
            num_attention_heads=cfg.heads,
            attention_head_dim=cfg.width // cfg.heads,
            in_channels=self.channels,
            out_channels=self.channels,
            num_layers=cfg.depth,
            sample_size=self.data.shape[0],
            patch_size=cfg.patch_size,
            num_embeds_ada_norm=1,  # one class: the model is unconditional
            norm_type="ada_norm_zero",
        )
        for block in model.transformer_blocks:
            conditioning = block.norm1.emb
            old = conditioning.class_embedder
            conditioning.class_embedder = LabelEmbedding(1, cfg.width, dropout_prob=0.0)  # no label dropout
            with torch.no_grad():
                conditioning.class_embedder.embedding_table.weight.copy_(old.embedding_table.weight[:1])
        return model

    def _make_scheduler(self, sigma_max: float | None = None) -> Any:
        from diffusers import EDMDPMSolverMultistepScheduler, EDMEulerScheduler

        cfg = self.config
        scheduler_class = EDMEulerScheduler if cfg.sampler == "euler" else EDMDPMSolverMultistepScheduler
        sigma_max = cfg.sigma_max if sigma_max is None else sigma_max
        return scheduler_class(sigma_min=cfg.sigma_min, sigma_max=sigma_max, sigma_data=cfg.sigma_data, prediction_type="epsilon")

    # --- encoding ------------------------------------------------------------------------------
    def encode(self, symbols: torch.Tensor) -> torch.Tensor:
        """LongTensor (B, H, W) → float (B, C, H, W) with values ±σ_data."""
        if self.data.num_symbols == 2:
            signs = symbols.unsqueeze(1).float() * 2 - 1
        else:
            signs = F.one_hot(symbols, self.data.num_symbols).permute(0, 3, 1, 2).float() * 2 - 1
        return signs * self.config.sigma_data

    def decode(self, values: torch.Tensor) -> torch.Tensor:
        """float (B, C, H, W) → LongTensor (B, H, W): sign for binary, argmax over channels otherwise."""
        if self.data.num_symbols == 2:
            return (values[:, 0] > 0).long()
        return values.argmax(dim=1)

    # --- the network as an EDM denoiser ------------------------------------------------------
    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.config.precision == "bf16":
            return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _network(self, model: torch.nn.Module, scaled: torch.Tensor, c_noise: torch.Tensor) -> torch.Tensor:
        """F(c_in·x, c_noise): the raw DiT output for preconditioned inputs (float32)."""
        labels = torch.zeros(len(scaled), dtype=torch.long, device=scaled.device)
        timestep = (c_noise * self.config.timestep_scale).to(device=scaled.device, dtype=torch.float32)
        with self._autocast():
            out = model(scaled, timestep=timestep, class_labels=labels, return_dict=False)[0]
        return out.float()

    def loss(self, batch: torch.Tensor) -> torch.Tensor:
        cfg, scheduler = self.config, self._scheduler
        clean = self.encode(batch)
        log_sigma = torch.randn(len(clean), generator=self.generator) * cfg.p_std + cfg.p_mean
        noise = torch.randn(clean.shape, generator=self.generator)
        sigma = log_sigma.exp().to(self.device).view(-1, 1, 1, 1)
        noisy = clean + sigma * noise.to(self.device)
        out = self._network(self.model, scheduler.precondition_inputs(noisy, sigma), scheduler.precondition_noise(sigma.flatten()))
        denoised = scheduler.precondition_outputs(noisy, out, sigma)
        weight = (sigma**2 + cfg.sigma_data**2) / (sigma * cfg.sigma_data) ** 2
        return (weight * (denoised - clean) ** 2).mean()

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        side = self.data.shape[0]
        noise = torch.randn((n, self.channels, side, side), generator=generator)
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
        side = self.data.shape[0]
        return {
            **super().describe(),
            "architecture": "diffusers.DiTTransformer2DModel (ada_norm_zero, one class, no label dropout)",
            "training": "EDM",
            "scheduler": type(self._scheduler).__name__,
            "tokens": (side // self.config.patch_size) ** 2,
            "encoding": "one channel, ±sigma_data, decoded by sign" if self.channels == 1 else f"{self.channels} one-hot channels, ±sigma_data, decoded by argmax",
        }
