"""The bundled Diffusion Transformer: `diffusers.DiTTransformer2DModel` on the EDM tier (`adapters.edm`).

- Noise conditioning: c_noise = ¼·ln σ (≈ −1.55 … 1.10 over σ ∈ [0.002, 80]) is passed to the DiT as its
  1-D float `timestep` multiplied by `timestep_scale` (default 250, so σ_min…σ_max spans about 660
  "timesteps"): DiT's sinusoidal embedding has frequencies from 1 down to 1e-4 per unit and was designed for
  timesteps in 0…999; unscaled, c_noise would leave most of its channels nearly constant.
- The DiT needs `class_labels`: one class (all zeros), and each block's built-in 10 % label dropout
  (`LabelEmbedding.dropout_prob`, for classifier-free guidance) is set to 0 with its unused "null" row removed.
- Square grids only; `patch_size` must divide the side.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from adapters.edm import EDMAdapter, EDMConfig
from benchmark.core.adapter import DataSpec
from benchmark.core.config import require


@dataclass(frozen=True)
class DiTConfig(EDMConfig):
    """Knobs of the EDM-trained DiT; width must be a multiple of 4 and of heads."""

    depth: int = field(default=4, metadata={"help": "transformer blocks", "max": 256})
    width: int = field(default=128, metadata={"help": "hidden size (multiple of 4 and of heads)", "max": 16384})
    heads: int = field(default=4, metadata={"help": "attention heads", "max": 1024})
    patch_size: int = field(default=2, metadata={"help": "patch side; must divide the grid side (6x6, patch 2: 9 tokens)"})
    timestep_scale: float = field(default=250.0, metadata={"help": "DiT timestep = timestep_scale * c_noise (c_noise = ln(σ)/4)"})

    def validate(self) -> None:
        super().validate()
        require(self.depth >= 1, self, "depth", "a positive integer", self.depth)
        require(self.heads >= 1, self, "heads", "a positive integer", self.heads)
        require(self.width >= 4 and self.width % 4 == 0 and self.width % self.heads == 0, self, "width", f"a positive multiple of 4 and of heads={self.heads}", self.width)
        require(self.patch_size >= 1, self, "patch_size", "a positive integer", self.patch_size)
        require(self.timestep_scale > 0, self, "timestep_scale", "a positive number", self.timestep_scale)


class DiTAdapter(EDMAdapter):
    """EDM-preconditioned `diffusers.DiTTransformer2DModel` on square symbol grids."""

    config_class = DiTConfig
    config: DiTConfig

    @classmethod
    def check_data(cls, config: DiTConfig, data: DataSpec) -> None:  # type: ignore[override]  # called with this class's config_class only
        super().check_data(config, data)
        shape = tuple(data.shape)
        if len(shape) != 2 or shape[0] != shape[1]:
            raise ValueError(f"the dit adapter needs square 2-D samples (H, H), got shape {shape}; pad the task or use another adapter")
        side = shape[0]
        if side % config.patch_size:
            allowed = ", ".join(str(d) for d in range(1, side + 1) if side % d == 0)
            raise ValueError(f"DiTConfig.patch_size must divide the grid side {side} (allowed: {allowed}), got {config.patch_size}")

    def build_model(self) -> torch.nn.Module:
        from diffusers.models import DiTTransformer2DModel  # the same class as diffusers.DiTTransformer2DModel; the top-level name types as a placeholder
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

    def call_network(self, model: torch.nn.Module, x: torch.Tensor, c_noise: torch.Tensor) -> torch.Tensor:
        labels = torch.zeros(len(x), dtype=torch.long, device=x.device)
        timestep = (c_noise * self.config.timestep_scale).to(device=x.device, dtype=torch.float32)
        return model(x, timestep=timestep, class_labels=labels, return_dict=False)[0]

    def architecture(self) -> str:
        return "diffusers.DiTTransformer2DModel (ada_norm_zero, one class, no label dropout)"

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "tokens": (self.data.shape[0] // self.config.patch_size) ** 2}


__all__ = ["DiTConfig", "DiTAdapter"]
