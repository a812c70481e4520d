#!/usr/bin/env python3
"""Measures Redis memory per session, to size Redis for N sessions of M bytes.

Starts a private redis-server and sessiond on loopback ports, creates sessions
through the HTTP API (4 keys, optionally a user), and reads Redis's used_memory
before and after. Usage: bench/memory.py [sessions-per-size] (default 5000).
"""
import http.client, json, os, shutil, socket, subprocess, sys, tempfile, time

N = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
SIZES = [100, 1_000, 4_000, 16_000]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("SESSIOND_BIN", os.path.join(ROOT, ".build/release/sessiond"))


def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p


def redis_info(port):
    out = subprocess.run(["redis-cli", "-p", str(port), "info", "memory"], capture_output=True, text=True).stdout
    return dict(l.split(":", 1) for l in out.splitlines() if ":" in l)


def wait(pred, seconds=10):
    end = time.time() + seconds
    while time.time() < end:
        if pred(): return True
        time.sleep(0.02)
    return False


def main():
    tmp = tempfile.mkdtemp()
    rport, hport = free_port(), free_port()
    redis = subprocess.Popen(["redis-server", "--port", str(rport), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                              "--dir", tmp], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    daemon = None
    try:
        wait(lambda: subprocess.run(["redis-cli", "-p", str(rport), "ping"], capture_output=True).returncode == 0)
        daemon = subprocess.Popen([BIN, "--listen", f"127.0.0.1:{hport}", "--redis", f"redis://127.0.0.1:{rport}/0",
                                   "--log-level", "warning"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        def healthy():
            try:
                c = http.client.HTTPConnection("127.0.0.1", hport, timeout=1)
                c.request("GET", "/healthz"); c.getresponse().read(); c.close(); return True
            except OSError:
                return False
        wait(healthy)
        conn = http.client.HTTPConnection("127.0.0.1", hport)
        print(f"Redis memory per session ({N} sessions per row, 4 data keys each, each with a user; redis {subprocess.run(['redis-cli', '-p', str(rport), 'info', 'server'], capture_output=True, text=True).stdout.split('redis_version:')[1].split()[0]})")
        print(f"{'data bytes':>10} {'used_memory/session':>20} {'overhead':>9}  {'for 1M sessions':>15}")
        for size in SIZES:
            subprocess.run(["redis-cli", "-p", str(rport), "flushall"], capture_output=True)
            time.sleep(0.2)
            before = int(redis_info(rport)["used_memory"])
            value = json.dumps("x" * (size // 4 - 2))
            body = json.dumps({"data": {k: json.loads(value) for k in "abcd"}, "user": None}).encode()
            for i in range(N):
                b = body.replace(b'"user": null', f'"user": "user{i % (N // 2 or 1)}"'.encode())
                conn.request("POST", "/v1/sessions", body=b, headers={"Content-Type": "application/json"})
                r = conn.getresponse(); r.read()
                assert r.status == 201, r.status
            after = int(redis_info(rport)["used_memory"])
            per = (after - before) / N
            print(f"{size:>10} {per:>17.0f} B {per - size:>7.0f} B  {per * 1_000_000 / 2**30:>12.2f} GiB")
    finally:
        if daemon: daemon.terminate(); daemon.wait()
        redis.terminate(); redis.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
