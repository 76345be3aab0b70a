"""A plain PyTorch loop on a rule the user defines (binary palindromes), with the user's own verifier, watched by ClockMonitor.

The rule object below is all the monitor needs: a shape, an alphabet, a verifier (`is_valid`), a partial
score (`constraint_satisfaction`), keys, the chance of a random string being valid, a description, and an
exact sampler (for the control set the copy curve is corrected by). The model is a small LSTM language
model; `monitor.step(step)` says when to evaluate and `monitor.evaluate(step)` reads both clocks.

    python examples/plain_loop.py --output runs-monitor
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from torch import nn

from benchmark import ClockMonitor


class Palindromes:
    """The user's rule: binary strings of `length` bits that read the same backwards."""

    def __init__(self, length: int = 20) -> None:
        self.length, self.shape, self.num_symbols, self.size = length, (length,), 2, length

    def is_valid(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x).reshape(len(x), self.length)
        return (x == x[:, ::-1]).all(axis=1)

    def constraint_satisfaction(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x).reshape(len(x), self.length)
        half = self.length // 2
        return (x[:, :half] == x[:, ::-1][:, :half]).mean(axis=1)

    def key(self, x: np.ndarray) -> np.ndarray:
        return np.array([bytes(row) for row in np.asarray(x, dtype=np.uint8).reshape(len(x), -1)], dtype=f"S{self.length}")

    def num_valid(self) -> int:
        return 2 ** ((self.length + 1) // 2)

    def chance_valid(self) -> float:
        return self.num_valid() / 2**self.length

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        half = rng.integers(0, 2, size=(n, (self.length + 1) // 2), dtype=np.uint8)
        return np.concatenate([half, half[:, : self.length // 2][:, ::-1]], axis=1)

    def describe(self) -> dict:
        return {"name": "palindromes", "config": {"length": self.length}, "version": 1, "shape": list(self.shape), "num_symbols": 2, "complexity": float(self.length)}


class BitLSTM(nn.Module):
    """An LSTM language model over bits after a BOS token (id 2)."""

    def __init__(self, hidden: int = 64) -> None:
        super().__init__()
        self.embed, self.lstm, self.head = nn.Embedding(3, 16), nn.LSTM(16, hidden, batch_first=True), nn.Linear(hidden, 2)

    def forward(self, tokens: torch.Tensor, state: tuple | None = None) -> tuple[torch.Tensor, tuple]:
        out, state = self.lstm(self.embed(tokens), state)
        return self.head(out), state

    @torch.no_grad()
    def sample(self, n: int, length: int, generator: torch.Generator) -> torch.Tensor:
        token, state, bits = torch.full((n, 1), 2, dtype=torch.long), None, []
        for _ in range(length):
            logits, state = self(token, state)
            token = torch.multinomial(torch.softmax(logits[:, -1], dim=-1), 1, generator=generator)
            bits.append(token)
        return torch.cat(bits, dim=1)


def main(argv: list[str] | None = None) -> ClockMonitor:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="runs-monitor")
    parser.add_argument("--max-steps", type=int, default=2000)
    parser.add_argument("--n-train", type=int, default=256, help="at most 512: the control set needs as many palindromes again")
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    torch.set_num_threads(1)
    rule = Palindromes(20)
    train = np.unique(rule.sample(4 * args.n_train, np.random.default_rng(0)), axis=0)[: args.n_train]
    model, generator = BitLSTM(), torch.Generator().manual_seed(1)
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
    monitor = ClockMonitor(
        rule,
        train,
        lambda n: model.sample(n, rule.length, generator),
        batch_size=32,
        protocol={"max_steps": args.max_steps, "eval_points": 20, "eval_samples": 512},
        output=args.output,
        model={"name": "bit-lstm", "num_parameters": sum(p.numel() for p in model.parameters())},
    )
    data = torch.as_tensor(train, dtype=torch.long)
    batches = np.random.default_rng(2)
    for step in range(args.max_steps + 1):
        if monitor.step(step):
            model.eval()
            state = monitor.evaluate(step)
            model.train()
            print(state.summary())
            if state.should_stop:
                break
        if step == args.max_steps:
            break
        batch = data[torch.as_tensor(batches.integers(0, len(data), 32))]
        logits, _ = model(torch.cat([torch.full((len(batch), 1), 2), batch[:, :-1]], dim=1))
        loss = nn.functional.cross_entropy(logits.reshape(-1, 2), batch.reshape(-1))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    record = monitor.finish(step)
    if record is not None:
        print(f"τ_rule {record.clocks['tau_rule'].display()}, τ_mem {record.clocks['tau_mem'].display()}, window {record.window.status}, stop: {record.stop_reason}")
    return monitor


if __name__ == "__main__":
    main()
