"""The leaderboard: a deterministic rendering of run records as markdown (tabulate) and JSON.

Rendered from records only (never live state), so the same folder always gives the same bytes: no
timestamps, sorted rows, fixed bootstrap seed. The aggregation rules live in `benchmark.aggregate`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from benchmark.aggregate import (
    BOOTSTRAP_RESAMPLES,
    BOOTSTRAP_SEED,
    ScalingFit,
    aggregate,
    group_key,
    scaling_fits,
)
from benchmark.records import Record
from benchmark.spec import canonical_json

LEADERBOARD_SCHEMA_VERSION = 1
COLUMNS = (
    "adapter",
    "task",
    "complexity",
    "N",
    "params",
    "seeds",
    "τ_rule",
    "τ_mem",
    "window",
    "log-window",
    "status",
    "τ_rule (epochs)",
    "τ_mem (epochs)",
)
PROTOCOL_FIELDS = ("max_steps", "eval_schedule", "eval_points", "eval_samples", "batching", "theta_rule", "theta_mem", "theta_mem_strong", "hold", "early_stop", "sampling_seed")


def build(records: Iterable[Record]) -> dict[str, Any]:
    """The leaderboard as plain data (what the JSON holds and the markdown renders)."""
    records = list(records)
    groups = aggregate(records)
    fits = scaling_fits(records)
    adapter_labels = _labels([(g.adapter, g.adapter_config) for g in groups])
    task_labels = _labels([(g.task, g.task_config) for g in groups])
    protocol_labels = _labels([("", g.protocol) for g in groups])
    rows = []
    for group in groups:
        rows.append(
            {
                "adapter_label": adapter_labels[(group.adapter, canonical_json(group.adapter_config))],
                "task_label": task_labels[(group.task, canonical_json(group.task_config))],
                "protocol_label": protocol_labels[("", canonical_json(group.protocol))].strip(),
                **group.to_dict(),
            }
        )
    return {
        "schema_version": LEADERBOARD_SCHEMA_VERSION,
        "methods": methods(records),
        "rows": rows,
        "scaling": {name: [_fit_row(fit, adapter_labels, task_labels) for fit in items] for name, items in fits.items()},
        "records": sorted(record.run_id for record in records),
    }


def methods(records: Sequence[Record]) -> dict[str, Any]:
    """What a reader needs to reproduce the numbers: protocol settings (every distinct value), versions, counts."""
    import benchmark

    protocol = {name: _distinct(record.protocol.get(name) for record in records) for name in PROTOCOL_FIELDS}
    return {
        "protocol_version": _distinct(record.protocol_version for record in records),
        "protocol": protocol,
        "package_version": _distinct(record.environment.get("two_clocks") for record in records),
        "rendered_by": benchmark.__version__,
        "num_records": len(records),
        "num_groups": len({group_key(r) for r in records}),
        "bootstrap": {"resamples": BOOTSTRAP_RESAMPLES, "seed": BOOTSTRAP_SEED, "confidence": 0.95},
    }


def _distinct(values: Iterable[Any]) -> list[Any]:
    """Sorted distinct values (one item when the records agree)."""
    unique = {canonical_json(value): value for value in values}
    return [unique[key] for key in sorted(unique)]


def _labels(components: Sequence[tuple[str, Mapping[str, Any]]]) -> dict[tuple[str, str], str]:
    """'gpt' alone, or 'gpt width=128' when gpt appears with several configs: only the knobs that differ are shown."""
    configs: dict[str, dict[str, Mapping[str, Any]]] = {}
    for name, config in components:
        configs.setdefault(name, {})[canonical_json(config)] = config
    labels: dict[tuple[str, str], str] = {}
    for name, variants in configs.items():
        knobs = sorted({knob for config in variants.values() for knob in config})
        varying = [knob for knob in knobs if len({canonical_json(config.get(knob)) for config in variants.values()}) > 1]
        for key, config in variants.items():
            shown = " ".join(f"{knob}={_value(config.get(knob))}" for knob in varying)
            labels[(name, key)] = f"{name} {shown}" if shown else name
    return labels


def _value(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "x".join(map(str, value))
    return str(value)


def _fit_row(fit: ScalingFit, adapter_labels: Mapping[tuple[str, str], str], task_labels: Mapping[tuple[str, str], str]) -> dict[str, Any]:
    data = fit.to_dict()
    data["adapter_label"] = adapter_labels.get((fit.adapter, canonical_json(fit.adapter_config)), fit.adapter)
    data["task_label"] = task_labels.get((fit.task, canonical_json(fit.task_config)), fit.task) if fit.complexity is not None else fit.task
    return data


# --- rendering ---------------------------------------------------------------------------------


def to_json(board: Mapping[str, Any]) -> str:
    """Stable JSON text (sorted keys) of `build()`'s output."""
    return json.dumps(board, indent=2, sort_keys=True, allow_nan=False, default=_no_nan) + "\n"


def _no_nan(value: Any) -> Any:
    raise TypeError(f"cannot serialise {type(value).__name__} in a leaderboard")


def to_markdown(board: Mapping[str, Any]) -> str:
    """Methods header, the main table, and the scaling section, as GitHub markdown."""
    from tabulate import tabulate  # local: keeps `python -m benchmark list` fast

    parts = ["# two-clocks leaderboard", "", _methods_markdown(board["methods"]), "", "## Clocks", ""]
    rows = board["rows"]
    mixed = any(row["protocol_label"] for row in rows)  # settings differ between rows: say which
    headers = (*COLUMNS, "protocol") if mixed else COLUMNS
    cells = [_row_cells(row) + ([row["protocol_label"]] if mixed else []) for row in rows]
    parts.append(tabulate(cells, headers=headers, tablefmt="github", disable_numparse=True))
    parts += ["", _legend(), "", "## Scaling", "", "### τ_mem ∝ N^α", ""]
    mem_fits = board["scaling"]["tau_mem_vs_n"]
    if mem_fits:
        cells = [
            [
                fit["adapter_label"],
                fit["task_label"],
                _complexity(fit["complexity"]),
                ", ".join(_int(n) for n in sorted({p["x"] for p in fit["points"]})),
                _fit_display(fit["fit"]),
                _points_used(fit["fit"]),
            ]
            for fit in mem_fits
        ]
        parts.append(tabulate(cells, headers=("adapter", "task", "complexity", "N", "α [95 % CI]", "runs used"), tablefmt="github", disable_numparse=True))
        parts += ["", "Fit of log10 τ_mem on log10 N over single runs whose τ_mem fired; interval: pairs bootstrap over runs."]
    else:
        parts.append("No fit: needs one adapter and task run at two or more values of N.")
    parts += ["", "### τ_rule against complexity", ""]
    rule_fits = board["scaling"]["tau_rule_vs_complexity"]
    if rule_fits:
        medians = _rule_medians(board["rows"])
        cells = [
            [
                fit["adapter_label"],
                fit["task_label"],
                _int(fit["n_train"]),
                medians.get(_rule_key(fit), ""),
                _fit_display(fit["fit"]),
                _points_used(fit["fit"]),
            ]
            for fit in rule_fits
        ]
        parts.append(tabulate(cells, headers=("adapter", "task", "N", "median τ_rule by complexity", "β [95 % CI]", "runs used"), tablefmt="github", disable_numparse=True))
        parts += ["", "Fit of log10 τ_rule on complexity (τ_rule grows ×10^β per unit) over single runs whose τ_rule fired."]
    else:
        parts.append("No fit: needs one adapter and task run at two or more complexities.")
    return "\n".join(parts) + "\n"


def _methods_markdown(methods: Mapping[str, Any]) -> str:
    protocol = methods["protocol"]
    show = lambda values: ", ".join(_value(v) for v in values) + (" (mixed)" if len(values) > 1 else "")  # noqa: E731
    schedule = f"{show(protocol['eval_schedule'])}, {show(protocol['eval_points'])} evals after step 0, up to {show(protocol['max_steps'])} steps"
    boot = methods["bootstrap"]
    lines = [
        f"- protocol version: {show(methods['protocol_version'])}",
        f"- thresholds: τ_rule at valid_norm ≥ {show(protocol['theta_rule'])}; τ_mem at mem − control ≥ {show(protocol['theta_mem'])} (strong: {show(protocol['theta_mem_strong'])})",
        f"- hold: a crossing must hold for {show(protocol['hold'])} consecutive evals",
        f"- eval schedule: {schedule}; early stop: {show(protocol['early_stop'])}",
        f"- eval samples: {show(protocol['eval_samples'])} per eval (sampling seed {show(protocol['sampling_seed'])}); batching: {show(protocol['batching'])}",
        f"- package version: {show(methods['package_version'])} (rendered by {methods['rendered_by']})",
        f"- records: {methods['num_records']} runs in {methods['num_groups']} groups; medians over seeds, "
        f"{int(boot['confidence'] * 100)} % percentile-bootstrap intervals ({boot['resamples']} resamples, seed {boot['seed']})",
    ]
    return "\n".join(lines)


def _legend() -> str:
    return (
        "Clocks in steps: median over seeds [95 % interval]; `> x`: censored (the clock had not fired by step x). "
        "window = τ_mem − τ_rule and log-window = log10(τ_mem / τ_rule) from the medians; status from the medians, "
        "with the share of seeds agreeing when they do not all agree. Epochs = steps × batch / N."
    )


def _row_cells(row: Mapping[str, Any]) -> list[str]:
    window = row["window"]
    counts = window["status_counts"]
    runs = sum(counts.values())
    agreeing = counts.get(window["status"], 0)
    status = window["status"] if agreeing == runs else f"{window['status']} ({agreeing}/{runs})"
    return [
        row["adapter_label"],
        row["task_label"],
        _complexity(row["complexity"]),
        _int(row["n_train"]),
        _params(row["num_parameters"]),
        str(len(row["seeds"])),
        _clock(row["tau_rule"]),
        _clock(row["tau_mem"]),
        _window(window, "steps", 0),
        _window(window, "log_window", 2),
        status,
        _clock(row["tau_rule_epochs"]),
        _clock(row["tau_mem_epochs"]),
    ]


def _clock(summary: Mapping[str, Any]) -> str:
    from benchmark.aggregate import ClockSummary

    return ClockSummary(**summary).display()


def _window(window: Mapping[str, Any], field: str, digits: int) -> str:
    value = window[field]
    if value is None or window["kind"] == "unknown":
        return "—"
    text = f"{value:.{digits}f}"
    return {"lower": f"> {text}", "upper": f"< {text}"}.get(window["kind"], text)


def _complexity(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return _int(value) if float(value).is_integer() else f"{value:g}"


def _int(value: float | int) -> str:
    return str(int(value))


def _params(count: int) -> str:
    if count >= 1_000_000:
        return f"{count / 1e6:.2f}M"
    if count >= 1_000:
        return f"{count / 1e3:.3g}k"
    return str(count)


def _fit_display(fit: Mapping[str, Any]) -> str:
    if fit["slope"] is None:
        return "—"
    interval = f" [{fit['low']:.2f}, {fit['high']:.2f}]" if fit["low"] is not None else " (two points: no interval)"
    return f"{fit['slope']:.2f}{interval}"


def _points_used(fit: Mapping[str, Any]) -> str:
    total = fit["points_used"] + fit["points_censored"]
    censored = f" ({fit['points_censored']} censored, left out)" if fit["points_censored"] else ""
    return f"{fit['points_used']} of {total}{censored}"


def _rule_key(item: Mapping[str, Any]) -> str:
    return canonical_json([item["adapter"], item["adapter_config"], item["task"], item["n_train"], item["protocol"]])


def _rule_medians(rows: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """'2: 120; 4: > 2000' per (adapter, task name, N): the median τ_rule at each complexity."""
    table: dict[str, list[tuple[float, str]]] = {}
    for row in rows:
        table.setdefault(_rule_key(row), []).append((row["complexity"], _clock({**row["tau_rule"], "runs": 1})))
    return {key: "; ".join(f"{_complexity(c)}: {text}" for c, text in sorted(entries)) for key, entries in table.items()}


# --- files -------------------------------------------------------------------------------------


def write(board: Mapping[str, Any], markdown_path: str | Path | None = None, json_path: str | Path | None = None) -> str:
    """Render the markdown; write it and/or the JSON where asked (parent folders created). Returns the markdown."""
    markdown = to_markdown(board)
    for path, text in ((markdown_path, markdown), (json_path, to_json(board) if json_path else "")):
        if path is None:
            continue
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return markdown
