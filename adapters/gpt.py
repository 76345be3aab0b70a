"""The bundled GPT: `transformers.GPT2LMHeadModel` built from a `GPT2Config`, trained by next-token prediction.

- Tokens: the symbols 0…k−1 plus one BOS token (id k); a sample is read in row-major order after BOS, so
  `n_positions` = size + 1. GPT-2's default special ids (50256) are replaced by BOS; nothing is downloaded
  and there is no tokenizer.
- Training: cross-entropy of every symbol given BOS and the symbols before it (dropout 0).
- Sampling: `generate()` with the KV cache and an explicit `GenerationConfig`: temperature 1, no top-k/top-p,
  BOS suppressed, exactly `size` new tokens, no EOS stopping. `generate()` draws from torch's global RNG, so
  it runs inside `torch.random.fork_rng`, seeded from the caller's generator: deterministic, and the global
  RNG is left untouched.
- `activation_function="gelu"` (exact GELU): GPT-2's `gelu_new` costs about a quarter of a CPU training step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F

from adapters.torch_adapter import NetworkConfig, TorchAdapter
from benchmark.config import require

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


class GPTAdapter(TorchAdapter):
    """An autoregressive GPT-2 over the row-major symbol sequence, sampled at temperature 1."""

    config_class = GPTConfig
    config: GPTConfig

    @property
    def bos(self) -> int:
        """The BOS token id: one past the last symbol."""
        return self.data.num_symbols

    def build_model(self) -> torch.nn.Module:
        from transformers import GPT2Config, GPT2LMHeadModel

        cfg = self.config
        model_config = GPT2Config(
            vocab_size=self.data.num_symbols + 1,
            n_positions=self.data.size + 1,
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
            attn_implementation=cfg.attention,
        )
        model = GPT2LMHeadModel(model_config)
        # generate() fills unset fields of our GenerationConfig from the model's; with eos left at BOS it would
        # stop at BOS (suppressed anyway). No EOS at all makes the fixed length explicit.
        model.generation_config.eos_token_id = None
        return model

    def _generation_config(self) -> Any:
        from transformers import GenerationConfig

        size = self.data.size
        return GenerationConfig(
            do_sample=True,
            temperature=1.0,
            top_k=0,
            top_p=1.0,
            max_new_tokens=size,
            min_new_tokens=size,
            suppress_tokens=[self.bos],
            bos_token_id=self.bos,
            eos_token_id=None,
            pad_token_id=self.bos,
            use_cache=True,
        )

    def loss(self, batch: torch.Tensor) -> torch.Tensor:
        targets = batch.reshape(len(batch), -1)
        bos = torch.full((len(batch), 1), self.bos, dtype=torch.long, device=batch.device)
        logits = self.model(input_ids=torch.cat([bos, targets[:, :-1]], dim=1)).logits
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), targets.reshape(-1))

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        chunk = self.config.sample_batch_size
        counts = [min(chunk, n - start) for start in range(0, n, chunk)]
        seeds = torch.randint(0, 2**63 - 1, (len(counts),), generator=generator).tolist()
        if n == 0:
            return torch.empty((0, *self.data.shape), dtype=torch.long)
        return torch.cat([self._generate(count, seed) for count, seed in zip(counts, seeds)]).reshape(n, *self.data.shape)

    def _generate(self, n: int, seed: int) -> torch.Tensor:
        """`n` sequences from `generate()` with the global RNG forked and seeded, returned without BOS on the CPU."""
        devices = [self.device] if self.device.type == "cuda" else []
        prompt = torch.full((n, 1), self.bos, dtype=torch.long, device=self.device)
        with torch.random.fork_rng(devices=devices), self.evaluating() as model:
            torch.manual_seed(seed)
            tokens = model.generate(prompt, attention_mask=torch.ones_like(prompt), generation_config=self._generation_config())
        return tokens[:, 1:].cpu()

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "architecture": f"transformers.GPT2LMHeadModel (gelu, {self.config.attention} attention, dropout 0)",
            "training": "next-token cross-entropy, row-major order after BOS",
            "vocabulary": self.data.num_symbols + 1,
            "sampling": "generate(): temperature 1, no top-k/top-p, BOS suppressed, KV cache",
        }
