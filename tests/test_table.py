"""One table renderer: the terminal's compact table is the markdown table's columns, with the same texts and legends."""

from __future__ import annotations

import dataclasses

from synthetic_records import make_record

from benchmark.report import leaderboard, terminal
from benchmark.report.table import COLUMNS, FULL_BATCH_LEGEND, STEPS_LEGEND, steps_text


def _rows(markdown: str, first: str) -> list[dict[str, str]]:
    """The markdown table whose header starts with `first`, as one dict per row."""
    lines = [line for line in markdown.splitlines() if line.startswith("|")]
    start = next(i for i, line in enumerate(lines) if line.strip("|").split("|")[0].strip() == first)
    cells = [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in lines[start:]]
    return [dict(zip(cells[0], row)) for row in cells[2:] if len(row) == len(cells[0])]


def _default_job_like():
    """Two models with their own max_steps, as the default job: GPT at N = 32 (full-batch), DiT at N = 10, one stopped early."""
    gpt = dataclasses.replace(make_record(185, 489, adapter="memorizer", n_train=32, max_steps=1500), steps_trained=765, stopped_early=True)
    dit = make_record(88, None, adapter="uniform", n_train=10, max_steps=3000)
    return [gpt, dit]


def test_the_compact_columns_are_markdown_columns_with_the_same_texts() -> None:
    assert [c for c in COLUMNS if c in terminal.COMPACT_COLUMNS] == list(terminal.COMPACT_COLUMNS)  # a subset, in order
    records = _default_job_like() + [make_record(100 + s, 900 + 50 * s, seed=s, n_train=256) for s in range(3)]
    board = leaderboard.build(records)
    full = _rows(leaderboard.to_markdown(board), "adapter")
    compact = _rows(terminal.compact_table(board, width=200), "adapter")  # wide enough that nothing is cut
    assert len(full) == len(compact) == 3
    for wide, narrow in zip(full, compact):
        assert narrow == {column: wide[column] for column in terminal.COMPACT_COLUMNS}
    assert "(range" in terminal.compact_table(board, width=200) and "(range" not in terminal.compact_table(board)  # cut only to fit 100


def test_max_steps_reads_the_same_in_both_tables_and_never_as_a_task_suffix() -> None:
    board = leaderboard.build(_default_job_like())
    text, markdown = terminal.summary_text(board), leaderboard.to_markdown(board)
    for output in (text, markdown):
        assert "max_steps=" not in output
    steps = {row["adapter"]: row["steps trained"] for row in _rows(text, "adapter")}
    assert steps == {"memorizer": "765 of 1,500 (early stop)", "uniform": "3,000 of 3,000"}
    assert steps == {row["adapter"]: row["steps trained"] for row in _rows(markdown, "adapter")}
    assert STEPS_LEGEND in markdown


def test_the_dagger_is_explained_wherever_it_is_printed() -> None:
    board = leaderboard.build(_default_job_like())
    for output in (terminal.summary_text(board), terminal.compact_table(board)):
        assert "32†" in output and FULL_BATCH_LEGEND in output
    assert "32†" in leaderboard.to_markdown(board) and "N† marks full-batch cells" in leaderboard.to_markdown(board)
    none = leaderboard.build([make_record(100, 900, n_train=256)])
    assert "†" not in terminal.summary_text(none) and "†" not in terminal.compact_table(none)


def test_steps_text_is_the_median_of_the_seeds_with_who_stopped_early() -> None:
    assert steps_text([700, 900, 820], 1500, [True, True, True]) == "820 of 1,500 (early stop)"
    assert steps_text([700, 1500, 820], 1500, [True, False, True]) == "820 of 1,500 (early stop 2/3)"
    assert steps_text([3000], 3000, [False]) == "3,000 of 3,000"
    assert steps_text([700, 900], 1500, [True, True], notes=False) == "800 of 1,500"


def test_settings_that_differ_are_a_protocol_column_in_both_tables() -> None:
    board = leaderboard.build([make_record(100, 900, protocol={"theta_rule": theta}) for theta in (0.8, 0.9)])
    full = _rows(leaderboard.to_markdown(board), "adapter")
    compact = _rows(terminal.compact_table(board), "adapter")
    assert [row["protocol"] for row in compact] == [row["protocol"] for row in full]
    assert sorted(row["protocol"] for row in compact) == ["theta_rule=0.8", "theta_rule=0.9"]
    assert all(row["task"] == "parity" for row in compact)  # the task label is not made to carry the settings
