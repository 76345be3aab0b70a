"""Exponential moving average of a network's weights, kept as a second copy of the module for sampling."""

from __future__ import annotations

import copy
from typing import Any

import torch


class EMA:
    """`ema ← decay·ema + (1−decay)·weights` after every optimiser step; a constant decay, no warm-up."""

    def __init__(self, model: torch.nn.Module, decay: float) -> None:
        self.decay = decay
        self.model = copy.deepcopy(model).eval().requires_grad_(False)
        self._ema_params: list[torch.Tensor] = list(self.model.parameters())
        self._buffers = list(self.model.buffers())

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        """Move the average one step towards `model`'s current weights (one fused op over all tensors)."""
        torch._foreach_lerp_(self._ema_params, [p.detach() for p in model.parameters()], 1.0 - self.decay)
        for ema_buffer, buffer in zip(self._buffers, model.buffers()):
            ema_buffer.copy_(buffer)

    def state_dict(self) -> dict[str, Any]:
        return self.model.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state)


__all__ = ["EMA"]
