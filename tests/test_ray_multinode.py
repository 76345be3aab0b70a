"""A sweep on a two-node Ray cluster survives the loss of its worker node, with the records of a local run.

The cluster is a head and a worker node, each its own raylet (tests/ray_two_nodes.py), bound to 127.0.0.1
only. The sweep runs as a user runs it: the CLI with `--backend ray` and RAY_ADDRESS. Once a run has
checkpointed in a process of the worker node, every process of that node is killed (the node is lost, as
when a machine dies); the sweep must still finish, with every record and metrics row identical, timings
and environment aside, to the same sweep run by the local backend.
"""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
import select
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ray = pytest.importorskip("ray")
psutil = pytest.importorskip("psutil")  # Ray ships it (ray/thirdparty_files, on sys.path once ray is imported)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds the lock holder of a run in /proc/locks (Linux)"),
]

ROOT = Path(__file__).resolve().parents[1]
SWEEP = [
    *("--tasks", "parity", "--adapters", "gpt:depth=1,width=16", "--n", "16", "--seeds", "0", "1", "2", "3"),
    *("--max-steps", "200", "--eval-samples", "32", "--protocol-args", "eval_points=6", "--device", "cpu", "--quiet"),
]
UNCOMPARED_KEYS = ("wall_time_s", "eval_time_s", "created", "environment")
KILL_AFTER_ROWS = 3  # evals a run on the worker node has written (and checkpointed) before the node is killed
TIMEOUT_S = 300.0  # for each sweep
START_TIMEOUT_S = 120.0  # for the cluster


@dataclass(frozen=True)
class TwoNodes:
    """A running two-node cluster: its address, the environment its clients need, each node's raylet."""

    address: str
    env: dict[str, str]
    head: psutil.Process
    worker: psutil.Process
    helper: psutil.Process


def _ray_env(temp_dir: str) -> dict[str, str]:
    """Environment of every process of the cluster and of the driver: loopback only, own temp dir and token."""
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]),  # this tree, in every Ray worker
        "RAY_TMPDIR": temp_dir,  # Ray's address file and sessions stay out of the shared /tmp/ray
        "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",  # 127.0.0.1 stays 127.0.0.1 (else Ray swaps in the host's address)
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN": secrets.token_hex(32),  # this cluster's own token, not ~/.ray/auth_token
        "RAY_USAGE_STATS_ENABLED": "0",
        "RAY_health_check_initial_delay_ms": "1000",  # a lost node is declared dead in seconds, not half a minute
        "RAY_health_check_period_ms": "500",
        "RAY_health_check_timeout_ms": "500",
        "RAY_health_check_failure_threshold": "4",
    }


@pytest.fixture
def local_sweep(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """The same sweep on the local backend, started first so that it runs while the cluster starts."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("RAY_")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    process = _sweep(tmp_path / "local", env, "--backend", "local")
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.fixture
def two_nodes(tmp_path: Path) -> Iterator[TwoNodes]:
    """Start the cluster in a helper process; afterwards stop it and check that none of its processes is left."""
    temp_dir = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # short: Ray's socket paths must fit in 107 bytes
    env = _ray_env(temp_dir)
    with open(tmp_path / "cluster.log", "w") as log:
        helper = subprocess.Popen([sys.executable, str(ROOT / "tests" / "ray_two_nodes.py"), temp_dir], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True)
    tree: list[psutil.Process] = []
    try:
        assert helper.stdout is not None
        ready, _, _ = select.select([helper.stdout], [], [], START_TIMEOUT_S)
        line = helper.stdout.readline() if ready else ""
        assert line, f"the cluster did not start:\n{(tmp_path / 'cluster.log').read_text()[-3000:]}"
        info = json.loads(line)
        process = psutil.Process(helper.pid)
        tree = [process, *process.children(recursive=True)]
        yield TwoNodes(info["address"], env, psutil.Process(info["raylet_pids"]["head"]), psutil.Process(info["raylet_pids"]["worker"]), process)
    finally:
        tree += [child for child in _descendants(helper.pid) if child not in tree]
        if helper.stdin:
            helper.stdin.close()  # the helper shuts the cluster down
        try:
            helper.wait(timeout=60)
        except subprocess.TimeoutExpired:
            helper.kill()
            helper.wait()
        _, alive = psutil.wait_procs([*tree, *_mentioning(temp_dir)], timeout=10)
        for process in alive:  # only processes of this cluster: the helper's tree, or naming its temp dir
            process.kill()
        shutil.rmtree(temp_dir, ignore_errors=True)
        assert not alive, f"cluster processes outlived the cluster: {alive}"


def _loopback(ip: str) -> bool:
    """127.0.0.1, also as IPv6 sees it (::ffff:127.0.0.1); never a wildcard (0.0.0.0, ::)."""
    address = ipaddress.ip_address(ip)
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback


def _mentioning(text: str) -> list[psutil.Process]:
    """Processes whose command line names `text` (the cluster's own temp dir: processes of this cluster only)."""
    found = []
    for process in psutil.process_iter():
        try:
            if any(text in arg for arg in process.cmdline()):
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            pass
    return found


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _lock_holders() -> dict[tuple[int, int], int]:
    """(device, inode) of every flock-held file → the pid holding it, from /proc/locks."""
    holders = {}
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        if len(fields) >= 6 and fields[1] == "FLOCK" and fields[4].isdigit():
            major, minor, inode = fields[5].split(":")
            holders[(os.makedev(int(major, 16), int(minor, 16)), int(inode))] = int(fields[4])
    return holders


def _run_on(node: psutil.Process, output: Path) -> Path | None:
    """A run folder whose lock a process of `node` holds, with KILL_AFTER_ROWS evals written and no record yet."""
    pids = {process.pid for process in _tree(node)}
    holders = _lock_holders()
    for lock in output.glob("*/.lock"):
        try:
            stat = lock.stat()
        except FileNotFoundError:
            continue
        run = lock.parent
        if holders.get((stat.st_dev, stat.st_ino)) in pids and not (run / "record.json").exists() and (run / "checkpoint.pt").exists():
            if len((run / "metrics.jsonl").read_text().splitlines()) >= KILL_AFTER_ROWS:
                return run
    return None


def _tree(process: psutil.Process) -> list[psutil.Process]:
    try:
        return [process, *process.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _kill_node(raylet: psutil.Process) -> list[psutil.Process]:
    """Lose the node at once, as when its machine dies: SIGKILL its raylet and everything the raylet started."""
    processes = _tree(raylet)
    for process in processes:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(processes, timeout=10)
    return processes


def _dead(process: psutil.Process) -> bool:
    """Gone, or a zombie its parent (the helper, for the raylet) has not reaped yet."""
    try:
        return process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _sweep(output: Path, env: dict[str, str], *extra: str) -> subprocess.Popen[str]:
    with open(output.with_suffix(".log"), "w") as log:
        return subprocess.Popen([sys.executable, "-m", "benchmark", "run", *SWEEP, "--output", str(output), *extra], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)


def _finish(process: subprocess.Popen[str], output: Path) -> str:
    try:
        process.wait(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    text = output.with_suffix(".log").read_text()
    assert process.returncode == 0, f"sweep exited {process.returncode}:\n{text[-4000:]}"
    return text


def _science(output: Path) -> dict[str, Any]:
    """Each run's record and metrics rows without timings and environment: what must not depend on where it ran."""

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: strip(item) for key, item in value.items() if key not in UNCOMPARED_KEYS}
        if isinstance(value, list):
            return [strip(item) for item in value]
        return value

    return {
        run.name: {
            "record": strip(json.loads((run / "record.json").read_text())),
            "metrics": [strip(json.loads(line)) for line in (run / "metrics.jsonl").read_text().splitlines()],
        }
        for run in sorted(path.parent for path in output.glob("*/spec.json"))
    }


def test_sweep_survives_losing_a_worker_node_with_identical_records(local_sweep: subprocess.Popen[str], two_nodes: TwoNodes, tmp_path: Path) -> None:
    assert two_nodes.head.name() == two_nodes.worker.name() == "raylet" and two_nodes.head.pid != two_nodes.worker.pid
    listening = {conn.laddr.ip for process in _tree(two_nodes.helper) for conn in process.net_connections(kind="inet") if conn.status == psutil.CONN_LISTEN}
    assert listening and all(_loopback(ip) for ip in listening), f"Ray listens beyond loopback: {sorted(listening)}"

    output = tmp_path / "ray"
    driver = _sweep(output, {**two_nodes.env, "RAY_ADDRESS": two_nodes.address}, "--backend", "ray")
    deadline = time.monotonic() + TIMEOUT_S
    killed = None
    while killed is None and driver.poll() is None and time.monotonic() < deadline:
        killed = _run_on(two_nodes.worker, output)
        if killed is None:
            time.sleep(0.05)
    assert killed is not None, f"no run checkpointed on the worker node before the sweep ended:\n{output.with_suffix('.log').read_text()[-4000:]}"
    lost = _kill_node(two_nodes.worker)
    assert len(lost) > 1 and all(_dead(process) for process in lost)  # the raylet and its workers, one of them training
    assert not (killed / "record.json").exists()  # lost mid-run
    _finish(driver, output)

    _finish(local_sweep, tmp_path / "local")
    remote, local = _science(output), _science(tmp_path / "local")
    assert len(local) == 4 and all(run["record"]["steps_trained"] == 200 for run in local.values())
    assert killed.name in remote
    assert remote == local
