"""0.x import paths keep working in 1.x: the same module objects, one DeprecationWarning naming the new path."""

from __future__ import annotations

import ast
import importlib
import sys
import warnings
from pathlib import Path

import pytest

import benchmark
import benchmark.sweep
from benchmark._compat import MOVED

ROOT = Path(__file__).resolve().parents[1]
OLD_SHORT = {old.removeprefix("benchmark.") for old in MOVED}
SWEEP_SUBMODULES = {"files", "plan", "backends", "plugins"}


def _forget(monkeypatch: pytest.MonkeyPatch, old: str) -> None:
    """Make the next import of `old` a first import (monkeypatch puts everything back after the test)."""
    monkeypatch.delitem(sys.modules, old, raising=False)
    monkeypatch.delattr(benchmark, old.removeprefix("benchmark."), raising=False)


def test_benchmark_keeps_at_most_twelve_top_level_modules() -> None:
    assert len(list((ROOT / "benchmark").glob("*.py"))) <= 12


@pytest.mark.parametrize("old", sorted(MOVED))
def test_an_old_path_is_the_new_module_and_warns_naming_it(monkeypatch: pytest.MonkeyPatch, old: str) -> None:
    new = importlib.import_module(MOVED[old])
    _forget(monkeypatch, old)
    with pytest.warns(DeprecationWarning, match=rf"{old} is deprecated since 1\.0: import {MOVED[old]}\b"):
        module = importlib.import_module(old)
    assert module is new
    assert module.__spec__.name == MOVED[old]  # the module keeps its own spec (pickling, reload)


def test_from_benchmark_config_import_require_works_and_warns_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from benchmark.core import config, registry

    _forget(monkeypatch, "benchmark.config")
    _forget(monkeypatch, "benchmark.registry")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from benchmark.config import BaseConfig, ConfigError, require
        from benchmark.registry import Registry
    messages = [str(warning.message) for warning in caught if issubclass(warning.category, DeprecationWarning)]
    assert len([m for m in messages if m.startswith("benchmark.config ")]) == 1, messages
    assert "import benchmark.core.config (or benchmark.plugin" in messages[0]
    assert caught[0].filename == __file__  # the warning points at the importing line, not at the import machinery
    assert (require, BaseConfig, ConfigError, Registry) == (config.require, config.BaseConfig, config.ConfigError, registry.Registry)


def test_the_old_sweep_module_names_forward_to_sweep_files(monkeypatch: pytest.MonkeyPatch) -> None:
    from benchmark.sweep import files

    monkeypatch.delitem(vars(benchmark.sweep), "load_sweep", raising=False)
    with pytest.warns(DeprecationWarning, match=r"benchmark\.sweep\.load_sweep is deprecated since 1\.0: import it from benchmark\.sweep\.files"):
        from benchmark.sweep import load_sweep
    assert load_sweep is files.load_sweep
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        benchmark.sweep.no_such_name  # noqa: B018 - the lookup is the test


def _old_imports(path: Path) -> list[str]:
    """Import statements in `path` that use a 0.x path."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if alias.name in MOVED]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            if node.module in MOVED:
                found.append(node.module)
            elif node.module == "benchmark":
                found += [f"benchmark.{alias.name}" for alias in node.names if alias.name in OLD_SHORT]
            elif node.module == "benchmark.sweep":
                found += [f"benchmark.sweep.{alias.name}" for alias in node.names if alias.name not in SWEEP_SUBMODULES]
    return found


def test_the_suites_own_code_never_uses_an_old_path() -> None:
    sources = [path for folder in ("benchmark", "tasks", "adapters", "tests", "tools") for path in (ROOT / folder).rglob("*.py")]
    assert len(sources) > 50
    offenders = {str(path.relative_to(ROOT)): found for path in sources if path.name != "test_compat.py" and (found := _old_imports(path))}
    assert offenders == {}
