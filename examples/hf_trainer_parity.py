"""A small GPT-2 trained by `transformers.Trainer` on parity, with both clocks read live by ClockMonitorCallback.

The training script is an ordinary Trainer script; the monitor is the marked lines. Training stops when
the protocol's stop rule fires (τ_rule and τ_mem held) or at --max-steps, and leaves a run folder under
--output that `python -m benchmark leaderboard <output>` renders. Nothing is downloaded.

    python examples/hf_trainer_parity.py --output runs-monitor
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from transformers import GPT2Config, GPT2LMHeadModel, Trainer, TrainingArguments

import tasks
from benchmark.integrations.hf import ClockMonitorCallback  # monitor
from benchmark.run.datasets import draw_sets


class Sequences(torch.utils.data.Dataset):
    """Training grids as token sequences: BOS (= num_symbols), then the cells in row-major order."""

    def __init__(self, samples: np.ndarray, bos: int) -> None:
        flat = torch.as_tensor(samples.reshape(len(samples), -1), dtype=torch.long)
        self.ids = torch.cat([torch.full((len(flat), 1), bos), flat], dim=1)

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {"input_ids": self.ids[index], "labels": self.ids[index]}


def main(argv: list[str] | None = None) -> Trainer:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="runs-monitor", help="runs folder the monitor writes its run folder into")
    parser.add_argument("--max-steps", type=int, default=1500)
    parser.add_argument("--n-train", type=int, default=32)
    parser.add_argument("--eval-points", type=int, default=20)
    parser.add_argument("--eval-samples", type=int, default=512)
    parser.add_argument("--keep-training", action="store_true", help="train the whole budget instead of stopping on the protocol's stop rule")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (1 like the suite; raise on a free machine)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    task = tasks.get("parity", G=2)  # 6×6 grids, groups of 2 bits of even parity
    train, _, _ = draw_sets(task, args.n_train, seed=0)
    bos = task.num_symbols
    config = GPT2Config(vocab_size=bos + 1, n_positions=task.size + 1, n_embd=64, n_layer=4, n_head=4, bos_token_id=bos, eos_token_id=bos)
    torch.manual_seed(0)
    model = GPT2LMHeadModel(config)
    training = TrainingArguments(
        output_dir=f"{args.output}/trainer",
        max_steps=args.max_steps,
        per_device_train_batch_size=32,
        learning_rate=1e-3,
        lr_scheduler_type="constant",
        logging_steps=100,
        save_strategy="no",
        report_to="none",
        use_cpu=True,
        disable_tqdm=True,
        seed=0,
    )
    trainer = Trainer(model=model, args=training, train_dataset=Sequences(train, bos))
    schedule = {"eval_points": args.eval_points, "eval_samples": args.eval_samples}  # monitor: the default job's schedule
    monitor = ClockMonitorCallback("parity", train, task_config={"G": 2}, protocol=schedule, output=args.output, model_name="hf-gpt2", stop_at_tau_mem=not args.keep_training)  # monitor
    trainer.add_callback(monitor.attach(trainer))  # monitor
    trainer.train()
    print(monitor.monitor.state.summary() if monitor.monitor else "no eval")  # monitor
    return trainer


if __name__ == "__main__":
    main()
