"""Study 3.0's two figures, drawn from the clocks at the primary reading: τ_mem against N (C4a) and τ_rule^∞ per stream cell (C1, C2, C6).

Each run is one mark (a filled dot when its clock fired, an open △ at its bound when censored), so the
pairing and the spread the sign tests see are visible, not only medians.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from benchmark.analysis.paired import Obs
from benchmark.report.plots import require_pyplot
from study3 import rules

MEM_FIGURE = "figures/tau_mem_vs_n.png"
RULE_FIGURE = "figures/tau_rule_stream.png"
MEM, RULE = r"$\tau_\mathrm{mem}$", r"$\tau_\mathrm{rule}^\infty$"  # matplotlib mathtext


def write_all(plan: Mapping[str, Any], cells: rules.Cells, folder: Path, setting: rules.Setting) -> list[Path]:
    """Both figures under `folder` (the leaderboard/ folder), `cells` read at `setting`; returns the files written."""
    pyplot = require_pyplot()
    return [tau_mem_vs_n(pyplot, plan, cells, folder / MEM_FIGURE), tau_rule_stream(pyplot, plan, cells, folder / RULE_FIGURE, setting)]


def tau_mem_vs_n(pyplot: Any, plan: Mapping[str, Any], cells: rules.Cells, path: Path) -> Path:
    """Per C4a ladder: each seed's τ_mem against N (log–log), the median line, and slopes 0.8 and 1.25 (the margin) through the median at the smallest N."""
    claim = next(c for c in plan["claims"] if c["key"] == "C4a")
    low, high = claim["margin"]
    figure, axes = pyplot.subplots(figsize=(6.0, 4.2))
    for index, (model, ladder) in enumerate(claim["ladders"].items()):
        color = f"C{index}"
        points = [(_n(name), run.tau_mem) for name in ladder for run in cells.get(name, ()) if run.tau_mem is not None]
        _marks(axes, [(n, obs) for n, obs in points], color)
        medians = [(_n(name), _median([r.tau_mem for r in cells.get(name, ()) if r.tau_mem is not None])) for name in ladder]
        medians = [(n, m) for n, m in medians if m is not None]
        if medians:
            axes.plot([n for n, _ in medians], [m for _, m in medians], color=color, label=f"{model}: median {MEM}")
            n0, m0 = medians[0]
            n1 = max(n for n, _ in medians)
            for slope, style in ((low, ":"), (high, "--")):
                axes.plot([n0, n1], [m0, m0 * (n1 / n0) ** slope], color=color, linestyle=style, linewidth=0.8, alpha=0.6)
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("N (training samples)")
    axes.set_ylabel(f"{MEM} (steps)")
    axes.set_title(f"C4a: {MEM} against N, each seed a mark (△ censored at its bound)\ndotted / dashed: slopes {low:g} and {high:g} (the margin) from the smallest N", fontsize=8)
    axes.legend(fontsize=7)
    return _save(pyplot, figure, path)


def tau_rule_stream(pyplot: Any, plan: Mapping[str, Any], cells: rules.Cells, path: Path, setting: rules.Setting) -> Path:
    """Every planned stream cell's τ_rule^∞ read at `setting`, one mark per seed, with each cell's step budget as a short bar."""
    planned = [cell for cell in plan["cells"] if cell["n"] == "stream"]
    figure, axes = pyplot.subplots(figsize=(max(6.0, 0.42 * len(planned) + 1.5), 4.6))
    models = sorted({cell["model"] for cell in planned})
    for x, cell in enumerate(planned):
        color = f"C{models.index(cell['model']) % 10}"
        runs = cells.get(cell["name"], ())
        _marks(axes, [(x + (run.seed - 2.5) * 0.05, run.tau_rule) for run in runs], color)
        axes.plot([x - 0.3, x + 0.3], [cell["max_steps"]] * 2, color="0.5", linewidth=0.8)
    axes.set_yscale("log")
    axes.set_xticks(range(len(planned)), [cell["name"].removesuffix(" N=stream") for cell in planned], rotation=70, ha="right", fontsize=6)
    axes.set_ylabel(f"{RULE} (steps, stream)")
    axes.set_title(f"{RULE} per stream cell at {setting.text}, each seed a mark (△ censored at its budget; grey bar: the budget)", fontsize=8)
    return _save(pyplot, figure, path)


def _marks(axes: Any, points: list[tuple[float, Obs]], color: str) -> None:
    fired = [(x, obs.value) for x, obs in points if not obs.censored]
    censored = [(x, obs.value) for x, obs in points if obs.censored]
    if fired:
        axes.scatter([x for x, _ in fired], [max(v, 1.0) for _, v in fired], color=color, s=18)
    if censored:
        axes.scatter([x for x, _ in censored], [max(v, 1.0) for _, v in censored], marker="^", facecolors="none", edgecolors=color, s=24)


def _n(cell: str) -> int:
    return int(cell.rsplit("N=", 1)[1])


def _median(values: list[Obs]) -> float | None:
    """The median of the values when it is not censored (fewer than half the runs censored), else None: no line through a bound."""
    if not values:
        return None
    ordered = sorted(values, key=lambda o: (o.value, o.censored))
    middle = ordered[(len(ordered) - 1) // 2 : len(ordered) // 2 + 1]
    if any(o.censored and o.value <= middle[-1].value for o in ordered):  # a bound at or below the middle may lie above it
        return None
    return sum(o.value for o in middle) / len(middle)


def _save(pyplot: Any, figure: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, dpi=110, metadata={"Software": None})  # no version stamp: the same clocks give the same bytes
    pyplot.close(figure)
    return path
