"""The bundled GPT: `transformers.GPT2LMHeadModel` built from a `GPT2Config`, on the causal-LM tier.

- Vocabulary: the symbols plus BOS (`adapters.causal_lm`); GPT-2's default special ids (50256) are replaced
  by BOS, and `n_positions` = size + 1.
- Dropout 0 everywhere; `activation_function="gelu"` (exact GELU): GPT-2's `gelu_new` costs about a quarter
  of a CPU training step.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from adapters.causal_lm import CausalLMAdapter
from adapters.torch_adapter import NetworkConfig
from benchmark.core.config import require

ATTENTIONS = ("sdpa", "eager")


@dataclass(frozen=True)
class GPTConfig(NetworkConfig):
    """Knobs of the GPT-2 model; width must be a multiple of heads."""

    depth: int = field(default=4, metadata={"help": "transformer blocks", "max": 256})
    width: int = field(default=128, metadata={"help": "hidden size (multiple of heads)", "max": 16384})
    heads: int = field(default=4, metadata={"help": "attention heads", "max": 1024})
    attention: str = field(default="sdpa", metadata={"help": "attention implementation: sdpa or eager"})

    def validate(self) -> None:
        super().validate()
        require(self.depth >= 1, self, "depth", "a positive integer", self.depth)
        require(self.heads >= 1, self, "heads", "a positive integer", self.heads)
        require(self.width >= 1 and self.width % self.heads == 0, self, "width", f"a positive multiple of heads={self.heads}", self.width)
        require(self.attention in ATTENTIONS, self, "attention", f"one of {', '.join(ATTENTIONS)}", self.attention)


class GPTAdapter(CausalLMAdapter):
    """An autoregressive GPT-2 over the row-major symbol sequence, sampled at temperature 1."""

    config_class = GPTConfig
    config: GPTConfig

    def build_model(self) -> torch.nn.Module:
        from transformers import GPT2Config, GPT2LMHeadModel

        cfg = self.config
        model_config = GPT2Config(
            vocab_size=self.vocab_size,
            n_positions=self.positions,
            n_embd=cfg.width,
            n_layer=cfg.depth,
            n_head=cfg.heads,
            activation_function="gelu",
            resid_pdrop=0.0,
            embd_pdrop=0.0,
            attn_pdrop=0.0,
            bos_token_id=self.bos,
            eos_token_id=self.bos,
            pad_token_id=None,  # sequences are never padded; a pad id equal to BOS only triggers padding warnings
            attn_implementation=cfg.attention,  # type: ignore[call-arg]  # accepted (PreTrainedConfig takes it for every model) but missing from GPT2Config's typed signature
        )
        return GPT2LMHeadModel(model_config)

    def architecture(self) -> str:
        return f"transformers.GPT2LMHeadModel (gelu, {self.config.attention} attention, dropout 0)"


__all__ = ["ATTENTIONS", "GPTConfig", "GPTAdapter"]
