"""Study 3.0's claims: each a family of paired comparisons (or a TOST, or a count), decided by the plan's rule.

Every clock is re-read from the run's metrics.jsonl at a setting (θ_rule, hold) — the primary one and each
of the sensitivity grid's — with `benchmark.run.clocks.read_clocks`, so no record on disk changes. The
comparisons are exact one-sided sign tests over seeds (`benchmark.analysis.paired`), Holm within each claim.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from benchmark.analysis import paired
from benchmark.analysis.paired import Obs
from benchmark.core.records import Record
from benchmark.run.clocks import read_clocks
from benchmark.run.spec import RunSpec

VERDICTS = ("reproduced", "not reproduced", "inconclusive", "not testable at this scale")
MAJORITY = 5  # of 6 seeds: "in ≥ 4 of 5 runs" (issue 22) at this study's 6 seeds


@dataclass(frozen=True)
class Setting:
    """A reading of the rule clock: its threshold on q and the evals it must hold for."""

    theta_rule: float
    hold: int

    @property
    def text(self) -> str:
        return f"θ_rule {self.theta_rule:g}, hold {self.hold}"


@dataclass(frozen=True)
class RunValues:
    """One run's numbers under one setting."""

    run_id: str
    seed: int
    tau_rule: Obs
    tau_mem: Obs | None  # None on the stream
    area: float
    status: str
    q_last: float | None


def cell_name(record: Record) -> str:
    """The design's name of a record's cell: 'gpt 4×64 G=3 random N=stream' (as `design.Cell.name`)."""
    from study3.design import label

    layout = " random" if record.task_config.get("layout") == "random" else ""
    return f"{label(record)} G={record.task_config['G']}{layout} N={record.n_train}"


def read_run(record: Record, rows: Sequence[Mapping[str, Any]], setting: Setting) -> RunValues:
    """The run's clocks and window re-read from its eval rows at `setting` (the other protocol knobs as it ran)."""
    protocol = dataclasses.replace(RunSpec.from_dict(record.spec).protocol, theta_rule=setting.theta_rule, hold=setting.hold)
    clocks = read_clocks(rows, protocol, batch_size=record.batch_size, n_train=None if record.stream else record.n_train)
    rule, mem, window = clocks["tau_rule"], clocks["tau_mem"], clocks["window"]
    q = [row.get("noncopy_valid_norm") for row in rows if row.get("noncopy_valid_norm") is not None]
    return RunValues(
        record.run_id,
        record.seed,
        Obs(float(rule.step), rule.censored),
        Obs(float(mem.step), mem.censored) if mem.applicable else None,
        float(window.area),
        window.status,
        float(q[-1]) if q else None,
    )


Cells = Mapping[str, Sequence[RunValues]]


# --- comparisons ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    """A planned comparison: cell b's runs lie beyond cell a's (the claim's direction), seed by seed."""

    label: str
    a: str  # cell names, or for C6 several cells joined by " | " (the per-seed extreme over them)
    b: str
    value: str  # "tau_rule", "tau_mem" or "area"
    combine_a: str = "one"  # "max": the slowest of a's cells at each seed; "min": the fastest
    combine_b: str = "one"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _values(cells: Cells, names: str, value: str, combine: str) -> dict[int, Obs]:
    """Per seed, the value of one cell, or the per-seed max/min over several (a bound wins a max, and a min only if all are bounds)."""
    per_cell = [{run.seed: _value(run, value) for run in cells.get(name, ()) if _value(run, value) is not None} for name in names.split(" | ")]
    seeds = set.intersection(*(set(c) for c in per_cell)) if per_cell else set()
    out = {}
    for seed in sorted(seeds):
        obs = [c[seed] for c in per_cell]
        if combine == "max":
            bounds = [o for o in obs if o.censored]
            out[seed] = max(bounds, key=lambda o: o.value) if bounds else max(obs, key=lambda o: o.value)
        elif combine == "min":
            exact = [o for o in obs if not o.censored]
            out[seed] = min(exact, key=lambda o: o.value) if exact else min(obs, key=lambda o: o.value)
        else:
            out[seed] = obs[0]
    return out


def _value(run: RunValues, value: str) -> Obs | None:
    """A run's value; the window's area is a lower bound when τ_mem is censored (the window had not closed)."""
    if value == "area":
        return Obs(run.area, run.tau_mem is not None and run.tau_mem.censored)
    return getattr(run, value)


def compare(cells: Cells, comparison: Comparison, alternative: str = "greater") -> paired.PairedTest:
    """The exact sign test of the comparison over the seeds both sides have (b beyond a: 'greater')."""
    a = _values(cells, comparison.a, comparison.value, comparison.combine_a)
    b = _values(cells, comparison.b, comparison.value, comparison.combine_b)
    seeds = sorted(set(a) & set(b))
    return paired.sign_test([a[s] for s in seeds], [b[s] for s in seeds], alternative)


@dataclass(frozen=True)
class Outcome:
    """A claim's verdict under one setting, with the numbers behind it."""

    key: str
    verdict: str
    reason: str
    lines: tuple[str, ...] = ()


def family_verdict(key: str, cells: Cells, family: Sequence[Comparison], alpha: float) -> Outcome:
    """Holm over the family one way (the claim) and the other: all rejected the claim's way → reproduced; any the other way → not reproduced."""
    forward = [compare(cells, c, "greater") for c in family]
    backward = [compare(cells, c, "less") for c in family]
    if all(t.n == 0 for t in forward):
        return Outcome(key, "not testable at this scale", "no comparison had a decided pair", tuple(f"{c.label}: no decided pair" for c in family))
    holm_f, holm_b = paired.holm([t.p for t in forward], alpha), paired.holm([t.p for t in backward], alpha)
    lines = tuple(f"{c.label}: {t.text()}; Holm-adjusted p = {p:.4g}" for c, t, p in zip(family, forward, holm_f.adjusted))
    if any(holm_b.rejected):
        against = [c.label for c, r in zip(family, holm_b.rejected) if r]
        return Outcome(key, "not reproduced", f"the other way after Holm: {', '.join(against)}", lines)
    if all(holm_f.rejected):
        return Outcome(key, "reproduced", f"all {len(family)} comparisons the claim's way after Holm (largest adjusted p = {max(holm_f.adjusted):.4g})", lines)
    return Outcome(key, "inconclusive", f"{sum(holm_f.rejected)} of {len(family)} comparisons the claim's way after Holm", lines)


# --- the claims -------------------------------------------------------------------------------------------


def c3c(key: str, cells: Cells, stream: Cells, finite_to_stream: Mapping[str, str]) -> Outcome:
    """The window can vanish, in a form that can fail: predicted-closed cells closed and predicted-open cells open in ≥ MAJORITY runs each."""
    lines, holds, fails, closed_cells, predicted_cells = [], 0, 0, 0, 0
    for finite, source in finite_to_stream.items():
        runs, rule = cells.get(finite, ()), {r.seed: r.tau_rule for r in stream.get(source, ())}
        predicted = [paired.predict_window(rule[r.seed], r.tau_mem) for r in runs if r.seed in rule and r.tau_mem is not None]
        measured = [paired.measured_window(r.status) for r in runs]
        if not runs:
            continue
        closed_cells += measured.count("closed") >= MAJORITY
        call = "closed" if predicted.count("closed") >= MAJORITY else "open" if predicted.count("open") >= MAJORITY else None
        if call is None:
            per_run = f"per run: {', '.join(predicted)}" if predicted else f"no run paired with a {source} seed yet"
            lines.append(f"{finite}: no prediction ({per_run})")
            continue
        predicted_cells += 1
        agree, opposite = measured.count(call), measured.count("open" if call == "closed" else "closed")
        holds += agree >= MAJORITY
        fails += opposite >= MAJORITY
        lines.append(f"{finite}: predicted {call}; measured {call} in {agree} of {len(measured)} runs")
    if not lines:
        return Outcome(key, "not testable at this scale", "no finite cell with its stream cell")
    if fails or not closed_cells:
        why = f"{fails} predicted cell(s) measured the other way in ≥ {MAJORITY} runs" if fails else f"no finite cell closed its window in ≥ {MAJORITY} runs"
        return Outcome(key, "not reproduced", why, tuple(lines))
    if holds == predicted_cells:
        return Outcome(key, "reproduced", f"every predicted cell ({holds}) as predicted in ≥ {MAJORITY} runs, {closed_cells} closed", tuple(lines))
    return Outcome(key, "inconclusive", f"{holds} of {predicted_cells} predicted cells as predicted in ≥ {MAJORITY} runs", tuple(lines))


def c4a(key: str, cells: Cells, ladders: Mapping[str, Sequence[str]], margin: tuple[float, float], alpha: float) -> Outcome:
    """τ_mem ∝ N^α with α inside the margin: a TOST per model (seed-clustered slope), Holm over the models."""
    tests, lines = [], []
    for model, names in ladders.items():
        x, y, censored, seed = [], [], [], []
        for name in names:
            for run in cells.get(name, ()):
                if run.tau_mem is None:
                    continue
                x.append(math.log10(int(name.rsplit("N=", 1)[1])))
                y.append(math.log10(max(run.tau_mem.value, 1.0)))
                censored.append(run.tau_mem.censored)
                seed.append(run.seed)
        result = paired.tost_slope(x, y, censored, seed, margin, alpha) if x else paired.Tost(None, margin, 1.0, 1.0, alpha, None, "no runs")
        tests.append(result)
        shown = "no fit" if result.estimate is None else f"α = {result.estimate:.2f}"
        interval = f", {100 * (1 - 2 * alpha):.0f} % interval [{result.interval[0]:.2f}, {result.interval[1]:.2f}]" if result.interval else ""
        lines.append(f"{model}: {shown}{interval}, TOST p = {result.p:.4g}" + (f" ({result.reason})" if result.reason else "") + f", {len(x)} runs, {sum(censored)} censored")
    if all(t.reason for t in tests):
        return Outcome(key, "not testable at this scale", "no fit had an interval", tuple(lines))
    holm = paired.holm([t.p for t in tests], alpha)
    outside = [t for t in tests if t.interval and (t.interval[0] >= margin[1] or t.interval[1] <= margin[0])]
    if outside:
        return Outcome(key, "not reproduced", f"{len(outside)} slope interval(s) entirely outside [{margin[0]:g}, {margin[1]:g}]", tuple(lines))
    if all(holm.rejected):
        return Outcome(key, "reproduced", f"every α equivalent to 1 within [{margin[0]:g}, {margin[1]:g}] after Holm (largest adjusted p = {max(holm.adjusted):.4g})", tuple(lines))
    return Outcome(key, "inconclusive", f"{sum(holm.rejected)} of {len(tests)} slopes shown inside [{margin[0]:g}, {margin[1]:g}] after Holm", tuple(lines))


def c4b(key: str, cells: Cells, a: str, b: str, factor: float, alpha: float) -> Outcome:
    """τ_mem barely depends on the rule: TOST that τ_mem(b)/τ_mem(a) lies within [1/factor, factor], run by run."""
    left = {r.seed: r.tau_mem for r in cells.get(a, ()) if r.tau_mem is not None}
    right = {r.seed: r.tau_mem for r in cells.get(b, ()) if r.tau_mem is not None}
    seeds = sorted(set(left) & set(right))
    if not seeds:
        return Outcome(key, "not testable at this scale", "no pair of runs")
    result = paired.tost_ratio([left[s] for s in seeds], [right[s] for s in seeds], factor, alpha)
    # "ratio > factor" (or < 1/factor) shown one-sided: the opposite of equivalence, tested the same exact way
    above = paired.sign_test([left[s].scaled(factor) for s in seeds], [right[s] for s in seeds], "greater")
    below = paired.sign_test([right[s].scaled(factor) for s in seeds], [left[s] for s in seeds], "greater")
    ratio = "a bound" if result.estimate is None else f"{result.estimate:.2f}"
    line = f"{b} / {a}: ratio of medians {ratio}, {len(seeds)} pairs; TOST p = {result.p:.4g} (within ×{factor:g})"
    if result.equivalent:
        return Outcome(key, "reproduced", f"τ_mem ratio within ×{factor:g} (TOST p = {result.p:.4g})", (line,))
    if min(above.p, below.p) <= alpha:
        return Outcome(key, "not reproduced", f"τ_mem ratio beyond ×{factor:g} (sign test p = {min(above.p, below.p):.4g})", (line,))
    return Outcome(key, "inconclusive", f"neither within nor beyond ×{factor:g} at α = {alpha:g}", (line,))


def c5(key: str, cells: Cells, autoregressive: Sequence[str], diffusion: Sequence[str], bounds: Sequence[str]) -> Outcome:
    """Both clocks in both kinds: ≥ 2 models of each kind with a finite cell (N ≥ 2B) where both clocks fired in ≥ MAJORITY runs."""
    lines, kinds = [], {"autoregressive": 0, "diffusion": 0}
    for kind, names in (("autoregressive", autoregressive), ("diffusion", diffusion)):
        models = set()
        for name in names:
            runs = cells.get(name, ())
            both = sum(not r.tau_rule.censored and r.tau_mem is not None and not r.tau_mem.censored for r in runs)
            lines.append(f"{name}: both clocks fired in {both} of {len(runs)} runs")
            if both >= MAJORITY:
                models.add(name.split(" G=")[0])
        kinds[kind] = len(models)
    lines += list(bounds)
    if kinds["diffusion"] == 0 and not any(cells.get(n) for n in diffusion):
        return Outcome(key, "not testable at this scale", "no diffusion model's τ_mem at N ≥ 2B fits the budget (bounds below)", tuple(lines))
    if kinds["autoregressive"] >= 2 and kinds["diffusion"] >= 2:
        return Outcome(key, "reproduced", "both clocks fired in ≥ 2 models of each kind", tuple(lines))
    return Outcome(key, "inconclusive", f"both clocks in {kinds['autoregressive']} autoregressive and {kinds['diffusion']} diffusion models", tuple(lines))
