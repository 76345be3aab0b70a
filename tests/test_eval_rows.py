"""Typed eval rows: every committed metrics.jsonl reads back to its own bytes; a misspelt or ill-typed field is loud."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmark.core.records import EVAL_ROW_FIELDS, EvalRow, RecordError
from benchmark.run.rundir import METRICS_FILE, load_metrics, read_eval_rows

ROOT = Path(__file__).resolve().parent.parent


def test_every_committed_metrics_file_round_trips_to_its_bytes() -> None:
    files = sorted((ROOT / "leaderboard").rglob(METRICS_FILE))
    assert len(files) > 100  # the published studies, protocol 1.0 (v1), re-read 1.0 and 2.0
    for path in files:
        rows = read_eval_rows(path.parent)
        text = "".join(json.dumps(row.to_dict(), sort_keys=True, allow_nan=False) + "\n" for row in rows)
        assert text == path.read_text(), path
        assert [list(row.to_dict()) for row in rows] == [list(json.loads(line)) for line in path.read_text().splitlines()]  # key order kept
        assert load_metrics(path.parent) == [json.loads(line) for line in path.read_text().splitlines()]


def test_a_protocol_1_row_reads_with_the_2_0_fields_none_and_writes_back_without_them() -> None:
    line = {"step": 10, "valid": 0.5, "valid_ci": [0.4, 0.6], "mem": 0.25, "epoch": 2.0}
    row = EvalRow.from_dict(line)
    assert row.valid_ci == (0.4, 0.6) and row.noncopy_valid_norm is None and row.samples is None
    assert row.to_dict() == line and list(row.to_dict()) == list(line)


def test_unknown_keys_are_kept_and_a_misspelt_field_is_an_error() -> None:
    row = EvalRow.from_dict({"step": 3, "mem": 0.5, "future_curve": [1, 2]})
    assert row.extra == {"future_curve": [1, 2]} and row.to_dict() == {"step": 3, "mem": 0.5, "future_curve": [1, 2]}
    assert row.curve("mem") == 0.5 and row.curve("future_curve") == [1, 2] and row.curve("near") is None
    with pytest.raises(AttributeError):
        row.mem_exces  # noqa: B018
    with pytest.raises(KeyError, match="mem_exces"):
        row.curve("mem_exces")
    with pytest.raises(AttributeError, match="mem_exces"):
        row.replace(mem_exces=0.1)
    assert row.replace(near=0.1).to_dict() == {"step": 3, "mem": 0.5, "future_curve": [1, 2], "near": 0.1}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ({"step": 1, "valid": "0.5"}, "valid must be a finite number or null"),
        ({"step": 1, "valid_ci": [0.1]}, r"valid_ci must be \[low, high\] or null"),
        ({"step": 1, "samples": 2.5}, "samples must be an integer or null"),
        ({"step": 1, "nearest_train": [0.5, True]}, "nearest_train must be a list of fractions or null"),
        ({"step": -1}, "must be an eval row"),
        ([1, 2], "must be an eval row"),
    ],
)
def test_a_field_of_the_wrong_kind_names_the_source_and_the_field(line: object, message: str) -> None:
    with pytest.raises(RecordError, match=message):
        EvalRow.from_dict(line, "metrics.jsonl: line 4")


def test_the_reader_names_the_file_and_line_of_an_ill_typed_field(tmp_path: Path) -> None:
    (tmp_path / METRICS_FILE).write_text('{"step": 0, "mem": 0.0}\n{"step": 5, "mem": "lots"}\n')
    with pytest.raises(RecordError, match=r"metrics.jsonl: line 2: mem must be a finite number"):
        read_eval_rows(tmp_path)


def test_the_fields_are_the_dataclass_fields() -> None:
    names = [name for name in EvalRow.__dataclass_fields__ if name not in ("extra", "keys")]
    assert names == list(EVAL_ROW_FIELDS)
