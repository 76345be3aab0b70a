"""The bundled MDLM: a bidirectional `transformers` encoder built from config, on the masked-diffusion tier.

`encoder=bert` is `BertForMaskedLM` (learned absolute positions, post-LN, GELU); `encoder=modernbert` is
`ModernBertForMaskedLM` (rotary positions, pre-LN, GeGLU; its local-attention window is wider than any grid
here, so every layer attends globally). Vocabulary: the symbols plus the mask token; no padding token
(BERT's default pad id 0 would freeze symbol 0's embedding at zero), one token type, dropout 0, MLP 4 × width.

The default width is 64, not the GPT's 128: a sample costs one full forward pass per cell it reveals (36 on
6×6, against the GPT's one cached token each), so at 128 every eval of the protocol takes about four times as long.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from adapters.masked_diffusion import MaskedDiffusionAdapter, MaskedDiffusionConfig
from benchmark.core.config import require

ENCODERS = ("bert", "modernbert")


@dataclass(frozen=True)
class MDLMConfig(MaskedDiffusionConfig):
    """Knobs of the encoder; width must be a multiple of heads."""

    encoder: str = field(default="bert", metadata={"help": "bidirectional encoder: bert (BertForMaskedLM) or modernbert (ModernBertForMaskedLM)"})
    depth: int = field(default=4, metadata={"help": "transformer layers", "max": 256})
    width: int = field(default=64, metadata={"help": "hidden size (multiple of heads); MLP 4x width", "max": 16384})
    heads: int = field(default=4, metadata={"help": "attention heads", "max": 1024})

    def validate(self) -> None:
        super().validate()
        require(self.encoder in ENCODERS, self, "encoder", f"one of {', '.join(ENCODERS)}", self.encoder)
        require(self.depth >= 1, self, "depth", "a positive integer", self.depth)
        require(self.heads >= 1, self, "heads", "a positive integer", self.heads)
        require(self.width >= 1 and self.width % self.heads == 0, self, "width", f"a positive multiple of heads={self.heads}", self.width)
        if self.encoder == "modernbert":  # rotary embeddings rotate pairs of channels
            require((self.width // self.heads) % 2 == 0, self, "width", f"a multiple of 2*heads={2 * self.heads} for modernbert (even head size)", self.width)


class MDLMAdapter(MaskedDiffusionAdapter):
    """Masked diffusion (MDLM) with a BERT or ModernBERT encoder, sampled by iterative unmasking."""

    config_class = MDLMConfig
    config: MDLMConfig

    def build_model(self) -> torch.nn.Module:
        cfg = self.config
        sizes: dict[str, Any] = dict(
            vocab_size=self.vocab_size, hidden_size=cfg.width, num_hidden_layers=cfg.depth, num_attention_heads=cfg.heads, intermediate_size=4 * cfg.width, max_position_embeddings=self.data.size
        )
        if cfg.encoder == "bert":
            from transformers import BertConfig, BertForMaskedLM

            return BertForMaskedLM(BertConfig(**sizes, type_vocab_size=1, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, pad_token_id=None))
        from transformers import ModernBertConfig, ModernBertForMaskedLM

        return ModernBertForMaskedLM(
            ModernBertConfig(
                **sizes,
                local_attention=2 * self.data.size,
                pad_token_id=None,
                bos_token_id=None,
                eos_token_id=None,
                cls_token_id=None,
                sep_token_id=None,
                attention_dropout=0.0,
                embedding_dropout=0.0,
                mlp_dropout=0.0,
            )
        )

    def architecture(self) -> str:
        name = "BertForMaskedLM" if self.config.encoder == "bert" else "ModernBertForMaskedLM"
        return f"transformers.{name} (bidirectional, no time input, dropout 0)"


__all__ = ["ENCODERS", "MDLMConfig", "MDLMAdapter"]
