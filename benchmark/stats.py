"""Statistics the leaderboard prints, each with the coverage it really has.

- `wilson_interval`: a binomial proportion's score interval (per-eval fractions).
"""

from __future__ import annotations

import math

import numpy as np

WILSON_Z = 1.959963984540054  # two-sided 95 %


# --- binomial proportions ----------------------------------------------------------------------


def wilson_interval(successes: np.ndarray | float, total: int, z: float = WILSON_Z) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion: sensible at 0 and 1, where the normal interval collapses."""
    if total <= 0:
        raise ValueError(f"total must be positive, got {total}")
    p = float(successes) / total
    z2 = z * z
    denominator = 1.0 + z2 / total
    centre = (p + z2 / (2 * total)) / denominator
    half = z / denominator * math.sqrt(p * (1.0 - p) / total + z2 / (4.0 * total * total))
    return max(0.0, centre - half), min(1.0, centre + half)
