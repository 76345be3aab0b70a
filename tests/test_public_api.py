"""The declared public API: `__all__` in every module, every other top-level name underscored, one module for plugin authors."""

from __future__ import annotations

import ast
import dataclasses
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODULES = sorted(path for package in ("benchmark", "tasks", "adapters") for path in (ROOT / package).rglob("*.py") if path.name != "__main__.py")
CONVENTIONAL = {"logger"}  # a module's logger is public by convention, never part of its API


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _defined(path: Path) -> list[str]:
    """Names a module defines at top level (functions, classes, assignments), not the ones it imports."""
    names: list[str] = []
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, ast.Assign):
            names += [target.id for target in node.targets if isinstance(target, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.append(node.target.id)
    return names


@pytest.mark.parametrize("path", MODULES, ids=_module_name)
def test_every_public_name_is_declared_and_every_declared_name_exists(path: Path) -> None:
    public = [name for name in _defined(path) if not name.startswith("_") and name not in CONVENTIONAL]
    if path.name == "__init__.py" and not public and "__all__" not in _defined(path):
        return  # a sub-package that holds only its docstring
    module = importlib.import_module(_module_name(path))
    declared = getattr(module, "__all__", None)
    assert declared is not None, f"{_module_name(path)} has no __all__"
    assert len(set(declared)) == len(declared), "a name is declared twice"
    assert set(public) <= set(declared), f"public but undeclared (declare it or underscore it): {sorted(set(public) - set(declared))}"
    assert all(hasattr(module, name) for name in declared), f"declared but missing: {[n for n in declared if not hasattr(module, n)]}"


PLUGIN_API = {
    "require": "benchmark.core.config",
    "BaseConfig": "benchmark.core.config",
    "ConfigError": "benchmark.core.config",
    "Registry": "benchmark.core.registry",
    "Task": "benchmark.core.task",
    "TaskConfig": "benchmark.core.task",
    "GridTask": "benchmark.core.task",
    "SAMPLE_DTYPE": "benchmark.core.task",
    "register_task": "tasks",
    "Adapter": "benchmark.core.adapter",
    "AdapterConfig": "benchmark.core.adapter",
    "DataSpec": "benchmark.core.adapter",
    "Denoiser": "benchmark.core.adapter",
    "TorchAdapter": "adapters.torch_adapter",
    "NetworkConfig": "adapters.torch_adapter",
    "CausalLMAdapter": "adapters.causal_lm",
    "EDMAdapter": "adapters.edm",
    "EDMConfig": "adapters.edm",
    "MaskedDiffusionAdapter": "adapters.masked_diffusion",
    "MaskedDiffusionConfig": "adapters.masked_diffusion",
    "register_adapter": "adapters",
    "Callback": "benchmark.run.callbacks",
    "register_callback": "benchmark.report.trackers",
}


def test_the_plugin_module_exports_everything_a_plugin_author_needs_as_the_same_objects() -> None:
    from benchmark import plugin

    assert set(PLUGIN_API) <= set(plugin.__all__)
    for name, home in PLUGIN_API.items():
        assert getattr(plugin, name) is getattr(importlib.import_module(home), name), name


def test_a_plugin_config_written_against_benchmark_plugin_alone_checks_its_knobs() -> None:
    from benchmark.plugin import ConfigError, EDMConfig, require

    @dataclasses.dataclass(frozen=True)
    class EvenBatches(EDMConfig):
        def validate(self) -> None:
            super().validate()
            require(self.batch_size % 2 == 0, self, "batch_size", "an even number", self.batch_size)

    EvenBatches(batch_size=4).validate()
    with pytest.raises(ConfigError, match="batch_size must be an even number"):
        EvenBatches(batch_size=3).validate()
