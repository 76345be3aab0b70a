"""Synthetic run records with chosen clocks, shaped like the protocol's record.json, for aggregation tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmark.core.records import RECORD_SCHEMA_VERSION, Clock, Record, to_dict, write_json_atomic
from benchmark.run.clocks import read_window
from benchmark.run.spec import STREAM, resolve_spec


def make_record(
    tau_rule: float | None,
    tau_mem: float | None,
    *,
    seed: int = 0,
    n_train: int | str = 32,
    G: int = 2,
    adapter: str = "uniform",
    adapter_knobs: dict[str, Any] | None = None,
    max_steps: int = 2000,
    batch_size: int = 64,
    num_parameters: int = 1234,
    protocol: dict[str, Any] | None = None,
) -> Record:
    """A protocol-2.0 record whose clocks fired at `tau_rule` / `tau_mem` (None: censored at max_steps).

    With n_train="stream" the copy clocks are not applicable (tau_mem is ignored).
    """
    knobs = {"batch_size": batch_size, **(adapter_knobs or {})}
    spec = resolve_spec("parity", {"G": G}, adapter, knobs, n_train, seed, {"max_steps": max_steps, **(protocol or {})})
    chance = 2.0 ** -(36 // G)
    stream = n_train == STREAM

    def clock(step: float | None, metric: str, threshold: float) -> Clock:
        if stream and metric != "noncopy_valid_norm":
            return Clock(step=None, censored=False, epoch=None, metric=metric, threshold=threshold, applicable=False)
        value = float(max_steps if step is None else step)
        return Clock(step=value, censored=step is None, epoch=None if stream else value * batch_size / n_train, metric=metric, threshold=threshold)

    rule, mem = clock(tau_rule, "noncopy_valid_norm", 0.9), clock(tau_mem, "mem_excess", 0.1)
    strong = clock(None if tau_mem is None else tau_mem * 1.5, "mem_excess", 0.5)
    near = clock(None if tau_mem is None else tau_mem * 0.9, "copy_excess_near", 0.1)
    window = read_window(rule, mem, [0, 1, 10, 100, 1000, max_steps], [0.0, 0.1, 0.5, 0.9, 0.9, 0.5])
    return Record.from_dict(
        {
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
            "stop_reason": "max_steps",
            "clocks": {"tau_rule": to_dict(rule), "tau_mem": to_dict(mem), "tau_mem_strong": to_dict(strong), "tau_mem_near": to_dict(near)},
            "window": to_dict(window),
            "final_metrics": {"step": max_steps, "valid": 1.0, "mem": None if stream else 0.5},
            "environment": {"python": "3.11", "torch": "2.13", "two_clocks": "0.1.0", "device": "cpu"},
            "wall_time_s": 1.0,
            "eval_time_s": 0.1,
            "created": "2026-01-01T00:00:00Z",
        },
        "synthetic record",
    )


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
