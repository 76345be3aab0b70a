"""Re-read protocol-1.0 curves with protocol 2.0's clock definitions, where the 1.0 metrics suffice.

Protocol 1.0 recorded, per eval, `valid`, `mem`, `control` and `novel_valid` but no near-copies. The
2.0 rule curve is the validity of non-copies; from 1.0 rows it can be rebuilt with exact copies only
(near_distance 0): noncopy = 1 − mem, noncopy_valid = novel_valid / (1 − mem), defined when the
non-copies number at least the 2.0 floor, max(min_noncopy, ⌈min_noncopy_fraction·M⌉), M = the run's
eval_samples. τ_mem and τ_mem_strong are 1.0's own curve (mem − control). τ_mem_near cannot be read:
it is marked not available. Each re-read run is written as a schema-2 record whose protocol version
stays "1.0" and whose `reclocked` block says what was rebuilt and what is missing, so a leaderboard of
re-read runs never passes for a protocol-2.0 study.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path

from benchmark.core.config import ConfigError, build_config
from benchmark.core.records import RECORD_SCHEMA_VERSION, Clock, EvalRow, Record, RecordError, find_record_files, read_record, write_json_atomic, write_record
from benchmark.run.clocks import CLOCK_CURVES, read_clocks
from benchmark.run.metrics import normalise_validity
from benchmark.run.rundir import METRICS_FILE, SPEC_FILE, read_eval_rows
from benchmark.run.spec import PROTOCOL_VERSION, ProtocolConfig

logger = logging.getLogger(__name__)

MISSING_IN_V1 = "near-copies were not recorded in protocol 1.0: non-copies exclude exact copies only, and tau_mem_near is not available"


def reclocked_rows(rows: Iterable[EvalRow], protocol: ProtocolConfig, chance: float) -> list[EvalRow]:
    """1.0 eval rows with the 2.0 rule-curve fields rebuilt from `mem` and `novel_valid` (exact copies only)."""
    out = []
    for row in rows:
        mem, novel_valid = row.mem, row.novel_valid
        if mem is None or novel_valid is None:
            raise RecordError(f"eval row at step {row.step} lacks mem or novel_valid: a protocol-1.0 run of finite N has both")
        total = int(protocol.eval_samples if row.samples is None else row.samples)
        kept = round((1.0 - mem) * total)
        row = row.replace(samples=total, noncopy=kept / total, noncopy_count=kept, copy_excess_near=None)
        if kept >= protocol.noncopy_floor:
            q = min(1.0, novel_valid * total / kept)
            row = row.replace(noncopy_valid=q, noncopy_valid_norm=normalise_validity(q, chance))
        else:
            row = row.replace(noncopy_valid=None, noncopy_valid_norm=None)
        out.append(row)
    return out


def reclock_record(record: Record, rows: list[EvalRow]) -> tuple[Record, list[EvalRow]]:
    """The 2.0 reading of one 1.0 run: its record (schema 2, protocol 1.0) and its rows with the rebuilt fields."""
    if record.protocol_version != "1.0":
        raise RecordError(f"run {record.run_id} is a protocol {record.protocol_version} run; only 1.0 runs are re-read")
    if not rows:
        raise RecordError(f"run {record.run_id} has no metrics.jsonl rows to re-read")
    knobs = {key: value for key, value in record.protocol.items() if key != "version"}
    try:
        protocol = build_config(ProtocolConfig, {**knobs, "eval_samples_min": knobs.get("eval_samples", 1024)})
    except ConfigError as error:
        raise RecordError(f"run {record.run_id}: its protocol settings cannot be read as 2.0 settings ({error})") from None
    rows = reclocked_rows(rows, protocol, float(record.task["chance_valid"]))
    clocks = read_clocks([row.to_dict() for row in rows], protocol, batch_size=record.batch_size, n_train=int(record.n_train))  # the protocol's own reader
    near = clocks["tau_mem_near"]
    clocks["tau_mem_near"] = Clock(step=None, censored=False, epoch=None, metric=near.metric, threshold=near.threshold, applicable=False)
    reread = Record(
        **{f: getattr(record, f) for f in _COPIED},
        schema_version=RECORD_SCHEMA_VERSION,
        clocks={name: clocks[name] for name in CLOCK_CURVES},
        window=clocks["window"],
        final_metrics=rows[-1].to_dict(),
        stop_reason=None,
        extra={**record.extra, "reclocked": {"clocks_version": PROTOCOL_VERSION, "missing": MISSING_IN_V1, "noncopy_floor": protocol.noncopy_floor}},
    )
    return reread, rows


_COPIED = (
    "protocol_version",
    "run_id",
    "spec",
    "task",
    "adapter",
    "num_parameters",
    "n_train",
    "batch_size",
    "max_steps",
    "steps_trained",
    "stopped_early",
    "environment",
    "wall_time_s",
    "eval_time_s",
    "created",
)


def reclock_runs(roots: Iterable[str | os.PathLike[str]], out: str | os.PathLike[str]) -> list[Path]:
    """Re-read every 1.0 run under `roots` into `<out>/<run_id>/` (spec.json, metrics.jsonl, record.json); returns the folders."""
    import json

    out = Path(out)
    written = []
    for path in find_record_files(roots):
        record = read_record(path)
        reread, rows = reclock_record(record, read_eval_rows(path.parent))
        target = out / record.run_id
        target.mkdir(parents=True, exist_ok=True)
        write_json_atomic(target / SPEC_FILE, dict(record.spec))
        (target / METRICS_FILE).write_text("".join(json.dumps(row.to_dict(), sort_keys=True, allow_nan=False) + "\n" for row in rows))
        write_record(target, reread)
        written.append(target)
        logger.info("re-read %s: tau_rule %s, tau_mem %s, window %s", record.run_id, reread.clocks["tau_rule"].display(), reread.clocks["tau_mem"].display(), reread.window.status)
    if not written:
        raise RecordError(f"no record.json under {', '.join(map(str, roots))}")
    return written


__all__ = ["MISSING_IN_V1", "reclocked_rows", "reclock_record", "reclock_runs"]
