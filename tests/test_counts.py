"""Counts are printed with their noun in the right number: '1 run', never '1 runs', wherever the suite prints them."""

from __future__ import annotations

import dataclasses

from synthetic_records import make_record

from benchmark.core.display import count_text
from benchmark.report import leaderboard, terminal
from benchmark.run import progress


def test_count_text_picks_singular_only_for_one() -> None:
    assert [count_text(n, "run") for n in (0, 1, 2, 1500)] == ["0 runs", "1 run", "2 runs", "1500 runs"]
    assert count_text(1, "cell") == "1 cell" and count_text(3, "analysis", "analyses") == "3 analyses"


def test_one_run_is_one_run_in_the_terminal_and_the_markdown() -> None:
    board = leaderboard.build([make_record(100, 900)])
    assert terminal.summary_text(board).startswith("1 run, protocol")
    markdown = leaderboard.to_markdown(board)
    assert "- records: 1 run in 1 cell;" in markdown and "1 runs" not in markdown and "1 cells" not in markdown
    two = leaderboard.build([make_record(100, 900, seed=s) for s in range(2)])
    assert terminal.summary_text(two).startswith("2 runs, protocol") and "- records: 2 runs in 1 cell;" in leaderboard.to_markdown(two)


def test_a_run_of_one_step_says_step() -> None:
    record = dataclasses.replace(make_record(None, None, max_steps=1), steps_trained=1)
    assert "; 1 step in " in progress.run_summary(record)
    assert "; 2000 steps in " in progress.run_summary(make_record(150, 900))
