"""Study 2.0's claims table, figures and leaderboard, read from the records in leaderboard/v2/runs.

    python leaderboard/v2/study.py              # print the claims section: every number leaderboard/v2/README.md quotes
    python leaderboard/v2/study.py --write      # ... and rewrite README.md's generated block, leaderboard.md/.json, figures/

Each claim of the seed paper (C1–C6) is tested by a rule written down here before it is applied: which
cells are compared, what counts as a difference, and which verdict follows — *reproduced*, *not
reproduced*, *inconclusive* or *not testable at this scale*. With 3 seeds a cell's median interval is the
range of its 3 runs (coverage 75 %), so two cells are called different only when **every** run of one lies
beyond every run of the other ("separated"): under no difference, 3 runs against 3 are separated in a given
direction with probability 1/C(6, 3) = 0.05 (exact, distribution-free). A censored clock is a lower bound:
it lies beyond a value only when its bound does.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from benchmark.analysis.board import Board  # noqa: E402
from benchmark.analysis.stats import median_summary  # noqa: E402
from benchmark.core.display import count_text, format_bound  # noqa: E402
from benchmark.core.records import Record, RecordError, load_records  # noqa: E402
from benchmark.report import leaderboard  # noqa: E402

RUNS = HERE / "runs"
EARLIER = HERE.parent / "v1" / "reclocked"  # protocol-1.0 runs re-read with 2.0's clocks
README = HERE / "README.md"
BLOCK = "claims"
AUTOREGRESSIVE = ("gpt", "hf_causal_lm")
DIFFUSION = ("dit", "unet", "mdlm")
KIND = {**{name: "autoregressive" for name in AUTOREGRESSIVE}, **{name: "diffusion" for name in DIFFUSION}}
RATIO_TOLERANCE = 1.5  # C4b: "barely depends on the rule" = medians within a factor 1.5 of each other
APPROACHING = 0.5  # C6: a censored run whose last q (chance-normalised) is at least this was still learning
SEPARATION_P = 1 / math.comb(6, 3)  # 3 runs vs 3, all of one beyond all of the other, one direction


# --- selecting runs -------------------------------------------------------------------------------------


def model_label(record: Record) -> str:
    """'gpt 4×64', 'llama 4×64', 'unet', 'mdlm 4×64': the architecture as the study varies it."""
    config = record.adapter_config
    name = config.get("model_type", record.adapter_name) if record.adapter_name == "hf_causal_lm" else record.adapter_name
    if record.adapter_name == "unet":
        return "unet " + "×".join(str(config["width"] * m) for m in config["channel_mult"])
    return f"{name} {config['depth']}×{config['width']}"


def task_label(record: Record) -> str:
    config = record.task_config
    return f"G={config['G']}" + (" random" if config.get("layout") == "random" else "")


def select(records: Iterable[Record], *, adapter: str | None = None, depth: int | None = None, G: int | None = None, layout: str = "contiguous", n: int | str | None = None) -> list[Record]:
    """The runs of one cell (or of several, where a criterion is left out), ordered by seed."""
    chosen = [
        r
        for r in records
        if (adapter is None or r.adapter_name == adapter)
        and (depth is None or r.adapter_config.get("depth") == depth)
        and (G is None or r.task_config.get("G") == G)
        and r.task_config.get("layout", "contiguous") == layout
        and (n is None or r.n_train == n)
    ]
    return sorted(chosen, key=lambda r: r.seed)


# --- comparing cells ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Value:
    """One run's number: exact, or a lower bound (a censored clock)."""

    value: float | None  # None: undefined (the clock does not apply)
    bound: bool = False

    def text(self, digits: int = 0) -> str:
        return "n/a" if self.value is None else format_bound(self.value, self.bound, digits)


def clock_values(runs: Sequence[Record], name: str) -> list[Value]:
    values = []
    for run in runs:
        clock = run.clocks.get(name)
        values.append(Value(None) if clock is None or not clock.applicable or clock.step is None else Value(clock.step, clock.censored))
    return values


def area_values(runs: Sequence[Record]) -> list[Value]:
    return [Value(run.window.area) for run in runs]


def below(a: Sequence[Value], b: Sequence[Value]) -> bool:
    """Every value of a lies below every value of b (a bound in a is +∞ unknown; a bound in b counts at its value)."""
    if not a or not b or any(v.value is None for v in (*a, *b)):
        return False
    return all(not x.bound and x.value < y.value for x in a for y in b)


def compare(a: Sequence[Value], b: Sequence[Value]) -> str:
    """'<' or '>' when the cells are separated, '~' when they overlap, '?' when a value is undefined or missing or every run is censored."""
    if not a or not b or any(v.value is None for v in (*a, *b)) or all(v.bound for v in (*a, *b)):
        return "?"  # missing, undefined, or both cells censored: no order can be read
    if below(a, b):
        return "<"
    if below(b, a):
        return ">"
    return "~"


def median(values: Sequence[Value]) -> Value:
    """The censored median of runs (the leaderboard's, `stats.median_summary`) as a Value: a bound where censoring decides it."""
    summary = median_summary([v.value for v in values], [v.bound for v in values])
    return Value(summary.median, summary.median_is_bound)


def runs_text(values: Sequence[Value], digits: int = 0) -> str:
    """The median with the leaderboard's order-statistic interval and its exact coverage, then each run: '151 (range 126–152, 75 %): runs 126, 152, 151'."""
    if not values:
        return "not run"
    if any(v.value is None for v in values):
        return ", ".join(v.text(digits) for v in values)
    shown = median_summary([v.value for v in values], [v.bound for v in values]).display(digits)
    if all(v.text(digits) == values[0].text(digits) for v in values):
        return shown  # 'x (all n runs)'
    return f"{shown}: runs {', '.join(v.text(digits) for v in values)}"


# --- the claims -----------------------------------------------------------------------------------------


@dataclass
class Claim:
    key: str
    statement: str
    evidence: list[str]
    verdict: str
    reason: str


def _all(count: int, noun: str) -> str:
    """'the one comparison' or 'all 3 comparisons'."""
    return f"the one {noun}" if count == 1 else f"all {count} {noun}s"


def _verdict_from_tests(directions: Sequence[str], wanted: str) -> tuple[str, str]:
    """All testable comparisons separated the wanted way: reproduced; any the other way: not reproduced."""
    testable = [d for d in directions if d != "?"]
    opposite = {"<": ">", ">": "<"}[wanted]
    if not testable:
        return "not testable at this scale", "no comparison had both cells measured"
    if any(d == opposite for d in testable):
        return "not reproduced", f"{sum(d == opposite for d in testable)} of {count_text(len(testable), 'comparison')} separated the other way"
    if all(d == wanted for d in testable):
        return "reproduced", f"{_all(len(testable), 'comparison')} separated the predicted way (each p = {SEPARATION_P:.2f}, one-sided)"
    return "inconclusive", f"{sum(d == wanted for d in testable)} of {count_text(len(testable), 'comparison')} separated the predicted way, the rest overlap"


def claim_c1(records: Sequence[Record]) -> Claim:
    """τ_rule grows with rule complexity: τ_rule^∞ at G = 2 < G = 3 (< G = 4) for every model on the stream."""
    evidence, directions = [], []
    for model, runs in _by_model(select(records, n="stream")).items():
        by_g = {g: clock_values([r for r in runs if r.task_config["G"] == g and r.adapter_config.get("depth") in (4, None)], "tau_rule") for g in (2, 3, 4)}
        by_g = {g: v for g, v in by_g.items() if v}
        if len(by_g) < 2:
            continue
        steps = sorted(by_g)
        pairs = [(lo, hi, compare(by_g[lo], by_g[hi])) for lo, hi in zip(steps, steps[1:])]
        directions += [d for _, _, d in pairs]
        evidence.append(f"{model}: " + "; ".join(f"G={g} {runs_text(by_g[g])}" for g in steps) + " — " + ", ".join(f"G={lo} {d} G={hi}" for lo, hi, d in pairs))
    verdict, reason = _verdict_from_tests(directions, "<")
    return Claim("C1", "τ_rule grows with rule complexity (τ_rule^∞, stream, 4-block models)", evidence, verdict, reason)


def claim_c2(records: Sequence[Record]) -> Claim:
    """τ_rule shrinks with model capacity: depth 1 > depth 4 on the stream, per ladder (GPT at G = 3, DiT at G = 2)."""
    evidence, directions = [], []
    for adapter, g in (("gpt", 3), ("dit", 2)):
        ladder = {d: clock_values(select(records, adapter=adapter, depth=d, G=g, n="stream"), "tau_rule") for d in (1, 2, 4, 8)}
        ladder = {d: v for d, v in ladder.items() if v}
        if len(ladder) < 2:
            continue
        depths = sorted(ladder)
        shallow, deep = depths[0], depths[-1]
        direction = compare(ladder[deep], ladder[shallow])
        directions.append(direction)
        evidence.append(f"{adapter} G={g}, width 64: " + "; ".join(f"depth {d} {runs_text(ladder[d])}" for d in depths) + f" — depth {deep} {direction} depth {shallow}")
    verdict, reason = _verdict_from_tests(directions, "<")
    if verdict == "reproduced":
        reason += "; capacity here is depth 1–4 at width 64 only"
    return Claim("C2", "τ_rule shrinks with model capacity (τ_rule^∞ on the stream, deepest vs shallowest)", evidence, verdict, reason)


def claim_c3(records: Sequence[Record]) -> list[Claim]:
    """The window widens with N, narrows with complexity and can vanish: the GPT race, by window area."""
    finite = [r for r in select(records, adapter="gpt", depth=4) if r.n_train != "stream"]
    ns = sorted({r.n_train for r in finite})
    area = {(g, n): area_values([r for r in finite if r.task_config["G"] == g and r.n_train == n]) for g in (2, 3) for n in ns}
    area = {k: v for k, v in area.items() if v}
    widen_evidence, widen = [], []
    for g in (2, 3):
        cells = [n for n in ns if (g, n) in area]
        if len(cells) >= 2:
            direction = compare(area[(g, cells[0])], area[(g, cells[-1])])
            widen.append(direction)
            widen_evidence.append(f"gpt 4×64 G={g}: " + "; ".join(f"N={n} {runs_text(area[(g, n)], 2)}" for n in cells) + f" — N={cells[0]} {direction} N={cells[-1]}")
    narrow_evidence, narrow = [], []
    for n in ns:
        if (2, n) in area and (3, n) in area:
            direction = compare(area[(3, n)], area[(2, n)])
            narrow.append(direction)
            narrow_evidence.append(f"gpt 4×64 N={n}: G=2 {runs_text(area[(2, n)], 2)}; G=3 {runs_text(area[(3, n)], 2)} — G=3 {direction} G=2")
    statuses: dict[str, int] = {}
    for r in [r for r in records if r.n_train != "stream"]:
        statuses[r.window.status] = statuses.get(r.window.status, 0) + 1
    vanished = statuses.get("closed", 0) + statuses.get("not learned", 0)
    far = _far_at_tau_rule([r for r in finite if r.window.status == "open"])
    if far:
        widen_evidence.append(f"how new the open windows' samples are: at the first eval at or after τ_rule, the share of samples ≥ 4 cells from every training sample is {far}")
    claims = []
    verdict, reason = _verdict_from_tests(widen, "<")
    claims.append(Claim("C3a", "the innovation window widens with N (window area, ∫ novel_valid d log10 step up to τ_mem)", widen_evidence, verdict, reason))
    verdict, reason = _verdict_from_tests(narrow, "<")
    claims.append(Claim("C3b", "the window narrows with rule complexity (area at G = 3 vs G = 2, same N)", narrow_evidence, verdict, reason))
    status_text = ", ".join(f"{k} {v}" for k, v in sorted(statuses.items()))
    if vanished:
        claims.append(
            Claim(
                "C3c",
                "the window can vanish (τ_rule ≥ τ_mem, or τ_mem with no τ_rule)",
                [f"finite-N runs by window status: {status_text}"],
                "reproduced",
                f"{vanished} finite-N runs had no window (closed or not learned)",
            )
        )
    else:
        claims.append(
            Claim(
                "C3c",
                "the window can vanish (τ_rule ≥ τ_mem, or τ_mem with no τ_rule)",
                [f"finite-N runs by window status: {status_text}"],
                "inconclusive",
                "no finite-N run of this study closed its window",
            )
        )
    return claims


def _far_at_tau_rule(runs: Sequence[Record]) -> str:
    """Per open run, the fraction of samples at Hamming distance ≥ 4 from the training set at τ_rule (metrics' nearest_train histogram)."""
    from benchmark.run.rundir import read_eval_rows

    parts = []
    for run in sorted(runs, key=lambda r: (model_label(r), task_label(r), r.n_train, r.seed)):
        directory = RUNS / run.run_id
        if not (directory / "metrics.jsonl").exists():
            continue
        rows = [row for row in read_eval_rows(directory) if row.step >= run.clocks["tau_rule"].step and row.nearest_train]
        if rows and rows[0].nearest_train:
            parts.append(f"{task_label(run)} N={run.n_train} seed {run.seed}: {rows[0].nearest_train[-1]:.2f}")
    return "; ".join(parts)


def claim_c4(records: Sequence[Record], board: Board) -> list[Claim]:
    """τ_mem grows about linearly with N (α's interval contains 1 and is narrower than 1) and barely depends on the rule."""
    evidence, outcomes = [], []
    for row in board.mem_fits:
        line = row.fit.fit
        ns = sorted({p.x for p in row.fit.points})
        label = f"{row.adapter_label} {row.task_label}"
        if line.slope is None or line.low is None or line.high is None or line.coverage is None:
            evidence.append(f"{label}: N {ns[0]:g}–{ns[-1]:g}: no interval ({line.reason})")
            outcomes.append("?")
            continue
        coverage = f"{math.floor(line.coverage * 100 + 1e-9)} %"
        evidence.append(
            f"{label}: α = {line.slope:.2f} [{line.low:.2f}, {line.high:.2f}] ({coverage} seed-jackknife interval), N {ns[0]:g}–{ns[-1]:g}, {row.fit.full_batch_points} of {count_text(len(row.fit.points), 'run')} full-batch, {line.points_censored} censored"
        )
        if line.low <= 1 <= line.high:
            outcomes.append("yes" if line.high - line.low < 1 else "wide")
        else:
            outcomes.append("no")
    testable = [o for o in outcomes if o != "?"]
    if not testable:
        linear = Claim("C4a", "τ_mem grows about linearly with N (α ≈ 1)", evidence, "not testable at this scale", "no fit had an interval")
    elif "no" in testable:
        linear = Claim("C4a", "τ_mem grows about linearly with N (α ≈ 1)", evidence, "not reproduced", f"{testable.count('no')} of {count_text(len(testable), 'interval')} exclude α = 1")
    elif all(o == "yes" for o in testable):
        linear = Claim(
            "C4a",
            "τ_mem grows about linearly with N (α ≈ 1)",
            evidence,
            "reproduced",
            f"{'the' if len(testable) == 1 else 'every'} interval contains 1 and is narrower than 1 ({_all(len(testable), 'fit')})",
        )
    else:
        linear = Claim("C4a", "τ_mem grows about linearly with N (α ≈ 1)", evidence, "inconclusive", "the intervals contain 1 but at least one is wider than 1")
    rule_evidence, rule_outcomes = [], []
    finite = [r for r in records if r.n_train != "stream"]
    for adapter, depth in sorted({(r.adapter_name, r.adapter_config.get("depth")) for r in finite}, key=str):
        for n in sorted({r.n_train for r in finite if r.adapter_name == adapter}):
            two = clock_values(select(finite, adapter=adapter, depth=depth, G=2, n=n), "tau_mem")
            three = clock_values(select(finite, adapter=adapter, depth=depth, G=3, n=n), "tau_mem")
            if not two or not three:
                continue
            m2, m3 = median(two), median(three)
            if m2.bound or m3.bound:
                rule_outcomes.append("?")
                ratio = "ratio undefined (censored)"
            else:
                r = m3.value / m2.value
                rule_outcomes.append("yes" if 1 / RATIO_TOLERANCE <= r <= RATIO_TOLERANCE else ("no" if compare(two, three) in "<>" else "?"))
                ratio = f"ratio {r:.2f}"
            rule_evidence.append(f"{adapter} N={n}: τ_mem G=2 {runs_text(two)}; G=3 {runs_text(three)}; {ratio}")
    testable = [o for o in rule_outcomes if o != "?"]
    if not testable:
        rule = Claim("C4b", "τ_mem barely depends on the rule (G = 3 vs G = 2, same model and N)", rule_evidence, "not testable at this scale", "no cell pair with both τ_mem measured")
    elif all(o == "yes" for o in testable):
        rule = Claim(
            "C4b",
            "τ_mem barely depends on the rule (G = 3 vs G = 2, same model and N)",
            rule_evidence,
            "reproduced",
            f"median τ_mem within a factor {RATIO_TOLERANCE} across G in {_all(len(testable), 'pair')}",
        )
    elif "no" in testable:
        rule = Claim(
            "C4b",
            "τ_mem barely depends on the rule (G = 3 vs G = 2, same model and N)",
            rule_evidence,
            "not reproduced",
            f"{testable.count('no')} pairs differ by more than ×{RATIO_TOLERANCE} with separated runs",
        )
    else:
        rule = Claim("C4b", "τ_mem barely depends on the rule (G = 3 vs G = 2, same model and N)", rule_evidence, "inconclusive", "pairs differ by more than the tolerance without separated runs")
    return [linear, rule]


def _kinds_with_both_clocks(finite: Sequence[Record], evidence: list[str], prefix: str = "") -> set[str]:
    """The kinds of model with a cell whose every run fired both clocks; one evidence line per cell."""
    kinds = set()
    for model, runs in _by_model(finite).items():
        for cell, members in _by_cell(runs).items():
            rule, mem = clock_values(members, "tau_rule"), clock_values(members, "tau_mem")
            if all(v.value is not None and not v.bound for v in (*rule, *mem)):
                kinds.add(KIND[members[0].adapter_name])
                if prefix:
                    evidence.append(f"{prefix}{model} {cell}: τ_rule {runs_text(rule)}, τ_mem {runs_text(mem)}")
            if not prefix:
                evidence.append(f"{model} {cell}: τ_rule {runs_text(rule)}, τ_mem {runs_text(mem)}")
    return kinds


def claim_c5(records: Sequence[Record], earlier: Sequence[Record] = ()) -> Claim:
    """The same two clocks in diffusion and autoregressive models, with offsets: both clocks fire in both kinds.

    `earlier`: protocol-1.0 runs re-read with 2.0's clocks (`v1/reclocked`), consulted only for a kind
    this study's N ≥ B cells leave without both clocks, and said so.
    """
    statement = "the same two clocks appear in diffusion and autoregressive models, with offsets"
    finite = [r for r in records if r.n_train != "stream"]
    evidence: list[str] = []
    kinds = _kinds_with_both_clocks(finite, evidence)
    evidence += _offsets(finite)
    both = {"autoregressive", "diffusion"}
    if both <= kinds:
        return Claim("C5", statement, evidence, "reproduced", "both clocks fired in every run of at least one N ≥ B cell of each kind")
    missing = both - kinds
    if not kinds:
        return Claim("C5", statement, evidence, "inconclusive", "no N ≥ B cell of either kind had both clocks fire in every run within its max_steps")
    earlier_kinds = _kinds_with_both_clocks([r for r in earlier if not r.stream and KIND.get(r.adapter_name) in missing], evidence, prefix="protocol-1.0 run re-read with 2.0 clocks (N ≤ B), ")
    if missing <= earlier_kinds:
        return Claim(
            "C5",
            statement,
            evidence,
            "reproduced",
            f"both clocks fired in every run of an N ≥ B cell of the {' and '.join(sorted(kinds))} models, and for the {' and '.join(sorted(missing))} models only at N ≤ B in the protocol-1.0 runs (re-read with 2.0's clocks); at N ≥ B their τ_mem was censored, a bound on the offset",
        )
    return Claim("C5", statement, evidence, "inconclusive", f"no {' or '.join(sorted(missing))} cell had both clocks fire in every run within its max_steps")


def claim_c6(records: Sequence[Record]) -> Claim:
    """Diffusion fails to learn parity of many bits: at G = 3 on the stream, no diffusion run learns, every autoregressive run does.

    A censored run has *failed* within its budget only if its last eval is far from the bar (chance-normalised
    q < APPROACHING); a censored run at or above it is *approaching*: still learning when the budget ran out
    (the 1.0 study called such runs "censored, not late"). Any approaching diffusion run makes the verdict
    inconclusive, since more steps could turn it.
    """
    statement = "diffusion fails to learn parity of many bits (G = 3, stream)"
    evidence: list[str] = []
    counts = {kind: {"runs": 0, "learned": 0, "approaching": 0} for kind in ("diffusion", "autoregressive")}
    bounds, ar_steps = [], []
    for model, runs in _by_model(select(records, G=3, n="stream")).items():
        runs = [r for r in runs if r.adapter_config.get("depth") in (4, None)]
        if not runs:
            continue
        values = clock_values(runs, "tau_rule")
        kind = KIND[runs[0].adapter_name]
        learned = sum(not v.bound for v in values)
        approaching = sum(v.bound and _final_q_norm(r) >= APPROACHING for v, r in zip(values, runs))
        counts[kind]["runs"] += len(values)
        counts[kind]["learned"] += learned
        counts[kind]["approaching"] += approaching
        bounds += [v.value for v in values if v.bound]
        ar_steps += [v.value for v in values if not v.bound and kind == "autoregressive"]
        evidence.append(
            f"{model} ({kind}): τ_rule^∞ at G=3 {runs_text(values)}; learned in {learned} of {count_text(len(values), 'run')}, "
            f"{approaching} censored at or above q = {APPROACHING} (approaching); chance-normalised q at the last eval {', '.join(f'{_final_q_norm(r):.2f}'.replace('-0.00', '0.00') for r in runs)}"
        )
    for model, runs in _by_model(select(records, G=2, layout="random", n="stream")).items():
        evidence.append(f"{model}, locality control (G=2 random layout): τ_rule^∞ {runs_text(clock_values(runs, 'tau_rule'))}")
    diffusion, autoregressive = counts["diffusion"], counts["autoregressive"]
    if not diffusion["runs"] or not autoregressive["runs"]:
        return Claim("C6", statement, evidence, "not testable at this scale", "a kind of model is missing at G = 3")
    summary = (
        f"{diffusion['learned']} of {diffusion['runs']} diffusion runs learned G = 3 and {diffusion['approaching']} were approaching the bar when censored; "
        f"{autoregressive['learned']} of {autoregressive['runs']} autoregressive runs learned it"
    )
    if diffusion["learned"] == 0 and diffusion["approaching"] == 0 and autoregressive["learned"] == autoregressive["runs"]:
        return Claim(
            "C6",
            statement,
            evidence,
            "reproduced",
            f"{summary}, by {max(ar_steps):,.0f} steps, while every diffusion run stayed far from the bar for {_span(bounds)} steps; a bound at this budget, not a proof that diffusion never learns it",
        )
    if diffusion["learned"] == diffusion["runs"]:
        return Claim("C6", statement, evidence, "not reproduced", summary)
    return Claim("C6", statement, evidence, "inconclusive", summary + " (an approaching run could learn with more steps)" * bool(diffusion["approaching"]))


def _span(values: Sequence[float]) -> str:
    low, high = min(values), max(values)
    return f"{low:,.0f}" if low == high else f"{low:,.0f}–{high:,.0f}"


def _final_q_norm(run: Record) -> float:
    """Chance-normalised validity of the non-copies at the run's last eval (0 where undefined)."""
    q = run.final_row.noncopy_valid_norm
    return 0.0 if q is None else float(q)


def _group(records: Iterable[Record], key: Callable[[Record], str]) -> dict[str, list[Record]]:
    """Records by `key`, keys sorted, each group's runs by seed."""
    grouped: dict[str, list[Record]] = {}
    for record in records:
        grouped.setdefault(key(record), []).append(record)
    return {k: sorted(v, key=lambda r: r.seed) for k, v in sorted(grouped.items())}


def _by_model(records: Iterable[Record]) -> dict[str, list[Record]]:
    return _group(records, model_label)


def _by_cell(records: Iterable[Record]) -> dict[str, list[Record]]:
    return _group(records, lambda r: f"{task_label(r)} N={r.n_train}")


def _offsets(finite: Sequence[Record]) -> list[str]:
    """Median τ_mem of each model at the same G and N as the GPT 4×64, as a ratio (the offset between kinds)."""
    lines = []
    reference = {(r.task_config["G"], r.n_train): r for r in finite if model_label(r) == "gpt 4×64"}
    for model, runs in _by_model(finite).items():
        if model == "gpt 4×64":
            continue
        for g, n in sorted({(r.task_config["G"], r.n_train) for r in runs}):
            if (g, n) not in reference:
                continue
            mine = median(clock_values(select(runs, G=g, n=n), "tau_mem"))
            gpt = median(clock_values(select(finite, adapter="gpt", depth=4, G=g, n=n), "tau_mem"))
            if mine.value is None or gpt.value is None or gpt.bound:
                continue
            relation = "≥" if mine.bound else "="
            lines.append(f"offset, {model} vs gpt 4×64 at G={g}, N={n}: median τ_mem ratio {relation} {mine.value / gpt.value:.1f}")
    return lines


CLAIMS: tuple[Callable[..., Any], ...] = (claim_c1, claim_c2, claim_c3, claim_c4, claim_c5, claim_c6)


def all_claims(records: Sequence[Record], board: Board, earlier: Sequence[Record] = ()) -> list[Claim]:
    claims: list[Claim] = []
    for test in CLAIMS:
        result = test(records, board) if test is claim_c4 else test(records, earlier) if test is claim_c5 else test(records)
        claims += result if isinstance(result, list) else [result]
    return claims


# --- output ---------------------------------------------------------------------------------------------


def claims_markdown(records: Sequence[Record], board: Board, earlier: Sequence[Record] = ()) -> str:
    claims = all_claims(records, board, earlier)
    lines = ["| claim | verdict | why |", "|---|---|---|"]
    lines += [f"| **{c.key}** {c.statement} | **{c.verdict}** | {c.reason} |" for c in claims]
    lines += ["", "The numbers behind each verdict (medians, then each seed's run; `> x`: censored at x):", ""]
    for claim in claims:
        lines.append(f"- **{claim.key}**")
        lines += [f"  - {line}" for line in claim.evidence] or ["  - no runs"]
    examples = example_runs(records)
    if examples:
        lines += ["", "Training curves of one finite-N run per window status (copies, near-copies, novel valid and the clocks):", ""]
        lines += [f"- {status}: {model_label(r)} {task_label(r)} N={r.n_train} seed {r.seed}: [figures/runs/{r.run_id}.png](figures/runs/{r.run_id}.png)" for status, r in examples]
    lines += ["", "Training rate per model with two runs side by side (median over its runs of steps / (wall − eval time)): " + rates_text(records) + "."]
    prediction = board.prediction_summary
    lines += [
        "",
        f"Predicted windows (from τ_rule^∞ < τ_mem(N)): {prediction.agree} of {count_text(prediction.known, 'cell')} agree with the measured window, {prediction.cells - prediction.known} unknown ({count_text(prediction.cells, 'cell')}).",
        f"Runs: {len(records)} ({sum(r.stream for r in records)} on the stream); training and evaluation took {sum(r.wall_time_s for r in records) / 60:.0f} worker-minutes, "
        f"{100 * sum(r.eval_time_s for r in records) / max(sum(r.wall_time_s for r in records), 1e-9):.0f} % of it evaluating, "
        f"{_span_minutes(records):.0f} minutes from the first run's start to the last record ({_machines(records)}).",
    ]
    return "\n".join(lines)


def example_runs(records: Sequence[Record]) -> list[tuple[str, Record]]:
    """For each window status among the finite-N runs, the middle run in (model, task, N, seed) order: a fixed, stated choice."""
    chosen = []
    for status in ("open", "closed", "not learned", "censored"):
        runs = sorted((r for r in records if not r.stream and r.window.status == status), key=lambda r: (model_label(r), task_label(r), r.n_train, r.seed))
        if runs:
            chosen.append((status, runs[len(runs) // 2]))
    return chosen


def rates_text(records: Sequence[Record]) -> str:
    parts = []
    for model, runs in _by_model(records).items():
        rates = sorted(r.steps_trained / max(r.wall_time_s - r.eval_time_s, 1e-9) for r in runs)
        parts.append(f"{model} {rates[len(rates) // 2]:.1f} steps/s")
    return ", ".join(parts)


def _span_minutes(records: Sequence[Record]) -> float:
    """Wall-clock minutes from the earliest run start (record time minus its wall time) to the latest record."""
    from datetime import datetime

    ends = [datetime.fromisoformat(r.created).timestamp() for r in records]
    starts = [end - r.wall_time_s for end, r in zip(ends, records)]
    return (max(ends) - min(starts)) / 60 if records else 0.0


def _machines(records: Sequence[Record]) -> str:
    """The machines the records were made on: CPU, instruction set, torch threads, torch version."""
    seen = sorted({(r.environment.get("cpu"), r.environment.get("cpu_capability"), r.environment.get("threads"), r.environment.get("torch")) for r in records}, key=str)
    return "; ".join(f"{cpu}, {capability}, {threads} torch thread(s) per run, torch {torch}" for cpu, capability, threads, torch in seen)


def plot_tau_rule_by_g(records: Sequence[Record], path: Path) -> Path:
    """τ_rule^∞ against G per model on the stream (4 blocks): each run a dot, censored runs as ▲ at their bound."""
    from benchmark.report.plots import require_pyplot

    pyplot = require_pyplot()
    figure, axes = pyplot.subplots(figsize=(6.0, 4.2))
    stream = [r for r in select(records, n="stream") if r.adapter_config.get("depth") in (4, None)]
    models = _by_model(stream)
    for index, (model, runs) in enumerate(models.items()):
        color = f"C{index}"
        shift = (index - (len(models) - 1) / 2) * 0.06
        medians_x, medians_y = [], []
        for g in sorted({r.task_config["G"] for r in runs}):
            values = clock_values([r for r in runs if r.task_config["G"] == g], "tau_rule")
            for v in values:
                axes.scatter(g + shift, v.value, color=color, marker="^" if v.bound else "o", facecolors="none" if v.bound else color, s=22)
            m = median(values)
            medians_x.append(g + shift)
            medians_y.append(m.value)
        axes.plot(medians_x, medians_y, color=color, label=f"{model} ({KIND[runs[0].adapter_name]})")
        control = [r for r in select(records, G=2, layout="random", n="stream") if model_label(r) == model]
        for v in clock_values(control, "tau_rule"):
            axes.scatter(1.8 + shift, v.value, color=color, marker="^" if v.bound else "x", facecolors="none" if v.bound else color, s=22)
    axes.set_yscale("log")
    axes.set_xticks([1.8, 2, 3, 4], ["G=2\nrandom", "G=2", "G=3", "G=4"])
    axes.set_ylabel("τ_rule^∞ (steps, stream)")
    axes.set_title("Intrinsic rule clock τ_rule^∞ on 6×6 parity (stream)\n● learned   × learned, random layout   △ censored at max_steps", fontsize=8)
    axes.legend(fontsize=7)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    pyplot.close(figure)
    return path


def replace_block(text: str, body: str) -> str:
    pattern = re.compile(rf"(<!-- generated: {BLOCK} .*?-->\n).*?(<!-- /generated -->)", re.S)
    if not pattern.search(text):
        raise SystemExit(f"{README}: no '<!-- generated: {BLOCK} ... -->' block")
    return pattern.sub(lambda m: m.group(1) + body + "\n" + m.group(2), text)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", default=str(RUNS), help="folder of run folders (default: leaderboard/v2/runs)")
    parser.add_argument("--write", action="store_true", help="rewrite README.md's claims block, leaderboard.md/.json and figures/")
    args = parser.parse_args(argv)
    try:
        records, earlier = load_records([args.runs]), load_records([EARLIER])
    except RecordError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    board = leaderboard.build(records)
    body = claims_markdown(records, board, earlier)
    print(body)
    if args.write:
        from benchmark.report import plots

        leaderboard.write(board, HERE / "leaderboard.md", HERE / "leaderboard.json")
        plots.plot_all([args.runs], HERE / "figures")
        plot_tau_rule_by_g(records, HERE / "figures" / "tau_rule_stream_by_G.png")
        README.write_text(replace_block(README.read_text(), body))
        print(f"wrote {README}, leaderboard.md, leaderboard.json, figures/", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
