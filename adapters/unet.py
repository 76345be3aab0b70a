"""The bundled U-Net: `diffusers.UNet2DModel` (the DDPM U-Net family of Bonnaire et al., NeurIPS 2025) on the EDM tier.

- Levels: one per entry of `channel_mult` (block widths width × mult); every level but the last halves the
  grid, so a side the down-sampling cannot divide (6 with 3 levels: 6 → 3 → 1.5) is zero-padded at the
  bottom and right up to the next multiple of 2^(levels−1) (6 → 8) before the network and cropped back
  after; the loss and the samples only ever see the real cells.
- Each level has `layers_per_block` ResNet blocks; with `attention` on, the lowest-resolution level has
  self-attention blocks too (DDPM put attention at 16×16 of 32×32), and the middle block always has one.
- Noise conditioning as in the DiT: c_noise = ¼·ln σ times `timestep_scale` (250) into the U-Net's
  sinusoidal timestep embedding, which was designed for timesteps 0…999.
- GroupNorm: `norm_groups` must divide every level's width.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F

from adapters.edm import EDMAdapter, EDMConfig
from benchmark.core.adapter import DataSpec
from benchmark.core.config import require


@dataclass(frozen=True)
class UNetConfig(EDMConfig):
    """Knobs of the EDM-trained U-Net; every level's width (width × mult) must be a multiple of norm_groups."""

    width: int = field(default=32, metadata={"help": "channels of the first level", "max": 16384})
    channel_mult: tuple[int, ...] = field(default=(1, 2), metadata={"help": "width multiplier per level (1x2: two levels, one down-sampling)"})
    layers_per_block: int = field(default=2, metadata={"help": "ResNet blocks per level", "max": 64})
    attention: bool = field(default=True, metadata={"help": "self-attention blocks at the lowest-resolution level"})
    attention_head_dim: int = field(default=32, metadata={"help": "channels per attention head", "max": 16384})
    norm_groups: int = field(default=32, metadata={"help": "GroupNorm groups (must divide every level's width)"})
    timestep_scale: float = field(default=250.0, metadata={"help": "U-Net timestep = timestep_scale * c_noise (c_noise = ln(σ)/4)"})

    def validate(self) -> None:
        super().validate()
        require(self.width >= 1, self, "width", "a positive integer", self.width)
        require(len(self.channel_mult) >= 1 and all(m >= 1 for m in self.channel_mult), self, "channel_mult", "one or more positive integers (e.g. 1x2)", self.channel_mult)
        require(self.layers_per_block >= 1, self, "layers_per_block", "a positive integer", self.layers_per_block)
        require(self.norm_groups >= 1, self, "norm_groups", "a positive integer", self.norm_groups)
        widths = [self.width * m for m in self.channel_mult]
        require(all(w % self.norm_groups == 0 for w in widths), self, "width", f"such that norm_groups={self.norm_groups} divides every level's width {widths}", self.width)
        require(
            self.attention_head_dim >= 1 and all(w % self.attention_head_dim == 0 for w in widths), self, "attention_head_dim", f"a divisor of every level's width {widths}", self.attention_head_dim
        )
        require(self.timestep_scale > 0, self, "timestep_scale", "a positive number", self.timestep_scale)


class UNetAdapter(EDMAdapter):
    """EDM-preconditioned `diffusers.UNet2DModel` on 2-D symbol grids, padded to what its down-sampling divides."""

    config_class = UNetConfig
    config: UNetConfig

    @classmethod
    def check_data(cls, config: UNetConfig, data: DataSpec) -> None:  # type: ignore[override]  # called with this class's config_class only
        super().check_data(config, data)
        if len(data.shape) != 2:
            raise ValueError(f"the unet adapter needs 2-D samples (H, W), got shape {tuple(data.shape)}; reshape the task or use a sequence adapter (gpt, mdlm)")

    @property
    def padded_shape(self) -> tuple[int, int]:
        """The grid the U-Net sees: each side rounded up to a multiple of 2^(levels−1)."""
        multiple = 2 ** (len(self.config.channel_mult) - 1)
        return tuple(-(-side // multiple) * multiple for side in self.data.shape)

    def build_model(self) -> torch.nn.Module:
        from diffusers.models import UNet2DModel  # the same class as diffusers.UNet2DModel; the top-level name types as a placeholder

        cfg = self.config
        levels = len(cfg.channel_mult)
        down = ["DownBlock2D"] * levels
        up = ["UpBlock2D"] * levels
        if cfg.attention:
            down[-1], up[0] = "AttnDownBlock2D", "AttnUpBlock2D"
        return UNet2DModel(
            sample_size=self.padded_shape,
            in_channels=self.channels,
            out_channels=self.channels,
            block_out_channels=tuple(cfg.width * m for m in cfg.channel_mult),
            layers_per_block=cfg.layers_per_block,
            down_block_types=tuple(down),
            up_block_types=tuple(up),
            attention_head_dim=cfg.attention_head_dim,
            norm_num_groups=cfg.norm_groups,
        )

    def call_network(self, model: torch.nn.Module, x: torch.Tensor, c_noise: torch.Tensor) -> torch.Tensor:
        height, width = self.data.shape
        padded_height, padded_width = self.padded_shape
        timestep = (c_noise * self.config.timestep_scale).to(device=x.device, dtype=torch.float32)
        padded = F.pad(x, (0, padded_width - width, 0, padded_height - height)) if (padded_height, padded_width) != (height, width) else x
        return model(padded, timestep=timestep, return_dict=False)[0][..., :height, :width]

    def architecture(self) -> str:
        cfg = self.config
        widths = "x".join(str(cfg.width * m) for m in cfg.channel_mult)
        return f"diffusers.UNet2DModel ({widths} channels, {cfg.layers_per_block} ResNet blocks per level, attention {'at the lowest level and ' if cfg.attention else ''}in the middle)"

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "padded_shape": list(self.padded_shape)}


__all__ = ["UNetConfig", "UNetAdapter"]
