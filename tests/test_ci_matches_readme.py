"""`.ci/run` runs exactly the README's install and test blocks, in order: what a new user pastes is what CI proves."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _block(section: str) -> list[str]:
    text = (ROOT / "README.md").read_text().split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```bash\n(.*?)```", text, flags=re.S)[:1]
    return [line.strip() for line in block.splitlines() if line.strip() and not line.strip().startswith("#")]


def test_ci_runs_the_readme_install_and_test_blocks_verbatim() -> None:
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().split("# README install block:", 1)[1].splitlines()]
    commands = [line for line in ci if line and not line.startswith("#")]  # every command after the marker, linters included
    assert commands == _block("Install") + _block("Test")
    assert _block("Install")[0].startswith("python -m pip install torch==") and "whl/cpu" in _block("Install")[0]  # CPU torch first
