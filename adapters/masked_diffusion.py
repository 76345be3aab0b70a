"""The masked-diffusion tier: absorbing-state discrete diffusion as in MDLM (Sahoo et al., NeurIPS 2024).

A subclass supplies a bidirectional network (`build_model()`) over `self.vocab_size` tokens — the symbols
0…k−1 and the mask token k — at `self.data.size` positions, and, if it is not a transformers model
returning `.logits`, how it is called (`logits(model, tokens)`). The network is not told the time: with an
absorbing state the number of masks carries it (MDLM's default, `time_conditioning: False`).

- Forward process: at time t ∈ (0, 1] each cell is independently replaced by the mask token with
  probability 1 − α_t; `schedule` loglinear is α_t = 1 − t (MDLM's default), cosine is α_t = cos(πt/2).
- Loss: the continuous-time ELBO with the SUBS parameterisation — the mask token is never predicted and
  unmasked cells are carried over, so only masked cells contribute: E_t[w(t) · Σ_masked −log p_θ(x₀ | x_t)]
  with w(t) = −α'_t / (1 − α_t) (1/t for loglinear), divided by the number of cells. t is drawn
  antithetically over the batch in [t_min, 1] (MDLM's low-discrepancy sampler and `sampling_eps`).
- Sampling: MDLM's ancestral sampler on `sampling_steps` equal steps from t = 1 to 0: at each step a
  still-masked cell is revealed with probability (α_s − α_t)/(1 − α_t) and drawn from p_θ(x₀ | x_t); cells
  revealed at the same step are drawn independently. Because the network ignores t, when a cell is revealed
  does not depend on the network, so reveal steps (and the Gumbel noise of every draw, in float64) are drawn
  up front from the caller's generator, and a sample's network is evaluated only at the steps where one of
  its cells is revealed — MDLM's `ddpm_cache` skip, per sample: at most min(steps, size) evaluations each.
  MDLM ends with an argmax "noise removal" at t = 1e-5; here the last step reaches t = 0, so every cell is
  drawn, none is taken greedily.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch

from adapters.torch_adapter import NetworkConfig, TorchAdapter
from benchmark.core.config import require

SCHEDULES = ("loglinear", "cosine")


@dataclass(frozen=True)
class MaskedDiffusionConfig(NetworkConfig):
    """Knobs of absorbing-state diffusion training and sampling, shared by every network on this tier."""

    schedule: str = field(default="loglinear", metadata={"help": "masking schedule: loglinear (alpha_t = 1 - t, MDLM) or cosine (alpha_t = cos(pi t / 2))"})
    sampling_steps: int = field(default=1000, metadata={"help": "ancestral unmasking steps; at most min(steps, cells) network evaluations per sample", "max": 100000})
    t_min: float = field(default=1e-3, metadata={"help": "smallest diffusion time drawn in training (MDLM's sampling_eps)"})

    def validate(self) -> None:
        super().validate()
        require(self.schedule in SCHEDULES, self, "schedule", f"one of {', '.join(SCHEDULES)}", self.schedule)
        require(self.sampling_steps >= 1, self, "sampling_steps", "a positive integer", self.sampling_steps)
        require(0.0 < self.t_min < 1.0, self, "t_min", "a number in (0, 1)", self.t_min)


class MaskedDiffusionAdapter(TorchAdapter):
    """A bidirectional network that predicts masked cells, sampled by iterative unmasking from all-masked."""

    config_class = MaskedDiffusionConfig
    config: MaskedDiffusionConfig

    @property
    def mask_id(self) -> int:
        """The absorbing mask token: one past the last symbol."""
        return self.data.num_symbols

    @property
    def vocab_size(self) -> int:
        """Symbols plus the mask token."""
        return self.data.num_symbols + 1

    # --- what a subclass may override --------------------------------------------------------
    def logits(self, model: torch.nn.Module, tokens: torch.Tensor) -> torch.Tensor:
        """Logits `(B, size, ≥ k)` of a LongTensor `(B, size)` of symbols and masks (a transformers model by default)."""
        return model(input_ids=tokens).logits

    # --- the schedule ------------------------------------------------------------------------
    def alpha(self, t: torch.Tensor) -> torch.Tensor:
        """α_t: the probability that a cell is still unmasked at time t (1 at t = 0, 0 at t = 1)."""
        if self.config.schedule == "loglinear":
            return 1.0 - t
        return torch.cos(t * (math.pi / 2))

    def elbo_weight(self, t: torch.Tensor) -> torch.Tensor:
        """w(t) = −α'_t / (1 − α_t), the ELBO's weight of a masked cell's cross-entropy at time t."""
        if self.config.schedule == "loglinear":
            return 1.0 / t
        half_pi = math.pi / 2
        return half_pi * torch.sin(t * half_pi) / (1.0 - torch.cos(t * half_pi))

    # --- training ------------------------------------------------------------------------------
    def _symbol_log_probs(self, model: torch.nn.Module, tokens: torch.Tensor) -> torch.Tensor:
        """log p_θ(x₀ | x_t) over the k symbols (SUBS: the mask token gets no probability), float32."""
        return self.logits(model, tokens)[..., : self.data.num_symbols].float().log_softmax(-1)

    def loss(self, batch: torch.Tensor) -> torch.Tensor:
        tokens = batch.reshape(len(batch), -1)
        count, cells = tokens.shape
        offsets = torch.arange(count) / count
        t = ((torch.rand(count, generator=self.generator) / count + offsets) % 1) * (1 - self.config.t_min) + self.config.t_min
        masked = (torch.rand((count, cells), generator=self.generator) < (1 - self.alpha(t))[:, None]).to(self.device)
        t = t.to(self.device)
        noisy = torch.where(masked, torch.full_like(tokens, self.mask_id), tokens)
        nll = -self._symbol_log_probs(self.model, noisy).gather(-1, tokens[..., None]).squeeze(-1)
        return (self.elbo_weight(t)[:, None] * nll * masked).sum() / (count * cells)

    # --- sampling ------------------------------------------------------------------------------
    def reveal_steps(self, uniforms: torch.Tensor) -> torch.Tensor:
        """The step (0 … steps−1) at which each cell is revealed, from uniforms: P(step j) = α(t_{j+1}) − α(t_j), t_j = 1 − j/steps."""
        steps = self.config.sampling_steps
        grid = 1.0 - torch.arange(1, steps + 1, dtype=torch.float64) / steps
        cumulative = self.alpha(grid)  # α(t_1) … α(t_steps) = 1
        return torch.searchsorted(cumulative, uniforms, right=True).clamp_(max=steps - 1)

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        cells, symbols = self.data.size, self.data.num_symbols
        reveal = self.reveal_steps(torch.rand((n, cells), generator=generator, dtype=torch.float64))
        gumbel = -torch.log(-torch.log(torch.rand((n, cells, symbols), generator=generator, dtype=torch.float64)))
        if n == 0:
            return torch.empty((0, *self.data.shape), dtype=torch.long)
        chunk = self.config.sample_batch_size
        return torch.cat([self._unmask(reveal[i : i + chunk], gumbel[i : i + chunk]) for i in range(0, n, chunk)]).reshape(n, *self.data.shape)

    def _unmask(self, reveal: torch.Tensor, gumbel: torch.Tensor) -> torch.Tensor:
        """From all-masked, reveal each cell at its step with a Gumbel-max draw from p_θ(x₀ | x_t); symbols on the CPU."""
        tokens = torch.full(reveal.shape, self.mask_id, dtype=torch.long, device=self.device)
        reveal, gumbel = reveal.to(self.device), gumbel.to(self.device)
        with self.evaluating() as model:
            for step in torch.unique(reveal).tolist():
                revealing = reveal == step
                rows = revealing.any(dim=1).nonzero().squeeze(1)
                cells = revealing[rows]
                scores = self._symbol_log_probs(model, tokens[rows]).double() + gumbel[rows]
                drawn = torch.where(cells, scores.argmax(-1), tokens[rows])
                tokens[rows] = drawn
        return tokens.cpu()

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "architecture": self.architecture(),
            "training": f"masked diffusion (MDLM): SUBS, continuous-time ELBO, {self.config.schedule} schedule, antithetic t in [{self.config.t_min}, 1]",
            "vocabulary": self.vocab_size,
            "sampling": f"ancestral unmasking, {self.config.sampling_steps} steps, network skipped where a sample reveals nothing",
        }

    def architecture(self) -> str:
        """One line for records: which network this is."""
        return type(self.model).__name__


__all__ = ["SCHEDULES", "MaskedDiffusionConfig", "MaskedDiffusionAdapter"]
