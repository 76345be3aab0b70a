"""Backends: the same sweep gives the same records in this process, and as tasks on a local Ray instance."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from benchmark.sweep import backends
from benchmark.sweep import files as sweep
from benchmark.sweep.backends import BackendError, RunOptions, execute

TIMING_KEYS = ("wall_time_s", "eval_time_s", "created")


def _science(record: Any) -> Any:
    """A record without its timings: what must not depend on where a run executed."""
    if hasattr(record, "to_dict"):
        return _science(record.to_dict())
    if isinstance(record, dict):
        return {key: _science(value) for key, value in record.items() if key not in TIMING_KEYS}
    if isinstance(record, list):
        return [_science(item) for item in record]
    return record


def _specs() -> list:
    plan = sweep.Sweep(
        blocks=(
            sweep.Block(
                tasks=(sweep.Choice("parity"),),
                adapters=(sweep.Choice("memorizer"), sweep.Choice("oracle")),
                n=(16,),
                seeds=(0,),
                protocol=(("max_steps", 20), ("eval_points", 4), ("eval_samples", 64)),
            ),
        )
    )
    return sweep.expand(plan)


def _records(root: Path) -> dict[str, Any]:
    return {path.parent.name: _science(json.loads(path.read_text())) for path in root.glob("*/record.json")}


def test_ray_backend_writes_the_same_records_as_the_local_backend(tmp_path: Path) -> None:
    ray = pytest.importorskip("ray")
    specs = _specs()
    local = execute(specs, RunOptions(output=str(tmp_path / "local"), device="cpu", quiet=True))
    assert not local.failures and local.skipped == 0
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        remote = execute(specs, RunOptions(output=str(tmp_path / "ray"), device="cpu", quiet=True), backend="ray")
        again = execute(specs, RunOptions(output=str(tmp_path / "ray"), device="cpu", quiet=True), backend="ray")
    finally:
        ray.shutdown()
    assert not remote.failures
    assert [_science(r) for r in remote.records] == [_science(r) for r in local.records]
    assert _records(tmp_path / "ray") == _records(tmp_path / "local") and len(_records(tmp_path / "ray")) == 2
    assert again.skipped == 2  # finished runs are read from disk, not resubmitted


def test_gpu_requests_follow_the_device() -> None:
    assert backends.gpus_per_run("cuda", 0) == 1.0
    assert backends.gpus_per_run("cuda:1", 0) == 1.0
    assert backends.gpus_per_run("auto", 4) == 1.0
    assert backends.gpus_per_run("auto", 0) == 0.0
    assert backends.gpus_per_run("cpu", 4) == 0.0


def test_more_threads_than_cores_is_a_warning_not_a_change(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(backends, "available_cores", lambda: 2)
    specs = _specs()
    backends.warn_oversubscription(specs, jobs=2)  # 2 runs × 1 thread on 2 cores: fine
    assert not caplog.records
    threaded = [dataclasses.replace(spec, protocol=dataclasses.replace(spec.protocol, threads=2)) for spec in specs]
    backends.warn_oversubscription(threaded, jobs=2)
    assert "ask for 4 threads on 2 cores" in caplog.text and "records are unaffected" in caplog.text


def test_unknown_backend_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BackendError, match="backend must be one of local, ray"):
        execute(_specs(), RunOptions(output=str(tmp_path)), backend="slurm")
