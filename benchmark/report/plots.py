"""Figures from run folders: training curves with the clocks marked, and the scaling laws with their fits.

matplotlib is an optional extra (`two-clocks[plot]`); without it every entry point raises one
`PlotError` line saying how to install it. Like the leaderboard, figures come from records on disk.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.analysis.board import FitRow, build_board
from benchmark.analysis.fits import FitPoint
from benchmark.analysis.stats import SlopeFit
from benchmark.core.display import count_text, format_clock, format_percent
from benchmark.core.records import find_record_files, load_records, read_record
from benchmark.run.rundir import read_eval_rows

CURVES = (
    ("valid", "valid", "tab:blue"),
    ("noncopy_valid", "valid among non-copies (τ_rule's curve)", "tab:purple"),
    ("mem", "copies", "tab:red"),
    ("near", "near-copies", "tab:orange"),
    ("novel_valid", "novel valid", "tab:green"),
    ("control", "control (chance copies)", "tab:gray"),
)


class PlotError(ValueError):
    """Plots cannot be made (matplotlib missing, output path unusable); the message says why."""


def require_pyplot() -> Any:
    """matplotlib.pyplot on the file-only Agg backend, or a one-line `PlotError` saying how to get it."""
    try:
        import matplotlib
    except ImportError:
        raise PlotError("plotting needs matplotlib, which is not installed: pip install 'two-clocks[plot]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as pyplot

    return pyplot


def plot_all(roots: Sequence[str | Path], out: str | Path) -> list[Path]:
    """Every figure for the runs under `roots`, written under `out`; returns the files written."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise PlotError(f"{out}: is a file, expected a folder for figures")
    pyplot = require_pyplot()
    records = load_records(roots)
    written = [plot_run(pyplot, path.parent, out / "runs") for path in find_record_files(roots)]
    board = build_board(records)
    names: set[str] = set()
    for row in board.mem_fits:
        written.append(plot_tau_vs_n(pyplot, row, out / (_unique(names, f"tau_vs_n_{_slug(row.adapter_label)}_{_slug(row.task_label)}") + ".png")))
    for row in board.rule_fits:
        name = f"tau_rule_vs_complexity_{_slug(row.adapter_label)}_{_slug(row.fit.task)}_N{row.fit.n_train}"
        written.append(plot_tau_rule_vs_complexity(pyplot, row, out / (_unique(names, name) + ".png")))
    return written


def plot_run(pyplot: Any, run_dir: Path, out: Path) -> Path:
    """valid / mem / novel_valid / control against step (log axis; step 0 shown) with τ_rule and τ_mem marked."""
    record = read_record(run_dir)
    rows = read_eval_rows(run_dir)
    figure, axes = pyplot.subplots(figsize=(6.4, 4.0))
    steps = [row.step for row in rows]
    for key, label, color in CURVES:
        values = [math.nan if row.curve(key) is None else row.curve(key) for row in rows]
        if rows and not all(math.isnan(v) for v in values):
            axes.plot(steps, values, marker=".", label=label, color=color, linestyle="--" if key == "control" else "-")
    clocks = record.clocks
    for name, symbol, color in (("tau_rule", "τ_rule", "tab:purple"), ("tau_mem", "τ_mem", "tab:red")):
        clock = clocks.get(name)
        if clock is not None and clock.applicable:
            axes.axvline(clock.step, color=color, linestyle=":" if clock.censored else "-", alpha=0.6, label=f"{symbol} {format_clock(clock)}")
    if record.window.status == "open":
        end = clocks["tau_mem"].step if clocks["tau_mem"].fired else steps[-1]
        axes.axvspan(clocks["tau_rule"].step, end, color="tab:green", alpha=0.08, label=f"innovation window ({record.window.status})")
    axes.set_xscale("symlog", linthresh=1.0)
    axes.set_xlim(left=0)  # steps are never negative; autoscale margins would give half the axis to them
    axes.set_ylim(-0.02, 1.02)
    axes.set_xlabel("training step")
    axes.set_ylabel("fraction of samples")
    axes.set_title(f"{record.adapter_name} on {record.task_name} (complexity {record.complexity:g}), N={record.n_train}, seed {record.seed}: {record.window.status}", fontsize=9)
    axes.legend(fontsize=7, loc="center left")
    return _save(pyplot, figure, out / f"{record.run_id}.png")


def plot_tau_vs_n(pyplot: Any, row: FitRow, path: Path) -> Path:
    """τ_mem (and τ_rule where present) against N on log-log axes, censored runs as ▲ at their bound, with the fit."""
    figure, axes = pyplot.subplots(figsize=(5.0, 4.0))
    _scatter(axes, row.fit.points, "tab:red", "τ_mem")
    line = row.fit.fit
    n_values = sorted({p.x for p in row.fit.points})
    if line.slope is not None and line.intercept is not None:
        grid = [n_values[0], n_values[-1]]
        axes.plot(
            grid,
            [10 ** (line.intercept + line.slope * math.log10(n)) for n in grid],
            color="black",
            label=f"α = {_slope_text(line)}, N {n_values[0]:g}–{n_values[-1]:g} ({count_text(line.points, 'run')})",
        )
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("training-set size N")
    axes.set_ylabel("τ_mem (steps)")
    axes.set_title(f"{row.adapter_label} on {row.task_label}: τ_mem ∝ N^α", fontsize=9)
    axes.legend(fontsize=7)
    return _save(pyplot, figure, path)


def plot_tau_rule_vs_complexity(pyplot: Any, row: FitRow, path: Path) -> Path:
    """τ_rule against complexity (log y), censored runs as ▲ at their bound, with the log-linear fit."""
    figure, axes = pyplot.subplots(figsize=(5.0, 4.0))
    _scatter(axes, row.fit.points, "tab:blue", "τ_rule")
    line = row.fit.fit
    xs = sorted({p.x for p in row.fit.points})
    if line.slope is not None and line.intercept is not None:
        axes.plot(xs, [10 ** (line.intercept + line.slope * x) for x in xs], color="black", label=f"β = {_slope_text(line)} per unit ({count_text(line.points, 'run')})")
    axes.set_yscale("log")
    axes.set_xlabel("rule complexity")
    axes.set_ylabel("τ_rule (steps)")
    axes.set_title(f"{row.adapter_label} on {row.fit.task}, N={row.fit.n_train}", fontsize=9)
    axes.legend(fontsize=7)
    return _save(pyplot, figure, path)


def _slope_text(line: SlopeFit) -> str:
    """The slope as a legend shows it: '1.21 [1.02, 1.40] (95 %)' or '1.21 (no interval)' (the reason is in the leaderboard)."""
    if line.low is None or line.high is None or line.coverage is None:
        return f"{line.slope:.2f} (no interval)"
    return f"{line.slope:.2f} [{line.low:.2f}, {line.high:.2f}] ({format_percent(line.coverage)})"


def _scatter(axes: Any, points: Iterable[FitPoint], color: str, label: str) -> None:
    points = list(points)
    fired = [p for p in points if not p.censored]
    censored = [p for p in points if p.censored]
    if fired:
        axes.scatter([p.x for p in fired], [max(p.tau, 1.0) for p in fired], color=color, label=f"{label} (fired)")
    if censored:
        axes.scatter([p.x for p in censored], [max(p.tau, 1.0) for p in censored], marker="^", facecolors="none", edgecolors=color, label=f"{label} censored (> bound)")


def _save(pyplot: Any, figure: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot.close(figure)
    return path


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9=.]+", "-", text).strip("-").lower() or "x"


def _unique(names: set[str], name: str) -> str:
    """`name`, or `name-2`, `name-3`… when two fits would share a file name."""
    candidate, index = name, 1
    while candidate in names:
        index += 1
        candidate = f"{name}-{index}"
    names.add(candidate)
    return candidate


def plot_basins(summary: dict[str, Any], out: str | os.PathLike[str]) -> Path:
    """Basin radius against training step for each probe class, with τ_rule and τ_mem marked."""
    from benchmark.analysis.basins import PROBE_CLASSES, radius_table

    plt = require_pyplot()

    table = radius_table(summary["rows"])
    figure, axis = plt.subplots(figsize=(6, 4))
    for name in PROBE_CLASSES:
        if name not in table:
            continue
        steps, radius, low, high = (np.array(column, dtype=float) for column in zip(*table[name]))
        x = np.maximum(steps, 1.0)
        axis.plot(x, radius, marker="o", label=name.replace("_", " "))
        axis.fill_between(x, low, high, alpha=0.2)
    for name, style in (("tau_rule", "--"), ("tau_mem", ":")):
        clock = (summary.get("clocks") or {}).get(name)
        if clock and not clock["censored"]:
            axis.axvline(max(clock["step"], 1.0), color="k", linestyle=style, label=f"τ_{name[4:]} = {clock['step']:.0f}")
    axis.set_xscale("log")
    axis.set_xlabel("training step (step 0 drawn at 1)")
    axis.set_ylabel("basin radius σ")
    axis.set_title(f"basins: {summary['run_id']}", fontsize=9)
    axis.legend(fontsize=8)
    figure.tight_layout()
    out = Path(out)
    figure.savefig(out, dpi=120)
    plt.close(figure)
    return out


__all__ = ["CURVES", "PlotError", "require_pyplot", "plot_all", "plot_run", "plot_tau_vs_n", "plot_tau_rule_vs_complexity", "plot_basins"]
