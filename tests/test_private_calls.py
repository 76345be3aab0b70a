"""No module reaches into another project module's private (underscore) names: helpers that are shared are public."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("benchmark", "tasks", "adapters", "leaderboard", "tools")


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def private_uses(source: str) -> list[str]:
    """`from project.x import _y` and `x._y` where `x` names a project module imported in `source`."""
    tree = ast.parse(source)
    found, modules = [], set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in PACKAGES:
            for alias in node.names:
                if _private(alias.name):
                    found.append(f"line {node.lineno}: from {node.module} import {alias.name}")
                modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in PACKAGES:
                    modules.add(alias.asname or alias.name.split(".")[0])
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            base = node.value
            while isinstance(base, ast.Attribute):  # benchmark.report.leaderboard._n
                if _private(base.attr):
                    break
                base = base.value
            if isinstance(base, ast.Name) and base.id in modules:
                found.append(f"line {node.lineno}: {ast.unparse(node)}")
    return found


def test_the_checker_finds_both_forms() -> None:
    source = "from benchmark.report import leaderboard\nfrom benchmark.analysis.stats import _points\nimport benchmark.report.terminal\nleaderboard._n(1)\nbenchmark.report.terminal._shorten('a', 1)\n"
    assert [use.split(":")[0] for use in private_uses(source)] == ["line 2", "line 4", "line 5"]
    assert private_uses("import os\nos._exit(0)\nclass A:\n    def f(self):\n        return self._x\n") == []


def test_no_module_uses_another_modules_private_names() -> None:
    offenders = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            offenders += [f"{path.relative_to(ROOT)} {use}" for use in private_uses(path.read_text())]
    assert offenders == []
