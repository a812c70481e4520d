"""The HTTP/1.1 transport (sessiond._http) under both clients: keep-alive,
the one retry on a connection the server had closed, framing, the pool.

A scripted loopback server stands in for a daemon where the daemon cannot be
made to misbehave (closing idle connections on cue, chunked bodies); the
rest runs against the live daemon.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading

import pytest

from sessiond import AsyncSessiondClient, SessiondClient, SessiondUnavailable
from sessiond._http import ProtocolError, dechunk, frame, parse_head

from conftest import URL

SOCKET = os.environ.get("SESSIOND_TEST_SOCKET")

SESSION = b'{"id":"abcdefgh12","data":{"a":1},"ttl":60,"user":null}'


def answer(body=SESSION, status=b"200 OK", extra=b""):
    return b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\n" + extra + \
        b"Content-Length: %d\r\n\r\n" % len(body) + body


class Scripted:
    """A loopback server: ``handler(conn_index, request_bytes) -> (reply bytes, close_after)``.
    Records every request it read, per connection."""

    def __init__(self, handler):
        self.handler = handler
        self.srv = socket.socket()
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(16)
        self.url = f"http://127.0.0.1:{self.srv.getsockname()[1]}"
        self.requests: list[tuple[int, bytes]] = []
        self.connections = 0
        self._stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self._stop:
            try:
                conn, _ = self.srv.accept()
            except OSError:
                return
            index = self.connections
            self.connections += 1
            threading.Thread(target=self._conn, args=(conn, index), daemon=True).start()

    def _conn(self, conn, index):
        buf = b""
        with conn:
            while True:
                while b"\r\n\r\n" not in buf:
                    more = conn.recv(65536)
                    if not more:
                        return
                    buf += more
                head, _, rest = buf.partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                while len(rest) < length:
                    rest += conn.recv(65536)
                request, buf = head + b"\r\n\r\n" + rest[:length], rest[length:]
                self.requests.append((index, request))
                reply, close = self.handler(index, request)
                if reply:
                    conn.sendall(reply)
                if close:
                    return

    def close(self):
        self._stop = True
        self.srv.close()


@pytest.fixture
def scripted():
    servers = []

    def make(handler):
        s = Scripted(handler)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.close()


def test_a_closed_idle_connection_is_retried_once_for_any_method(scripted):
    # Each connection answers one request, then closes without saying so:
    # what a daemon's idle timeout (or a restart) does to a pooled connection.
    srv = scripted(lambda i, req: (answer(), True))
    with SessiondClient(srv.url, retries=0) as c:
        assert c.get("abcdefgh12").data == {"a": 1}
        wait_closed_by_peer(c)
        assert c.patch("abcdefgh12", set={"b": 2}).data == {"a": 1}  # a PATCH too: the server never saw it
        wait_closed_by_peer(c)
        c.create({"x": 1})
    methods = [req.split(b" ", 1)[0] for _, req in srv.requests]
    assert methods == [b"GET", b"PATCH", b"POST"]  # each sent exactly once
    assert srv.connections == 3


def test_a_fresh_connection_closed_without_an_answer_is_not_retried(scripted):
    srv = scripted(lambda i, req: (b"", True))
    with SessiondClient(srv.url, retries=0) as c:
        with pytest.raises(SessiondUnavailable):
            c.create({"x": 1})
    assert len(srv.requests) == 1  # a POST that may have reached the server is never sent twice


def test_idempotent_requests_are_retried_after_a_broken_answer(scripted):
    def handler(i, req):
        if i == 0:
            return answer()[:30], True  # half a head, then gone
        return answer(), False

    srv = scripted(handler)
    with SessiondClient(srv.url, retries=1) as c:
        assert c.get("abcdefgh12").data == {"a": 1}
    assert len(srv.requests) == 2


def test_chunked_and_close_delimited_answers(scripted):
    chunked = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nETag: \"7\"\r\n\r\n"
               b"10\r\n" + SESSION[:16] + b"\r\n" + b"%x\r\n" % (len(SESSION) - 16) + SESSION[16:] + b"\r\n0\r\n\r\n")
    until_close = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + SESSION

    def handler(i, req):
        return (chunked, False) if i == 0 else (until_close, True)

    srv = scripted(handler)
    with SessiondClient(srv.url, retries=0) as c:
        s = c.get("abcdefgh12")
        assert s.data == {"a": 1} and s.etag == '"7"'
        assert c.get("abcdefgh12").data == {"a": 1}  # same connection, chunked body consumed exactly
        assert c._pool.num_connections == 1
        c._pool._drop_idle()
        assert c.get("abcdefgh12").data == {"a": 1}  # read to the close, then not pooled
        assert len(c._pool._idle) == 0


def test_connection_close_is_honoured(scripted):
    srv = scripted(lambda i, req: (answer(extra=b"Connection: close\r\n"), True))
    with SessiondClient(srv.url, retries=0) as c:
        for _ in range(3):
            c.get("abcdefgh12")
        assert c._pool.num_connections == 3 and len(c._pool._idle) == 0


def test_requests_carry_host_token_length_and_path_prefix(scripted):
    srv = scripted(lambda i, req: (answer(status=b"201 Created"), False))
    with SessiondClient(srv.url + "/sessiond/", token="s3cret", retries=0) as c:
        c.create({"k": "v"}, ttl=5)
    req = srv.requests[0][1]
    head, _, body = req.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /sessiond/v1/sessions HTTP/1.1"
    assert b"Authorization: Bearer s3cret" in lines
    assert f"Host: {srv.url[len('http://'):]}".encode() in lines
    assert b"Content-Length: %d" % len(body) in lines
    assert body == b'{"data":{"k":"v"},"ttl":5}'


def test_garbage_is_unavailable_not_a_crash(scripted):
    srv = scripted(lambda i, req: (b"SSH-2.0-OpenSSH\r\n\r\n", True))
    with SessiondClient(srv.url, retries=0) as c:
        with pytest.raises(SessiondUnavailable):
            c.get("abcdefgh12")


def test_framing_helpers():
    assert frame(b"HTTP/1.1 204 No Content\r\nX-A: 1") == (204, None, True)
    assert frame(b"HTTP/1.1 200 OK\r\ncontent-length: 12\r\nCONNECTION: Close") == (200, 12, False)
    assert frame(b"HTTP/1.0 200 OK\r\nContent-Length: 1") == (200, 1, False)
    assert frame(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked") == (200, -1, True)
    with pytest.raises(ProtocolError):
        frame(b"HTTP/1.1 200 OK\r\nContent-Length: -3")
    status, headers, keep = parse_head(b'HTTP/1.1 200 OK\r\nETag: "3"\r\nVary: A\r\nvary: B')
    assert headers == {"etag": '"3"', "vary": "A, B"} and keep
    assert dechunk(b"3\r\nabc\r\n0\r\n\r\n", 0) == (b"abc", 13)
    assert dechunk(b"3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n", 0) == (b"abc", 21)
    assert dechunk(b"3\r\nab", 0) is None


def test_idle_connections_are_bounded_and_threads_never_share_one():
    with SessiondClient(URL, maxsize=2) as c:
        s = c.create()
        barrier = threading.Barrier(6, timeout=10)

        def read():
            barrier.wait()
            for _ in range(20):
                assert c.get(s.id, touch=False).id == s.id

        threads = [threading.Thread(target=read) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
        assert len(c._pool._idle) <= 2
        assert c._pool.num_requests >= 121
        c.delete(s.id)


@pytest.mark.skipif(not SOCKET, reason="SESSIOND_TEST_SOCKET: run under tests/harness/with_daemon.py")
def test_unix_socket_daemon_of_the_harness():
    with SessiondClient("unix://" + SOCKET) as c:
        s = c.create({"via": "unix"})
        for _ in range(5):
            assert c.get(s.id, touch=False).data == {"via": "unix"}
        assert c._pool.num_connections == 1
        c.delete(s.id)


def test_async_client_shares_the_core_and_pools_connections():
    async def main():
        async with AsyncSessiondClient(URL) as c:
            s = await c.create({"n": 0})
            for _ in range(5):
                await c.get(s.id, touch=False)
            assert c._pool.num_connections == 1  # kept alive
            got = await asyncio.gather(*(c.set_key(s.id, f"k{i}", i) for i in range(8)))
            assert all(g for g in got)
            assert len((await c.get(s.id)).data) == 9
            assert await c.get_key(s.id, "missing", default=None) is None
            assert await c.healthy() is True
            await c.delete(s.id)
            if SOCKET:
                async with AsyncSessiondClient("unix://" + SOCKET) as u:
                    t = await u.create({"via": "unix"})
                    assert (await u.get(t.id)).data == {"via": "unix"}
                    await u.delete(t.id)

    asyncio.run(main())


def test_async_stale_connection_is_retried_once(scripted):
    srv = scripted(lambda i, req: (answer(), True))

    async def main():
        async with AsyncSessiondClient(srv.url, retries=0) as c:
            await c.get("abcdefgh12")
            conn = c._pool._idle[0]
            await asyncio.wait_for(conn.reader.read(), 5)  # the server has closed it
            assert (await c.patch("abcdefgh12", set={"b": 1})).data == {"a": 1}

    asyncio.run(main())
    assert [req.split(b" ", 1)[0] for _, req in srv.requests] == [b"GET", b"PATCH"]


def test_async_timeout_is_unavailable():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)  # accepts, never answers

    async def main():
        async with AsyncSessiondClient(f"http://127.0.0.1:{srv.getsockname()[1]}", timeout=0.3) as c:
            with pytest.raises(SessiondUnavailable):
                await c.create()

    try:
        asyncio.run(main())
    finally:
        srv.close()


def wait_closed_by_peer(client, timeout=5.0):
    """Poll until the pooled connection sees the server's FIN (no sleeps)."""
    import select
    import time

    conn = client._pool._idle[-1]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r, _, _ = select.select([conn.sock], [], [], 0.05)
        if r and conn.sock.recv(1, socket.MSG_PEEK) == b"":
            return
    raise AssertionError("the server did not close the connection")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_does_not_reuse_its_parents_connections():
    with SessiondClient(URL) as c:
        s = c.create({"who": "parent"})
        assert len(c._pool._idle) == 1
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: a fresh connection, and the right answer
            ok = len(c._pool._idle) == 0 and c.get(s.id, touch=False).data == {"who": "parent"}
            os.write(w, b"1" if ok else b"0")
            os._exit(0)
        os.close(w)
        assert os.read(r, 1) == b"1"
        os.waitpid(pid, 0)
        assert c.get(s.id, touch=False).data == {"who": "parent"}  # the parent's connection still works
        assert c._pool.num_connections == 1
        c.delete(s.id)
