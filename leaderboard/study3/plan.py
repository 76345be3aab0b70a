"""Study 3.0's pre-registered plan: the design, each claim's test and decision rule, and what each block costs.

`build` returns the plan as plain data (written to leaderboard/PLAN.json by `study.py plan`, committed before
any run); `claims_from_plan` turns its claims back into the comparisons the renderer applies.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from study3 import design
from study3.rules import MAJORITY, Comparison, Setting

ALPHA = 0.05
PRIMARY = Setting(0.9, 2)  # study 2.0's reading, kept as the headline
THETAS = (0.8, 0.9, 0.95)
HOLDS = (1, 2, 3)
SLOPE_MARGIN = (0.8, 1.25)
RATIO_FACTOR = 1.5
PLAN_FILE = "PLAN.json"


def settings() -> list[Setting]:
    return [Setting(theta, hold) for theta in THETAS for hold in HOLDS]


def _cmp(label: str, a: str, b: str, value: str = "tau_rule", combine_a: str = "one", combine_b: str = "one") -> dict[str, Any]:
    return Comparison(label, a, b, value, combine_a, combine_b).to_dict()


FAMILY_RULE = (
    "exact one-sided sign test per comparison over the seed pairs (censored runs beyond their bound; tied or undecidable pairs dropped); "
    "Holm within the claim at α = 0.05: reproduced when every comparison is rejected the claim's way, not reproduced when any is rejected the other way "
    "(the same test, other direction, Holm), inconclusive otherwise, not testable at this scale when no pair is decided"
)


def claims(cells: Sequence[design.Cell], measured: design.Study2, bounds: Sequence[tuple[str, str, str]]) -> list[dict[str, Any]]:
    """C1–C6 with their tests and decision rules; comparisons read 'b lies beyond a' (one-sided, the claim's direction)."""
    s = "N=stream"
    family_rule = "the family rule"
    stream_budget = design.budgets(measured)[0]
    slowest = measured.clock("gpt 4×64 G=3 N=stream", "tau_rule")
    return [
        {
            "key": "C1",
            "statement": "τ_rule grows with rule complexity (τ_rule^∞ on the stream, G = 3 later than G = 2)",
            "test": "sign",
            "decision": family_rule + "; the family is the two autoregressive models, the ones that learn G = 3 in budget (a diffusion model's G = 3 is C6's question)",
            "family": [_cmp(f"{m}: G=3 beyond G=2", f"{m} G=2 {s}", f"{m} G=3 {s}") for m in design.AUTOREGRESSIVE],
        },
        {
            "key": "C2",
            "statement": "τ_rule shrinks with model capacity (τ_rule^∞ of the smallest rung beyond the largest)",
            "test": "sign",
            "decision": family_rule
            + "; the family is the GPT's depth (1 vs 4) and width (16 vs 64) ladders at G = 3 and the DiT's width ladder at G = 2 (its depth ladder, flat in study 2.0, is printed but not in the family)",
            "family": [
                _cmp("gpt depth 1 beyond depth 4 (G=3)", f"gpt 4×64 G=3 {s}", f"gpt 1×64 G=3 {s}"),
                _cmp("gpt width 16 beyond width 64 (G=3)", f"gpt 4×64 G=3 {s}", f"gpt 4×16 G=3 {s}"),
                _cmp("dit width 16 beyond width 64 (G=2)", f"dit 4×64 G=2 {s}", f"dit 4×16 G=2 {s}"),
            ],
            "secondary": [_cmp("dit depth 1 beyond depth 4 (G=2)", f"dit 4×64 G=2 {s}", f"dit 1×64 G=2 {s}"), _cmp("gpt depth 2 beyond depth 4 (G=3)", f"gpt 4×64 G=3 {s}", f"gpt 2×64 G=3 {s}")],
        },
        {
            "key": "C3a",
            "statement": "the innovation window widens with N (window area at N = 1024 beyond N = 128, G = 3)",
            "test": "sign",
            "decision": family_rule,
            "family": [_cmp(f"{m}: area N=1024 beyond N=128", f"{m} G=3 N=128", f"{m} G=3 N=1024", "area") for m in design.AUTOREGRESSIVE],
        },
        {
            "key": "C3b",
            "statement": "the window narrows with rule complexity (area at G = 2 beyond G = 3, N = 256)",
            "test": "sign",
            "decision": family_rule,
            "family": [_cmp("llama 4×64 N=256: area G=2 beyond G=3", "llama 4×64 G=3 N=256", "llama 4×64 G=2 N=256", "area")],
        },
        {
            "key": "C3c",
            "statement": "the window can vanish, and where: each finite cell's window predicted run by run from τ_rule^∞ (stream seed s) against τ_mem (seed s at N)",
            "test": "count",
            "decision": (
                f"a cell is predicted open (closed) when ≥ {MAJORITY} of its 6 runs are; reproduced when every predicted cell is measured as predicted in ≥ {MAJORITY} runs "
                f"and at least one cell closes in ≥ {MAJORITY}; not reproduced when a predicted cell is measured the other way in ≥ {MAJORITY} runs or no cell closes; inconclusive otherwise"
            ),
            "cells": {cell.name: f"{cell.model} G={cell.G} {s}" for cell in cells if cell.n != "stream"},
        },
        {
            "key": "C4a",
            "statement": "τ_mem grows about linearly with N (α of τ_mem ∝ N^α within the margin)",
            "test": "tost-slope",
            "decision": (
                f"TOST per model at α = 0.05 against α ∈ [{SLOPE_MARGIN[0]}, {SLOPE_MARGIN[1]}] on the seed-clustered Tobit slope of log10 τ_mem on log10 N (N = 128, 256, 1024: 8×), "
                "Holm over the two models: reproduced when both are equivalent, not reproduced when a 90 % interval lies entirely outside the margin, inconclusive otherwise"
            ),
            "margin": list(SLOPE_MARGIN),
            "ladders": {m: [f"{m} G=3 N={n}" for n in (128, 256, 1024)] for m in design.AUTOREGRESSIVE},
        },
        {
            "key": "C4b",
            "statement": "τ_mem barely depends on the rule (τ_mem at G = 3 over G = 2, same model and N)",
            "test": "tost-ratio",
            "decision": f"TOST by two exact one-sided sign tests on the paired ratios at α = 0.05, margin ×{RATIO_FACTOR} either way: reproduced when equivalent, not reproduced when a one-sided sign test puts the ratio beyond ×{RATIO_FACTOR}, inconclusive otherwise",
            "factor": RATIO_FACTOR,
            "a": "llama 4×64 G=2 N=256",
            "b": "llama 4×64 G=3 N=256",
        },
        {
            "key": "C5",
            "statement": "the same two clocks appear in diffusion and autoregressive models (protocol-2 runs at N ≥ 2B only)",
            "test": "count",
            "decision": f"reproduced when ≥ 2 models of each kind have a finite cell where both clocks fired in ≥ {MAJORITY} of 6 runs; not testable at this scale where no diffusion cell fits the budget (the bounds are printed); inconclusive otherwise",
            "autoregressive": [cell.name for cell in cells if cell.n != "stream" and cell.model in design.AUTOREGRESSIVE],
            "diffusion": [cell.name for cell in cells if cell.n != "stream" and cell.model in design.DIFFUSION],
            "bounds": [f"{model}: not testable at this scale: {why}" for model, claim, why in bounds if claim == "C5"],
        },
        {
            "key": "C6",
            "statement": f"diffusion fails to learn parity of many bits (G = 3 on the stream, every model at the same {stream_budget:,}-step budget)",
            "test": "sign",
            "decision": family_rule
            + f"; per layout, seed by seed, the fastest diffusion model's τ_rule^∞ against the slowest autoregressive model's; the budget is {stream_budget:,} steps for every model, {stream_budget / slowest:.2f}× the GPT 4×64's median τ_rule^∞ at G = 3 in study 2.0 ({slowest:,.0f}), the slowest autoregressive learner's",
            "family": [
                _cmp(
                    "contiguous: fastest diffusion beyond slowest autoregressive",
                    " | ".join(f"{m} G=3 {s}" for m in design.AUTOREGRESSIVE),
                    " | ".join(f"{m} G=3 {s}" for m in design.DIFFUSION),
                    combine_a="max",
                    combine_b="min",
                ),
                _cmp(
                    "random layout: fastest diffusion beyond the GPT",
                    f"gpt 4×64 G=3 random {s}",
                    " | ".join(f"{m} G=3 random {s}" for m in design.DIFFUSION if m != "mdlm 4×64"),
                    combine_a="max",
                    combine_b="min",
                ),
            ],
        },
    ]


def build(
    cells: Sequence[design.Cell],
    measured: design.Study2,
    blocks: Sequence[design.Block],
    hashes: Mapping[str, str],
    run_ids: Mapping[str, Sequence[str]],
    rates: Mapping[str, tuple[float, float]],
    code_version: str,
    protocol_version: str,
) -> dict[str, Any]:
    """The plan as plain data; deterministic, so `plan` twice writes the same file."""
    blocks_out = []
    for block in blocks:
        path = f"leaderboard/configs/study3/{block.name}.yaml"
        runs = [{"run_id": run_id, "cell": run.cell.name, "seed": run.seed, "claims": list(run.cell.claims), "minutes": round(run.minutes, 1)} for run, run_id in zip(block.runs, run_ids[block.name])]
        blocks_out.append({"name": block.name, "config": path, "sha256": hashes[path], "runs": runs, "wall_minutes": round(block.wall_minutes, 1), "worker_minutes": round(block.worker_minutes, 1)})
    bounds = design.not_testable(measured, rates)
    return {
        "study": "3.0",
        "protocol_version": protocol_version,
        "code_version": code_version,
        "alpha": ALPHA,
        "correction": "Holm within each claim",
        "seeds": list(design.SEEDS),
        "seed_rule": "seed s draws the same training set and batch order for every model at the same rule and N, and the same initialisation for the same architecture at every rule and N",
        "primary": {"theta_rule": PRIMARY.theta_rule, "hold": PRIMARY.hold},
        "sensitivity": {"theta_rule": list(THETAS), "hold": list(HOLDS)},
        "stop_rule": (
            "the configs run at θ_rule 0.95 and hold 3 (the strictest setting of the grid): early stop waits until τ_rule has held 3 evals at 0.95 (and τ_mem 3 evals), "
            "which is after every looser setting has fired and held; every setting is then re-read from metrics.jsonl, so the sensitivity table needs no rerun"
        ),
        "protocol": design.PROTOCOL,
        "undecided": "an eval is undecided when θ lies inside the 99 % Wilson interval of q on its non-copies; a τ_rule that fired at an undecided eval, or a censored one whose last eval is undecided, is marked so",
        "fragile": "a claim whose verdict differs anywhere in the sensitivity grid is marked fragile",
        "family_rule": FAMILY_RULE,
        "claims": claims(cells, measured, bounds),
        "predictions": {
            "rule": "per run: seed s on the stream predicts the window of seed s at N: open when its τ_rule^∞ lies before that run's τ_mem, closed when after, unknown when censoring leaves the order undecidable; scored against the measured window (closed or not learned: closed), with the hit rate and its 95 % Clopper–Pearson interval",
            "pairs": [{"finite": cell.name, "stream": f"{cell.model} G={cell.G} N=stream", "seeds": list(design.SEEDS)} for cell in cells if cell.n != "stream"],
        },
        "cells": [
            {
                "name": c.name,
                "model": c.model,
                "G": c.G,
                "layout": c.layout,
                "n": c.n,
                "max_steps": c.max_steps,
                "claims": list(c.claims),
                "expected_steps": round(c.expected_steps),
                "expected_from": c.end_source,
            }
            for c in cells
        ],
        "rates": {model: {"steps_per_s": round(rate, 2), "s_per_eval": round(per_eval, 2)} for model, (rate, per_eval) in sorted(rates.items())},
        "estimate": {
            "blocks": len(blocks),
            "runs": sum(len(b.runs) for b in blocks),
            "worker_hours": round(sum(b.worker_minutes for b in blocks) / 60, 2),
            "wall_hours": round(sum(b.wall_minutes for b in blocks) / 60, 2),
            "how": design.__doc__.split("\n\n", 1)[1].replace("\n", " ").strip(),
        },
        "blocks": blocks_out,
        "cut": [*design.CUT, *design.cut_costs(measured, rates)],
        "not_testable": [{"model": m, "claim": c, "bound": why} for m, c, why in bounds],
    }


def write(plan: Mapping[str, Any], path: Path) -> None:
    path.write_text(json.dumps(plan, indent=1, ensure_ascii=False, sort_keys=False) + "\n")


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def family(items: Sequence[Mapping[str, Any]]) -> list[Comparison]:
    return [Comparison(**item) for item in items]
