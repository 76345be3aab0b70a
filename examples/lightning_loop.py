"""The plain-loop example's rule and LSTM (palindromes, the user's own verifier) trained by Lightning, watched by ClockMonitorLightning.

pip install -e ".[lightning]"
python examples/lightning_loop.py --output runs-monitor
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import lightning.pytorch as pl
import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from plain_loop import BitLSTM, Palindromes  # noqa: E402 - the plain-loop example's rule and model

from benchmark.integrations.lightning import ClockMonitorLightning  # noqa: E402


class PalindromeLM(pl.LightningModule):
    """BitLSTM with its next-bit loss as a LightningModule."""

    def __init__(self) -> None:
        super().__init__()
        self.net = BitLSTM()

    def training_step(self, batch: torch.Tensor, batch_idx: int) -> torch.Tensor:
        logits, _ = self.net(torch.cat([torch.full((len(batch), 1), 2), batch[:, :-1]], dim=1))
        return nn.functional.cross_entropy(logits.reshape(-1, 2), batch.reshape(-1))

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=3e-3)


def main(argv: list[str] | None = None) -> pl.Trainer:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="runs-monitor")
    parser.add_argument("--max-steps", type=int, default=2000)
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    torch.set_num_threads(1)
    rule = Palindromes(20)
    train = np.unique(rule.sample(1024, np.random.default_rng(0)), axis=0)[:256]
    module, generator = PalindromeLM(), torch.Generator().manual_seed(1)
    loader = torch.utils.data.DataLoader(torch.as_tensor(train, dtype=torch.long), batch_size=32, shuffle=True)
    monitor = ClockMonitorLightning(
        rule,
        train,
        lambda n: module.net.sample(n, rule.length, generator),
        batch_size=32,
        protocol={"eval_points": 20, "eval_samples": 512},
        output=args.output,
        model_name="bit-lstm-lightning",
        stop_at_tau_mem=True,
    )
    trainer = pl.Trainer(max_steps=args.max_steps, callbacks=[monitor], accelerator="cpu", logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(module, loader)
    if monitor.monitor is not None:
        print(monitor.monitor.state.summary())
    return trainer


if __name__ == "__main__":
    main()
