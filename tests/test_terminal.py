"""The terminal view: a compact table that fits 100 columns, plain progress lines off a terminal, a clean redirected log."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from synthetic_records import make_record

from benchmark.report import leaderboard, terminal
from benchmark.report import table as table_legend
from benchmark.run import progress
from benchmark.run.progress import PlainProgress

ROOT = Path(__file__).resolve().parent.parent
CONTROL = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]")  # every control character but tab and newline: \r, ESC, ...


def _board(records):
    return leaderboard.build(records)


def test_compact_table_fits_100_columns_with_intervals_long_labels_and_split_seeds() -> None:
    records = [make_record(None if seed == 2 else 120 + 30 * seed, 900 + 100 * seed, seed=seed, adapter="memorizer") for seed in range(3)]
    records += [make_record(100, 800, seed=s, adapter="memorizer", adapter_knobs={"batch_size": 128}, n_train=256) for s in range(3)]
    records += [make_record(None, None, seed=s, adapter="uniform", G=4, n_train=100000 + s) for s in range(2)]
    board = _board(records)
    table = terminal.compact_table(board)
    lines = table.splitlines()
    assert max(map(len, lines)) <= terminal.WIDTH, table
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    assert header == list(terminal.COMPACT_COLUMNS)
    assert "(2/3) |" in table  # disagreeing seeds say so
    assert "> 2000" in table  # censored clocks stay bounds
    labels = [line.split("|")[1].strip() for line in lines[2:] if line.startswith("|")]
    assert lines[-1] == table_legend.FULL_BATCH_LEGEND  # N = 32 ≤ batch 64 is printed as 32†: the mark is explained
    assert "[" not in table and "range" not in table  # intervals go before labels are cut
    assert sorted(label[-3:] for label in labels if label.startswith("mem")) == ["128", "=64"]  # the middle goes, the knob values stay
    text = terminal.summary_text(board, "runs/leaderboard.md")
    assert max(map(len, text.splitlines())) <= terminal.WIDTH and "runs/leaderboard.md" in text
    assert "No fit" not in text and "no fit" not in text


def test_labels_are_shortened_not_the_clocks_when_the_table_is_too_wide() -> None:
    knobs = {"batch_size": 64}
    records = [make_record(100, 800, adapter="memorizer", adapter_knobs=knobs, seed=s) for s in range(2)]
    board = _board(records)
    board = dataclasses.replace(board, cells=(dataclasses.replace(board.cells[0], adapter_label="memorizer " + "very_long_knob=1 " * 8), *board.cells[1:]))
    table = terminal.compact_table(board, width=80)
    assert max(map(len, table.splitlines())) <= 80 and "…" in table and "| 100 " in table


def test_scaling_lines_appear_only_when_there_is_a_fit() -> None:
    single = _board([make_record(100, 800, seed=s) for s in range(2)])
    assert terminal._fit_lines(single) == []
    scaling = _board([make_record(100, 400 * n / 32, n_train=n, seed=0, adapter="memorizer") for n in (32, 64, 128)])
    (line,) = [line for line in terminal._fit_lines(scaling) if line.startswith("τ_mem")]
    assert "memorizer on parity: 1.00" in line


def test_plain_progress_counts_training_time_only_and_waits_before_an_eta(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    now = [0.0]
    progress = PlainProgress("run", 1000, 0, every_s=30.0, clock=lambda: now[0])
    with caplog.at_level(logging.INFO, logger="benchmark.run.progress"):
        now[0] = 100.0  # a slow first eval: not training time
        progress.eval_done()
        for _ in range(10):
            now[0] += 0.1
            progress.update(1)
        assert "ETA" not in progress.line()  # 10 steps: too few to extrapolate
        for _ in range(90):
            now[0] += 0.1
            progress.update(1)
    line = progress.line()
    assert "step 100/1000 (10 %)" in line and "10 steps/s" in line and "ETA 1 min 30 s" in line  # 900 steps at 10/s
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 1  # the first update logs; the next comes 30 s of clock later, not per step


def test_duration_and_run_summary_formats() -> None:
    assert [progress.format_duration(s) for s in (3.21, 45, 185, 7440)] == ["3.2 s", "45 s", "3 min 05 s", "2 h 04 min"]
    line = progress.run_summary(make_record(150, 900))
    assert line.startswith("uniform on parity N=32 seed 0: τ_rule 150, τ_mem 900, window open; 2000 steps")


def test_a_redirected_run_leaves_no_control_characters_in_its_log(tmp_path: Path) -> None:
    """stderr to a file (not a terminal): log lines, no tqdm carriage returns or cursor moves; stdout fits 100 columns."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    argv = [
        sys.executable,
        "-m",
        "benchmark",
        "run",
        "--tasks",
        "parity:G=2",
        "--adapters",
        "memorizer",
        "oracle",
        "uniform",
        "--n",
        "16",
        "--seeds",
        "0",
        "1",
        "--max-steps",
        "200",
        "--eval-samples",
        "64",
        "--output",
        str(tmp_path / "runs"),
    ]
    with open(tmp_path / "err.log", "wb") as err, open(tmp_path / "out.txt", "wb") as out:
        done = subprocess.run(argv, cwd=tmp_path, env=env, stdout=out, stderr=err, timeout=300)
    log, shown = (tmp_path / "err.log").read_bytes(), (tmp_path / "out.txt").read_bytes()
    assert done.returncode == 0, log.decode()
    assert CONTROL.findall(log) == [] and CONTROL.findall(shown) == []
    text = log.decode()
    assert "6 runs: 0 finished already" in text and text.count(" on parity N=16 seed ") == 6  # one line per run as it finishes
    assert "step 200/200 (100 %)" in text  # plain progress lines
    assert max(map(len, shown.decode().splitlines())) <= terminal.WIDTH


def test_compact_table_names_the_model_type_and_prints_config_args_as_key_value() -> None:
    """Two hf_causal_lm model types (one with a config key passed through) read apart; no Python list in a label."""
    records = [
        make_record(150, 900, adapter="hf_causal_lm", adapter_knobs={"model_type": "llama", "num_key_value_heads": 2}),
        make_record(160, 950, adapter="hf_causal_lm", adapter_knobs={"model_type": "qwen2"}),
        make_record(170, 990, adapter="hf_causal_lm", adapter_knobs={"model_type": "qwen2", "width": 64}),
    ]
    table = terminal.compact_table(leaderboard.build(records))
    adapters = [line.split("|")[1].strip() for line in table.splitlines()[2:] if line.startswith("|")]
    assert [cell.split(" ")[0] for cell in adapters] == ["hf_causal_lm/llama", "hf_causal_lm/qwen2", "hf_causal_lm/qwen2"]  # kept whole when labels are cut
    assert adapters[2].endswith("=64") and adapters[1].endswith("=128") and "[" not in table  # the value that tells rows apart survives the cut and "'" not in table
    markdown = leaderboard.to_markdown(leaderboard.build(records))
    assert "hf_causal_lm/llama config_args=num_key_value_heads=2 width=128" in markdown and "hf_causal_lm/qwen2 config_args=— width=64" in markdown
    alone = terminal.compact_table(leaderboard.build(records[1:2]))
    assert "hf_causal_lm/qwen2" in alone  # the model type shows even when every row shares it
