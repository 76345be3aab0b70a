"""`--include`: load third-party tasks and adapters from a Python file or an importable module.

Importing the plugin runs its `@register_task` / `@register_adapter` calls. A file is imported under a
module name derived from its absolute path, so including it twice (or again in a worker process)
imports it once. Plugins installed as packages need no flag: the entry-point groups
`two_clocks.tasks` and `two_clocks.adapters` are discovered by the registries.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType


class PluginError(ValueError):
    """An `--include` could not be found or imported; the message names it."""


def load_plugins(includes: Iterable[str]) -> list[ModuleType]:
    """Import every include (a `.py` path or a dotted module name), in order."""
    return [_load_plugin(include) for include in includes]


def _load_plugin(include: str) -> ModuleType:
    """Import one include; a path ending in `.py` (or naming an existing file) is loaded from the file."""
    path = Path(include)
    if include.endswith(".py") or path.is_file():
        return _load_file(path, include)
    try:
        return importlib.import_module(include)
    except ModuleNotFoundError as error:
        if error.name and include.startswith(error.name):
            raise PluginError(f"--include {include}: no such module or .py file") from None
        raise PluginError(f"--include {include}: importing it failed: {error}") from None
    except Exception as error:  # a plugin's own bug is still reported as one line naming the plugin
        raise PluginError(f"--include {include}: importing it failed: {type(error).__name__}: {error}") from None


def _load_file(path: Path, include: str) -> ModuleType:
    if not path.is_file():
        raise PluginError(f"--include {include}: no such file")
    resolved = path.resolve()
    digest = hashlib.sha256(str(resolved).encode()).hexdigest()[:10]
    module_name = f"two_clocks_plugin_{_identifier(resolved.stem)}_{digest}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, resolved)
    if spec is None or spec.loader is None:
        raise PluginError(f"--include {include}: cannot be imported as a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # before exec: dataclasses and pickling look the module up by name
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        del sys.modules[module_name]
        raise PluginError(f"--include {include}: importing it failed: {type(error).__name__}: {error}") from None
    return module


def _identifier(text: str) -> str:
    return "".join(char if char.isalnum() else "_" for char in text)


__all__ = ["PluginError", "load_plugins"]
