"""Runs a command with a fresh loopback Redis Cluster (3 masters + 3 replicas) in its environment:
SESSIOND_TEST_REDIS_CLUSTER=host:port,… and SESSIOND_TEST_REDIS_PASSWORD. The cluster is
stopped (by PID) when the command ends. Used by scripts/test-cluster."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import topology as topo  # noqa: E402

if len(sys.argv) < 2:
    sys.exit("usage: with_cluster.py command [args…]")
with topo.ClusterTopology() as cluster:
    env = dict(os.environ,
               SESSIOND_TEST_REDIS_CLUSTER=",".join(f"127.0.0.1:{p}" for p in cluster.node_ports),
               SESSIOND_TEST_REDIS_PASSWORD=topo.PASSWORD)
    print(f"with_cluster: Redis Cluster on {env['SESSIOND_TEST_REDIS_CLUSTER']}", file=sys.stderr, flush=True)
    status = subprocess.call(sys.argv[1:], env=env)
sys.exit(status)
