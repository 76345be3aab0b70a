"""Study 3.0's page: the plan checked against the records (deviations), the claims, the sensitivity grid, the predictions.

With no records it renders the plan: the study is planned, not run, and each block's estimate is listed.
"""

from __future__ import annotations

import subprocess
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from benchmark.analysis import paired
from benchmark.core.records import Record
from study3 import figures, rules
from study3 import plan as plan_module
from study3.rules import Outcome, RunValues, Setting

MIN_SEEDS = 5  # issue 22's bar: ≤ 10 % of cells with fewer seeds than this
SHORT = {"reproduced": "R", "not reproduced": "NR", "inconclusive": "I", "not testable at this scale": "NT", "pending": "P"}


@dataclass(frozen=True)
class Deviation:
    """A difference between the records and the plan, with the claims it touches."""

    what: str
    claims: tuple[str, ...]
    reason: str


def _git_log(root: Path, *args: str) -> list[str]:
    try:
        done = subprocess.run(["git", "-C", str(root), "log", *args, "--", "leaderboard/PLAN.*"], capture_output=True, text=True, check=False)
    except OSError:
        return []
    return done.stdout.split() if done.returncode == 0 else []


def plan_commit(root: Path) -> str | None:
    """The commit that added leaderboard/PLAN.* (None outside git or before the plan is committed)."""
    added = _git_log(root, "--diff-filter=A", "--format=%H")
    return added[-1] if added else None


def plan_amendments(root: Path) -> list[str]:
    """Later commits that changed the plan, oldest first: shown on the page beside the plan commit."""
    commits = _git_log(root, "--format=%H")[::-1]
    return commits[1:] if commits else []


def deviations(plan: Mapping[str, Any], records: Sequence[Record], missing_metrics: Sequence[str], reasons: Mapping[str, str]) -> list[Deviation]:
    """Every planned run given up (no record, a reason in deviations.json), every record the plan does not list (by spec hash: spec or
    seed changed), every other code or protocol version. A planned run with neither record nor reason is not yet run (`not_yet_run`)."""
    planned = {run["run_id"]: run for block in plan["blocks"] for run in block["runs"]}
    cells = {cell["name"]: tuple(cell["claims"]) for cell in plan["cells"]}
    seen = {r.run_id for r in records}
    found: list[Deviation] = []

    def reason(key: str) -> str:
        return reasons.get(key, "no reason recorded")

    for run_id, run in planned.items():
        if run_id not in seen and run_id in reasons:
            found.append(Deviation(f"missing: {run['cell']} seed {run['seed']} ({run_id})", tuple(run["claims"]), reason(run_id)))
    for record in records:
        name = rules.cell_name(record)
        touched = cells.get(name, ())
        if record.run_id not in planned:
            twin = [run for run in planned.values() if run["cell"] == name and run["seed"] == record.seed]
            what = "spec differs from the plan's" if twin else "not in the plan"
            found.append(Deviation(f"{what}: {name} seed {record.seed} ({record.run_id})", touched, reason(record.run_id)))
        version = record.environment.get("two_clocks")
        if version != plan["code_version"]:
            found.append(Deviation(f"code version {version} (plan: {plan['code_version']}): {record.run_id}", touched, reason(record.run_id)))
        if record.protocol_version != plan["protocol_version"]:
            found.append(Deviation(f"protocol {record.protocol_version} (plan: {plan['protocol_version']}): {record.run_id}", touched, reason(record.run_id)))
    for run_id in missing_metrics:
        found.append(Deviation(f"no metrics.jsonl, left out of every claim: {run_id}", (), reason(run_id)))
    return found


def _unaccounted(plan: Mapping[str, Any], records: Sequence[Record], reasons: Mapping[str, str]) -> set[str]:
    """Planned run ids with neither a record nor a reason in deviations.json: not yet run, so not (yet) a deviation."""
    seen = {r.run_id for r in records}
    return {run["run_id"] for block in plan["blocks"] for run in block["runs"] if run["run_id"] not in seen and run["run_id"] not in reasons}


def not_yet_run(plan: Mapping[str, Any], records: Sequence[Record], reasons: Mapping[str, str]) -> list[str]:
    """Per block, the planned runs with neither a record nor a reason: one line each, not a deviation (yet)."""
    unaccounted = _unaccounted(plan, records, reasons)
    lines = []
    for block in plan["blocks"]:
        waiting = [run for run in block["runs"] if run["run_id"] in unaccounted]
        if waiting:
            whole = "all" if len(waiting) == len(block["runs"]) else f"{len(waiting)} of"
            lines.append(f"- {block['name']}: {whole} {len(block['runs'])} runs not yet recorded")
    return lines


def claim_cells(claim: Mapping[str, Any]) -> set[str]:
    """The cells a claim's test reads, from its entry in the plan (family comparisons, ladders, C3c's pairs, C5's lists)."""
    names: list[str] = []
    for comparison in [*claim.get("family", []), *claim.get("secondary", [])]:
        names += [*comparison["a"].split(" | "), *comparison["b"].split(" | ")]
    for ladder in claim.get("ladders", {}).values():
        names += ladder
    names += [*claim.get("cells", {}).keys(), *claim.get("cells", {}).values(), *claim.get("autoregressive", []), *claim.get("diffusion", [])]
    names += [claim[key] for key in ("a", "b") if isinstance(claim.get(key), str)]
    return set(names)


def pending(plan: Mapping[str, Any], records: Sequence[Record], reasons: Mapping[str, str]) -> dict[str, tuple[int, int]]:
    """Claims with a planned run in their cells neither recorded nor explained (deviations.json): {claim: (recorded, planned)}."""
    seen, unaccounted = {r.run_id for r in records}, _unaccounted(plan, records, reasons)
    out = {}
    for claim in plan["claims"]:
        cells = claim_cells(claim)
        runs = [run["run_id"] for block in plan["blocks"] for run in block["runs"] if run["cell"] in cells]
        if unaccounted.intersection(runs):
            out[claim["key"]] = (sum(run_id in seen for run_id in runs), len(runs))
    return out


# --- claims under a setting --------------------------------------------------------------------------------


def read_cells(records: Sequence[Record], rows: Mapping[str, Sequence[Mapping[str, Any]]], setting: Setting) -> dict[str, list[RunValues]]:
    cells: dict[str, list[RunValues]] = {}
    for record in records:
        if record.run_id in rows:
            cells.setdefault(rules.cell_name(record), []).append(rules.read_run(record, rows[record.run_id], setting))
    return {name: sorted(runs, key=lambda r: r.seed) for name, runs in sorted(cells.items())}


def outcomes(plan: Mapping[str, Any], cells: rules.Cells) -> list[Outcome]:
    """Every claim's verdict under one reading of the clocks."""
    alpha = plan["alpha"]
    out = []
    for claim in plan["claims"]:
        key, test = claim["key"], claim["test"]
        if test == "sign":
            outcome = rules.family_verdict(key, cells, plan_module.family(claim["family"]), alpha)
            extra = [f"(secondary) {c.label}: {rules.compare(cells, c).text()}" for c in plan_module.family(claim.get("secondary", []))]
            outcome = Outcome(outcome.key, outcome.verdict, outcome.reason, (*outcome.lines, *extra))
        elif key == "C3c":
            stream = {name: runs for name, runs in cells.items() if name.endswith("N=stream")}
            outcome = rules.c3c(key, cells, stream, claim["cells"])
        elif key == "C4a":
            outcome = rules.c4a(key, cells, claim["ladders"], tuple(claim["margin"]), alpha)
        elif key == "C4b":
            outcome = rules.c4b(key, cells, claim["a"], claim["b"], claim["factor"], alpha)
        elif key == "C5":
            outcome = rules.c5(key, cells, claim["autoregressive"], claim["diffusion"], claim["bounds"])
        else:
            raise ValueError(f"{key}: unknown test {test!r} in the plan")
        out.append(outcome)
    return out


def sensitivity(plan: Mapping[str, Any], records: Sequence[Record], rows: Mapping[str, Sequence[Mapping[str, Any]]]) -> dict[Setting, list[Outcome]]:
    return {setting: outcomes(plan, read_cells(records, rows, setting)) for setting in plan_module.settings()}


# --- the page ------------------------------------------------------------------------------------------


def planned_page(plan: Mapping[str, Any], commit: str | None, amended: Sequence[str] = ()) -> str:
    """The page before any run: the study is planned, not run; the claims' rules and the blocks' estimates."""
    estimate = plan["estimate"]
    lines = [
        f"**Status: planned, not run.** The plan (`PLAN.json`) was committed in {_commit(commit, amended)}; no study-3 record exists yet.",
        "",
        f"{estimate['runs']} runs in {estimate['blocks']} blocks, about {estimate['worker_hours']:.1f} worker-hours and {estimate['wall_hours']:.1f} hours of wall time on 2 cores (estimated).",
        "",
        f"The family rule: {plan['family_rule']}.",
        "",
        "| claim | test and decision rule |",
        "|---|---|",
    ]
    lines += [f"| **{c['key']}** {c['statement']} | {c['decision']} |" for c in plan["claims"]]
    lines += ["", "| block | config | runs | wall (min, est.) | worker-min (est.) |", "|---|---|---|---|---|"]
    lines += [f"| {b['name']} | `{b['config'].removeprefix('leaderboard/')}` | {len(b['runs'])} | {b['wall_minutes']:.0f} | {b['worker_minutes']:.0f} |" for b in plan["blocks"]]
    lines += _cuts(plan)
    return "\n".join(lines)


def _cuts(plan: Mapping[str, Any]) -> list[str]:
    lines = ["", "Cut to fit the budget (cells, never seeds):", ""]
    lines += [f"- {item}" for item in plan["cut"]]
    lines += ["", "Not testable at this scale:", ""]
    lines += [f"- {item['model']} ({item['claim']}): {item['bound']}" for item in plan["not_testable"]]
    return lines


def _commit(commit: str | None, amended: Sequence[str] = ()) -> str:
    if not commit:
        return "no commit yet (`git log --diff-filter=A -- leaderboard/PLAN.*` finds none)"
    later = f", amended in {', '.join(f'`{c[:12]}`' for c in amended)} (`git log -- leaderboard/PLAN.json` shows what changed)" if amended else ""
    return f"commit `{commit[:12]}`{later}"


def results_page(
    plan: Mapping[str, Any],
    records: Sequence[Record],
    rows: Mapping[str, Sequence[Mapping[str, Any]]],
    found: Sequence[Deviation],
    commit: str | None,
    amended: Sequence[str] = (),
    reasons: Mapping[str, str] | None = None,
) -> str:
    reasons = reasons or {}
    waiting = pending(plan, records, reasons)
    grid = sensitivity(plan, records, rows)
    primary = plan_module.PRIMARY
    headline = grid[primary]
    fragile = {p.key for setting_outcomes in grid.values() for o, p in zip(setting_outcomes, headline) if o.verdict != p.verdict}
    lines = [
        f"**Status: {len({r.run_id for r in records})} of {sum(len(b['runs']) for b in plan['blocks'])} planned runs recorded.** The plan (`PLAN.json`) was committed in {_commit(commit, amended)}.",
        "",
        f"Verdicts at the primary reading ({primary.text}); *fragile*: the verdict differs somewhere in the sensitivity grid;"
        " *pending*: a planned run that bears on the claim is neither recorded nor explained in `deviations.json`, so no verdict yet.",
        "",
        "| claim | verdict | why |",
        "|---|---|---|",
    ]
    for claim, outcome in zip(plan["claims"], headline):
        if outcome.key in waiting:
            recorded, planned = waiting[outcome.key]
            lines.append(f"| **{outcome.key}** {claim['statement']} | **pending** | {recorded} of its {planned} planned runs recorded |")
            continue
        mark = ", *fragile*" if outcome.key in fragile else ""
        lines.append(f"| **{outcome.key}** {claim['statement']} | **{outcome.verdict}**{mark} | {outcome.reason} |")
    lines += ["", "The numbers behind each verdict (interim for a pending claim):", ""]
    for outcome in headline:
        lines.append(f"- **{outcome.key}**" + (" (pending)" if outcome.key in waiting else ""))
        lines += [f"  - {line}" for line in outcome.lines] or ["  - no runs"]
    lines += [
        "",
        f"Figures: [τ_mem against N]({figures.MEM_FIGURE}), [τ_rule^∞ per stream cell]({figures.RULE_FIGURE}) (read at {primary.text});"
        " each run's curves in `figures/runs/` and the runs as a leaderboard, [leaderboard.md](leaderboard.md) (`leaderboard.json`), show"
        f" the clocks as the runs recorded them, at {_recorded_setting(plan)}, the strictest of the grid, so a τ_rule there can be later"
        " than (or censored where) the verdicts read it.",
    ]
    settings = list(grid)
    lines += ["", "Sensitivity (R reproduced, NR not reproduced, I inconclusive, NT not testable at this scale, P pending):", ""]
    lines += ["| claim | " + " | ".join(f"θ {s.theta_rule:g} h {s.hold}" for s in settings) + " |", "|---|" + "---|" * len(settings)]
    for index, outcome in enumerate(headline):
        lines.append(f"| {outcome.key} | " + " | ".join("P" if outcome.key in waiting else SHORT[grid[s][index].verdict] for s in settings) + " |")
    lines += ["", *prediction_table(plan, read_cells(records, rows, primary))]
    lines += ["", *undecided_lines(records, rows, primary)]
    unrun = not_yet_run(plan, records, reasons)
    if unrun:
        lines += ["", "Not yet run (a planned run becomes a deviation only when `deviations.json` gives the reason it was not):", "", *unrun]
    lines += ["", "Deviations from the plan:", ""]
    lines += [f"- {d.what}; touches {', '.join(d.claims) or 'no claim'}; reason: {d.reason}" for d in found] or ["- none"]
    lines += ["", *design_checks(plan, records)]
    lines += ["", *time_table(plan, records)]
    lines += _cuts(plan)
    return "\n".join(lines)


def design_checks(plan: Mapping[str, Any], records: Sequence[Record]) -> list[str]:
    """The design's bars counted from the records: records per protocol, planned cells under MIN_SEEDS seeds, the smallest finite N / B."""
    protocols = Counter(r.protocol_version for r in records)
    seeds: dict[str, set[int]] = {}
    for record in records:
        seeds.setdefault(rules.cell_name(record), set()).add(record.seed)
    cells = [cell["name"] for cell in plan["cells"]]
    thin = [name for name in cells if len(seeds.get(name, ())) < MIN_SEEDS]
    share = 100 * len(thin) / len(cells) if cells else 0.0
    ratios = [int(r.n_train) / r.batch_size for r in records if not r.stream]
    by_protocol = ", ".join(f"{count} at protocol {version}" for version, count in sorted(protocols.items())) or "none"
    return [
        "Design checks, from the records:",
        "",
        f"- records: {len(records)} ({by_protocol})",
        f"- planned cells with fewer than {MIN_SEEDS} seeds recorded: {len(thin)} of {len(cells)} ({share:.0f} %)",
        f"- smallest finite N over batch size B: {min(ratios):g}" if ratios else "- smallest finite N over batch size B: no finite run",
    ]


def _recorded_setting(plan: Mapping[str, Any]) -> str:
    return Setting(plan["protocol"]["theta_rule"], plan["protocol"]["hold"]).text


def prediction_table(plan: Mapping[str, Any], cells: rules.Cells) -> list[str]:
    """Per run: seed s's τ_rule^∞ on the stream against seed s's τ_mem at N; the hit rate with its exact interval."""
    lines = ["Per-run predictions (open: τ_rule^∞ of the stream seed before that seed's τ_mem at N):", "", "| cell | seed | τ_rule^∞ | τ_mem | predicted | measured |", "|---|---|---|---|---|---|"]
    predicted, measured = [], []
    for pair in plan["predictions"]["pairs"]:
        rule = {r.seed: r.tau_rule for r in cells.get(pair["stream"], ())}
        for run in cells.get(pair["finite"], ()):
            if run.seed not in rule or run.tau_mem is None:
                continue
            p, m = paired.predict_window(rule[run.seed], run.tau_mem), paired.measured_window(run.status)
            predicted.append(p)
            measured.append(m)
            lines.append(f"| {pair['finite']} | {run.seed} | {_obs(rule[run.seed])} | {_obs(run.tau_mem)} | {p} | {m} ({run.status}) |")
    if not predicted:
        return ["Per-run predictions: no finite run with its stream seed yet."]
    score = paired.hit_rate(predicted, measured)
    interval = f" (95 % Clopper–Pearson interval {score.low:.2f}–{score.high:.2f})" if score.low is not None else ""
    lines += ["", f"Hit rate: {score.hits} of {score.scored} runs scored{interval}; {score.unknown} unknown (censoring leaves the order or the window undecided)."]
    return lines


def _obs(value: paired.Obs) -> str:
    return f"> {value.value:,.0f}" if value.censored else f"{value.value:,.0f}"


def undecided_lines(records: Sequence[Record], rows: Mapping[str, Sequence[Mapping[str, Any]]], setting: Setting) -> list[str]:
    """Runs whose τ_rule fired at an eval that could not tell q from θ (99 % Wilson), or ended censored on one."""
    marks = []
    for record in sorted(records, key=lambda r: (rules.cell_name(r), r.seed)):
        if record.run_id not in rows:
            continue
        mark = paired.rule_clock_mark(rows[record.run_id], setting.theta_rule, setting.hold, float(record.task["chance_valid"]))
        if mark.undecided_at_fire:
            marks.append(f"- {rules.cell_name(record)} seed {record.seed}: τ_rule fired at an undecided eval")
        elif mark.fired_index is None and mark.undecided_at_end:
            marks.append(f"- {rules.cell_name(record)} seed {record.seed}: τ_rule censored, last eval undecided")
    return [f"Undecided clocks at {setting.text} (θ inside the eval's 99 % Wilson interval):", "", *(marks or ["- none"])]


def time_table(plan: Mapping[str, Any], records: Sequence[Record]) -> list[str]:
    """Each block's estimate beside its measured time: wall while any of its runs trained, worker the runs' sum."""
    by_id = {r.run_id: r for r in records}
    lines = ["| block | runs recorded | wall (min, est.) | wall (min, measured) | worker-min (est.) | worker-min (measured) |", "|---|---|---|---|---|---|"]
    for block in plan["blocks"]:
        done = [by_id[run["run_id"]] for run in block["runs"] if run["run_id"] in by_id]
        wall = f"{_span_minutes(done):,.0f}" if done else "–"
        worker = f"{sum(r.wall_time_s for r in done) / 60:,.0f}" if done else "–"
        lines.append(f"| {block['name']} | {len(done)} of {len(block['runs'])} | {block['wall_minutes']:.0f} | {wall} | {block['worker_minutes']:.0f} | {worker} |")
    cpus = sorted({str(r.environment.get("cpu")) for r in records})
    threads = sorted({str(r.environment.get("threads")) for r in records})
    lines += ["", f"Worker time {sum(r.wall_time_s for r in records) / 60:,.0f} minutes in all; CPU: {'; '.join(cpus)}; torch threads per run: {', '.join(threads)}."]
    return lines


def _span_minutes(records: Sequence[Record]) -> float:
    """Minutes in which at least one of the runs was training: the union of their intervals, so a block split across sessions counts no gap."""
    ends = [datetime.fromisoformat(r.created.replace("Z", "+00:00")).timestamp() for r in records]
    total, reach = 0.0, float("-inf")
    for start, end in sorted((e - r.wall_time_s, e) for e, r in zip(ends, records)):
        total += max(0.0, end - max(start, reach))
        reach = max(reach, end)
    return total / 60
