"""Scaling fits over runs: τ_mem ∝ N^α per (adapter, task), and log10 τ_rule against complexity (slope β).

Points are single runs (log10 of the clock, a clock at step 0 counted as step 1); censored runs stay in
as lower bounds (a Tobit fit), and the interval treats seeds as the independent units
(`benchmark.analysis.stats.clustered_slope`: leave-one-seed-out jackknife with t(S−1), coverage measured by
simulation). α is fitted on finite N only and says which N range it covers and how many of its cells
are full-batch (N ≤ B); β is fitted per N, stream included (τ_rule^∞ against complexity).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from benchmark.analysis.groups import clocks_version
from benchmark.analysis.stats import SlopeFit, clustered_slope
from benchmark.core.records import Record
from benchmark.run.spec import canonical_json

TAU_MEM_LAW = "tau_mem ~ N^alpha"
TAU_RULE_LAW = "log10 tau_rule ~ beta * complexity"


@dataclass(frozen=True)
class FitPoint:
    """One run in a scaling fit: its x (N or complexity), its clock (a lower bound when censored), its seed."""

    x: float
    tau: float
    censored: bool
    seed: int
    full_batch: bool  # N ≤ batch size: every batch held the whole training set


@dataclass(frozen=True)
class ScalingFit:
    """One fitted scaling law: which runs it covers, its points, and the fit."""

    law: str
    adapter: str
    adapter_config: dict[str, Any]
    task: str
    task_config: dict[str, Any]  # for τ_rule fits: the first run's task config (complexity varies)
    complexity: float | None  # τ_mem fits: the complexity; τ_rule fits: None
    n_train: int | str | None  # τ_rule fits: the N (or "stream"); τ_mem fits: None
    protocol: dict[str, Any]
    clocks_version: str
    points: list[FitPoint]  # one per run
    fit: SlopeFit

    @property
    def full_batch_points(self) -> int:
        return sum(point.full_batch for point in self.points)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["fit"] = self.fit.to_dict()
        return data


def scaling_fits(records: Iterable[Record]) -> dict[str, list[ScalingFit]]:
    """τ_mem against N per (adapter, task, protocol); τ_rule against complexity per (adapter, task name, N, protocol); only where x varies."""
    by_task: dict[str, list[Record]] = {}
    by_n: dict[str, list[Record]] = {}
    for record in records:
        common = {"adapter": record.spec["adapter"], "protocol": record.protocol, "clocks": clocks_version(record)}
        if not record.stream:
            by_task.setdefault(canonical_json({**common, "task": record.spec["task"]}), []).append(record)
        by_n.setdefault(canonical_json({**common, "task": record.task_name, "n_train": record.n_train}), []).append(record)
    mem_fits = [_fit(members, TAU_MEM_LAW) for members in by_task.values() if len({r.n_train for r in members}) >= 2]
    rule_fits = [_fit(members, TAU_RULE_LAW) for members in by_n.values() if len({r.complexity for r in members}) >= 2]
    return {"tau_mem_vs_n": sorted(mem_fits, key=_order), "tau_rule_vs_complexity": sorted(rule_fits, key=_order)}


def _order(fit: ScalingFit) -> tuple[Any, ...]:
    n = (1, 0) if fit.n_train == "stream" else (0, fit.n_train or 0)
    return (fit.adapter, canonical_json(fit.adapter_config), fit.task, fit.complexity or 0.0, n, fit.clocks_version)


def _fit(members: Sequence[Record], law: str) -> ScalingFit:
    mem_law = law == TAU_MEM_LAW
    clock = "tau_mem" if mem_law else "tau_rule"
    x_of = (lambda r: float(r.n_train)) if mem_law else (lambda r: r.complexity)
    members = sorted(members, key=lambda r: (x_of(r), r.seed))
    points = [
        FitPoint(
            x=x_of(r),
            tau=float(r.clocks[clock].step),  # type: ignore[arg-type]  # step is None only where not applicable: τ_rule always is, τ_mem fits skip stream runs
            censored=bool(r.clocks[clock].censored),
            seed=r.seed,
            full_batch=(not r.stream) and int(r.n_train) <= r.batch_size,
        )
        for r in members
    ]
    x = [math.log10(p.x) if mem_law else p.x for p in points]
    y = [math.log10(max(p.tau, 1.0)) for p in points]  # a clock at step 0 counts as step 1
    fit = clustered_slope(x, y, [p.censored for p in points], [p.seed for p in points])
    first = members[0]
    return ScalingFit(
        law=law,
        adapter=first.adapter_name,
        adapter_config=first.adapter_config,
        task=first.task_name,
        task_config=first.task_config,
        complexity=first.complexity if mem_law else None,
        n_train=None if mem_law else first.n_train,
        protocol={k: v for k, v in first.protocol.items() if k != "version"},
        clocks_version=clocks_version(first),
        points=points,
        fit=fit,
    )


__all__ = ["TAU_MEM_LAW", "TAU_RULE_LAW", "FitPoint", "ScalingFit", "scaling_fits"]
