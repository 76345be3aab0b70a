"""Study 3.0's cells, their cost estimates and their packing into blocks of ≤ 90 minutes on 2 cores.

A cell is one (model, rule, N, budget); each runs at every seed of SEEDS (seed s: the same training set
and batch order for every model at the same rule and N, the same initialisation for the same architecture
at every rule and N). A run's wall time is estimated from study 2.0's measured training rates (two runs
side by side on 2 cores, `rates` below, computed from the v2 records as v2/study.py prints them) and its
measured seconds per eval (this study evaluates 40 times, log-spaced, over the budget), for the steps the run is expected to take:
its budget, or where study 2.0 or the pilot measured when the run stops, that stop × 2 (θ_rule 0.95 and
hold 3 stop later than 0.9 and hold 2), capped at the budget. Blocks are packed to 80 minutes, leaving 10
of the 90 for the estimate's error.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SEEDS = (0, 1, 2, 3, 4, 5)  # 6: with Holm over 3 comparisons the smallest adjusted p is 3/64 ≤ 0.05 (5 seeds: 2/32 > 0.05)
BLOCK_MINUTES = 90.0  # wall per block on 2 cores (two runs side by side)
PACK_MINUTES = 80.0  # what a block is packed to: 10 minutes kept for the estimate's error
JOBS = 2
EVAL_POINTS = 40
END_FACTOR = 2.0  # a measured stop at θ 0.9 / hold 2, scaled to θ 0.95 / hold 3 (about one more log-spaced eval and a higher bar)
STREAM_MULTIPLE = 3.0  # C6's equal budget for every model: 3 × the slowest autoregressive median τ_rule^∞ at G = 3 (study 2.0's GPT 4×64)
LADDER_MULTIPLE = 2.0  # C2's ladders on the stream: 2 × the same
RACE_MULTIPLE = 2.2  # a race budget: 2.2 × the τ_mem expected at N = 1024 (the stop at hold 3 comes near 2 ×)
RACE_N = (128, 256, 1024)  # 8×, N ≥ 2B
# The pilot of issue 22 (one seed each, G = 2, N = 128, two runs side by side, 24,000 steps): not in any record here.
PILOT = (
    ("mdlm 4×64", 13466.0, 28000, "τ_mem 13,466 steps in the one-seed pilot (G = 2, N = 128)"),
    ("dit 4×64", 24000.0, 48000, "τ_mem > 24,000 steps in the one-seed pilot (copy rate 0.07 at its end), a lower bound"),
    ("unet 32×64", 13466.0, 28000, "no pilot; charged as the MDLM's τ_mem (13,466), an optimistic guess for a model a third of its speed"),
)
PROTOCOL = {"eval_samples": 512, "eval_points": EVAL_POINTS, "theta_rule": 0.95, "hold": 3}  # the stop rule waits for the strictest setting


@dataclass(frozen=True)
class Model:
    """An architecture as the study varies it, with the sweep-file form of its knobs."""

    label: str
    adapter: str
    knobs: tuple[tuple[str, Any], ...]
    kind: str  # autoregressive or diffusion
    rate_from: str  # the study-2.0 model whose measured rate this one is charged at
    rate_factor: float = 1.0  # < 1 where the rate is a cautious guess, not a measurement

    def sweep_adapter(self) -> Any:
        return {self.adapter: dict(self.knobs)} if self.knobs else self.adapter


def _m(label: str, adapter: str, kind: str, rate_from: str | None = None, factor: float = 1.0, **knobs: Any) -> Model:
    return Model(label, adapter, tuple(sorted(knobs.items())), kind, rate_from or label, factor)


MODELS = {
    m.label: m
    for m in (
        _m("gpt 4×64", "gpt", "autoregressive", depth=4, width=64),
        _m("llama 4×64", "hf_causal_lm", "autoregressive", model_type="llama", depth=4, width=64),
        _m("dit 4×64", "dit", "diffusion", depth=4, width=64),
        _m("mdlm 4×64", "mdlm", "diffusion"),
        _m("unet 32×64", "unet", "diffusion"),
        _m("gpt 1×64", "gpt", "autoregressive", depth=1, width=64),
        _m("gpt 2×64", "gpt", "autoregressive", depth=2, width=64),
        _m("gpt 4×16", "gpt", "autoregressive", "gpt 4×64", depth=4, width=16),  # charged at width 64's rate: not faster
        _m("gpt 4×32", "gpt", "autoregressive", "gpt 4×64", depth=4, width=32),
        _m("dit 1×64", "dit", "diffusion", depth=1, width=64),
        _m("dit 2×64", "dit", "diffusion", depth=2, width=64),
        _m("dit 4×16", "dit", "diffusion", "dit 4×64", depth=4, width=16),
        _m("dit 4×32", "dit", "diffusion", "dit 4×64", depth=4, width=32),
    )
}
AUTOREGRESSIVE = ("gpt 4×64", "llama 4×64")
DIFFUSION = ("dit 4×64", "mdlm 4×64", "unet 32×64")


@dataclass(frozen=True)
class Cell:
    """One cell of the design: a model on parity G (layout) at N, with a step budget and the run's expected end."""

    model: str
    G: int
    n: int | str
    max_steps: int
    claims: tuple[str, ...]
    layout: str = "contiguous"
    end: float | None = None  # expected stop (steps) where measured; None: the budget
    end_source: str = "no measurement: charged at the budget"

    @property
    def name(self) -> str:
        layout = " random" if self.layout == "random" else ""
        return f"{self.model} G={self.G}{layout} N={self.n}"

    @property
    def expected_steps(self) -> float:
        return float(self.max_steps) if self.end is None else min(float(self.max_steps), END_FACTOR * self.end)


@dataclass(frozen=True)
class Study2:
    """What study 2.0's records measured, by the design's cell names: median stop (steps trained) and median fired clocks."""

    stops: Mapping[str, float]
    clocks: Mapping[tuple[str, str], float]

    def stop(self, name: str) -> tuple[float | None, str]:
        if name not in self.stops:
            return None, "no measurement: charged at the budget"
        return self.stops[name], f"study 2.0's median stop in this cell ({self.stops[name]:,.0f}), × {END_FACTOR:g}"

    def clock(self, name: str, clock: str) -> float:
        return self.clocks[(name, clock)]


def study2(records: Iterable[Any]) -> Study2:
    """Medians over study 2.0's runs per cell (the design's naming, whatever budget that cell had in 2.0)."""
    stops: dict[str, list[float]] = {}
    clocks: dict[tuple[str, str], list[float]] = {}
    for record in records:
        layout = " random" if record.task_config.get("layout") == "random" else ""
        name = f"{label(record)} G={record.task_config['G']}{layout} N={record.n_train}"
        stops.setdefault(name, []).append(float(record.steps_trained))
        for clock in ("tau_rule", "tau_mem"):
            value = record.clocks.get(clock)
            if value is not None and value.fired:
                clocks.setdefault((name, clock), []).append(float(value.step))
    return Study2({k: statistics.median(v) for k, v in stops.items()}, {k: statistics.median(v) for k, v in clocks.items()})


def _round_up(value: float, unit: int) -> int:
    return int(math.ceil(value / unit) * unit)


def budgets(measured: Study2) -> tuple[int, int]:
    """(C6's equal stream budget: 3 × the GPT 4×64's median τ_rule^∞ at G = 3; the ladders': 2 ×), rounded up to 100 steps."""
    slowest = measured.clock("gpt 4×64 G=3 N=stream", "tau_rule")
    return _round_up(STREAM_MULTIPLE * slowest, 100), _round_up(LADDER_MULTIPLE * slowest, 100)


def cells(measured: Study2) -> list[Cell]:
    """The design (issue 22, B): stream cells for C1, C2, C6; finite cells at N ≥ 2B = 128 for C3, C4, C5."""
    stream_budget, ladder_budget = budgets(measured)
    design: list[Cell] = []

    def add(model: str, G: int, n: int | str, budget: int, claims: tuple[str, ...], layout: str = "contiguous", end: tuple[float | None, str] | None = None) -> None:
        cell = Cell(model, G, n, budget, claims, layout)
        found = end if end is not None else measured.stop(cell.name)
        design.append(dataclasses.replace(cell, end=found[0], end_source=found[1]))

    for model in (*AUTOREGRESSIVE, *DIFFUSION):
        add(model, 2, "stream", stream_budget, ("C1",))
        learned = (model in AUTOREGRESSIVE) or None
        add(model, 3, "stream", stream_budget, ("C1", "C6"), end=None if learned else (None, "did not learn G = 3 in study 2.0: charged at the budget"))
        if model not in ("mdlm 4×64", "llama 4×64"):  # see CUT
            add(model, 3, "stream", stream_budget, ("C6",), layout="random", end=(None, "charged at the budget"))
    for model in ("gpt 1×64", "gpt 2×64", "gpt 4×16", "gpt 4×32"):  # capacity ladder at G = 3 (GPT 4×64 above)
        add(model, 3, "stream", ladder_budget, ("C2",))
    for model in ("dit 1×64", "dit 2×64", "dit 4×16", "dit 4×32"):  # capacity ladder at G = 2 (DiT 4×64 above)
        add(model, 2, "stream", ladder_budget, ("C2",))
    # the race at N ≥ 2B: τ_mem ∝ N over 128–1024 (8×) for both autoregressive models, one budget per model (one fit)
    for model, reference in (("gpt 4×64", 256), ("llama 4×64", 128)):
        tau = measured.clock(f"{model} G=3 N={reference}", "tau_mem")
        budget = _round_up(RACE_MULTIPLE * tau * 1024 / reference, 1000)
        for n in RACE_N:
            guess = (tau * n / reference, f"study 2.0's median τ_mem at N = {reference} ({tau:,.0f}) × N/{reference} (α = 1), × {END_FACTOR:g}")
            add(model, 3, n, budget, ("C3", "C4", "C5"), end=measured.stop(f"{model} G=3 N={n}") if f"{model} G=3 N={n}" in measured.stops else guess)
        if model == "llama 4×64":
            add(model, 2, 256, budget, ("C3", "C4"), end=(tau * 256 / reference, "as at G = 3 (the claim C4b tests), × 2"))
    return design


def cut_costs(measured: Study2, rates: Mapping[str, tuple[float, float]]) -> list[str]:
    """What the cells cut from the race would have cost, estimated as the kept ones are."""
    minutes = 0.0
    for model, reference in (("gpt 4×64", 256), ("llama 4×64", 128)):
        tau = measured.clock(f"{model} G=3 N={reference}", "tau_mem")
        budget = _round_up(RACE_MULTIPLE * tau * 1024 / reference, 1000)
        minutes += len(SEEDS) * run_minutes(Cell(model, 3, 512, budget, ("C4",), end=tau * 512 / reference), rates)
    return [f"N = 512 in the race: 128, 256 and 1024 already span 8×; N = 512 for both models would add {minutes / 60:.1f} worker-hours"]


def not_testable(measured: Study2, rates: Mapping[str, tuple[float, float]]) -> list[tuple[str, str, str]]:
    """The diffusion cells of C5 at N = 2B that do not fit the budget, with the estimate that rules each out."""
    out = []
    for model, tau, budget, source in PILOT:
        cell = Cell(model, 2, 128, budget, ("C5",), end=tau, end_source=source)
        minutes = run_minutes(cell, rates)
        about = "at least" if "lower bound" in source else "about"
        per_seed = f"a run settling it takes {about} {cell.expected_steps:,.0f} steps, {minutes:,.0f} minutes on 2 cores"
        if minutes > BLOCK_MINUTES:
            out.append((model, "C5", f"{source}; {per_seed}: more than a {BLOCK_MINUTES:.0f}-minute block"))
        else:
            out.append((model, "C5", f"{source}; {per_seed}, {len(SEEDS) * minutes / 60:.1f} worker-hours for {len(SEEDS)} seeds: cut to fit the study's budget"))
    return out


CUT = (
    "the MDLM's race at N = 128 (C5; see not testable)",
    "the random layout for the MDLM (a bidirectional transformer with learned position embeddings: permuting the cells is the same problem up to a relabelling of positions) and for Llama (the GPT is the autoregressive reference at the random layout)",
    "G = 4 for the autoregressive models: the GPT did not learn it in 2,000 steps in study 2.0, and a budget that could settle it does not fit",
    "the random layout in the race (finite N): C6's layout control is on the stream only",
    "C5's diffusion side: no diffusion model's τ_mem at N = 2B fits the budget (see not testable)",
    "the depth-8 GPT and the DiT race (the DiT's τ_mem needs > 24,000 steps)",
)


# --- cost -----------------------------------------------------------------------------------------------


def measured_rates(runs: Iterable[tuple[Any, int]]) -> dict[str, tuple[float, float]]:
    """(training steps/s, seconds per eval) per model label: medians over its study-2.0 runs, given as (record, evals)."""
    by_model: dict[str, list[tuple[Any, int]]] = {}
    for record, evals in runs:
        by_model.setdefault(label(record), []).append((record, evals))
    rates = {}
    for model, group in by_model.items():
        train = sorted(r.steps_trained / max(r.wall_time_s - r.eval_time_s, 1e-9) for r, _ in group)
        rates[model] = (train[len(train) // 2], statistics.median(r.eval_time_s / max(evals, 1) for r, evals in group))
    return rates


def label(record: Any) -> str:
    """'gpt 4×64', 'llama 4×64', 'unet 32×64': the architecture as the studies vary it."""
    config = record.adapter_config
    name = config.get("model_type", record.adapter_name) if record.adapter_name == "hf_causal_lm" else record.adapter_name
    if record.adapter_name == "unet":
        return "unet " + "×".join(str(config["width"] * m) for m in config["channel_mult"])
    return f"{name} {config['depth']}×{config['width']}"


def evals_until(steps: float, max_steps: int) -> float:
    """About how many of the EVAL_POINTS log-spaced evals (and the one at step 0) fall at or before `steps`."""
    return 1.0 + EVAL_POINTS * math.log(max(steps, 1.0)) / math.log(max(max_steps, 2))


def run_minutes(cell: Cell, rates: Mapping[str, tuple[float, float]]) -> float:
    """Estimated wall minutes of one run of `cell` with another run beside it on 2 cores: training, then its evals."""
    model = MODELS[cell.model]
    rate, per_eval = rates[model.rate_from]
    steps = cell.expected_steps
    return (steps / (rate * model.rate_factor) + evals_until(steps, cell.max_steps) * per_eval / model.rate_factor) / 60.0


@dataclass(frozen=True)
class Run:
    cell: Cell
    seed: int
    minutes: float


@dataclass(frozen=True)
class Block:
    """One sweep file: runs listed longest first, run two at a time in that order (as the sweep runner dispatches them)."""

    name: str
    runs: tuple[Run, ...]

    @property
    def worker_minutes(self) -> float:
        return sum(run.minutes for run in self.runs)

    @property
    def wall_minutes(self) -> float:
        return list_schedule([run.minutes for run in self.runs], JOBS)


def list_schedule(durations: Sequence[float], workers: int) -> float:
    """Wall time of jobs taken in order by the first free of `workers` workers."""
    free = [0.0] * workers
    for duration in durations:
        free.sort()
        free[0] += duration
    return max(free) if durations else 0.0


def pack(design: Sequence[Cell], rates: Mapping[str, tuple[float, float]], seeds: Sequence[int] = SEEDS) -> list[Block]:
    """Runs (cell × seed), longest first, into the first block whose wall stays ≤ PACK_MINUTES; blocks keep that order."""
    runs = sorted((Run(cell, seed, run_minutes(cell, rates)) for cell in design for seed in seeds), key=lambda r: (-r.minutes, r.cell.name, r.seed))
    blocks: list[list[Run]] = []
    for run in runs:
        if run.minutes > BLOCK_MINUTES:
            raise ValueError(f"{run.cell.name} seed {run.seed}: {run.minutes:.0f} minutes, more than a block")
        for block in blocks:
            if list_schedule([r.minutes for r in (*block, run)], JOBS) <= PACK_MINUTES:
                block.append(run)
                break
        else:
            blocks.append([run])
    return [Block(f"block{index + 1:02d}", tuple(block)) for index, block in enumerate(blocks)]


# --- sweep files -----------------------------------------------------------------------------------------


def sweep_text(block: Block, output: str) -> str:
    """The block's sweep file: one entry per run, in the order the runner should take them."""
    import json

    lines = [
        f"# Study 3.0, {block.name}: {len(block.runs)} runs, about {block.wall_minutes:.0f} minutes on 2 cores ({block.worker_minutes:.0f} worker-minutes, estimated).",
        "# Written by `python leaderboard/study.py plan`; its sha256 is in leaderboard/PLAN.json. Run from the repository root:",
        f"#   python -m benchmark run --config leaderboard/configs/study3/{block.name}.yaml --quiet",
        f"name: study3-{block.name}",
        f"description: study 3.0 {block.name} (pre-registered in leaderboard/PLAN.json)",
        f"output: {output}",
        f"jobs: {JOBS}",
        "sweeps:",
    ]
    for run in block.runs:
        cell, model = run.cell, MODELS[run.cell.model]
        task = {"parity": {"G": cell.G, **({"layout": "random"} if cell.layout == "random" else {})}}
        protocol = {**PROTOCOL, "max_steps": cell.max_steps}
        lines += [
            f"  - adapters: [{json.dumps(model.sweep_adapter(), ensure_ascii=False)}]  # {cell.name}, {run.minutes:.1f} min, claims {', '.join(cell.claims)}",
            f"    tasks: [{json.dumps(task)}]",
            f"    n: [{json.dumps(cell.n)}]",
            f"    seeds: [{run.seed}]",
            f"    protocol: {json.dumps(protocol)}",
        ]
    return "\n".join(lines) + "\n"


def write_sweeps(blocks: Sequence[Block], folder: Path, output: str) -> dict[str, str]:
    """Write each block's sweep file into `folder`; returns {path relative to the repository: sha256}."""
    import hashlib

    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("block*.yaml"):
        stale.unlink()
    hashes = {}
    for block in blocks:
        path = folder / f"{block.name}.yaml"
        path.write_text(sweep_text(block, output))
        hashes[f"leaderboard/configs/study3/{path.name}"] = hashlib.sha256(path.read_bytes()).hexdigest()
    return hashes
