"""A two-node Ray cluster on this machine for tests: a head and a worker node, each its own raylet, loopback only.

Run as a script (by tests/test_ray_multinode.py) with the cluster's environment already set: it starts the
nodes, prints one JSON line (the GCS address and each node's raylet pid), and shuts the cluster down when
its stdin closes. It runs apart from the test process so that Ray's environment (temp dir, auth token,
health checks) never leaks into it, and the cluster dies with it (Ray's reaper).
"""

from __future__ import annotations

import json
import os
import sys

NODE_ARGS = {"node_ip_address": "127.0.0.1", "num_cpus": 1, "object_store_memory": 100 * 1024 * 1024}


def main(root: str) -> None:
    """`root` is RAY_TMPDIR: the nodes keep their sessions, and Ray its address file, under `root`/ray."""
    from ray._private import ray_constants
    from ray.cluster_utils import Cluster

    temp_dir = os.path.join(root, "ray")
    os.makedirs(temp_dir, exist_ok=True)

    cluster = Cluster(initialize_head=True, head_node_args={**NODE_ARGS, "temp_dir": temp_dir, "resources": {"head": 1}, "include_dashboard": False})
    try:
        worker = cluster.add_node(**NODE_ARGS, temp_dir=temp_dir, resources={"worker_node": 1})
        pids = {name: node.all_processes[ray_constants.PROCESS_TYPE_RAYLET][0].process.pid for name, node in (("head", cluster.head_node), ("worker", worker))}
        print(json.dumps({"address": cluster.address, "raylet_pids": pids}), flush=True)
        sys.stdin.read()  # until the test closes our stdin
    finally:
        cluster.shutdown()


if __name__ == "__main__":
    main(sys.argv[1])
