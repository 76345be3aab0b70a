"""Old import paths of 0.x (`benchmark.config`, `benchmark.protocol`, ...) keep working in 1.x, with a DeprecationWarning.

One import hook maps each old module name to the module object at its new path (the same object, so classes
and registries stay identical) and warns once, when the old name is first imported. Removed in 2.0.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import warnings
from collections.abc import Sequence
from types import ModuleType

_PLUGIN_NAMES = " (or benchmark.plugin, which holds everything a plugin needs)"

MOVED: dict[str, str] = {
    **{f"benchmark.{name}": f"benchmark.core.{name}" for name in ("config", "registry", "records", "display", "log")},
    **{
        f"benchmark.{name}": f"benchmark.run.{name}"
        for name in ("spec", "protocol", "schedule", "batches", "datasets", "evaluation", "metrics", "neighbours", "clocks", "rundir", "environment", "callbacks")
    },
    **{f"benchmark.{name}": f"benchmark.analysis.{name}" for name in ("stats", "fits", "groups", "reclock", "basins")},
    **{f"benchmark.{name}": f"benchmark.sweep.{name}" for name in ("backends", "plugins")},
    **{f"benchmark.{name}": f"benchmark.report.{name}" for name in ("leaderboard", "terminal", "plots", "export", "trackers")},
}
"""Old module → new module. The old `benchmark.sweep` module is now the package's `files` module: see `benchmark/sweep/__init__.py`."""

_FOR_PLUGINS = {"benchmark.config", "benchmark.registry", "benchmark.callbacks"}  # what plugin authors imported


def deprecation_message(old: str, new: str) -> str:
    """The warning for an old path: which path to use instead, and when the old one goes."""
    hint = _PLUGIN_NAMES if old in _FOR_PLUGINS else ""
    return f"{old} is deprecated since 1.0: import {new}{hint} instead; the old path will be removed in 2.0"


class _Alias(importlib.abc.Loader):
    """Loads an old name as the module at its new path; the module's own spec is kept."""

    def __init__(self, new: str) -> None:
        self.new = new
        self.spec: importlib.machinery.ModuleSpec | None = None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        # stacklevel 2 names the importing line: warnings skips the import machinery's own frames
        warnings.warn(deprecation_message(spec.name, self.new), DeprecationWarning, stacklevel=2)
        module = importlib.import_module(self.new)
        self.spec = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        module.__spec__ = self.spec  # the import system stamped the old name's spec on it: give the module its own back


class _OldPaths(importlib.abc.MetaPathFinder):
    """Finds only the old names in `MOVED`; every other import passes through."""

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        new = MOVED.get(fullname)
        return None if new is None else importlib.util.spec_from_loader(fullname, _Alias(new))


def install() -> None:
    """Put the hook last on `sys.meta_path` (once): a real module of the same name would always win."""
    if not any(isinstance(finder, _OldPaths) for finder in sys.meta_path):
        sys.meta_path.append(_OldPaths())


__all__ = ["MOVED", "deprecation_message", "install"]
