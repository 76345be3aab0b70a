"""Many runs: sweep files and flags, the validated plan, plugins, and the backends that execute it."""

from __future__ import annotations

from typing import Any

__all__: list[str] = []

_SUBMODULES = ("files", "plan", "backends", "plugins")


def __getattr__(name: str) -> Any:
    """`benchmark.sweep.X` for a name of the 0.x module `benchmark.sweep` (now `benchmark.sweep.files`), with a DeprecationWarning."""
    import importlib
    import warnings

    if name.startswith("_") or name in _SUBMODULES:  # a submodule not imported yet: the import system loads it
        raise AttributeError(f"module 'benchmark.sweep' has no attribute {name!r}")
    files = importlib.import_module("benchmark.sweep.files")  # not `from benchmark.sweep import files`: that asks this hook again

    if name in (*files.__all__, "BACKENDS"):
        message = f"benchmark.sweep.{name} is deprecated since 1.0: import it from benchmark.sweep.files instead; the old path will be removed in 2.0"
        warnings.warn(message, DeprecationWarning, stacklevel=2)
        value = globals()[name] = getattr(files, name)  # warn once: later lookups find the name here
        return value
    raise AttributeError(f"module 'benchmark.sweep' has no attribute {name!r}")
