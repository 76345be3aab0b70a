"""Same spec, same record: the thread count is the spec's, so -j (runs side by side) cannot change a record.

A tiny real GPT, because the float reductions are what differ: with 2 torch threads instead of 1 its loss
differs from the 5th step on (measured on the 2-core CPU machine), so this comparison fails if the
thread count follows -j again (the old rule gave -j 1 runs the process default, 2 here, and -j 2 workers 1).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from benchmark.run.protocol import load_metrics, run_dir
from benchmark.sweep import files as sweep
from benchmark.sweep.backends import RunOptions, execute
from tests.test_protocol import without_timings


def tiny_gpt_sweep() -> list:
    gpt = sweep.Choice("gpt", (("depth", ("1",)), ("width", ("32",)), ("heads", ("2",)), ("batch_size", ("16",))))
    protocol = (("max_steps", 30), ("eval_points", 3), ("eval_samples", 32), ("early_stop", False))
    return sweep.expand(sweep.Sweep(blocks=(sweep.Block(tasks=(sweep.Choice("parity"),), adapters=(gpt,), n=(16,), seeds=(0, 1), protocol=protocol),)))


def run_sweep(output: Path, jobs: int) -> dict[str, Any]:
    specs = tiny_gpt_sweep()
    result = execute(specs, RunOptions(output=str(output), device="cpu", quiet=True), jobs=jobs)
    assert not result.failures and not result.refusals and len(result.records) == 2
    return {spec.run_id: (without_timings(record), without_timings(load_metrics(run_dir(output, spec)))) for spec, record in zip(specs, (outcome.record for outcome in result.outcomes))}


def test_a_sweep_gives_the_same_records_and_metrics_at_j1_and_j2(tmp_path: Path) -> None:
    previous = torch.get_num_threads()
    torch.set_num_threads(2)  # what a fresh `python -m benchmark run` starts with on 2 cores
    try:
        sequential = run_sweep(tmp_path / "j1", jobs=1)  # in this process
    finally:
        torch.set_num_threads(previous)
    parallel = run_sweep(tmp_path / "j2", jobs=2)  # two spawned workers, side by side
    assert sequential.keys() == parallel.keys()
    for run_id, (record, rows) in sequential.items():
        other_record, other_rows = parallel[run_id]
        assert record["clocks"] == other_record["clocks"] and record == other_record
        assert rows == other_rows and len(rows) == 4 and all(row["loss"] is not None for row in rows[1:])
        assert record["environment"]["threads"] == 1
