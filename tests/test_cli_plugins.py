"""Third-party plugins: a task and an adapter defined here load through `--include file.py` and `--include module`."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmark import cli

ROOT = Path(__file__).resolve().parent.parent

# A plugin as a third party would write it: one file, registration calls at import.
PLUGIN_SOURCE = '''
"""Toy plugin: a stripes task (every row constant) and an adapter that replays its last batch."""
from dataclasses import dataclass, field

import numpy as np
import torch

from adapters import register_adapter
from benchmark.core.adapter import Adapter, AdapterConfig
from tasks import register_task
from benchmark.core.task import SAMPLE_DTYPE, Task, TaskConfig


@dataclass(frozen=True)
class StripesConfig(TaskConfig):
    rows: int = field(default=4, metadata={"help": "grid rows"})
    cols: int = field(default=4, metadata={"help": "grid columns"})


@register_task("toy_stripes")
class StripesTask(Task):
    """Every row of the grid is constant."""

    config_class = StripesConfig

    @property
    def shape(self):
        return (self.config.rows, self.config.cols)

    @property
    def complexity(self):
        return float(self.config.cols)

    def sample(self, n, rng):
        rows = rng.integers(0, 2, size=(n, self.config.rows, 1), dtype=SAMPLE_DTYPE)
        return np.repeat(rows, self.config.cols, axis=2)

    def is_valid(self, x):
        flat = self.check_samples(x).reshape(len(x), self.config.rows, self.config.cols)
        return (flat == flat[:, :, :1]).all(axis=(1, 2))

    def constraint_satisfaction(self, x):
        flat = self.check_samples(x).reshape(len(x), self.config.rows, self.config.cols)
        return (flat == flat[:, :, :1]).all(axis=2).mean(axis=1)

    def num_valid(self):
        return float(2 ** self.config.rows)


@dataclass(frozen=True)
class EchoConfig(AdapterConfig):
    fail: bool = field(default=False, metadata={"help": "raise during training (to test failure reports)"})


@register_adapter("toy_echo")
class EchoAdapter(Adapter):
    """Replays the last training batch it saw."""

    config_class = EchoConfig

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.last = torch.zeros((1, *self.data.shape), dtype=torch.long)

    def train_step(self, batch):
        if self.config.fail:
            raise RuntimeError("toy_echo was told to fail")
        self.last = batch.detach().cpu().long().clone()
        return 0.0

    def sample(self, n, generator):
        return self.last[torch.randint(0, len(self.last), (n,), generator=generator)].clone()

    def state_dict(self):
        return {"last": self.last.clone()}

    def load_state_dict(self, state):
        self.last = state["last"].clone()
'''

SWEEP_FLAGS = ["--tasks", "toy_stripes:rows=4", "--adapters", "toy_echo:batch_size=8", "--n", "8", "--max-steps", "20", "--eval-samples", "64", "--protocol-args", "eval_points=4"]


@pytest.fixture
def plugin_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "toy_two_clocks_plugin.py").write_text(PLUGIN_SOURCE)
    return folder


@pytest.fixture
def isolated_registries(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Plugins registered in this process vanish after the test: other tests see the bundled names only."""
    import adapters
    import tasks

    for registry in (tasks.TASKS, adapters.ADAPTERS):
        monkeypatch.setattr(registry, "_entries", dict(registry._entries))
    yield
    for name in [name for name in sys.modules if name == "toy_two_clocks_plugin" or name.startswith("two_clocks_plugin_")]:
        del sys.modules[name]  # the next include imports (and registers) afresh


def _rows(markdown: str) -> list[dict[str, str]]:
    cells = lambda line: [c.strip() for c in line.strip().strip("|").split("|")]  # noqa: E731
    lines = [line for line in markdown.splitlines() if line.startswith("|")]
    header = cells(lines[0])
    return [dict(zip(header, cells(line))) for line in lines[2:] if cells(line)[0] != "adapter" and len(cells(line)) == len(header)]


def test_include_a_file_runs_in_worker_processes(tmp_path: Path, plugin_dir: Path) -> None:
    """Through a .py path, with -j 2: each spawned worker must import the plugin too."""
    plugin = plugin_dir / "toy_two_clocks_plugin.py"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "benchmark"]
    listed = subprocess.run([*command, "list", "--include", str(plugin)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    assert "toy_stripes — Every row of the grid is constant." in listed.stdout and "toy_echo — Replays the last training batch it saw." in listed.stdout
    done = subprocess.run(
        [*command, "run", "--include", str(plugin), *SWEEP_FLAGS, "--seeds", "0", "1", "-j", "2", "--quiet", "--wide", "--output", str(tmp_path / "runs")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    (row,) = _rows(done.stdout)[:1]
    assert (row["adapter"], row["task"], row["complexity"], row["seeds"]) == ("toy_echo", "toy_stripes", "4", "2")
    assert row["τ_mem"] != "—" and not row["τ_mem"].startswith(">")  # replaying its batch is memorization: τ_mem fires
    assert len(list((tmp_path / "runs").glob("*/record.json"))) == 2


def test_include_a_module_and_a_failing_run_is_reported_without_sinking_the_sweep(
    tmp_path: Path, plugin_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], isolated_registries: None
) -> None:
    monkeypatch.syspath_prepend(str(plugin_dir))
    runs = tmp_path / "runs"
    argv = ["run", "--include", "toy_two_clocks_plugin", *SWEEP_FLAGS, "--quiet", "--output", str(runs)]
    assert cli.main(argv) == 0
    (row,) = _rows(capsys.readouterr().out)[:1]
    assert (row["adapter"], row["task"]) == ("toy_echo", "toy_stripes")
    # one good and one failing adapter config: the good run is recorded, the bad one reported, exit 1
    argv = [*argv[:-2], "--adapter-args", "toy_echo:fail=false,true", "--output", str(tmp_path / "runs2")]
    assert cli.main(argv) == cli.EXIT_RUN_FAILED
    captured = capsys.readouterr()
    assert "RuntimeError: toy_echo was told to fail" in captured.err and "Traceback" in captured.err
    assert captured.err.strip().splitlines()[-1].startswith("error: 1 of 2 runs failed")
    records = [json.loads(p.read_text()) for p in (tmp_path / "runs2").glob("*/record.json")]
    assert [r["spec"]["adapter"]["config"]["fail"] for r in records] == [False]


def test_readme_plugin_example_runs_as_written(tmp_path: Path, capsys: pytest.CaptureFixture[str], isolated_registries: None) -> None:
    section = (ROOT / "README.md").read_text().split("<!-- section: cli -->", 1)[1].split("\n## ", 1)[0]
    (example,) = re.findall(r"```python\n# my_rules.py\n(.*?)```", section, flags=re.S)
    plugin = tmp_path / "my_rules.py"
    plugin.write_text(example)
    argv = ["run", "--include", str(plugin), "--tasks", "stripes:rows=4", "--adapters", "memorizer", "--n", "8", "--smoke", "--quiet", "--output", str(tmp_path / "runs")]
    assert cli.main(argv) == 0
    (row,) = _rows(capsys.readouterr().out)[:1]
    assert (row["adapter"], row["task"], row["τ_mem"]) == ("memorizer", "stripes", "1")


def test_plugins_do_not_leak_into_other_tests() -> None:
    import adapters
    import tasks

    assert "toy_echo" not in adapters.names() and "toy_stripes" not in tasks.names()
