"""Re-reading protocol-1.0 runs with 2.0's clocks: the rule curve rebuilt from mem and novel_valid, versions kept apart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmark import cli
from benchmark.analysis.reclock import reclock_runs, reclocked_rows
from benchmark.core.records import EvalRow, RecordError, load_records, read_record
from benchmark.report import leaderboard
from benchmark.run.spec import ProtocolConfig

V1_ROOT = Path(__file__).resolve().parent.parent / "leaderboard" / "v1" / "runs"


def test_rule_curve_is_rebuilt_from_copies_and_novel_valid_with_the_floor() -> None:
    protocol = ProtocolConfig(eval_samples=512)  # floor max(64, 52) = 64 non-copies
    rows = [
        EvalRow(step=0, mem=0.0, novel_valid=0.0, valid=0.0),
        EvalRow(step=10, mem=0.5, novel_valid=0.45, valid=0.95),  # 256 non-copies, 230 of them valid
        EvalRow(step=20, mem=0.9, novel_valid=0.02, valid=0.92),  # 51 non-copies: below the floor
    ]
    out = reclocked_rows(rows, protocol, chance=0.0)
    assert [row.noncopy_count for row in out] == [512, 256, 51]
    assert out[1].noncopy_valid == pytest.approx(0.45 / 0.5, abs=1e-3)
    assert out[2].noncopy_valid is None and out[2].noncopy_valid_norm is None  # validity bought by copying is not read
    assert all(row.copy_excess_near is None for row in out)
    read = EvalRow.from_dict({"step": 5, "mem": 0.5, "novel_valid": 0.25, "valid": 0.75})
    assert list(reclocked_rows([read], protocol, chance=0.0)[0].to_dict()) == [
        "step",
        "mem",
        "novel_valid",
        "valid",
        "samples",
        "noncopy",
        "noncopy_count",
        "copy_excess_near",
        "noncopy_valid",
        "noncopy_valid_norm",
    ]


def test_the_committed_v1_study_re_reads_into_its_own_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_ids = sorted(path.name for path in V1_ROOT.iterdir())[:6]
    source = tmp_path / "v1"
    for run_id in run_ids:
        (source / run_id).mkdir(parents=True)
        for name in ("spec.json", "metrics.jsonl", "record.json"):
            (source / run_id / name).write_bytes((V1_ROOT / run_id / name).read_bytes())
    assert cli.main(["reclock", str(source), "--out", str(tmp_path / "re")]) == 0
    reread = {r.run_id: r for r in load_records([tmp_path / "re"])}
    assert sorted(reread) == run_ids
    for run_id, record in reread.items():
        original = read_record(source / run_id)
        assert record.protocol_version == "1.0" and record.schema_version == 2 and record.extra["reclocked"]["clocks_version"] == "2.0"
        assert record.clocks["tau_mem"] == original.clocks["tau_mem"]  # 1.0's copy clock is 2.0's
        assert not record.clocks["tau_mem_near"].applicable  # near-copies were not recorded
        assert record.window.status in ("open", "closed", "not learned", "censored")
        assert record.clocks["tau_rule"].metric == "noncopy_valid_norm"
    board = leaderboard.build(list(reread.values()) + load_records([source]))
    versions = {cell.group.clocks_version for cell in board.cells}
    assert versions == {"1.0", "2.0 (re-read)"}  # the two readings of one run never share a row
    assert len(board.cells) == 2 * len({(r.adapter_name, json.dumps(r.adapter_config, sort_keys=True), r.task_config["G"], r.n_train) for r in reread.values()})


def test_only_protocol_1_runs_are_re_read(tmp_path: Path) -> None:
    from synthetic_records import make_record, write_records

    write_records(tmp_path / "v2", [make_record(100, 1000)], with_metrics=True)
    with pytest.raises(RecordError, match="only 1.0 runs are re-read"):
        reclock_runs([tmp_path / "v2"], tmp_path / "out")
