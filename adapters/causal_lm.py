"""The causal-LM tier: symbol grids as token sequences after a BOS token, next-token loss, seeded `generate()`.

A subclass supplies only the network, in `build_model()`: a `transformers` causal LM (anything whose
forward takes `input_ids` and returns `.logits`, and that has `generate()`) with a vocabulary of
`self.vocab_size` tokens (the symbols 0…k−1, then BOS = k) and room for `self.positions` positions.
Nothing is downloaded and there is no tokenizer.

- Training: cross-entropy of every symbol given BOS and the symbols before it, in row-major order.
- Sampling: `generate()` with the KV cache and an explicit `GenerationConfig`: temperature 1, no top-k/top-p,
  BOS suppressed, exactly `size` new tokens, no EOS stopping. `generate()` draws from torch's global RNG, so
  it runs inside `torch.random.fork_rng`, seeded from the caller's generator: deterministic, and the global
  RNG is left untouched.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from adapters.torch_adapter import NetworkConfig, TorchAdapter


class CausalLMAdapter(TorchAdapter):
    """An autoregressive model over the row-major symbol sequence after BOS, sampled at temperature 1."""

    config: NetworkConfig

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # generate() fills unset fields of our GenerationConfig from the model's own: an EOS id there (often
        # the BOS id) would stop sampling early. No EOS at all makes the fixed length explicit.
        for model in (self.model, self.sampling_model):
            generation_config = getattr(model, "generation_config", None)
            if generation_config is not None:
                generation_config.eos_token_id = None

    @property
    def bos(self) -> int:
        """The BOS token id: one past the last symbol."""
        return self.data.num_symbols

    @property
    def vocab_size(self) -> int:
        """Symbols plus BOS."""
        return self.data.num_symbols + 1

    @property
    def positions(self) -> int:
        """Sequence length the model must hold: BOS plus every cell."""
        return self.data.size + 1

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
            tokens = model.generate(  # type: ignore[operator]  # an HF causal LM; torch types a module's unknown attributes as Tensor | Module
                prompt, attention_mask=torch.ones_like(prompt), generation_config=self._generation_config()
            )
        return tokens[:, 1:].cpu()

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "architecture": self.architecture(),
            "training": "next-token cross-entropy, row-major order after BOS",
            "vocabulary": self.vocab_size,
            "sampling": "generate(): temperature 1, no top-k/top-p, BOS suppressed, KV cache",
        }

    def architecture(self) -> str:
        """One line for records: which network this is."""
        return type(self.model).__name__


__all__ = ["CausalLMAdapter"]
