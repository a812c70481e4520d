"""Real Redis topologies on loopback for sessiond's scale-out tests.

Sentinel: 1 primary + 1 replica + 3 sentinels. Cluster: 3 masters + 3 replicas
(`redis-cli --cluster create`). Every process runs from a temp dir on a free
127.0.0.1 port; `stop()` kills them by PID (recorded in <dir>/pids) and removes
the dir. Nothing here touches another Redis.

With `tls=True` every server speaks only TLS (mutual: clients need the test
CA's client certificate), replication, the cluster bus and the sentinels'
links included; certificates come from tests/tls/make-certs.sh.
`SESSIOND_REDIS_SERVER=valkey-server` runs the same topologies on Valkey.

Library for scripts/failover; also a CLI for trying sessiond by hand:
    tests/topology/topology.py sentinel|cluster [--tls]   (prints the flags, Ctrl-C stops)
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

PASSWORD = "topology-secret"
SERVER = os.environ.get("SESSIOND_REDIS_SERVER") or "redis-server"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_cluster_port():
    """A port whose cluster bus (port + 10000) is free too."""
    while True:
        port = free_port()
        if port + 10000 > 65535:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port


def wait_until(what, condition, timeout=30.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except (OSError, subprocess.SubprocessError):
            pass
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")


class Topology:
    def __init__(self, name, tls=False):
        self.dir = tempfile.mkdtemp(prefix=f"sessiond-{name}-")
        self.procs = {}  # name -> Popen
        self.commands = {}  # name -> argv, to restart a killed node
        self.tls = tls
        if tls:
            self.certs = os.path.join(self.dir, "certs")
            subprocess.run(["bash", os.path.join(ROOT, "tests/tls/make-certs.sh"), self.certs], check=True)

    def cert(self, name):
        return os.path.join(self.certs, name)

    def tls_server_args(self, port):
        """A TLS-only listener on `port`, demanding the test CA's client certificates."""
        return ["--port", "0", "--tls-port", str(port), "--tls-cert-file", self.cert("server.crt"),
                "--tls-key-file", self.cert("server.key"), "--tls-ca-cert-file", self.cert("ca.crt"),
                "--tls-auth-clients", "yes", "--tls-replication", "yes"]

    def cli_tls_args(self):
        return ["--tls", "--cacert", self.cert("ca.crt"), "--cert", self.cert("client.crt"),
                "--key", self.cert("client.key")] if self.tls else []

    def sessiond_tls_flags(self):
        return ["--redis-tls", "--redis-tls-ca", self.cert("ca.crt"), "--redis-tls-cert", self.cert("client.crt"),
                "--redis-tls-key", self.cert("client.key")] if self.tls else []

    def _spawn(self, name, argv):
        log = open(os.path.join(self.dir, f"{name}.out"), "w")
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
        self.procs[name] = proc
        self.commands[name] = argv
        with open(os.path.join(self.dir, "pids"), "a") as f:
            f.write(f"{proc.pid} {name}\n")
        return proc

    def cli(self, port, *args, password=PASSWORD, check=True):
        argv = ["redis-cli", "-h", "127.0.0.1", "-p", str(port), "--no-auth-warning", *self.cli_tls_args()]
        if password:
            argv += ["-a", password]
        out = subprocess.run(argv + [str(a) for a in args], capture_output=True, text=True, timeout=10)
        if check and out.returncode != 0:
            raise subprocess.SubprocessError(f"redis-cli {args}: {out.stderr.strip()}")
        return out.stdout.strip()

    def kill(self, name):
        """SIGKILL one process (a crash, not a shutdown)."""
        proc = self.procs[name]
        proc.send_signal(signal.SIGKILL)
        proc.wait()

    def restart(self, name):
        self._spawn(name, self.commands[name])

    def stop(self):
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
        for proc in self.procs.values():
            proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def _data_node(self, name, port, extra=()):
        node_dir = os.path.join(self.dir, name)
        os.makedirs(node_dir, exist_ok=True)
        argv = [SERVER, "--port", str(port), "--bind", "127.0.0.1", "--dir", node_dir,
                "--save", "", "--appendonly", "no", "--repl-diskless-sync-delay", "0", "--requirepass", PASSWORD, "--masterauth", PASSWORD,
                "--logfile", os.path.join(node_dir, "redis.log"), *(self.tls_server_args(port) if self.tls else []), *extra]
        self._spawn(name, argv)
        wait_until(f"{name} on {port}", lambda: self.cli(port, "PING") == "PONG", timeout=10)


class SentinelTopology(Topology):
    """1 primary + 1 replica + 3 sentinels watching master `mymaster`."""
    MASTER = "mymaster"

    def __init__(self, down_after_ms=1000, tls=False):
        super().__init__("sentinel", tls)
        self.ports = {"primary": free_port(), "replica": free_port()}
        self.sentinel_ports = [free_port() for _ in range(3)]
        self._data_node("primary", self.ports["primary"])
        self._data_node("replica", self.ports["replica"], ["--replicaof", "127.0.0.1", str(self.ports["primary"])])
        wait_until("the replica to sync", lambda: "master_link_status:up" in self.cli(self.ports["replica"], "INFO", "replication"))
        for i, port in enumerate(self.sentinel_ports):
            conf = os.path.join(self.dir, f"sentinel{i}.conf")
            with open(conf, "w") as f:
                if tls:
                    f.write(f"port 0\ntls-port {port}\ntls-cert-file {self.cert('server.crt')}\n"
                            f"tls-key-file {self.cert('server.key')}\ntls-ca-cert-file {self.cert('ca.crt')}\n"
                            f"tls-auth-clients yes\ntls-replication yes\n")
                else:
                    f.write(f"port {port}\n")
                f.write(f"bind 127.0.0.1\ndir {self.dir}\n"
                        f"logfile {os.path.join(self.dir, f'sentinel{i}.log')}\n"
                        f"requirepass {PASSWORD}\nsentinel sentinel-pass {PASSWORD}\n"
                        f"sentinel monitor {self.MASTER} 127.0.0.1 {self.ports['primary']} 2\n"
                        f"sentinel auth-pass {self.MASTER} {PASSWORD}\n"
                        f"sentinel down-after-milliseconds {self.MASTER} {down_after_ms}\n"
                        f"sentinel failover-timeout {self.MASTER} 4000\n"
                        f"sentinel parallel-syncs {self.MASTER} 1\n")
            self._spawn(f"sentinel{i}", [SERVER, conf, "--sentinel"])
        for port in self.sentinel_ports:
            wait_until(f"sentinel {port} to see the replica and the other sentinels",
                       lambda: self._sentinel_ready(port), timeout=30)

    def _sentinel_ready(self, port):
        info = self.cli(port, "SENTINEL", "MASTER", self.MASTER)
        fields = info.split("\n")
        values = dict(zip(fields[0::2], fields[1::2]))
        return values.get("num-slaves") == "1" and values.get("num-other-sentinels") == "2"

    def primary_port(self):
        """What the sentinels say now."""
        return int(self.cli(self.sentinel_ports[0], "SENTINEL", "get-master-addr-by-name", self.MASTER).split("\n")[1])

    def role(self, name):
        return self.cli(self.ports[name], "ROLE").split("\n")[0]

    def sessiond_flags(self, password_file):
        return ["--redis-sentinel", ",".join(f"127.0.0.1:{p}" for p in self.sentinel_ports),
                "--sentinel-master", self.MASTER, "--sentinel-password-file", password_file,
                "--redis", f"redis://:{PASSWORD}@127.0.0.1/0", *self.sessiond_tls_flags()]


class ClusterTopology(Topology):
    """3 masters + 3 replicas, created with `redis-cli --cluster create`."""

    def __init__(self, masters=3, replicas_per_master=1, tls=False):
        super().__init__("cluster", tls)
        count = masters * (1 + replicas_per_master)
        self.node_ports = [free_cluster_port() for _ in range(count)]
        for i, port in enumerate(self.node_ports):
            self._cluster_node(f"node{i}", port)
        subprocess.run(["redis-cli", "--no-auth-warning", "-a", PASSWORD, *self.cli_tls_args(), "--cluster", "create",
                        *[f"127.0.0.1:{p}" for p in self.node_ports],
                        "--cluster-replicas", str(replicas_per_master), "--cluster-yes"],
                       check=True, capture_output=True, text=True, timeout=60)
        wait_until("the cluster to be ok on every node",
                   lambda: all("cluster_state:ok" in self.cli(p, "CLUSTER", "INFO") for p in self.node_ports), timeout=30)

    def _cluster_node(self, name, port):
        self._data_node(name, port, [*(["--tls-cluster", "yes"] if self.tls else []), "--cluster-enabled", "yes",
                                     "--cluster-config-file", os.path.join(self.dir, name, "nodes.conf"),
                                     "--cluster-node-timeout", "2000"])

    def add_master(self):
        """A new empty master joined to the cluster (no slots yet); returns its port."""
        port = free_cluster_port()
        name = f"node{len(self.node_ports)}"
        self._cluster_node(name, port)
        subprocess.run(["redis-cli", "--no-auth-warning", "-a", PASSWORD, *self.cli_tls_args(), "--cluster", "add-node",
                        f"127.0.0.1:{port}", f"127.0.0.1:{self.node_ports[0]}"],
                       check=True, capture_output=True, text=True, timeout=60)
        self.node_ports.append(port)
        wait_until("the new node to be known to all, and to see the cluster ok", lambda: all(
            str(port) in self.cli(p, "CLUSTER", "NODES") for p in self.node_ports)
            and "cluster_state:ok" in self.cli(port, "CLUSTER", "INFO"), timeout=30)
        return port

    def node_id(self, port):
        return self.cli(port, "CLUSTER", "MYID")

    def reshard(self, to_port, slots):
        """Moves `slots` slots to the node on `to_port` (redis-cli migrates keys with MIGRATE: ASK/MOVED for clients)."""
        out = subprocess.run(["redis-cli", "--no-auth-warning", "-a", PASSWORD, *self.cli_tls_args(), "--cluster", "reshard",
                              f"127.0.0.1:{self.node_ports[0]}", "--cluster-from", "all",
                              "--cluster-to", self.node_id(to_port), "--cluster-slots", str(slots),
                              "--cluster-yes", "--cluster-pipeline", "10"],
                             capture_output=True, text=True, timeout=300)
        if out.returncode != 0:
            raise RuntimeError(f"redis-cli --cluster reshard failed: {(out.stdout + out.stderr)[-3000:]}")
        return out

    def masters(self, via=None):
        """{port: (node id, set of slots)} of every master, as the node on `via` sees it."""
        out = {}
        for line in self.cli(via or self.node_ports[0], "CLUSTER", "NODES").splitlines():
            parts = line.split()
            if "master" not in parts[2].split(",") or "fail" in parts[2].split(","):
                continue
            port = int(parts[1].split("@")[0].rsplit(":", 1)[1])
            slots = set()
            for r in parts[8:]:
                if r.startswith("["):
                    continue
                lo, _, hi = r.partition("-")
                slots.update(range(int(lo), int(hi or lo) + 1))
            out[port] = (parts[0], slots)
        return out

    def begin_migration(self, key):
        """Half-migrates `key`'s slot by hand (IMPORTING/MIGRATING, then MIGRATE of that key),
        so a client asking the old owner for it gets ASK. Returns a function that finishes it."""
        slot = int(self.cli(self.node_ports[0], "CLUSTER", "KEYSLOT", key))
        masters = self.masters()
        source = next(p for p, (_, slots) in masters.items() if slot in slots)
        target = next(p for p in masters if p != source)
        source_id, target_id = masters[source][0], masters[target][0]
        self.cli(target, "CLUSTER", "SETSLOT", slot, "IMPORTING", source_id)
        self.cli(source, "CLUSTER", "SETSLOT", slot, "MIGRATING", target_id)
        self.cli(source, "MIGRATE", "127.0.0.1", target, "", 0, 5000, "AUTH", PASSWORD, "KEYS", key)

        def finish():
            # Every other key of the slot moves too before the slot changes hands,
            # or the source would keep keys nobody routes to any more.
            while True:
                keys = [k for k in self.cli(source, "CLUSTER", "GETKEYSINSLOT", slot, 100).splitlines() if k]
                if not keys:
                    break
                self.cli(source, "MIGRATE", "127.0.0.1", target, "", 0, 5000, "AUTH", PASSWORD, "KEYS", *keys)
            for port in (target, source, *[p for p in masters if p not in (source, target)]):
                self.cli(port, "CLUSTER", "SETSLOT", slot, "NODE", target_id)
        return finish

    def sessiond_flags(self):
        return ["--redis-cluster", ",".join(f"127.0.0.1:{p}" for p in self.node_ports[:3]),
                "--redis", f"redis://:{PASSWORD}@127.0.0.1/0", *self.sessiond_tls_flags()]


if __name__ == "__main__":
    kind = sys.argv[1] if len(sys.argv) > 1 else ""
    if kind not in ("sentinel", "cluster"):
        sys.exit("usage: tests/topology/topology.py sentinel|cluster [--tls]")
    tls = "--tls" in sys.argv[2:]
    topology = SentinelTopology(tls=tls) if kind == "sentinel" else ClusterTopology(tls=tls)
    try:
        if kind == "sentinel":
            path = os.path.join(topology.dir, "sentinel-password")
            with open(path, "w") as f:
                f.write(PASSWORD)
            flags = topology.sessiond_flags(path)
        else:
            flags = topology.sessiond_flags()
        print("sessiond " + " ".join(flags), flush=True)
        print(f"(processes: {topology.dir}/pids; Ctrl-C stops them)", flush=True)
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        topology.stop()
