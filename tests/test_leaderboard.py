"""Leaderboard rendering: methods header, one row per setting, censored clocks as bounds, scaling, JSON schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from synthetic_records import make_record, write_records

from benchmark.core.records import RecordError, load_records
from benchmark.report import leaderboard


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _table_rows(markdown: str, *header_start: str) -> list[list[str]]:
    """Cells of the markdown table whose header row starts with the cells `header_start`."""
    lines = markdown.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|") and _cells(line)[: len(header_start)] == list(header_start))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append(_cells(line))
    return rows


def _header(markdown: str, first: str) -> list[str]:
    return _cells(next(line for line in markdown.splitlines() if line.startswith("|") and _cells(line)[0] == first))


def test_markdown_has_methods_header_rows_and_censored_bounds() -> None:
    records = [make_record(100, 1000 + 100 * s, seed=s, num_parameters=203_000) for s in range(3)]
    records += [make_record(60, None, seed=s, n_train=128) for s in range(5)]
    markdown = leaderboard.to_markdown(leaderboard.build(records))
    for fact in (
        "protocol version: 2.0",
        "validity of non-copies (chance-normalised) ≥ 0.9",
        "mem − control ≥ 0.1",
        "hold for 2",
        "log, 30 evals",
        "M = 1024",
        "64 first",
        "package version: 0.1.0",
        "records: 8 runs in 2 cells",
        "range below 90 %",
    ):
        assert fact in markdown, fact
    assert _header(markdown, "adapter") == list(leaderboard.COLUMNS)
    rows = _table_rows(markdown, "adapter", "task", "complexity", "N", "params")
    assert len(rows) == 2
    first = dict(zip(leaderboard.COLUMNS, rows[0]))
    assert (first["adapter"], first["task"], first["complexity"], first["N"], first["params"], first["seeds"]) == ("uniform", "parity", "2", "32†", "203k", "3")
    assert "protocol" not in _header(markdown, "adapter")
    assert first["τ_rule"] == "100 (all 3 runs)" and first["τ_mem"] == "1100 (range 1000–1200, 75 %)"
    assert (first["window"], first["log-window"], first["status"]) == ("1000", "1.04", "open")
    assert first["τ_mem (epochs)"].startswith("2200 (range")
    second = dict(zip(leaderboard.COLUMNS, rows[1]))
    assert second["N"] == "128"  # not full-batch: no mark
    assert second["τ_mem"] == "> 2000 (all 5 runs)" and second["status"] == "open"  # five seeds: a 93 % interval
    assert second["window"] == "> 1940"
    assert "predicted windows" not in markdown  # no stream cell: nothing to predict, no empty section
    single = leaderboard.to_markdown(leaderboard.build(records[:3]))
    assert "## Scaling" not in single  # one N, one complexity: nothing to fit, no "no fit" noise


def test_labels_show_only_the_knobs_that_differ() -> None:
    records = [make_record(100, 1000, adapter_knobs={"batch_size": b}, batch_size=b) for b in (32, 64)]
    board = leaderboard.build(records)
    assert sorted(cell.adapter_label for cell in board.cells) == ["uniform batch_size=32", "uniform batch_size=64"]
    assert {cell.task_label for cell in board.cells} == {"parity"}


def test_scaling_section_reports_alpha_with_its_n_range_interval_and_censored_runs() -> None:
    records = [make_record(50, 10 * n * (1 + 0.05 * s), seed=s, n_train=n) for n in (16, 32, 64, 128) for s in range(3)]
    records.append(make_record(50, None, seed=3, n_train=128, max_steps=2000))
    markdown = leaderboard.to_markdown(leaderboard.build(records))
    (row,) = _table_rows(markdown, "adapter", "task", "complexity", "N range")
    assert row[3] == "16–128 (4 values)" and row[4] == "9 of 13"  # N ≤ 64 = B is full-batch
    alpha = float(row[5].split()[0])
    # The censored run (> 2000 at N = 128, where the others copy by ~1,300–1,500) is kept as a bound and pulls α up a little.
    assert alpha == pytest.approx(1.0, abs=0.08) and row[5].endswith("(95 %)")
    assert row[6] == "13 (1)"
    assert "### τ_rule against complexity" not in markdown


def test_tau_rule_against_complexity_table() -> None:
    records = [make_record(10 ** (1 + 0.5 * G), 5000, seed=s, G=G, max_steps=20000) for G in (2, 3, 4) for s in range(2)]
    markdown = leaderboard.to_markdown(leaderboard.build(records))
    (row,) = _table_rows(markdown, "adapter", "task", "N", "median τ_rule by complexity")
    assert row[3] == "2: 100; 3: 316; 4: 1000"
    assert row[4].startswith("0.50")


def test_predicted_windows_section_lists_each_cell_and_the_agreement() -> None:
    records = [make_record(200, None, seed=s, n_train="stream", max_steps=4000) for s in range(3)]
    records += [make_record(150, 900, seed=s, n_train=64) for s in range(3)]
    records += [make_record(100, 150, seed=s, n_train=8) for s in range(3)]
    board = leaderboard.build(records)
    assert board.prediction_summary.to_dict() == {"cells": 2, "known": 2, "agree": 1}
    markdown = leaderboard.to_markdown(board)
    assert "## Intrinsic rule clock and predicted windows" in markdown
    rows = {row[0]: row for row in _table_rows(markdown, "cell", "τ_rule^∞ (stream)")}
    assert rows["uniform · parity · N=64†"][3:] == ["open", "open", "yes"]
    assert rows["uniform · parity · N=8†"][3:] == ["not open", "open", "no"]
    assert "matched the measured window in 1 of 2 cells" in markdown
    stream_row = dict(zip(leaderboard.COLUMNS, _table_rows(markdown, "adapter", "task", "complexity", "N", "params")[-1]))
    assert stream_row["N"] == "stream" and stream_row["τ_mem"] == "n/a" and stream_row["status"] == "stream"


def test_json_has_schema_version_and_is_stable(tmp_path: Path) -> None:
    records = [make_record(100, 1000 + s, seed=s) for s in range(2)]
    board = leaderboard.build(records)
    text = leaderboard.to_json(board)
    data = json.loads(text)
    assert data["schema_version"] == leaderboard.LEADERBOARD_SCHEMA_VERSION
    assert data["records"] == sorted(r.run_id for r in records)
    assert data["rows"][0]["clocks"]["tau_mem"]["median"] == 1000.5
    assert text == leaderboard.to_json(leaderboard.build(list(reversed(records))))  # order-independent
    markdown = leaderboard.write(board, tmp_path / "lb" / "README.md", tmp_path / "lb" / "board.json")
    assert (tmp_path / "lb" / "README.md").read_text() == markdown
    assert json.loads((tmp_path / "lb" / "board.json").read_text()) == data


def test_load_records_reads_run_folders_and_names_bad_files(tmp_path: Path) -> None:
    records = [make_record(100, 1000, seed=s) for s in range(2)]
    write_records(tmp_path / "runs", records)
    assert sorted(r.run_id for r in load_records([tmp_path / "runs"])) == sorted(r.run_id for r in records)
    with pytest.raises(RecordError, match="nothing: no such folder"):
        load_records([tmp_path / "nothing"])
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(RecordError, match="no record.json under"):
        load_records([empty])
    bad = tmp_path / "runs" / records[0].run_id / "record.json"
    bad.write_text("{not json")
    with pytest.raises(RecordError, match="record.json: unreadable record"):
        load_records([tmp_path / "runs"])


def test_rows_that_differ_only_in_protocol_get_a_protocol_column() -> None:
    records = [make_record(100, 1000, protocol={"theta_rule": theta}) for theta in (0.8, 0.9)]
    markdown = leaderboard.to_markdown(leaderboard.build(records))
    assert _header(markdown, "adapter")[-1] == "protocol"
    rows = _table_rows(markdown, "adapter", "task", "complexity", "N", "params")
    assert sorted(row[-1] for row in rows) == ["theta_rule=0.8", "theta_rule=0.9"]


def test_max_steps_is_shown_in_the_steps_trained_column_not_as_a_protocol_label() -> None:
    records = [make_record(100, 1000, max_steps=m) for m in (2000, 20000)]
    markdown = leaderboard.to_markdown(leaderboard.build(records))
    assert "protocol" not in _header(markdown, "adapter") and _header(markdown, "adapter")[-1] == "steps trained"
    rows = _table_rows(markdown, "adapter", "task", "complexity", "N", "params")
    assert sorted(row[-1] for row in rows) == ["2,000 of 2,000", "20,000 of 20,000"]
    assert "up to 2000, 20000 (mixed) steps" in markdown


def test_protocol_versions_get_their_own_rows_and_say_so() -> None:
    from benchmark.core.records import Record

    v2 = make_record(100, 1000)
    data = v2.to_dict()
    data.update(protocol_version="1.0", schema_version=1, spec={**data["spec"], "protocol": {**data["spec"]["protocol"], "version": "1.0"}})
    data["window"] = {"status": "vanished", "steps": -1.0, "log_window": None, "lower": None, "upper": None}
    data.pop("stop_reason")
    v1 = Record.from_dict(data)
    markdown = leaderboard.to_markdown(leaderboard.build([v1, v2]))
    rows = _table_rows(markdown, "adapter", "task", "complexity", "N", "params")
    assert len(rows) == 2 and _header(markdown, "adapter")[-1] == "protocol"
    assert sorted(row[-1] for row in rows) == ["version=1.0", "version=2.0"]
    assert "protocol version: 1.0, 2.0 (mixed)" in markdown
