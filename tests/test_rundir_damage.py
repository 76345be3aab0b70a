"""Damaged run directories: never loaded, never a wrong record, never a traceback; one line naming the file and the way out.

Covers the checkpoint (unreadable, another run's, an unsafe pickle, an old format, off-schedule), the
record and the metrics of finished runs (in `run`, `leaderboard` and `plot`), folders where files should
be, writes that fail (read-only, disk full), and the permissions run files are created with.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import stat
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import benchmark.run.rundir as rundir
from benchmark import cli
from benchmark.core.records import read_record
from benchmark.run.protocol import run, run_dir
from benchmark.run.rundir import CHECKPOINT_FILE, RunDirError, load_state, save_checkpoint
from benchmark.run.spec import resolve_spec
from tests.test_protocol import without_timings

PROTOCOL = {"max_steps": 10, "eval_points": 3, "eval_samples": 16}


def spec_of(seed: int = 0, adapter: str = "memorizer"):
    return resolve_spec("parity", {}, adapter, {}, 8, seed, PROTOCOL)


def cli_run(output: Path, *extra: str, seeds: tuple[int, ...] = (0,)) -> list[str]:
    return [
        "run", "--tasks", "parity", "--adapters", "memorizer", "--n", "8", "--seeds", *map(str, seeds), "--max-steps", "10",
        "--protocol-args", "eval_points=3,eval_samples=16", "--output", str(output), "--quiet", *extra,
    ]  # fmt: skip


def error_lines(captured: Any) -> list[str]:
    assert "Traceback" not in captured.err, captured.err
    return [line for line in captured.err.splitlines() if line.startswith("error:")]


def unfinished(output: Path, seed: int = 0) -> Path:
    """A run stopped after its last eval but before its record: its checkpoint is what a rerun resumes from."""
    spec = spec_of(seed)
    run(spec, output, device="cpu", quiet=True, keep_checkpoints=True)
    directory = run_dir(output, spec)
    (directory / "record.json").unlink()
    return directory


# --- checkpoints ---------------------------------------------------------------------------------


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty"])
def test_an_unreadable_checkpoint_is_refused_with_the_way_out_and_restart_recovers(tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: str) -> None:
    directory = unfinished(tmp_path / "runs")
    checkpoint = directory / CHECKPOINT_FILE
    data = checkpoint.read_bytes()
    checkpoint.write_bytes({"garbage": os.urandom(512), "truncated": data[: len(data) // 2], "empty": b""}[damage])
    assert cli.main(cli_run(tmp_path / "runs")) == cli.EXIT_USER_ERROR
    (line,) = error_lines(capsys.readouterr())
    assert f"{checkpoint}: cannot read checkpoint" in line and f"--restart-run {directory.name}" in line and f"delete the folder {directory}" in line
    assert not (directory / "record.json").exists()  # refused, not loaded, nothing written
    assert cli.main(cli_run(tmp_path / "runs", "--restart-run", directory.name)) == 0
    capsys.readouterr()
    clean = run(spec_of(), tmp_path / "clean", device="cpu", quiet=True)
    assert without_timings(read_record(directory)) == without_timings(clean)
    assert not (directory / "checkpoints").exists()  # the restart removed what the damaged run had kept


def test_another_runs_checkpoint_is_refused_never_loaded(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mine, theirs = unfinished(tmp_path / "runs", seed=0), unfinished(tmp_path / "runs", seed=1)
    shutil.copyfile(theirs / CHECKPOINT_FILE, mine / CHECKPOINT_FILE)  # another seed's state: once silently loaded
    assert cli.main(cli_run(tmp_path / "runs")) == cli.EXIT_USER_ERROR
    (line,) = error_lines(capsys.readouterr())
    assert f"{mine / CHECKPOINT_FILE} belongs to run '{theirs.name}'" in line and "refusing to load it" in line
    assert not (mine / "record.json").exists()


class _Exploit:
    def __reduce__(self):
        return (os.system, (f"touch {os.environ['EXPLOIT_MARKER']}",))


def test_a_checkpoint_is_never_unpickled_beyond_tensors_and_plain_values(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    directory = unfinished(tmp_path / "runs")
    marker = tmp_path / "exploited"
    monkeypatch.setenv("EXPLOIT_MARKER", str(marker))
    torch.save({"format": 2, "payload": _Exploit()}, directory / CHECKPOINT_FILE)
    with pytest.raises(RunDirError, match="cannot read checkpoint"):
        run(spec_of(), tmp_path / "runs", device="cpu", quiet=True)
    assert not marker.exists()
    old = {"step": 3, "rows": [], "sampler": {"order": np.arange(8)}}  # format 1: a pickle with numpy arrays
    torch.save(old, directory / CHECKPOINT_FILE)
    with pytest.raises(RunDirError, match="cannot read checkpoint|not a checkpoint of format 2"):
        run(spec_of(), tmp_path / "runs", device="cpu", quiet=True)


def test_a_checkpoint_off_the_specs_schedule_is_refused(tmp_path: Path) -> None:
    directory = unfinished(tmp_path / "runs")
    spec = spec_of()
    state = load_state(directory / CHECKPOINT_FILE, spec)
    state["rows"] = state["rows"][:1] + state["rows"][2:]  # an eval missing: resuming would mis-index the schedule
    save_checkpoint(directory, state, spec=spec)
    with pytest.raises(RunDirError, match="eval rows do not match this spec's schedule"):
        run(spec, tmp_path / "runs", device="cpu", quiet=True)


def test_checkpoint_state_round_trips_numpy_and_refuses_what_cannot_load_safely(tmp_path: Path) -> None:
    spec = spec_of()
    state = {"sampler": {"order": np.arange(5), "rng": {"state": 2**100}}, "scalar": np.float32(0.5), "pairs": (1, [2.0])}
    decoded = rundir.decode_state(rundir.encode_state(state))
    assert np.array_equal(decoded["sampler"]["order"], np.arange(5)) and decoded["sampler"]["order"].dtype == np.int64
    assert decoded["scalar"] == 0.5 and decoded["pairs"] == (1, [2.0]) and decoded["sampler"]["rng"]["state"] == 2**100
    with pytest.raises(TypeError, match=r"state\['bad'\]: set cannot go in a checkpoint"):
        rundir.encode_state({"bad": {1, 2}})
    tmp_path.mkdir(exist_ok=True)
    save_checkpoint(tmp_path, {"x": np.ones(2)}, spec=spec)
    raw = torch.load(tmp_path / CHECKPOINT_FILE, weights_only=True)  # what any reader can load safely
    assert raw["run_id"] == spec.run_id and raw["spec_sha256"] == spec.digest and raw["format"] == rundir.CHECKPOINT_FORMAT


# --- records and metrics of finished runs --------------------------------------------------------

RECORD_DAMAGE = {
    "garbage": lambda text: "\x00\x13 not json",
    "truncated": lambda text: text[: len(text) // 2],
    "empty object": lambda text: "{}",
    "clocks null": lambda text: json.dumps({**json.loads(text), "clocks": None}),
    "a missing clock": lambda text: json.dumps({**json.loads(text), "clocks": {k: v for k, v in json.loads(text)["clocks"].items() if k != "tau_mem"}}),
    "a step as a string": lambda text: json.dumps({**json.loads(text), "clocks": {**json.loads(text)["clocks"], "tau_rule": {**json.loads(text)["clocks"]["tau_rule"], "step": "12"}}}),
    "a list": lambda text: "[1, 2]",
}


@pytest.mark.parametrize("damage", list(RECORD_DAMAGE))
def test_a_damaged_record_is_one_line_in_run_leaderboard_and_plot_and_the_sweep_goes_on(tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: str) -> None:
    pytest.importorskip("matplotlib")
    runs = tmp_path / "runs"
    assert cli.main(cli_run(runs, seeds=(0, 1))) == 0
    capsys.readouterr()
    damaged = run_dir(runs, spec_of(0)) / "record.json"
    damaged.write_text(RECORD_DAMAGE[damage](damaged.read_text()))
    assert cli.main(cli_run(runs, seeds=(0, 1, 2))) == cli.EXIT_USER_ERROR  # seed 2 is new: it still runs
    captured = capsys.readouterr()
    (line,) = error_lines(captured)
    assert str(damaged) in line and f"--restart-run {damaged.parent.name}" in line
    assert "| memorizer" in captured.out and (run_dir(runs, spec_of(2)) / "record.json").is_file()
    for argv in (["leaderboard", str(runs)], ["plot", str(runs), "--out", str(tmp_path / "figures")]):
        assert cli.main(argv) == cli.EXIT_USER_ERROR
        (line,) = error_lines(capsys.readouterr())
        assert str(damaged) in line


@pytest.mark.parametrize(
    "damage, fragment",
    [
        (b'{"step": 0}\n[1, 2]\n', "line 2 must be an eval row"),
        (b'{"step": "0"}\n', "line 1 must be an eval row"),
        (b'{"step": 0}\n\xff\xfe\n', "not UTF-8"),
        (b'{"step": 0}\nnot json\n', "line 2 is not JSON"),
    ],
)
def test_damaged_metrics_are_one_line_in_run_and_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: bytes, fragment: str) -> None:
    pytest.importorskip("matplotlib")
    runs = tmp_path / "runs"
    assert cli.main(cli_run(runs)) == 0
    capsys.readouterr()
    metrics = run_dir(runs, spec_of(0)) / "metrics.jsonl"
    metrics.write_bytes(damage)
    for argv in (cli_run(runs), ["plot", str(runs), "--out", str(tmp_path / "figures")]):
        assert cli.main(argv) == cli.EXIT_USER_ERROR
        (line,) = error_lines(capsys.readouterr())
        assert str(metrics) in line and fragment in line


def test_a_record_its_metrics_contradict_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The old finish/start race left a record of one training beside the metrics of another: it must not pass for a run."""
    runs = tmp_path / "runs"
    assert cli.main(cli_run(runs)) == 0
    capsys.readouterr()
    metrics = run_dir(runs, spec_of(0)) / "metrics.jsonl"
    metrics.write_text("".join(metrics.read_text().splitlines(keepends=True)[:2]))
    assert cli.main(cli_run(runs)) == cli.EXIT_USER_ERROR
    (line,) = error_lines(capsys.readouterr())
    assert "record.json ends at step" in line and "but metrics.jsonl at step" in line and "--restart-run" in line
    assert cli.main(cli_run(runs, "--restart-run", metrics.parent.name)) == 0


def test_restart_run_must_name_a_run_of_the_sweep(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(cli_run(tmp_path / "runs", "--restart-run", "nope_123")) == cli.EXIT_USER_ERROR
    (line,) = error_lines(capsys.readouterr())
    assert "--restart-run nope_123: not a run of this sweep" in line


# --- the folder itself ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["record.json", "checkpoint.pt", "metrics.jsonl", "spec.json", ".lock"])
def test_a_folder_where_a_file_should_be_is_one_line_before_training(tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str) -> None:
    directory = run_dir(tmp_path / "runs", spec_of())
    (directory / name).mkdir(parents=True)
    assert cli.main(cli_run(tmp_path / "runs")) == cli.EXIT_USER_ERROR
    (line,) = error_lines(capsys.readouterr())
    assert f"{directory / name} is a folder" in line
    assert not (directory / "metrics.jsonl").is_file()


def test_a_file_where_the_run_folder_should_be_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    directory = run_dir(tmp_path / "runs", spec_of())
    directory.parent.mkdir(parents=True)
    directory.write_text("")
    assert cli.main(cli_run(tmp_path / "runs")) == cli.EXIT_USER_ERROR
    (line,) = error_lines(capsys.readouterr())
    assert f"{directory} is a file, expected a run folder" in line


def test_a_garbage_spec_json_is_refused_with_the_way_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    directory = unfinished(tmp_path / "runs")
    (directory / "spec.json").write_text("{oops")
    assert cli.main(cli_run(tmp_path / "runs")) == cli.EXIT_USER_ERROR
    (line,) = error_lines(capsys.readouterr())
    assert "spec.json: unreadable spec" in line and "--restart-run" in line


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_run_folder_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    directory = unfinished(tmp_path / "runs")
    directory.chmod(0o555)
    try:
        assert cli.main(cli_run(tmp_path / "runs")) == cli.EXIT_USER_ERROR
        (line,) = error_lines(capsys.readouterr())
        assert line.startswith("error: cannot write") and str(directory) in line
    finally:
        directory.chmod(0o755)


def test_a_write_refused_by_the_file_system_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Read-only (EACCES) when creating files in the run folder; tested by fault injection, as the suite may run as root."""
    real = rundir.tempfile.mkstemp

    def refuse(*args: Any, **kwargs: Any) -> Any:
        if CHECKPOINT_FILE in str(kwargs.get("prefix", "")):
            raise PermissionError(errno.EACCES, "Permission denied", str(kwargs["dir"]))
        return real(*args, **kwargs)

    monkeypatch.setattr(rundir.tempfile, "mkstemp", refuse)
    assert cli.main(cli_run(tmp_path / "runs")) == cli.EXIT_USER_ERROR
    (line,) = error_lines(capsys.readouterr())
    assert line == f"error: cannot write {run_dir(tmp_path / 'runs', spec_of())}: Permission denied"


def test_a_full_disk_is_one_line_naming_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def disk_full(*args: Any, **kwargs: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", disk_full)
    assert cli.main(cli_run(tmp_path / "runs")) == cli.EXIT_USER_ERROR
    (line,) = error_lines(capsys.readouterr())
    directory = run_dir(tmp_path / "runs", spec_of())
    assert line == f"error: cannot write {directory / CHECKPOINT_FILE}: No space left on device"
    assert not list(directory.glob(".*.tmp"))  # the temp file went with the failure


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_run_files_get_the_permissions_the_umask_allows(tmp_path: Path, umask: int, mode: int) -> None:
    previous = os.umask(umask)
    try:
        run(spec_of(), tmp_path, device="cpu", quiet=True, keep_checkpoints=True)
    finally:
        os.umask(previous)
    directory = run_dir(tmp_path, spec_of())
    for path in [directory / name for name in ("spec.json", "metrics.jsonl", "record.json", CHECKPOINT_FILE)] + list((directory / "checkpoints").iterdir()):
        assert stat.S_IMODE(path.stat().st_mode) == mode, path


# --- basins on a folder it did not write ---------------------------------------------------------


def test_basins_refuses_a_folder_it_cannot_trust(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    spec = resolve_spec("parity", {}, "dit", {"depth": 1, "width": 16, "heads": 2, "sampling_steps": 2}, 4, 0, {"max_steps": 2, "eval_points": 1, "eval_samples": 8})
    run(spec, tmp_path / "runs", device="cpu", quiet=True, keep_checkpoints=True)
    directory = run_dir(tmp_path / "runs", spec)
    kept = sorted((directory / "checkpoints").iterdir())[-1]
    marker = tmp_path / "exploited"
    monkeypatch.setenv("EXPLOIT_MARKER", str(marker))
    torch.save({"adapter": _Exploit()}, kept)
    assert cli.main(["basins", str(directory), "--quiet"]) == cli.EXIT_USER_ERROR
    (line,) = error_lines(capsys.readouterr())
    assert f"{kept}: cannot read checkpoint" in line and not marker.exists()
    other = resolve_spec("parity", {}, "dit", {"depth": 1, "width": 16, "heads": 2, "sampling_steps": 2}, 4, 1, {"max_steps": 2, "eval_points": 1, "eval_samples": 8})
    run(other, tmp_path / "runs", device="cpu", quiet=True, keep_checkpoints=True)
    shutil.copyfile(sorted((run_dir(tmp_path / "runs", other) / "checkpoints").iterdir())[-1], kept)
    assert cli.main(["basins", str(directory), "--quiet"]) == cli.EXIT_USER_ERROR
    (line,) = error_lines(capsys.readouterr())
    assert f"{kept} belongs to run '{other.run_id}'" in line
    (directory / "spec.json").write_text('{"task": 3}')
    assert cli.main(["basins", str(directory), "--quiet"]) == cli.EXIT_USER_ERROR
    (line,) = error_lines(capsys.readouterr())
    assert "spec.json: not a run spec" in line


def test_numpy_float64_in_eval_rows_is_stored_as_a_plain_float(tmp_path: Path) -> None:
    """np.float64 is a float subclass: pickled as such it would need numpy globals, and weights_only refuses those."""
    spec = spec_of()
    save_checkpoint(tmp_path, {"rows": [{"valid_norm": np.float64(0.5), "n": np.int64(3)}], "flag": np.bool_(True)}, spec=spec)
    raw = torch.load(tmp_path / CHECKPOINT_FILE, weights_only=True)
    assert raw["rows"] == [{"valid_norm": 0.5, "n": 3}] and type(raw["rows"][0]["valid_norm"]) is float and raw["flag"] is True
