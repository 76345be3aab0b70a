"""Prove that a change of structure left every number unchanged: this tree against a git ref, number by number.

    python tests/perf/numbers_unchanged.py --ref a6d3fa8     # the last commit of the flat layout, or any other; prints a table, exit 1 on a difference

For the ref and for the working tree (each copied to a temporary folder, so nothing here is touched) it
    1. runs the default job (`python -m benchmark run`) and the smoke sweep (leaderboard/v2/configs/smoke.yaml, --smoke),
       and keeps every record.json and metrics.jsonl without the fields that time or describe the machine;
    2. re-reads the clocks of every committed study-2.0 record (leaderboard/v2/runs) from its metrics.jsonl with that
       tree's clock code, and reclocks the protocol-1.0 runs (leaderboard/v1/runs) with that tree's `reclock`;
    3. re-renders study 2.0's page (`python leaderboard/v2/study.py --write`) and hashes its README.md,
       leaderboard.md and leaderboard.json;
A tree from before study 2.0 moved to leaderboard/v2/ (study 3.0) is read at the old paths (`STUDY2`).
then compares the two digests field by field. Both trees run on this machine, one after the other, with the
same torch, threads and CPU, so any difference is the code's.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
VOLATILE = {"wall_time_s", "eval_time_s", "created", "environment"}  # timing and machine: allowed to differ
PAGES = ("README.md", "leaderboard.md", "leaderboard.json")  # study 2.0's pages, in its folder
RENAMED = {"leaderboard/runs re-read": "study 2.0 runs re-read"}  # sections of digests saved before study 2.0 moved to v2/


def study2(tree: Path) -> Path:
    """Study 2.0's folder in `tree`: leaderboard/v2 since study 3.0, leaderboard before it."""
    moved = Path("leaderboard") / "v2"
    return moved if (tree / moved / "study.py").exists() else Path("leaderboard")


# Runs inside each tree: its own clock code (old flat layout or the sub-packages) re-reads every committed record.
_RECLOCK_V2 = r"""
import json, sys
from pathlib import Path
if Path("benchmark/run/clocks.py").exists():  # the sub-package layout (probe by file: an installed copy could answer an import)
    from benchmark.run.clocks import read_clocks
    from benchmark.run.spec import RunSpec
    from benchmark.core.records import load_records, to_dict
    from benchmark.run.rundir import load_metrics
else:
    from benchmark.clocks import read_clocks
    from benchmark.spec import RunSpec
    from benchmark.records import load_records, to_dict
    from benchmark.rundir import load_metrics
out = {}
runs = Path(sys.argv[1])
for record in load_records([runs]):
    rows = load_metrics(runs / record.run_id)
    protocol = RunSpec.from_dict(record.spec).protocol
    clocks = read_clocks(rows, protocol, batch_size=record.batch_size, n_train=None if record.stream else record.n_train)
    out[record.run_id] = {name: to_dict(value) for name, value in clocks.items()}
json.dump(out, sys.stdout, sort_keys=True)
"""


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _strip(item) for key, item in value.items() if key not in VOLATILE}
    if isinstance(value, list):
        return [_strip(item) for item in value]
    return value


def _run_folders(root: Path) -> dict[str, Any]:
    """Every run under `root`: its record and curve without timing or machine fields, keyed by run id."""
    runs = {}
    for record_file in sorted(root.rglob("record.json")):
        folder = record_file.parent
        record = _strip(json.loads(record_file.read_text()))
        rows = [_strip(json.loads(line)) for line in (folder / "metrics.jsonl").read_text().splitlines() if line.strip()]
        runs[folder.name] = {"record": record, "metrics": rows}
    return runs


def _copy_tree(ref: str | None, destination: Path) -> None:
    """The tree at `ref` (git archive), or the working tree's tracked and unignored files when `ref` is None."""
    destination.mkdir(parents=True)
    if ref is not None:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref], check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(destination)], input=archive, check=True)
        return
    listed = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-co", "--exclude-standard", "-z"], check=True, capture_output=True).stdout
    for name in filter(None, listed.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def digest(tree: Path, scratch: Path) -> dict[str, Any]:
    """Everything the tree computes that must not change with its structure."""
    env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONHASHSEED": "0", "MPLBACKEND": "Agg"}

    def python(*args: str) -> str:
        done = subprocess.run([sys.executable, *args], cwd=tree, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"{tree}: `python {' '.join(args)}` failed:\n{done.stderr[-3000:]}")
        return done.stdout

    python("-m", "benchmark", "run", "--output", str(scratch / "default"), "--quiet")
    folder = study2(tree)
    python("-m", "benchmark", "run", "--config", str(folder / "configs" / "smoke.yaml"), "--smoke", "--output", str(scratch / "smoke"), "--quiet")
    python("-m", "benchmark", "reclock", "leaderboard/v1/runs", "--out", str(scratch / "reclocked"))
    reclocked_v1 = {name: run["record"]["clocks"] | {"window": run["record"]["window"]} for name, run in _run_folders(scratch / "reclocked").items()}
    reclocked_v2 = json.loads(python("-c", _RECLOCK_V2, str(folder / "runs")))
    python(str(folder / "study.py"), "--write")
    pages = {f"study 2.0 {page}": hashlib.sha256((tree / folder / page).read_bytes()).hexdigest() for page in PAGES}
    return {
        "default job": _run_folders(scratch / "default"),
        "smoke sweep": _run_folders(scratch / "smoke"),
        "study 2.0 runs re-read": reclocked_v2,
        "leaderboard/v1 reclocked": reclocked_v1,
        "pages": pages,
    }


def _differences(before: Any, after: Any, where: str = "") -> list[str]:
    if isinstance(before, dict) and isinstance(after, dict):
        found = [f"{where}/{key}: only in one tree" for key in sorted(set(before) ^ set(after))]
        for key in sorted(set(before) & set(after)):
            found += _differences(before[key], after[key], f"{where}/{key}")
        return found
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [item for i, (a, b) in enumerate(zip(before, after)) for item in _differences(a, b, f"{where}[{i}]")]
    return [] if before == after else [f"{where}: {before!r} != {after!r}"]


def _count(section: Any) -> int:
    return len(section) if isinstance(section, dict) else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", required=True, help="the git ref whose numbers this tree must reproduce")
    parser.add_argument("--save", metavar="DIR", help="also write both digests here as JSON")
    parser.add_argument("--ref-digest", metavar="FILE.json", help="the ref's digest saved by an earlier --save (skips measuring the ref again)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="numbers-unchanged-") as tmp:
        digests = {}
        if args.ref_digest:
            saved = json.loads(Path(args.ref_digest).read_text())
            digests["ref"] = {RENAMED.get(section, section): value for section, value in saved.items()}
            digests["ref"]["pages"] = {page.replace("leaderboard/", "study 2.0 "): value for page, value in digests["ref"]["pages"].items()}
        for label, ref in (("ref", args.ref), ("tree", None)):
            if label in digests:
                continue
            tree = Path(tmp) / label / "tree"
            _copy_tree(ref, tree)
            print(f"measuring {label} ({ref or 'working tree'}) ...", file=sys.stderr, flush=True)
            digests[label] = digest(tree, Path(tmp) / label / "scratch")
    if args.save:
        Path(args.save).mkdir(parents=True, exist_ok=True)
        for label, data in digests.items():
            (Path(args.save) / f"{label}.json").write_text(json.dumps(data, indent=1, sort_keys=True))
    total = 0
    print(f"| compared ({args.ref} vs working tree) | items | differences |\n|---|---|---|")
    for section in digests["ref"]:
        found = _differences(digests["ref"][section], digests["tree"][section])
        total += len(found)
        print(f"| {section} | {_count(digests['ref'][section])} | {len(found)} |")
        for line in found[:20]:
            print(f"    {line}", file=sys.stderr)
    print("numbers unchanged" if total == 0 else f"{total} differences", flush=True)
    return 0 if total == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
