"""The monitor's examples run end to end and leave run folders the leaderboard reads; a broken sampler never stops a Trainer."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from benchmark.core.records import load_records
from benchmark.run.schedule import eval_steps

ROOT = Path(__file__).resolve().parent.parent


def _example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", ROOT / "examples" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _single_record(output: Path) -> dict:
    (path,) = output.glob("*/record.json")
    return json.loads(path.read_text())


def test_plain_loop_example_with_a_user_verifier_leaves_a_monitor_record(tmp_path: Path) -> None:
    monitor = _example("plain_loop").main(["--output", str(tmp_path), "--max-steps", "40"])
    record = _single_record(tmp_path)
    assert record["origin"] == "monitor" and record["spec"]["task"]["name"] == "palindromes"
    assert len(monitor.control) == 256  # the user's exact sampler gave the control set
    assert [row["step"] for row in monitor.rows] == monitor.schedule[: len(monitor.rows)]
    (loaded,) = load_records([tmp_path])
    assert loaded.clocks["tau_rule"].step is not None and loaded.clocks["tau_mem"].step is not None


def test_hf_trainer_example_runs_and_renders_in_the_leaderboard(tmp_path: Path) -> None:
    trainer = _example("hf_trainer_parity").main(["--output", str(tmp_path), "--max-steps", "12", "--eval-points", "3", "--eval-samples", "64"])
    record = _single_record(tmp_path)
    assert record["origin"] == "monitor" and record["model"]["trainer"] == "transformers.Trainer"
    assert record["steps_trained"] == trainer.state.global_step == 12
    logged = [entry for entry in trainer.state.log_history if "clocks/copy_rate" in entry]
    assert [entry["step"] for entry in logged] == eval_steps(12, 3).tolist()  # through trainer.log, at the protocol's schedule
    board = subprocess.run([sys.executable, "-m", "benchmark", "leaderboard", str(tmp_path)], capture_output=True, text=True, cwd=ROOT, check=True)
    assert "hf-gpt2" in board.stdout


def test_a_sampler_raising_inside_the_trainer_callback_leaves_training_running(tmp_path: Path) -> None:
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel, Trainer, TrainingArguments

    from benchmark.integrations.hf import ClockMonitorCallback

    hf = _example("hf_trainer_parity")
    train = np.random.default_rng(0).integers(0, 2, size=(8, 6, 6)).astype(np.uint8)

    def broken(n: int) -> np.ndarray:
        raise RuntimeError("sampler broke")

    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(vocab_size=3, n_positions=37, n_embd=16, n_layer=1, n_head=2))
    arguments = TrainingArguments(output_dir=str(tmp_path / "t"), max_steps=6, per_device_train_batch_size=4, report_to="none", use_cpu=True, save_strategy="no", disable_tqdm=True)
    trainer = Trainer(model=model, args=arguments, train_dataset=hf.Sequences(train, 2))
    callback = ClockMonitorCallback("parity", train, broken, task_config={"G": 2}, protocol={"eval_points": 3})
    trainer.add_callback(callback.attach(trainer))
    trainer.train()
    assert trainer.state.global_step == 6
    assert callback.monitor is not None and list(callback.monitor.state.failed_evals) == eval_steps(6, 3).tolist()
    failures = [entry["clocks/failed_evals"] for entry in trainer.state.log_history if "clocks/failed_evals" in entry]
    assert failures == [float(k) for k in range(1, len(eval_steps(6, 3)) + 1)]


@pytest.mark.slow
def test_hf_trainer_example_reads_both_clocks_on_its_full_budget(tmp_path: Path) -> None:
    trainer = _example("hf_trainer_parity").main(["--output", str(tmp_path)])
    record = _single_record(tmp_path)
    for name in ("tau_rule", "tau_mem"):
        clock = record["clocks"][name]
        assert clock["step"] is not None and (clock["censored"] or clock["step"] <= trainer.state.global_step)
    assert record["stop_reason"] is not None or record["steps_trained"] == 1500


def test_adding_the_monitor_to_the_trainer_script_takes_at_most_ten_lines() -> None:
    lines = (ROOT / "examples" / "hf_trainer_parity.py").read_text().splitlines()
    marked = [line for line in lines if line.rstrip().endswith("# monitor") or "# monitor:" in line]
    assert 3 <= len(marked) <= 10


def test_lightning_example_reads_the_clocks_at_the_schedule_and_logs_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("lightning")
    monkeypatch.syspath_prepend(str(ROOT / "examples"))
    trainer = _example("lightning_loop").main(["--output", str(tmp_path), "--max-steps", "12"])
    (callback,) = [c for c in trainer.callbacks if type(c).__name__ == "ClockMonitorLightning"]
    assert [row["step"] for row in callback.monitor.rows] == eval_steps(12, 20).tolist()
    assert "clocks/copy_rate" in trainer.callback_metrics  # logged through the module's log_dict
    record = _single_record(tmp_path)
    assert record["origin"] == "monitor" and record["model"]["trainer"] == "lightning.Trainer" and record["steps_trained"] == 12


def test_best_innovation_keeps_the_most_novel_valid_model_inside_the_open_window_only(tmp_path: Path) -> None:
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    from benchmark.core.records import Clock
    from benchmark.integrations.hf import ClockMonitorCallback
    from benchmark.run.monitor import MonitorState

    def reading(step: int, novel_valid: float, rule_fired: bool, mem_fired: bool) -> MonitorState:
        rule = Clock(step=5.0, censored=not rule_fired, epoch=None, metric="noncopy_valid_norm", threshold=0.9)
        mem = Clock(step=50.0, censored=not mem_fired, epoch=None, metric="mem_excess", threshold=0.1)
        return MonitorState(step, 3, (), 0.95, 0.0, 0.0, novel_valid, rule, mem, None, None)

    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(vocab_size=3, n_positions=37, n_embd=16, n_layer=1, n_head=2))
    callback = ClockMonitorCallback("parity", np.zeros((1, 6, 6), dtype=np.uint8))
    callback.best_dir = tmp_path / "best_innovation"
    for step, novel, rule_fired, mem_fired in [(1, 0.99, False, False), (2, 0.5, True, False), (3, 0.8, True, False), (4, 0.7, True, False), (5, 0.95, True, True)]:
        callback.keep_best_innovation(model, reading(step, novel, rule_fired, mem_fired))
    kept = json.loads((callback.best_dir / "innovation.json").read_text())
    assert kept["step"] == 3 and kept["novel_valid"] == 0.8  # before τ_rule and after τ_mem do not count
    assert (callback.best_dir / "config.json").is_file()
