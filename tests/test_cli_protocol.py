"""The protocol's knobs are visible before running: `run --help`, `list protocol`, and the resolved protocol at `--dry-run`."""

from __future__ import annotations

import dataclasses
import logging

import pytest

from benchmark import cli
from benchmark.run.spec import ProtocolConfig


def _defaults() -> dict[str, str]:
    """Each knob's default as the CLI prints it, read from the dataclass (not typed in by hand)."""
    return {field.name: str(field.default).lower() if isinstance(field.default, bool) else str(field.default) for field in dataclasses.fields(ProtocolConfig)}


def _knob_rows(text: str) -> dict[str, str]:
    """The lines of a knob table, by the knob each starts with."""
    names = _defaults()
    return {line.split()[0]: line for line in text.splitlines() if line.split() and line.split()[0] in names}


def _default_column(line: str, name: str) -> bool:
    """Whether the table line of knob `name` shows its default right after the type."""
    return f" {_defaults()[name]} " in line


def test_run_help_lists_every_protocol_knob_with_its_default(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        cli.main(["run", "--help"])
    assert stop.value.code == 0
    rows = _knob_rows(capsys.readouterr().out)
    assert set(rows) == set(_defaults()) and all(_default_column(rows[name], name) for name in rows)


def test_list_protocol_prints_the_same_knobs(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["list", "protocol"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("protocol 2.0") and "adapters (" not in out
    rows = _knob_rows(out)
    assert set(rows) == set(_defaults()) and all(_default_column(rows[name], name) for name in rows)


def test_dry_run_logs_each_runs_resolved_protocol(tmp_path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    argv = ["run", "--tasks", "parity:G=2", "--adapters", "oracle", "--n", "8", "16", "--max-steps", "500", "--protocol-args", "hold=3", "--output", str(tmp_path / "runs"), "--dry-run"]
    with caplog.at_level(logging.INFO, logger="benchmark.cli"):
        assert cli.main(argv) == 0
    run_ids = capsys.readouterr().out.split()  # stdout stays the run ids alone
    assert len(run_ids) == 2
    (line,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("protocol ")]
    expected = {**_defaults(), "max_steps": "500", "hold": "3"}
    assert line == "protocol 2.0 of all 2 runs: " + ", ".join(f"{name}={value}" for name, value in expected.items())
    assert not (tmp_path / "runs").exists()
