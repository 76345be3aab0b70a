"""One generic registry for tasks and adapters: names, lazy "module:Class" entries, entry-point plugins.

This module is the only piece of `benchmark/` that `tasks/` and `adapters/` import; it knows nothing
of the protocol. Modelled on lm-evaluation-harness's registry: duplicate names are an error, an
unknown name gets a did-you-mean, and third-party packages register through entry points.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from importlib import metadata
from typing import Generic, TypeVar, overload

from benchmark.core.config import did_you_mean

T = TypeVar("T")


class RegistryError(ValueError):
    """A name could not be registered or resolved; the message says which name and what is allowed."""


def _import_object(path: str) -> object:
    """Import `"package.module:Attribute"` and return the attribute."""
    module_name, sep, attribute = path.partition(":")
    if not sep or not module_name or not attribute:
        raise RegistryError(f"{path!r} is not of the form 'package.module:Name'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        hint = " (a knob is written name:knob=value)" if "." not in module_name and "=" not in path else ""
        raise RegistryError(f"cannot import module {module_name!r} for {path!r}: {error}{hint}") from error
    except Exception as error:  # a module whose import fails otherwise (a bug, a bad name) is still one line
        raise RegistryError(f"importing module {module_name!r} for {path!r} failed: {type(error).__name__}: {error}") from error
    try:
        return getattr(module, attribute)
    except AttributeError as error:
        raise RegistryError(f"module {module_name!r} has no attribute {attribute!r}") from error


def refuse_import_from_file(name: str, kind: str, source: str) -> None:
    """A component name read from a file (a run folder's spec.json, an export's two_clocks.json) never makes Python import a module.

    A registered name, or a `"module:Class"` whose module is already imported (by `--include`), is fine;
    any other module path is refused: a shared folder could name a module it ships itself.
    """
    module, sep, _ = name.partition(":")
    if sep and module not in sys.modules:
        raise RegistryError(f"{source} names {kind} {name!r}, which would import module {module!r}: a file never decides what code runs; pass --include {module} if you trust it")


class Registry(Generic[T]):
    """Maps names to classes; entries may be the class itself or a lazy `"module:Class"` string."""

    def __init__(self, kind: str, entry_point_group: str) -> None:
        self.kind = kind
        self.entry_point_group = entry_point_group
        self._entries: dict[str, T | str] = {}
        self._entry_points_loaded = False

    @overload
    def register(self, name: str, target: None = None) -> Callable[[T], T]: ...
    @overload
    def register(self, name: str, target: T | str) -> None: ...
    def register(self, name: str, target: T | str | None = None) -> Callable[[T], T] | None:
        """Register `target` under `name`; used bare as a decorator when `target` is omitted."""
        if target is not None:
            self._add(name, target)
            return None

        def decorator(cls: T) -> T:
            self._add(name, cls)
            return cls

        return decorator

    def _add(self, name: str, target: T | str) -> None:
        if not isinstance(name, str) or not name or ":" in name:
            raise RegistryError(f"{self.kind} name must be a non-empty string without ':', got {name!r}")
        existing = self._entries.get(name)
        if existing is not None and existing is not target:
            # Re-registering the class a lazy entry pointed at is the lazy import resolving itself.
            if not (isinstance(existing, str) and _qualified_name(target) == existing):
                raise RegistryError(f"{self.kind} {name!r} is already registered ({_describe(existing)}): register yours under another name")
        self._entries[name] = target
        if not isinstance(target, str):
            try:
                target.registered_name = name  # type: ignore[attr-defined]  # T is a class here; classes take new attributes
            except (AttributeError, TypeError):
                pass

    def get(self, name: str) -> T:
        """Resolve a registered name, a plugin's name, or a `"module:Class"` path to the class."""
        if ":" in name:
            return _import_object(name)  # type: ignore[return-value]
        if name not in self._entries:
            self.load_entry_points()
        if name not in self._entries:
            raise RegistryError(self._unknown_message(name))
        entry = self._entries[name]
        if isinstance(entry, str):
            resolved = _import_object(entry)
            self._entries[name] = resolved  # type: ignore[assignment]
            try:
                resolved.registered_name = name  # type: ignore[attr-defined]  # an imported class; classes take new attributes
            except (AttributeError, TypeError):
                pass
            return resolved  # type: ignore[return-value]
        return entry

    def canonical_name(self, name: str) -> str:
        """The one name a class goes by in run specs (and so in run ids): its registered name, else "module:Qualname".

        `parity` and `tasks.parity:ParityTask` resolve to one class and so to one name; a class reached through
        a re-exporting module gets the module that defines it.
        """
        target = self.get(name)
        registered = vars(target).get("registered_name") if isinstance(target, type) else None
        if registered and self._entries.get(registered) is target:
            return registered
        return _qualified_name(target)

    def unregister(self, name: str) -> None:
        """Forget `name` (for tests and interactive sessions that re-register a class); unknown names are an error."""
        if name not in self._entries:
            raise RegistryError(self._unknown_message(name))
        del self._entries[name]

    def names(self) -> list[str]:
        """All registered names, plugins included, sorted."""
        self.load_entry_points()
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and (name in self._entries or name in self.names())

    def load_entry_points(self) -> None:
        """Register every entry point of this registry's group once; one that reuses a taken name is an error.

        There is no override: the run id hashes the name, so a plugin answering to a bundled name would
        make its runs indistinguishable from (and skipped as) the bundled component's.
        """
        if self._entry_points_loaded:
            return
        self._entry_points_loaded = True
        for entry_point in metadata.entry_points(group=self.entry_point_group):
            existing = self._entries.get(entry_point.name)
            if existing is not None and _describe(existing) != entry_point.value:
                dist = getattr(getattr(entry_point, "dist", None), "name", None)
                source = f"the entry point of package {dist!r}" if dist else "an entry point"
                raise RegistryError(
                    f"{source} registers {self.kind} {entry_point.name!r} = {entry_point.value!r}, but that name is taken "
                    f"by {_describe(existing)}: rename the plugin's entry point ({self.entry_point_group})"
                )
            if existing is None:
                self._add(entry_point.name, entry_point.value)

    def _unknown_message(self, name: str) -> str:
        known = sorted(self._entries)
        return f"unknown {self.kind} {name!r}{did_you_mean(name, known)} (known: {', '.join(known)})"


def _qualified_name(target: object) -> str:
    return f"{getattr(target, '__module__', '?')}:{getattr(target, '__qualname__', '?')}"


def _describe(entry: object) -> str:
    return entry if isinstance(entry, str) else _qualified_name(entry)


__all__ = ["T", "Registry", "RegistryError", "refuse_import_from_file"]
