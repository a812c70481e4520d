#!/usr/bin/env python3
"""Runs a command next to a private redis-server and three sessiond daemons, then stops them.

The clients' test suites (clients/*/test) share this one harness, so each of
them tests against the same set-up and none starts servers of its own:

- SESSIOND_TEST_URL          http://127.0.0.1:P   (no token)
- SESSIOND_TEST_TOKEN_URL    http://127.0.0.1:Q   (needs SESSIOND_TEST_TOKEN)
- SESSIOND_TEST_TOKEN        the bearer token of that daemon
- SESSIOND_TEST_SOCKET       /…/sessiond.sock      (unix socket, no token)
- SESSIOND_TEST_REDIS_PORT   their Redis (redis-cli -p … to check Redis's side)
- SESSIOND_BIN               the daemon binary (for daemons a test starts itself)

Every server binds a free loopback port (or a socket in a temp dir) and is
stopped, by PID, when the command ends. The command's exit status is returned.

    tests/harness/with_daemon.py --bin .build/debug/sessiond -- go test ./...
"""
import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

TOKEN = "harness-token-0123456789abcdef"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(what, condition, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except OSError:
            pass
        time.sleep(0.02)
    raise TimeoutError(f"with_daemon: timed out after {timeout:.0f} s waiting for {what}")


def http_ok(url):
    with urllib.request.urlopen(url, timeout=1) as r:
        return r.status == 200


def unix_ok(path):
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(1)
        s.connect(path)
        s.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        return s.recv(64).startswith(b"HTTP/1.1 200")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", default=os.environ.get("SESSIOND_BIN", ".build/debug/sessiond"))
    ap.add_argument("--redis-server", default=os.environ.get("SESSIOND_TEST_REDIS_SERVER", "redis-server"))
    ap.add_argument("command", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        ap.error("no command given")
    binary = os.path.abspath(args.bin)
    if not os.access(binary, os.X_OK):
        sys.exit(f"with_daemon: no sessiond binary at {binary} (swift build, or --bin / SESSIOND_BIN)")

    tmp = tempfile.mkdtemp(prefix="sessiond-harness-")
    procs = []

    def spawn(name, argv):
        log = open(os.path.join(tmp, f"{name}.log"), "w")
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             start_new_session=True)
        procs.append((name, p))
        return p

    def stop():
        for _, p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for name, p in reversed(procs):
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        shutil.rmtree(tmp, ignore_errors=True)

    try:
        rport = free_port()
        spawn("redis", [args.redis_server, "--port", str(rport), "--bind", "127.0.0.1", "--save", "",
                        "--appendonly", "no", "--dir", tmp])
        wait_until("redis-server", lambda: socket.create_connection(("127.0.0.1", rport), 1).close() or True)
        redis = f"redis://127.0.0.1:{rport}/0"
        token_file = os.path.join(tmp, "token")
        with open(token_file, "w") as f:
            f.write(TOKEN + "\n")
        port, tport = free_port(), free_port()
        sock = os.path.join(tmp, "sessiond.sock")
        spawn("sessiond", [binary, "--redis", redis, "--listen", f"127.0.0.1:{port}"])
        spawn("sessiond-token", [binary, "--redis", redis, "--listen", f"127.0.0.1:{tport}",
                                 "--auth-token-file", token_file])
        spawn("sessiond-unix", [binary, "--redis", redis, "--listen", f"unix:{sock}"])
        wait_until("sessiond", lambda: http_ok(f"http://127.0.0.1:{port}/readyz"))
        wait_until("sessiond (token)", lambda: http_ok(f"http://127.0.0.1:{tport}/readyz"))
        wait_until("sessiond (unix socket)", lambda: unix_ok(sock))
        env = dict(os.environ,
                   SESSIOND_TEST_URL=f"http://127.0.0.1:{port}",
                   SESSIOND_TEST_TOKEN_URL=f"http://127.0.0.1:{tport}",
                   SESSIOND_TEST_TOKEN=TOKEN,
                   SESSIOND_TEST_SOCKET=sock,
                   SESSIOND_TEST_REDIS_PORT=str(rport),
                   SESSIOND_BIN=binary)
        status = subprocess.call(command, env=env)
        for name, p in procs:
            if p.poll() is not None:
                print(f"with_daemon: {name} exited early ({p.returncode}); its log:", file=sys.stderr)
                with open(os.path.join(tmp, f"{name}.log")) as f:
                    sys.stderr.write(f.read()[-4000:])
                status = status or 1
        return status
    finally:
        stop()


if __name__ == "__main__":
    sys.exit(main())
