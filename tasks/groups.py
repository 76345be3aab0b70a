"""Partitions of a grid's cells into groups of G: contiguous row-major blocks or a seeded random partition."""

from __future__ import annotations

import numpy as np

from benchmark.core.config import ConfigError, require

LAYOUTS = ("contiguous", "random")
MAX_SIDE = 256  # grid height and width, each; refuses a 10**10 typo before anything is sized by it
MAX_CELLS = 4096  # height*width (64×64): the linear rules hold dense (constraints × cells) matrices, 16 MB here and 2 GB at 256×256


def partition(cells: int, group_size: int, layout: str, layout_seed: int) -> np.ndarray:
    """(cells // G, G) flat cell indices of each group; the random layout is fixed by `layout_seed`."""
    order = np.arange(cells)
    if layout == "random":
        order = np.random.default_rng(layout_seed).permutation(cells)
    return order.reshape(cells // group_size, group_size)


def require_group_size(config: object, field: str, group_size: int, cells: int, even: bool = False) -> None:
    """House-style error listing every allowed G when G does not divide the cell count (or is odd, if `even`)."""
    ok = isinstance(group_size, int) and group_size >= 1 and cells % group_size == 0 and (not even or group_size % 2 == 0)
    if not ok:
        allowed = [d for d in range(1, cells + 1) if cells % d == 0 and (not even or d % 2 == 0)]
        what = "an even divisor" if even else "a divisor"
        raise ConfigError(f"{type(config).__name__}.{field} must be {what} of height*width={cells} (allowed: {', '.join(map(str, allowed)) or 'none'}), got {group_size!r}")


def require_grid(config: object, height: int, width: int) -> None:
    """Height and width are integers in 1..MAX_SIDE with at most MAX_CELLS cells (checked before anything is sized by them)."""
    require(1 <= height <= MAX_SIDE, config, "height", f"an integer in 1..{MAX_SIDE}", height)
    require(1 <= width <= MAX_SIDE, config, "width", f"an integer in 1..{MAX_SIDE}", width)
    if height * width > MAX_CELLS:
        raise ConfigError(f"{type(config).__name__}: height*width must be at most {MAX_CELLS} cells, got {height}*{width} = {height * width}")


def require_layout(config: object, layout: str, layout_seed: int) -> None:
    """A known layout and a non-negative layout seed."""
    require(layout in LAYOUTS, config, "layout", f"one of {', '.join(LAYOUTS)}", layout)
    require(layout_seed >= 0, config, "layout_seed", "a non-negative integer", layout_seed)


__all__ = ["LAYOUTS", "MAX_SIDE", "MAX_CELLS", "partition", "require_group_size", "require_grid", "require_layout"]
