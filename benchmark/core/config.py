"""Frozen-dataclass configs validated at the edge: build from knobs, coerce CLI strings, describe fields.

Shared by tasks and adapters (a leaf module, like `benchmark.core.registry`). Every error names the
field and the allowed values, so bad input fails before any training starts.

Checks every config gets from `BaseConfig.validate()`, before its own: declared types; numbers finite
(no NaN; no infinity unless the field's metadata says `allow_inf`); integers within int64 (what numpy and
torch hold); and the bounds a field declares in its metadata, `min` and `max` (inclusive), so a sane upper
bound is data next to the default and the help text rather than code in each `validate()`.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

C = TypeVar("C", bound="BaseConfig")

INT64_MAX = 2**63 - 1  # numpy and torch hold integers as int64: a larger knob would overflow inside them


class ConfigError(ValueError):
    """A config knob is unknown or has a bad value; the message names the field and what is allowed."""


@dataclasses.dataclass(frozen=True)
class BaseConfig:
    """Base for task and adapter configs: subclasses add fields with defaults and extend `validate()`."""

    def validate(self) -> None:
        """Raise `ConfigError` naming the field and allowed values; the base checks types, finiteness and declared bounds."""
        hints = typing.get_type_hints(type(self))
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            expected = hints.get(field.name)
            where = f"{_owner(self)}.{field.name}"
            if expected is bool and not isinstance(value, bool):
                raise ConfigError(f"{where} must be true or false, got {_shown(value)}")
            if expected in (int, float):
                _check_number(value, expected, where, field.metadata)
            if expected is str and not isinstance(value, str):
                raise ConfigError(f"{where} must be a string, got {_shown(value)}")
            if typing.get_origin(expected) is tuple:
                item_type = (typing.get_args(expected) or (Any,))[0]
                if not isinstance(value, tuple):
                    raise ConfigError(f"{where} must be a comma-separated tuple, got {_shown(value)}")
                if item_type in (int, float):
                    for item in value:
                        _check_number(item, item_type, where, field.metadata)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict of every field (for run specs and records).

        A field whose metadata says `omit_at_default` is left out while it holds its default: a knob added
        after records exist then leaves their specs, and so their run ids, as they were.
        """
        data = dataclasses.asdict(self)
        for item in dataclasses.fields(self):
            if item.metadata.get("omit_at_default") and data[item.name] == item.default:
                del data[item.name]
        return data


def build_config(config_class: type[C], knobs: Mapping[str, Any] | None = None) -> C:
    """Build and validate `config_class` from `knobs`; strings are coerced to the field's type."""
    knobs = dict(knobs or {})
    fields = {field.name: field for field in dataclasses.fields(config_class)}
    hints = typing.get_type_hints(config_class)
    passthrough = getattr(config_class, "passthrough_field", None)  # a field collecting unknown knobs, checked by the class
    if passthrough:
        unknown = {name: knobs.pop(name) for name in [name for name in knobs if name not in fields]}
        if unknown:
            knobs[passthrough] = {**dict(knobs.get(passthrough) or ()), **unknown}
    for name in knobs:
        if not isinstance(name, str):
            raise ConfigError(f"knob names of {config_class.__name__} are strings, got {_shown(name)}")
        if name not in fields:
            suggestion = did_you_mean(name, list(fields))
            allowed = ", ".join(fields) or "(none)"
            raise ConfigError(f"unknown knob {_shown(name)} for {config_class.__name__}{suggestion} (allowed: {allowed})")
    values = {name: _coerce(value, hints.get(name), f"{config_class.__name__}.{name}") for name, value in knobs.items()}
    try:
        config = config_class(**values)
    except (TypeError, ValueError) as error:
        if isinstance(error, ConfigError):
            raise
        raise ConfigError(f"{config_class.__name__}: {error}") from error
    config.validate()
    return config


def did_you_mean(name: str, known: list[str]) -> str:
    """'; did you mean 'x'?' for the closest known name (case-insensitive), or ''."""
    by_lower = {candidate.lower(): candidate for candidate in known}
    hint = difflib.get_close_matches(name.lower(), list(by_lower), n=1)
    return f"; did you mean {by_lower[hint[0]]!r}?" if hint else ""


def _coerce(value: Any, expected: Any, where: str) -> Any:
    """Turn a CLI/YAML string into the declared type (int, float, bool, str, tuple); leave typed values alone."""
    if not isinstance(value, str) or expected in (None, str, Any):
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if typing.get_origin(expected) is tuple and isinstance(value, list):
            return tuple(value)
        return value
    text = value.strip()
    try:
        if expected is bool:
            lowered = text.lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if expected is int:
            return int(text)
        if expected is float:
            return float(text)
        if typing.get_origin(expected) is tuple:
            (item_type, *_) = typing.get_args(expected) or (str,)
            return tuple(_coerce(part, item_type, where) for part in text.replace("x", ",").split(",") if part)
    except ValueError:
        raise ConfigError(f"{where} must be {_type_name(expected)}, got {_shown(value)}") from None
    return value


def describe_fields(config_class: type) -> list[dict[str, Any]]:
    """One row per knob (name, type, default, help) for `python -m benchmark list`."""
    hints = typing.get_type_hints(config_class)
    rows = []
    for field in dataclasses.fields(config_class):
        default = field.default
        if default is dataclasses.MISSING and field.default_factory is not dataclasses.MISSING:
            default = field.default_factory()
        rows.append(
            {
                "name": field.name,
                "type": _type_name(hints.get(field.name)),
                "default": None if default is dataclasses.MISSING else default,
                "help": field.metadata.get("help", ""),
            }
        )
    return rows


def _check_number(value: Any, expected: type, where: str, metadata: Mapping[str, Any] | None = None) -> None:
    """An int or float knob: the right type, finite (unless `allow_inf`), within int64 and the field's `min`/`max`."""
    metadata = metadata or {}
    if expected is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ConfigError(f"{where} must be an integer, got {_shown(value)}")
    if expected is float and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise ConfigError(f"{where} must be a number, got {_shown(value)}")
    if isinstance(value, float) and math.isnan(value):
        raise ConfigError(f"{where} must be a number, got nan")
    if isinstance(value, float) and math.isinf(value) and not metadata.get("allow_inf", False):
        raise ConfigError(f"{where} must be a finite number, got {value}")
    low, high = metadata.get("min"), metadata.get("max")
    if low is not None and value < low:
        raise ConfigError(f"{where} must be at least {low}, got {_shown(value)}")
    if high is not None and value > high:
        raise ConfigError(f"{where} must be at most {high}{_reason(metadata)}, got {_shown(value)}")
    if isinstance(value, int) and not -INT64_MAX - 1 <= value <= INT64_MAX:
        raise ConfigError(f"{where} must be an integer within int64 (|value| < 2**63), got {_shown(value)}")


def require(condition: bool, owner: object, field: str, allowed: str, value: Any) -> None:
    """Raise the house-style error unless `condition`: '<Config>.<field> must be <allowed>, got <value>'."""
    if not condition:
        raise ConfigError(f"{_owner(owner)}.{field} must be {allowed}, got {_shown(value)}")


def _reason(metadata: Mapping[str, Any]) -> str:
    reason = metadata.get("max_reason")
    return f" ({reason})" if reason else ""


def _shown(value: Any, limit: int = 60) -> str:
    """repr of a bad value, cut short: a 10**31 or a 5,000-character string must still make a one-line error."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        return f"an integer of {value.bit_length()} bits"  # repr of a huge int is slow, and refused above 4300 digits
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 12]}...({len(text)} chars)"


def _owner(config: object) -> str:
    return config if isinstance(config, str) else type(config).__name__


def _type_name(expected: Any) -> str:
    if expected is int:
        return "an integer"
    if expected is float:
        return "a number"
    if expected is bool:
        return "true or false"
    if typing.get_origin(expected) is tuple:
        return "a comma-separated tuple"
    return getattr(expected, "__name__", str(expected))


__all__ = ["C", "INT64_MAX", "ConfigError", "BaseConfig", "build_config", "did_you_mean", "describe_fields", "require"]
