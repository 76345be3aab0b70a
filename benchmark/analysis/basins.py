"""Score-landscape dissection: do noisy probes denoise back to themselves, onto training samples, or elsewhere?

For checkpoints along a run (kept with `keep_checkpoints`), probes of three classes — training samples,
novel valid samples (task sampler, not in the training set) and invalid arrays — are encoded, perturbed
with Gaussian noise at a ladder of σ, and integrated deterministically back to σ = 0 with the adapter's
probability-flow ODE (`benchmark.core.adapter.Denoiser`). Where each lands gives a return probability per
(step, class, σ) and a basin radius per (step, class): the largest σ whose return probability is ≥ 0.5.
The method is documented in benchmark/PROTOCOL.md ("Basins").
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.core.config import BaseConfig, ConfigError, require
from benchmark.run.metrics import KeySet, wilson_interval

PROBE_CLASSES = ("train", "novel_valid", "invalid")
OUTCOMES = ("returned", "train", "valid", "invalid")  # itself; another training sample; another valid array; invalid
BASINS_FILE = "basins.jsonl"
SUMMARY_FILE = "basins.md"
PLOT_FILE = "basins.png"
DEFAULT_SIGMAS = (0.05, 0.085, 0.14, 0.24, 0.41, 0.69, 1.17, 2.0)  # geometric, σ_data = 0.5 in the middle


@dataclass(frozen=True)
class BasinConfig(BaseConfig):
    """Knobs of the basin analysis; defaults give 3 × 64 probes × 8 σ per checkpoint."""

    probes: int = field(default=64, metadata={"help": "probes per class (training probes are capped at N)"})
    sigmas: tuple[float, ...] = field(default=DEFAULT_SIGMAS, metadata={"help": "the σ ladder, increasing"})
    noise_draws: int = field(default=1, metadata={"help": "noise draws per probe and σ"})
    seed: int = field(default=0, metadata={"help": "seed of the probes and of the noise (the same at every checkpoint)"})
    bootstrap: int = field(default=500, metadata={"help": "bootstrap resamples of the probes for radius intervals"})
    max_checkpoints: int = field(default=0, metadata={"help": "analyse at most this many kept checkpoints, evenly spread (0: all)"})

    def validate(self) -> None:
        super().validate()
        require(self.probes >= 1, self, "probes", "a positive integer", self.probes)
        require(
            len(self.sigmas) >= 1 and all(s > 0 for s in self.sigmas) and list(self.sigmas) == sorted(set(self.sigmas)),
            self,
            "sigmas",
            "a non-empty, strictly increasing list of positive numbers",
            self.sigmas,
        )
        require(self.noise_draws >= 1, self, "noise_draws", "a positive integer", self.noise_draws)
        require(self.bootstrap >= 0, self, "bootstrap", "a non-negative integer", self.bootstrap)
        require(self.max_checkpoints >= 0, self, "max_checkpoints", "a non-negative integer", self.max_checkpoints)


@dataclass(frozen=True)
class Probes:
    """The probe arrays of each class and the keys the landings are classified against."""

    arrays: dict[str, np.ndarray]
    train_keys: KeySet


def draw_probes(task: Any, train: np.ndarray, config: BasinConfig) -> Probes:
    """Training probes (the first ones of the set), novel valid probes, and uniformly random invalid arrays."""
    from benchmark.run.datasets import derived_seed, draw_distinct

    train_keys = KeySet(task.key(train))
    novel = draw_distinct(task, config.probes, np.random.default_rng(derived_seed(config.seed, "basins-novel")), train_keys)
    rng = np.random.default_rng(derived_seed(config.seed, "basins-invalid"))
    invalid = np.empty((0, *task.shape), dtype=np.uint8)
    for _ in range(1000):  # rejection sampling; chance validity is ≤ 0.5 for every bundled binary rule
        if len(invalid) >= config.probes:
            break
        batch = rng.integers(0, task.num_symbols, size=(4 * config.probes, *task.shape), dtype=np.uint8)
        invalid = np.concatenate([invalid, batch[~task.is_valid(batch)]])
    if len(invalid) < config.probes:
        raise ConfigError("could not draw invalid probes: almost every array is valid for this task")
    return Probes({"train": train[: config.probes], "novel_valid": novel, "invalid": invalid[: config.probes]}, train_keys)


def landings(task: Any, probes: np.ndarray, landed: np.ndarray, train_keys: KeySet) -> np.ndarray:
    """Outcome index (into OUTCOMES) of each landing: back on itself, on a training sample, valid, or invalid."""
    probe_keys, landed_keys = task.key(probes), task.key(landed)
    outcome = np.full(len(landed), OUTCOMES.index("invalid"))
    outcome[task.is_valid(landed)] = OUTCOMES.index("valid")
    outcome[train_keys.contains(landed_keys)] = OUTCOMES.index("train")
    outcome[probe_keys == landed_keys] = OUTCOMES.index("returned")
    return outcome


def probe_outcomes(adapter: Any, task: Any, probes: Probes, config: BasinConfig, *, denoise: bool = True) -> dict[str, np.ndarray]:
    """Per class, an int array (σ, probe, draw) of outcomes; the noise depends only on the seed.

    With `denoise=False` the noisy probe is decoded directly: the no-model reference of the same noise.
    """
    import torch

    classes = list(probes.arrays)
    stacked = np.concatenate([probes.arrays[name] for name in classes])
    clean = adapter.encode(torch.from_numpy(stacked.astype(np.int64)).to(adapter.device)).cpu()
    generator = torch.Generator().manual_seed(config.seed)
    outcomes = np.empty((len(config.sigmas), len(stacked), config.noise_draws), dtype=np.int8)
    repeated = clean.repeat_interleave(config.noise_draws, dim=0)
    probes_repeated = np.repeat(stacked, config.noise_draws, axis=0)
    for index, sigma in enumerate(config.sigmas):
        noise = torch.randn(repeated.shape, generator=generator)
        noisy = repeated + sigma * noise
        landed = (adapter.denoise(noisy, float(sigma)) if denoise else adapter.decode(noisy)).cpu().numpy()
        outcome = landings(task, probes_repeated, landed, probes.train_keys)
        outcomes[index] = outcome.reshape(len(stacked), config.noise_draws)
    bounds = np.cumsum([0] + [len(probes.arrays[name]) for name in classes])
    return {name: outcomes[:, bounds[i] : bounds[i + 1]] for i, name in enumerate(classes)}


def basin_radius(returned: np.ndarray, sigmas: Sequence[float]) -> float:
    """The largest σ whose return probability is ≥ 0.5, or 0.0 when none is (no basin on the ladder)."""
    above = np.flatnonzero(np.asarray(returned) >= 0.5)
    return float(sigmas[above[-1]]) if len(above) else 0.0


def radius_interval(returned_by_probe: np.ndarray, sigmas: Sequence[float], resamples: int, seed: int) -> tuple[float, float]:
    """Bootstrap 95 % interval of the radius, resampling probes. `returned_by_probe`: (σ, probe) return rates."""
    if resamples == 0:
        radius = basin_radius(returned_by_probe.mean(axis=1), sigmas)
        return radius, radius
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, returned_by_probe.shape[1], size=(resamples, returned_by_probe.shape[1]))
    rates = returned_by_probe[:, picks].mean(axis=2)  # (σ, resample)
    radii = [basin_radius(rates[:, r], sigmas) for r in range(resamples)]
    low, high = np.percentile(radii, [2.5, 97.5])
    return float(low), float(high)


def summarise(step: int, outcomes: dict[str, np.ndarray], config: BasinConfig) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Rows for basins.jsonl: one per (class, σ) with outcome fractions, and one radius row per class."""
    sigma_rows, radius_rows = [], []
    for name, outcome in outcomes.items():
        total = outcome.shape[1] * outcome.shape[2]
        for index, sigma in enumerate(config.sigmas):
            counts = np.bincount(outcome[index].ravel(), minlength=len(OUTCOMES))
            row = {"kind": "return", "step": step, "probe_class": name, "sigma": float(sigma), "n": int(total)}
            row.update({f"to_{label}": float(counts[i] / total) for i, label in enumerate(OUTCOMES)})
            row["returned_ci"] = list(wilson_interval(counts[0], total))
            sigma_rows.append(row)
        returned_by_probe = (outcome == 0).mean(axis=2)  # (σ, probe)
        radius = basin_radius(returned_by_probe.mean(axis=1), config.sigmas)
        low, high = radius_interval(returned_by_probe, config.sigmas, config.bootstrap, config.seed)
        radius_rows.append({"kind": "radius", "step": step, "probe_class": name, "radius": radius, "radius_ci": [low, high]})
    return sigma_rows, radius_rows


def kept_checkpoints(directory: Path, limit: int = 0) -> list[tuple[int, Path]]:
    """(step, path) of every kept checkpoint, by step; at most `limit` evenly spread ones (ends included) when > 0."""
    from benchmark.run.rundir import CHECKPOINTS_DIR

    found = []
    for path in (directory / CHECKPOINTS_DIR).glob("step_*.pt"):
        match = re.fullmatch(r"step_(\d+)\.pt", path.name)
        if match:
            found.append((int(match.group(1)), path))
    found.sort()
    if limit and len(found) > limit:
        picks = np.unique(np.round(np.linspace(0, len(found) - 1, limit)).astype(int))
        found = [found[i] for i in picks]
    return found


def analyse_run(
    directory: str | os.PathLike[str],
    config: BasinConfig | None = None,
    *,
    device: str = "cpu",
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Analyse every kept checkpoint of the run in `directory`; write basins.jsonl and basins.md; return a summary."""
    from benchmark.core.adapter import Denoiser
    from benchmark.core.registry import refuse_import_from_file
    from benchmark.run.datasets import draw_sets
    from benchmark.run.protocol import build_adapter, build_task
    from benchmark.run.rundir import SPEC_FILE, load_state, read_spec

    config = config or BasinConfig()
    config.validate()
    directory = Path(directory)
    spec_path = directory / SPEC_FILE
    if not spec_path.is_file():
        raise ConfigError(f"{directory} is not a run directory (no {SPEC_FILE})")
    spec = read_spec(directory)  # a spec.json that is not a run spec is one line naming it
    for kind, component in (("task", spec.task), ("adapter", spec.adapter)):
        refuse_import_from_file(component.name, kind, str(spec_path))
    if spec.stream:
        raise ConfigError(f"{directory} is a stream run: basins compare training samples with new ones, and a stream run has no training set")
    checkpoints = kept_checkpoints(directory, config.max_checkpoints)
    if not checkpoints:
        raise ConfigError(f"{directory} has no kept checkpoints: rerun it with --keep-checkpoints")
    task = build_task(spec)
    adapter = build_adapter(spec, task, device)
    if not isinstance(adapter, Denoiser):
        raise ConfigError(f"adapter {spec.adapter.name!r} cannot denoise from a given σ (it does not implement benchmark.core.adapter.Denoiser)")
    train, _, _ = draw_sets(task, spec.train_size(), spec.seed)
    probes = draw_probes(task, train, config)

    start = time.perf_counter()
    reference = {name: basin_radius((outcome == 0).mean(axis=(1, 2)), config.sigmas) for name, outcome in probe_outcomes(adapter, task, probes, config, denoise=False).items()}
    rows: list[dict[str, Any]] = [{"kind": "rounding_radius", "probe_class": name, "radius": radius} for name, radius in reference.items()]
    for step, path in checkpoints:
        adapter.load_state_dict(load_state(path, spec, directory)["adapter"])  # weights_only, and this run's own
        sigma_rows, radius_rows = summarise(step, probe_outcomes(adapter, task, probes, config), config)
        rows += sigma_rows + radius_rows
        if progress is not None:
            radii = ", ".join(f"{r['probe_class']} {r['radius']:.3g}" for r in radius_rows)
            progress(f"step {step}: basin radius {radii}")
    elapsed = time.perf_counter() - start

    with open(directory / BASINS_FILE, "w") as handle:
        handle.write(json.dumps({"kind": "config", **config.to_dict(), "sigmas": list(config.sigmas), "wall_time_s": elapsed}) + "\n")
        for row in rows:
            handle.write(json.dumps(row, sort_keys=True) + "\n")
    clocks = _read_clocks(directory)
    summary = {"run_id": spec.run_id, "rows": rows, "config": config, "clocks": clocks, "rounding_radius": reference, "wall_time_s": elapsed}
    (directory / SUMMARY_FILE).write_text(render_markdown(summary))
    return summary


def _read_clocks(directory: Path) -> dict[str, Any]:
    """The run's clocks (as plain dicts) from its record, or {} while the run is unfinished."""
    from benchmark.core.records import RECORD_FILE, read_record, to_dict

    if not (directory / RECORD_FILE).is_file():
        return {}
    return {name: to_dict(clock) for name, clock in read_record(directory).clocks.items()}


def radius_table(rows: Sequence[dict[str, Any]]) -> dict[str, list[tuple[int, float, float, float]]]:
    """Per probe class, (step, radius, low, high) sorted by step."""
    table: dict[str, list[tuple[int, float, float, float]]] = {}
    for row in rows:
        if row.get("kind") == "radius":
            table.setdefault(row["probe_class"], []).append((row["step"], row["radius"], *row["radius_ci"]))
    return {name: sorted(values) for name, values in table.items()}


def render_markdown(summary: dict[str, Any]) -> str:
    """A table of basin radius (with 95 % bootstrap interval) per checkpoint step and probe class."""
    from tabulate import tabulate

    table = radius_table(summary["rows"])
    classes = [name for name in PROBE_CLASSES if name in table]
    steps = sorted({step for values in table.values() for step, *_ in values})
    lookup = {(name, step): (r, lo, hi) for name in classes for step, r, lo, hi in table[name]}
    body = [[step] + [_fmt_radius(*lookup[(name, step)]) for name in classes] for step in steps]
    config: BasinConfig = summary["config"]
    clocks = summary.get("clocks") or {}
    clock_text = ", ".join(f"{name} = {('> ' if clocks[name]['censored'] else '')}{clocks[name]['step']:.0f}" for name in ("tau_rule", "tau_mem") if name in clocks)
    lines = [
        f"# Basins of run `{summary['run_id']}`",
        "",
        f"Basin radius: the largest σ of the ladder ({', '.join(f'{s:g}' for s in config.sigmas)}) at which a probe, "
        f"noised and denoised by the probability-flow ODE, returns to itself with probability ≥ 0.5; 0 means no basin "
        f"on the ladder. {config.probes} probes per class, {config.noise_draws} noise draw(s) each; "
        f"[95 % bootstrap interval over probes]. Decoding the noisy probe without the model gives radius "
        f"{max(summary['rounding_radius'].values()):.3g} (the no-basin reference). Clocks: {clock_text or 'no record'}.",
        "",
        tabulate(body, headers=["step"] + [f"radius: {name}" for name in classes], tablefmt="github"),
        "",
    ]
    return "\n".join(lines)


def _fmt_radius(radius: float, low: float, high: float) -> str:
    return f"{radius:.3g} [{low:.3g}, {high:.3g}]"


__all__ = [
    "PROBE_CLASSES",
    "OUTCOMES",
    "BASINS_FILE",
    "SUMMARY_FILE",
    "PLOT_FILE",
    "DEFAULT_SIGMAS",
    "BasinConfig",
    "Probes",
    "draw_probes",
    "landings",
    "probe_outcomes",
    "basin_radius",
    "radius_interval",
    "summarise",
    "kept_checkpoints",
    "analyse_run",
    "radius_table",
    "render_markdown",
]
