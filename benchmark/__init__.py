"""two-clocks: measure when a generative model learns a rule (τ_rule) and when it starts copying (τ_mem).

Importing this package does no work: no model building, no file I/O, no registry discovery.
"""

import logging
from typing import Any

from benchmark import _compat
from benchmark.core.version import __version__

_compat.install()  # 0.x import paths (benchmark.config, benchmark.protocol, ...) still work, with a DeprecationWarning

# A library stays silent unless its user configures logging (the CLI does): no "No handlers" warnings either.
logging.getLogger(__name__).addHandler(logging.NullHandler())

_API = ("run_sweep", "render_leaderboard", "SweepFailed")
_MONITOR = ("ClockMonitor", "MonitorState")
__all__ = ["__version__", *_API, *_MONITOR]


def __getattr__(name: str) -> Any:  # lazy, so `import benchmark` stays free of torch
    """`benchmark.run_sweep` / `render_leaderboard` / `ClockMonitor`: the Python API, imported on first use."""
    if name in _API:
        from benchmark import api

        return getattr(api, name)
    if name in _MONITOR:
        from benchmark.run import monitor

        return getattr(monitor, name)
    raise AttributeError(f"module 'benchmark' has no attribute {name!r}")
