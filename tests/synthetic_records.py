"""Synthetic run records with chosen clocks, shaped like the protocol's record.json, for aggregation tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmark.records import RECORD_SCHEMA_VERSION, Record, write_json_atomic
from benchmark.spec import resolve_spec


def make_record(
    tau_rule: float | None,
    tau_mem: float | None,
    *,
    seed: int = 0,
    n_train: int = 32,
    G: int = 2,
    adapter: str = "uniform",
    adapter_knobs: dict[str, Any] | None = None,
    max_steps: int = 2000,
    batch_size: int = 64,
    num_parameters: int = 1234,
) -> Record:
    """A record whose clocks fired at `tau_rule` / `tau_mem` (None: censored at max_steps)."""
    knobs = {"batch_size": batch_size, **(adapter_knobs or {})}
    spec = resolve_spec("parity", {"G": G}, adapter, knobs, n_train, seed, {"max_steps": max_steps})
    chance = 2.0 ** -(36 // G)

    def clock(step: float | None, metric: str, threshold: float) -> dict[str, Any]:
        value = float(max_steps if step is None else step)
        return {"step": value, "censored": step is None, "epoch": value * batch_size / n_train, "metric": metric, "threshold": threshold}

    rule, mem = clock(tau_rule, "valid_norm", 0.9), clock(tau_mem, "mem_excess", 0.1)
    if tau_mem is None:
        window = {"status": "censored", "steps": None, "log_window": None, "lower": None if tau_rule is None else max_steps - tau_rule, "upper": None}
    elif tau_rule is None or tau_rule >= tau_mem:
        window = {"status": "vanished", "steps": None if tau_rule is None else tau_mem - tau_rule, "log_window": None, "lower": None, "upper": None}
    else:
        window = {"status": "open", "steps": tau_mem - tau_rule, "log_window": 0.0, "lower": None, "upper": None}
    return Record.from_dict({
        "schema_version": RECORD_SCHEMA_VERSION,
        "protocol_version": spec.protocol.version,
        "run_id": spec.run_id,
        "spec": spec.to_dict(),
        "task": {"name": "parity", "config": spec.task.config, "version": 1, "shape": [6, 6], "num_symbols": 2, "complexity": float(G), "num_valid": 2.0 ** (36 - 36 // G), "chance_valid": chance},
        "adapter": {"name": adapter, "config": spec.adapter.config, "num_parameters": num_parameters},
        "num_parameters": num_parameters,
        "n_train": n_train,
        "batch_size": batch_size,
        "max_steps": max_steps,
        "steps_trained": max_steps,
        "stopped_early": False,
        "clocks": {"tau_rule": rule, "tau_mem": mem, "tau_mem_strong": clock(None if tau_mem is None else tau_mem * 1.5, "mem_excess", 0.5)},
        "window": window,
        "final_metrics": {"step": max_steps, "valid": 1.0, "mem": 0.5},
        "environment": {"python": "3.11", "torch": "2.13", "two_clocks": "0.1.0", "device": "cpu"},
        "wall_time_s": 1.0,
        "eval_time_s": 0.1,
        "created": "2026-01-01T00:00:00Z",
    }, "synthetic record")


def write_records(root: Path, records: list[Record], *, with_metrics: bool = False) -> Path:
    """Lay records out as the protocol would: `<root>/<run_id>/record.json` (and a small metrics.jsonl)."""
    for record in records:
        run_dir = root / record.run_id
        run_dir.mkdir(parents=True, exist_ok=True)
        write_json_atomic(run_dir / "record.json", record.to_dict())
        if with_metrics:
            steps = [0, 1, 3, 10, 30, 100, 300, 1000, 2000]
            rows = [{"step": s, "valid": min(1.0, s / 100), "mem": min(1.0, s / 1000), "novel_valid": max(0.0, min(1.0, s / 100) - min(1.0, s / 1000))} for s in steps]
            (run_dir / "metrics.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    return root
