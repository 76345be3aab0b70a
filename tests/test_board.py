"""The typed board: built once from records, the JSON document follows from it, every view reads the same cells."""

from __future__ import annotations

import json

import pytest
from synthetic_records import make_record

from benchmark.analysis.board import Board, build_board, config_labels
from benchmark.analysis.groups import aggregate
from benchmark.report import leaderboard


def _records():
    records = [make_record(100 + 10 * s, 1000 + 100 * s, seed=s, n_train=n) for n in (32, 128) for s in range(3)]
    records += [make_record(200, None, seed=s, n_train="stream", max_steps=4000) for s in range(3)]
    return records


def test_cells_are_the_groups_in_order_with_labels_and_n_marks() -> None:
    records = _records()
    board = build_board(records)
    assert isinstance(board, Board)
    assert [cell.group.group_id for cell in board.cells] == [group.group_id for group in aggregate(records)]
    assert [cell.n_label for cell in board.cells] == ["32†", "128", "stream"]  # batch size 64: N = 32 is full-batch
    assert board.cells[0].label == "uniform · parity · N=32†"
    assert board.methods.num_records == 9 and board.methods.num_groups == 3
    assert board.records == tuple(sorted(r.run_id for r in records))


def test_the_json_is_the_boards_dict_and_holds_every_cell_prediction_and_fit() -> None:
    board = build_board(_records())
    data = json.loads(leaderboard.to_json(board))
    assert data == json.loads(json.dumps(board.to_dict()))
    assert [row["group_id"] for row in data["rows"]] == [cell.group.group_id for cell in board.cells]
    assert [row["adapter_label"] for row in data["rows"]] == [cell.adapter_label for cell in board.cells]
    assert [p["row"] for p in data["predictions"]] == [p.cell_label for p in board.predictions] == ["uniform · parity · N=32†", "uniform · parity · N=128"]
    assert data["prediction_summary"] == {"cells": 2, "known": 2, "agree": sum(bool(p.prediction.agrees) for p in board.predictions)}
    assert len(data["scaling"]["tau_mem_vs_n"]) == len(board.mem_fits) == 1
    assert data["scaling"]["tau_mem_vs_n"][0]["full_batch_points"] == board.mem_fits[0].fit.full_batch_points == 3


def test_a_misspelt_field_fails_loudly() -> None:
    board = build_board(_records())
    with pytest.raises(AttributeError):
        board.cells[0].adapter_lable  # noqa: B018


def test_config_labels_name_only_the_knobs_that_differ() -> None:
    labels = config_labels([("gpt", {"depth": 2, "width": 64}), ("gpt", {"depth": 4, "width": 64}), ("dit", {"depth": 4, "size": [4, 4]})])
    assert sorted(labels.values()) == ["dit", "gpt depth=2", "gpt depth=4"]
    assert config_labels([("dit", {"size": [4, 4]}), ("dit", {"size": [8, 8]})])[("dit", '{"size":[8,8]}')] == "dit size=8x8"
