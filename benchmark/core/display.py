"""How the suite prints a clock, a bound, a window or an adapter's name: one formatter, used by the leaderboard, the terminal and the logs.

A censored value is a lower bound and prints as `> x`; a window bounded on one side prints `> x` or `< x`;
a clock that does not apply to the run (τ_mem of a stream run) prints `n/a`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any


def format_bound(value: float, is_bound: bool, digits: int = 0) -> str:
    """A number as printed, '> x' when it is a lower bound; digits=0: whole numbers (two significant digits below 1)."""
    if digits == 0 and abs(value) >= 1:
        text = f"{value:.0f}"
    else:
        text = f"{value:.2g}" if digits == 0 else f"{value:.{digits}f}"
    return f"> {text}" if is_bound else text


def format_percent(coverage: float) -> str:
    """A coverage as a whole percent rounded down (93.75 → '93 %'), so the label never overstates it."""
    return f"{math.floor(coverage * 100 + 1e-9)} %"


def format_clock(clock: Any, digits: int = 0) -> str:
    """A `records.Clock`: '1234', '> 2000' (censored) or 'n/a' (not applicable)."""
    if not clock.applicable or clock.step is None:
        return "n/a"
    return format_bound(clock.step, clock.censored, digits)


def format_window(value: float | None, kind: str, digits: int = 0) -> str:
    """A window width or log-width: exact, a lower ('> x') or upper ('< x') bound, or '—' when unknown."""
    if value is None or kind == "unknown":
        return "—"
    text = f"{value:.{digits}f}"
    return {"lower": f"> {text}", "upper": f"< {text}"}.get(kind, text)


def model_type(config: Mapping[str, Any]) -> str | None:
    """The `model_type` knob of an adapter built by model type (hf_causal_lm), else None: it decides the architecture."""
    value = config.get("model_type")
    return value if isinstance(value, str) and value else None


def adapter_label(name: str, config: Mapping[str, Any]) -> str:
    """'gpt', or 'hf_causal_lm/llama' for an adapter built by model type, so runs of two model types read apart."""
    kind = model_type(config)
    return f"{name}/{kind}" if kind else name


def knob_value(value: Any) -> str:
    """A knob's value as printed: pairs (config_args) as 'k=v,k=v', other sequences as '4x4', empty as '—', else str."""
    if isinstance(value, (list, tuple)):
        if not value:
            return "—"
        if all(isinstance(item, (list, tuple)) and len(item) == 2 and isinstance(item[0], str) for item in value):
            return ",".join(f"{key}={knob_value(item)}" for key, item in value)
        return "x".join(map(str, value))
    return str(value)


def count_text(count: int, noun: str, plural: str | None = None) -> str:
    """'1 run', '3 runs', '0 runs': a count with its noun in the right number (`plural` for irregular nouns)."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


__all__ = ["adapter_label", "count_text", "format_bound", "format_clock", "format_percent", "format_window", "knob_value", "model_type"]
