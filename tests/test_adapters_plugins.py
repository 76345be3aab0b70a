"""An out-of-tree package that registers an adapter through the `two_clocks.adapters` entry point, as the README says."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def install_readme_plugin(site: Path) -> None:
    """What `pip install` of a package with the README's entry point leaves on sys.path: the module and its dist-info."""
    section = (ROOT / "README.md").read_text(encoding="utf-8").split("<!-- section: adapters -->", 1)[1].split("<!-- section:", 1)[0]
    (source,) = [block for block in re.findall(r"```python\n(.*?)```", section, flags=re.S) if "class CellwiseAdapter(Adapter)" in block]
    (entry_point,) = re.findall(r'```toml\n\[project.entry-points."two_clocks.adapters"\]\n(.*?)\n```', section, flags=re.S)
    package = site / "mypackage"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "cellwise.py").write_text(source)
    dist_info = site / "mypackage-0.1.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: mypackage\nVersion: 0.1\n")
    name, _, target = entry_point.partition("=")
    target = target.strip().strip('"')  # a TOML string becomes a plain INI value
    (dist_info / "entry_points.txt").write_text(f"[two_clocks.adapters]\n{name.strip()} = {target}\n")


def test_an_installed_package_registers_an_adapter_through_its_entry_point(tmp_path: Path) -> None:
    site = tmp_path / "site"
    install_readme_plugin(site)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)])}
    command = [sys.executable, "-m", "benchmark"]
    listed = subprocess.run([*command, "list", "adapters"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    assert "cellwise — Independent per-cell categorical distributions: learns marginals, never a rule." in listed.stdout
    done = subprocess.run(
        [*command, "run", "--tasks", "parity:G=2", "--adapters", "cellwise:lr=0.05", "--n", "8", "--smoke", "--quiet", "--output", str(tmp_path / "runs")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    (record,) = [json.loads(path.read_text()) for path in (tmp_path / "runs").glob("*/record.json")]
    assert record["spec"]["adapter"] == {"name": "cellwise", "config": {"batch_size": 64, "lr": 0.05}, "version": None}
