"""What a person watching a run reads: the last progress line follows the final eval, lines carry the loss and the model type."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from synthetic_records import make_record

from benchmark.run import progress
from benchmark.run.progress import PlainProgress
from benchmark.run.protocol import run
from benchmark.run.spec import resolve_spec

LOGGER = "benchmark.run.progress"


def test_the_last_line_waits_for_the_eval_after_the_last_step(caplog: pytest.LogCaptureFixture) -> None:
    """The protocol steps to max_steps, then evaluates: the last line must show that eval, not the one before."""
    now = [0.0]
    bar = PlainProgress("run", 3, 0, every_s=30.0, clock=lambda: now[0])
    with caplog.at_level(logging.INFO, logger=LOGGER):
        with bar:
            bar.set_postfix(valid="0.375")
            for _ in range(3):
                now[0] += 1.0
                bar.update(1)
            bar.set_postfix(valid="0.711")  # the eval at step 3
    lines = [r.getMessage() for r in caplog.records]
    assert lines[-1].startswith("run: step 3/3 (100 %), valid 0.711")
    assert not any("valid 0.375" in line and "3/3" in line for line in lines)


def test_an_early_stop_logs_its_last_eval_without_an_eta(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    bar = PlainProgress("run", 1000, 0, every_s=30.0, clock=lambda: now[0])
    with caplog.at_level(logging.INFO, logger=LOGGER):
        with bar:
            for _ in range(50):
                now[0] += 0.1
                bar.update(1)
            bar.set_postfix(valid="0.950")
    last = caplog.records[-1].getMessage()
    assert last.startswith("run: step 50/1000 (5 %), valid 0.950") and "steps/s" in last and "ETA" not in last


def test_an_interrupted_run_logs_no_final_line(caplog: pytest.LogCaptureFixture) -> None:
    bar = PlainProgress("run", 10, 0, every_s=30.0, clock=lambda: 0.0)
    with caplog.at_level(logging.INFO, logger=LOGGER), pytest.raises(KeyboardInterrupt), bar:
        bar.update(1)  # the first update logs
        bar.update(1)
        raise KeyboardInterrupt
    assert [r.getMessage() for r in caplog.records] == ["run: step 1/10 (10 %)"]


def test_eval_fields_show_validity_memorisation_and_loss() -> None:
    assert progress.eval_fields({"valid": 0.7109, "mem": None, "loss": None}) == {"valid": "0.711", "mem": "n/a"}
    assert progress.eval_fields({"valid": 0.5, "mem": 0.25, "loss": 0.693147}) == {"valid": "0.500", "mem": "0.250", "loss": "0.6931"}


def test_a_real_run_ends_on_its_final_eval_with_the_loss(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """metrics.jsonl's last row and the last progress line agree (validity and loss)."""
    spec = resolve_spec("parity", {"G": 2}, "gpt", {"depth": 1, "width": 16, "heads": 1}, 16, 0, {"max_steps": 30, "eval_points": 4, "eval_samples": 64, "early_stop": False})
    with caplog.at_level(logging.INFO, logger=LOGGER):
        run(spec, tmp_path, device="cpu")
    rows = [json.loads(line) for line in (tmp_path / spec.run_id / "metrics.jsonl").read_text().splitlines()]
    lines = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    last = lines[-1]
    assert last.startswith(f"{spec.run_id}: step 30/30 (100 %)")
    assert f"valid {rows[-1]['valid']:.3f}" in last and f"loss {rows[-1]['loss']:.4g}" in last


def test_model_type_names_the_run_in_progress_and_summary_lines() -> None:
    llama = resolve_spec("parity", {"G": 2}, "hf_causal_lm", {"model_type": "llama"}, 16, 0)
    qwen = resolve_spec("parity", {"G": 2}, "hf_causal_lm", {"model_type": "qwen2"}, 16, 0)
    gpt = resolve_spec("parity", {"G": 2}, "gpt", {}, 16, 0)
    assert progress.run_name(llama) == f"{llama.run_id} (llama)" and progress.run_name(qwen) == f"{qwen.run_id} (qwen2)"
    assert progress.run_name(gpt) == gpt.run_id
    line = progress.run_summary(make_record(150, 900, adapter="hf_causal_lm", adapter_knobs={"model_type": "qwen2"}))
    assert line.startswith("hf_causal_lm/qwen2 on parity N=32 seed 0: τ_rule 150, τ_mem 900")
