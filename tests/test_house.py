"""The house rules a machine can check (ARCHITECTURE.md): few top-level modules, documented floors, no reaching into privates.

import-linter checks the floors themselves (pyproject.toml); these tests check what it cannot.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("benchmark", "tasks", "adapters")
SUB_PACKAGES = ("core", "run", "analysis", "sweep", "report", "integrations")


def _modules(*folders: str) -> list[Path]:
    return sorted(path for folder in folders for path in (ROOT / folder).rglob("*.py") if "runs" not in path.parts)


def test_benchmark_holds_at_most_twelve_modules_directly() -> None:
    top = sorted(path.name for path in (ROOT / "benchmark").glob("*.py"))
    assert len(top) <= 12, top


@pytest.mark.parametrize("name", SUB_PACKAGES)
def test_each_floor_says_its_job_in_one_line(name: str) -> None:
    docstring = ast.get_docstring(ast.parse((ROOT / "benchmark" / name / "__init__.py").read_text()))
    assert docstring and len(docstring.splitlines()[0]) > 20, f"benchmark/{name}/__init__.py needs a one-line docstring saying its job"


def _imported_modules(tree: ast.Module) -> set[str]:
    """Local names bound to modules of ours: `from benchmark.report import leaderboard`, `import tasks`, `import benchmark.x as y`."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in PACKAGES:
            for alias in node.names:
                candidate = ROOT / Path(*node.module.split("."), alias.name)
                if candidate.with_suffix(".py").exists() or (candidate / "__init__.py").exists():
                    names.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in PACKAGES:
                    names.add(alias.asname or alias.name.split(".")[0])
    return names


def test_no_module_calls_another_modules_private_helper() -> None:
    """`leaderboard._n(...)` from terminal.py is a seam nobody declared: give it a public name instead."""
    offences = []
    for path in _modules(*PACKAGES, "leaderboard", "tools"):
        tree = ast.parse(path.read_text())
        modules = _imported_modules(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
                base = node.value
                while isinstance(base, ast.Attribute):
                    base = base.value
                if isinstance(base, ast.Name) and base.id in modules:
                    offences.append(f"{path.relative_to(ROOT)}:{node.lineno} uses {ast.unparse(node)}")
            own_package = path.name == "__init__.py" and isinstance(node, ast.ImportFrom) and path.parent == ROOT.joinpath(*(node.module or "").split("."))
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in PACKAGES and not own_package:  # a package may use its own private modules
                offences += [f"{path.relative_to(ROOT)}:{node.lineno} imports {node.module}.{a.name}" for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
    assert not offences, "\n".join(offences)


def test_every_public_module_declares_its_api() -> None:
    missing = []
    for path in _modules(*PACKAGES):
        if path.name.startswith("_") and path.name != "__init__.py" or path.name == "__main__.py":
            continue
        tree = ast.parse(path.read_text())
        if all(isinstance(node, ast.Expr) for node in tree.body):  # a docstring only: a floor's __init__ names no API
            continue
        declared = any(isinstance(node, (ast.Assign, ast.AnnAssign)) and "__all__" in ast.unparse(node).split("=")[0] for node in tree.body)
        if not declared:
            missing.append(str(path.relative_to(ROOT)))
    assert not missing, "modules without __all__: " + ", ".join(missing)
