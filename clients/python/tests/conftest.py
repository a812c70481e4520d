"""Fixtures for tests against a live sessiond.

scripts/test-python runs them under tests/harness/with_daemon.py, which starts
a private redis-server and sessiond daemons on free loopback ports and exports:

- SESSIOND_TEST_URL          the daemon (http://127.0.0.1:PORT), no token
- SESSIOND_TEST_SOCKET       a daemon on a unix socket, no token
- SESSIOND_TEST_REDIS_PORT   their Redis (for redis-cli checks and extra daemons)
- SESSIOND_BIN               the daemon binary (for extra daemons: unix socket,
                             token, dead Redis, short Redis timeout)
"""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from sessiond import SessiondClient

URL = os.environ.get("SESSIOND_TEST_URL")
REDIS_PORT = os.environ.get("SESSIOND_TEST_REDIS_PORT")
SESSIOND_BIN = os.environ.get("SESSIOND_BIN")


def pytest_configure(config):
    if not URL or not REDIS_PORT or not SESSIOND_BIN:
        pytest.exit(
            "these tests need a live sessiond: run scripts/test-python, or set "
            "SESSIOND_TEST_URL, SESSIOND_TEST_REDIS_PORT and SESSIOND_BIN",
            returncode=4,
        )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_cli(*args: str) -> str:
    out = subprocess.run(
        ["redis-cli", "-p", str(REDIS_PORT), *args], check=True, capture_output=True, text=True, timeout=10
    )
    return out.stdout.strip()


@pytest.fixture
def client():
    with SessiondClient(URL, timeout=5.0) as c:
        yield c


@pytest.fixture
def redis():
    return redis_cli


class _Daemons:
    """Starts extra sessiond processes for one test and stops them (by PID) afterwards."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen] = []
        self.tmp = Path(tempfile.mkdtemp(prefix="sessiond-pytest-"))

    def start(self, *args: str, listen: str | None = None, redis: str | None = None, health_url: str | None = None):
        if listen is None:
            listen = f"127.0.0.1:{free_port()}"
        if redis is None:
            redis = f"redis://127.0.0.1:{REDIS_PORT}/0"
        log = open(self.tmp / f"sessiond-{len(self.procs)}.log", "wb")
        proc = subprocess.Popen([SESSIOND_BIN, "--listen", listen, "--redis", redis, *args], stdout=log, stderr=log)
        self.procs.append(proc)
        if listen.startswith("unix:"):
            path = listen[len("unix:"):]
            ok = self._wait(lambda: os.path.exists(path) and _unix_healthz(path))
            url = "unix://" + path
        else:
            url = f"http://{listen}"
            ok = self._wait(lambda: _http_ok(url + "/healthz"))
        if not ok:
            raise RuntimeError(f"sessiond {args} did not come up: {(self.tmp / log.name).read_text()[-2000:]}")
        return url

    @staticmethod
    def _wait(check) -> bool:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                if check():
                    return True
            except OSError:
                pass
            time.sleep(0.05)
        return False

    def stop_all(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for f in self.tmp.iterdir():
            f.unlink()
        self.tmp.rmdir()


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as r:
            return r.status == 200
    except Exception:
        return False


def _unix_healthz(path: str) -> bool:
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(1)
        s.connect(path)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        return s.recv(64).startswith(b"HTTP/1.1 200")


@pytest.fixture
def daemons():
    d = _Daemons()
    try:
        yield d
    finally:
        d.stop_all()
