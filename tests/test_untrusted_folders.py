"""Opening someone else's run folder runs no code from it: a crafted pickle planted as any file a command opens.

A folder made with `--keep-checkpoints` gets a pickle whose `__reduce__` would create a marker file, in place
of `checkpoint.pt`, every `checkpoints/step_*.pt`, or a JSON file. Each command that opens run folders
(`export`, `leaderboard`, `plot`, `basins`, and `run` resuming it) must leave the marker absent,
print no traceback, and end in exit 0 (it never read the file) or in exit 2 with one error line.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from benchmark import cli

TINY = ["--tasks", "parity:G=2", "--adapters", "dit:depth=1,width=16,heads=2,sampling_steps=2", "--n", "4", "--max-steps", "4"]
RUN_ARGS = ["run", *TINY, "--protocol-args", "eval_points=2,eval_samples=8", "--keep-checkpoints", "--quiet"]
PLANTED = ("checkpoint.pt", "checkpoints/step_*.pt", "record.json", "metrics.jsonl", "spec.json")
COMMANDS = ("export", "export --step", "leaderboard", "plot", "basins", "run")  # reclock reads JSON only, of 1.0 runs
# Where the planted file is the one the command must read, it is refused: exit 2. Elsewhere the command never opens it.
READS = {
    "export": {"checkpoint.pt", "record.json", "spec.json"},
    "export --step": {"checkpoints/step_*.pt", "record.json", "spec.json"},
    "leaderboard": {"record.json"},
    "plot": {"record.json", "metrics.jsonl"},
    "basins": {"checkpoints/step_*.pt", "spec.json", "record.json"},
    "run": {"checkpoint.pt", "spec.json", "record.json"},  # resumed (its record deleted first) unless the record is the planted file
}


class Payload:
    """Unpickling this creates `marker`: what a crafted checkpoint does when loaded with weights_only=False."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished tiny DiT run with every eval's checkpoint kept (a few seconds)."""
    output = tmp_path_factory.mktemp("made") / "runs"
    assert cli.main([*RUN_ARGS, "--output", str(output)]) == 0
    return output


@pytest.mark.parametrize("planted", PLANTED)
@pytest.mark.parametrize("command", COMMANDS)
def test_a_crafted_pickle_in_a_run_folder_runs_no_code(made: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, planted: str) -> None:
    runs = tmp_path / "runs"
    shutil.copytree(made, runs)
    (directory,) = [path.parent for path in runs.glob("*/spec.json")]
    marker = tmp_path / "code-ran"
    targets = sorted(directory.glob(planted))
    assert targets, planted
    for target in targets:
        torch.save({"format": 2, "adapter": Payload(marker)}, target)
    capsys.readouterr()
    steps = sorted(int(path.stem.split("_")[1]) for path in (directory / "checkpoints").glob("step_*.pt"))
    argv = {
        "export": ["export", str(directory), str(tmp_path / "out")],
        "export --step": ["export", str(directory), str(tmp_path / "out"), "--step", str(steps[-1])],
        "leaderboard": ["leaderboard", str(runs), "--out", str(tmp_path / "board.md")],
        "plot": ["plot", str(runs), "--out", str(tmp_path / "figures")],
        "basins": ["basins", str(directory), "--probes", "2", "--sigmas", "0.5", "--noise-draws", "1", "--quiet"],
        "run": [*RUN_ARGS, "--output", str(runs)],
    }[command]
    if command == "run" and planted != "record.json":
        (directory / "record.json").unlink()  # unfinished: the run resumes from its folder
    code = cli.main(argv)
    captured = capsys.readouterr()
    assert not marker.exists(), f"{command} ran code from a planted {planted}"
    assert "Traceback" not in captured.err, captured.err
    errors = [line for line in captured.err.splitlines() if line.startswith("error:")]
    if planted in READS[command]:
        assert code == cli.EXIT_USER_ERROR and len(errors) == 1, (code, captured.err)
        assert directory.name in errors[0], errors[0]
    else:
        assert code == 0 and not errors, (code, captured.err)


def test_load_exported_imports_only_the_libraries_it_reads_safetensors_with(tmp_path: Path) -> None:
    from benchmark.report.export import EXPORT_FILE, ExportError, load_exported

    (tmp_path / EXPORT_FILE).write_text('{"model": {"library": "antigravity", "class": "X"}, "adapter": {}}')
    with pytest.raises(ExportError, match="library 'antigravity' is not one of transformers, diffusers"):
        load_exported(tmp_path)


@pytest.mark.parametrize("command", ["export", "basins"])
def test_a_spec_naming_a_module_the_folder_ships_imports_nothing(made: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, command: str) -> None:
    """spec.json may name `module:Class`; a shared folder could ship that module: it is refused unless --include'd."""
    from benchmark.run.rundir import read_spec

    runs = tmp_path / "runs"
    shutil.copytree(made, runs)
    (directory,) = [path.parent for path in runs.glob("*/spec.json")]
    marker = tmp_path / "code-ran"
    (directory / "planted.py").write_text(f"open({str(marker)!r}, 'w')\nfrom adapters.dit import DiTAdapter as Planted\n")
    monkeypatch.syspath_prepend(str(tmp_path))  # `python -m benchmark` run from the folder holding runs/
    data = json.loads((directory / "spec.json").read_text())
    data["adapter"]["name"] = f"runs.{directory.name}.planted:Planted"
    (directory / "spec.json").write_text(json.dumps(data))
    spec = read_spec(directory)
    for checkpoint in [directory / "checkpoint.pt", *directory.glob("checkpoints/step_*.pt")]:  # stamped for the edited spec
        state = torch.load(checkpoint, weights_only=True)
        torch.save({**state, "run_id": spec.run_id, "spec_sha256": spec.digest}, checkpoint)
    argv = ["export", str(directory), str(tmp_path / "out")] if command == "export" else ["basins", str(directory), "--probes", "2", "--sigmas", "0.5", "--quiet"]
    capsys.readouterr()
    assert cli.main(argv) == cli.EXIT_USER_ERROR
    captured = capsys.readouterr()
    assert not marker.exists() and "Traceback" not in captured.err
    (line,) = captured.err.splitlines()
    assert f"which would import module 'runs.{directory.name}.planted'" in line and "--include" in line


def test_only_registered_names_and_modules_already_imported_pass() -> None:
    import tasks.parity  # noqa: F401 - imported, as an --include or an earlier lookup would
    from benchmark.core.registry import RegistryError, refuse_import_from_file

    refuse_import_from_file("dit", "adapter", "spec.json")
    refuse_import_from_file("tasks.parity:ParityTask", "task", "spec.json")
    with pytest.raises(RegistryError, match="which would import module 'no_such_module_here'"):
        refuse_import_from_file("no_such_module_here:X", "task", "spec.json")
