"""How the suite prints a clock, a bound or a window: one formatter, used by the leaderboard, the terminal and the logs.

A censored value is a lower bound and prints as `> x`; a window bounded on one side prints `> x` or `< x`;
a clock that does not apply to the run (τ_mem of a stream run) prints `n/a`.
"""

from __future__ import annotations

import math
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


def count_text(count: int, noun: str, plural: str | None = None) -> str:
    """'1 run', '3 runs', '0 runs': a count with its noun in the right number (`plural` for irregular nouns)."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"
