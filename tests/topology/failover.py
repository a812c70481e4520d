"""Failover and resharding under load, against real topologies (tests/topology/topology.py).

  failover.py sentinel [--min-replicas-ack N] [--fault kill|switch]
      1 primary + 1 replica + 3 sentinels; sessiond follows the sentinels.
      Under write load, SIGKILL the primary; once the sentinels have promoted
      the replica, restart the killed node (the sentinels make it a replica of
      the new primary). Then count acknowledged writes that are missing, and
      the seconds of non-2xx answers. `--fault switch` instead asks the
      sentinels for a failover (SENTINEL FAILOVER): the old primary lives on
      as a replica, so sessiond must move on +switch-master and never write
      to it (its writes would get READONLY).
  failover.py cluster
      3 masters + 3 replicas; under load add a 4th master and reshard slots to
      it. Every request must succeed or fail with a retryable 503, and no
      acknowledged write may be missing afterwards.
  failover.py cluster --fault kill [--min-replicas-ack N]
      3 masters + 3 replicas; under load SIGKILL the master of slot 0, wait
      for the cluster to promote its replica (and /readyz to answer 200 while
      the killed node is still down), restart the killed node (it rejoins as a
      replica). Counts lost acknowledged writes and the seconds of non-2xx
      answers, as for sentinel.

Writers each own a session and write an ever-growing counter n to key
k<n mod 500> (PUT /v1/sessions/{id}/data/k<j>), so "acknowledged" is exact: after
a 204 for n, that key must hold n or a later value at the end; a smaller one (or
none) is an acknowledged write that was lost. Exit status 0 when the checks hold (with
--min-replicas-ack ≥ 1: zero acknowledged writes missing), 1 otherwise.
"""
import argparse
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import topology as topo  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def flavour(args):
    """Which server and transport a result line is about."""
    return f"[{os.path.basename(topo.SERVER)}{', TLS' if args.tls else ''}] "


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class Sessiond:
    def __init__(self, binary, flags, workdir):
        self.port = topo.free_port()
        self.log_path = os.path.join(workdir, "sessiond.log")
        self.proc = subprocess.Popen([binary, "--listen", f"127.0.0.1:{self.port}", "--key-prefix", "failover:",
                                      "--redis-timeout", "2s", *flags],
                                     stdout=open(self.log_path, "w"), stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        topo.wait_until("sessiond to be ready", lambda: self.request("GET", "/readyz")[0] == 200, timeout=30)

    def request(self, method, path, body=None, timeout=5):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers={"Content-Type": "application/json"} if body else {})
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Load:
    """Writers, each on its own session and keep-alive connection, one new key per request."""

    def __init__(self, sessiond, writers, sessions_per_writer=1):
        self.sessiond = sessiond
        self.sessions = []
        for _ in range(writers * sessions_per_writer):
            status, body = sessiond.request("POST", "/v1/sessions", b"{}")
            if status != 201:
                raise RuntimeError(f"create: {status} {body[:200]!r}")
            self.sessions.append(json.loads(body)["id"])
        self.acked = {sid: {} for sid in self.sessions}  # key -> last acknowledged value
        self.acked_count = 0
        self.failures = []  # (time, status or error text)
        self.statuses = {}
        self.start = time.monotonic()
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._writer, args=(self.sessions[i::writers],), daemon=True)
                        for i in range(writers)]
        for t in self.threads:
            t.start()

    def _writer(self, sids):
        conn = None
        n = 0
        while not self.stopping.is_set():
            n += 1
            sid = sids[n % len(sids)]
            key = f"k{(n // len(sids)) % 500}"
            status = None
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.sessiond.port, timeout=10)
                conn.request("PUT", f"/v1/sessions/{sid}/data/{key}", body=str(n).encode(),
                             headers={"Content-Type": "application/json"})
                response = conn.getresponse()
                response.read()
                status = response.status
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as error:
                status = f"{type(error).__name__}"
                if conn is not None:
                    conn.close()
                conn = None
            now = time.monotonic() - self.start
            with self.lock:
                self.statuses[status] = self.statuses.get(status, 0) + 1
                if status == 204:
                    self.acked[sid][key] = n
                    self.acked_count += 1
                else:
                    self.failures.append((now, status))
            if status != 204:
                time.sleep(0.01)  # a client's retry pause; keeps a dead backend from being hammered

    def ok_since(self, t):
        """Whether some write succeeded after load time t."""
        with self.lock:
            return self.acked_count > 0 and self.last_failure() < t

    def last_failure(self):
        return self.failures[-1][0] if self.failures else -1.0

    def elapsed(self):
        return time.monotonic() - self.start

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(timeout=15)

    def missing(self):
        """Keys whose last acknowledged value is gone now (read through sessiond)."""
        missing = 0
        for sid, keys in self.acked.items():
            status, body = self.sessiond.request("GET", f"/v1/sessions/{sid}?touch=false", timeout=10)
            if status != 200:
                missing += len(keys)
                continue
            data = json.loads(body)["data"]
            missing += sum(1 for k, n in keys.items() if not isinstance(data.get(k), int) or data[k] < n)
        return missing

    def summary(self):
        acked = self.acked_count
        non2xx = len(self.failures)
        window = (self.failures[-1][0] - self.failures[0][0]) if self.failures else 0.0
        kinds = ", ".join(f"{s}×{c}" for s, c in sorted(self.statuses.items(), key=lambda kv: str(kv[0])) if s != 204)
        return acked, non2xx, window, kinds


def wait_recovered(load, what, timeout):
    """Polls until writes have succeeded for a whole second with no failure."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        t = load.elapsed()
        time.sleep(1.0)
        if load.last_failure() < t and load.ok_since(t):
            return True
    # Say why: the distinct errors sessiond logged for the failed requests (it logs every 5xx).
    reasons = {}
    for line in open(load.sessiond.log_path, errors="replace"):
        if "error=" in line:
            reason = line.split("error=", 1)[1][:160]
            reasons[reason] = reasons.get(reason, 0) + 1
    top = sorted(reasons.items(), key=lambda kv: -kv[1])[:5]
    raise TimeoutError(f"writes did not recover within {timeout} s after {what}: answers so far {load.statuses}, "
                       f"last failures {load.failures[-3:]}; sessiond's errors: {top}")


def run_sentinel(args):
    password_file = None
    with topo.SentinelTopology(tls=args.tls) as t:
        password_file = os.path.join(t.dir, "sentinel-password")
        with open(password_file, "w") as f:
            f.write(topo.PASSWORD)
        flags = t.sessiond_flags(password_file)
        if args.min_replicas_ack:
            flags += ["--min-replicas-ack", str(args.min_replicas_ack)]
        sessiond = Sessiond(args.bin, flags, t.dir)
        try:
            load = Load(sessiond, args.writers)
            time.sleep(args.warmup)  # steady load before the crash (a duration, not a wait for a condition)
            old = t.ports["primary"]
            before = load.acked_count
            killed_at = load.elapsed()
            if args.fault == "kill":
                log(f"load steady ({before} writes acknowledged); SIGKILL primary :{old}")
                t.kill("primary")
            else:
                log(f"load steady ({before} writes acknowledged); SENTINEL FAILOVER (primary :{old} stays up)")
                t.cli(t.sentinel_ports[0], "SENTINEL", "FAILOVER", t.MASTER)
            topo.wait_until("the sentinels to promote the replica", lambda: t.primary_port() != old, timeout=60)
            promoted_at = load.elapsed()
            log(f"sentinels promoted :{t.primary_port()} {promoted_at - killed_at:.1f} s after the fault")
            if args.fault == "kill":
                log("restarting the old primary")
                t.restart("primary")
            topo.wait_until("the old primary to rejoin as a replica",
                            lambda: t.role("primary") == "slave" and
                            "master_link_status:up" in t.cli(old, "INFO", "replication"), timeout=60)
            log(f"old primary is a replica again at {load.elapsed() - killed_at:.1f} s after the fault")
            wait_recovered(load, "the failover", timeout=60)
            time.sleep(args.after)  # more load on the new primary
            load.stop()
            missing = load.missing()
            acked, non2xx, window, kinds = load.summary()
            out_of_window = [f for f in load.failures if f[0] < killed_at]
            ok = (missing == 0 or not args.min_replicas_ack) and not out_of_window
            bad = [s for s in load.statuses if s not in (204, 503, 504)]
            print(f"{flavour(args)}failover sentinel --fault {args.fault} --min-replicas-ack {args.min_replicas_ack}: {acked} writes "
                  f"acknowledged, {missing} keys lost their last acknowledged value; {non2xx} non-2xx answers "
                  f"({kinds or 'none'}) over {window:.1f} s; sentinels promoted the replica "
                  f"{promoted_at - killed_at:.1f} s after the fault; "
                  f"failures before the fault: {len(out_of_window)}; unexpected statuses: {bad or 'none'}")
            if bad:
                log(f"unexpected answers: {bad} (see {sessiond.log_path})")
                ok = False
            return 0 if ok else 1
        finally:
            sessiond.stop()
            if args.keep_log:
                subprocess.run(["cp", sessiond.log_path, args.keep_log])


def run_cluster_kill(args):
    with topo.ClusterTopology(tls=args.tls) as t:
        flags = t.sessiond_flags()
        if args.min_replicas_ack:
            flags += ["--min-replicas-ack", str(args.min_replicas_ack)]
        sessiond = Sessiond(args.bin, flags, t.dir)
        try:
            load = Load(sessiond, args.writers, sessions_per_writer=args.sessions_per_writer)
            time.sleep(args.warmup)
            # The master of slot 0: keyless commands (the /readyz PING) used to go to it.
            slot = 0
            victim = next(p for p, (_, slots) in t.masters().items() if slot in slots)
            name = f"node{t.node_ports.index(victim)}"
            witness = next(p for p in t.node_ports if p != victim)
            log(f"load steady ({load.acked_count} writes acknowledged); SIGKILL master :{victim}")
            killed_at = load.elapsed()
            t.kill(name)

            def promoted():
                owner = [p for p, (_, slots) in t.masters(via=witness).items() if slot in slots]
                return owner and owner[0] != victim and "cluster_state:ok" in t.cli(witness, "CLUSTER", "INFO")
            topo.wait_until("the cluster to promote the replica", promoted, timeout=60)
            promoted_at = load.elapsed()
            log(f"replica promoted {promoted_at - killed_at:.1f} s after the kill")
            topo.wait_until("/readyz to answer 200 again while the killed master is still down",
                            lambda: sessiond.request("GET", "/readyz")[0] == 200, timeout=15)
            log("sessiond ready again; restarting the killed node")
            t.restart(name)
            topo.wait_until("the killed node to rejoin as a replica",
                            lambda: t.cli(victim, "ROLE").split("\n")[0] == "slave"
                            and "master_link_status:up" in t.cli(victim, "INFO", "replication"), timeout=60)
            wait_recovered(load, "the failover", timeout=60)
            time.sleep(args.after)
            load.stop()
            missing = load.missing()
            acked, non2xx, window, kinds = load.summary()
            bad = [s for s in load.statuses if s not in (204, 503, 504)]
            before = [f for f in load.failures if f[0] < killed_at]
            print(f"{flavour(args)}failover cluster --fault kill --min-replicas-ack {args.min_replicas_ack}: {acked} writes acknowledged, "
                  f"{missing} keys lost their last acknowledged value; {non2xx} non-2xx answers ({kinds or 'none'}) "
                  f"over {window:.1f} s; the cluster promoted the replica {promoted_at - killed_at:.1f} s after the kill; "
                  f"failures before the kill: {len(before)}; unexpected statuses: {bad or 'none'}")
            return 0 if (missing == 0 or not args.min_replicas_ack) and not bad and not before else 1
        finally:
            sessiond.stop()
            if args.keep_log:
                subprocess.run(["cp", sessiond.log_path, args.keep_log])


def run_cluster(args):
    if args.fault == "kill":
        return run_cluster_kill(args)
    with topo.ClusterTopology(tls=args.tls) as t:
        sessiond = Sessiond(args.bin, t.sessiond_flags(), t.dir)
        try:
            load = Load(sessiond, args.writers, sessions_per_writer=args.sessions_per_writer)
            time.sleep(args.warmup)
            log("adding a fourth master")
            port = t.add_master()
            log(f"resharding {args.slots} slots to :{port} under load")
            began = load.elapsed()
            t.reshard(port, args.slots)
            log(f"reshard done in {load.elapsed() - began:.1f} s")
            # One slot half-migrated by hand: reads and writes of a session in it must follow ASK.
            sid = load.sessions[0]
            finish = t.begin_migration(f"failover:session:{sid}")
            ask_ok = [sessiond.request("GET", f"/v1/sessions/{sid}?touch=false")[0],
                      sessiond.request("PUT", f"/v1/sessions/{sid}/data/asked", b"true")[0]]
            finish()
            log(f"during a hand-made migration of its slot: GET {ask_ok[0]}, PUT {ask_ok[1]}")
            time.sleep(args.after)
            load.stop()
            missing = load.missing()
            acked, non2xx, window, kinds = load.summary()
            bad = [s for s in load.statuses if s not in (204, 503)]
            _, metrics = sessiond.request("GET", "/metrics")
            redirects = {line.split("kind=\"")[1].split("\"")[0]: line.rsplit(" ", 1)[1]
                         for line in metrics.decode().splitlines() if line.startswith("sessiond_redis_cluster_redirects_total{")}
            print(f"{flavour(args)}reshard cluster: {acked} writes acknowledged, {missing} missing; {non2xx} non-2xx answers "
                  f"({kinds or 'none'}) over {window:.1f} s; {args.slots} slots moved to a new master; "
                  f"sessiond followed {redirects.get('moved', 0)} MOVED and {redirects.get('ask', 0)} ASK redirects; "
                  f"non-retryable failures: {bad or 'none'}")
            return 0 if missing == 0 and not bad and ask_ok == [200, 204] and int(redirects.get("ask", 0)) > 0 else 1
        finally:
            sessiond.stop()
            if args.keep_log:
                subprocess.run(["cp", sessiond.log_path, args.keep_log])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("topology", choices=["sentinel", "cluster"])
    parser.add_argument("--bin", default=os.environ.get("SESSIOND_BIN", os.path.join(ROOT, ".build/debug/sessiond")))
    parser.add_argument("--min-replicas-ack", type=int, default=0)
    parser.add_argument("--fault", choices=["kill", "switch", "reshard"], default=None,
                        help="sentinel: kill (default) or switch; cluster: reshard (default) or kill")
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of load before the fault")
    parser.add_argument("--after", type=float, default=2.0, help="seconds of load after recovery")
    parser.add_argument("--sessions-per-writer", type=int, default=64, help="cluster: sessions each writer cycles through")
    parser.add_argument("--slots", type=int, default=4096, help="cluster: slots to move to the new master")
    parser.add_argument("--keep-log", help="copy sessiond's log here")
    parser.add_argument("--tls", action="store_true",
                        help="every server TLS-only with mutual TLS (replication, cluster bus, sentinels too); sessiond --redis-tls")
    args = parser.parse_args()
    if not os.access(args.bin, os.X_OK):
        sys.exit(f"no sessiond binary at {args.bin} (swift build first, or set SESSIOND_BIN)")
    if args.fault is None:
        args.fault = "kill" if args.topology == "sentinel" else "reshard"
    if (args.topology, args.fault) in (("sentinel", "reshard"), ("cluster", "switch")):
        sys.exit(f"--fault {args.fault} does not apply to {args.topology}")
    return run_sentinel(args) if args.topology == "sentinel" else run_cluster(args)


if __name__ == "__main__":
    sys.exit(main())
