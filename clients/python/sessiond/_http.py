"""The HTTP/1.1 transport under both clients: a request writer, a response
reader, and small keep-alive pools (a blocking one and an asyncio one).

Why not urllib3 or http.client: a session read is one small request and one
small answer, and their machinery (header objects, retry objects, a buffered
file per response) cost 300 µs of CPU per call against 15 µs for the socket
itself; http.client alone takes ~68 µs to parse one session answer. Why not
httptools (llhttp): measured on a session answer it parses in 2.5–3.8 µs,
:func:`frame` in 3.0–4.1 µs, a tie that does not pay for a compiled
dependency (this package installs anywhere pure Python does), and llhttp
cannot be told that an answer is to a HEAD (it would wait for the body
``Content-Length`` announces). sessiond's answers are simple to frame (a
status line, a handful of headers, ``Content-Length``); chunked bodies and
read-until-close are understood too, so a proxy in between is fine.

The framing functions are sans-I/O and shared: :class:`Pool` drives them over
blocking sockets, :class:`AsyncPool` over asyncio streams.
"""

from __future__ import annotations

import asyncio
import collections
import os
import socket
import ssl
import struct
import weakref
from urllib.parse import urlsplit

from .errors import SessiondUnavailable

#: Methods that may be sent twice without harm: retried when a connection breaks.
IDEMPOTENT = frozenset({"GET", "HEAD", "DELETE", "OPTIONS"})

_RECV = 65536


class ProtocolError(Exception):
    """The peer's bytes were not an HTTP/1.x response."""


class _Stale(Exception):
    """A reused connection that the server had closed: nothing of an answer arrived."""


class Response:
    """One answer: ``status``, ``headers`` (lower-case names), ``body`` (bytes).

    The header lines are parsed only when ``headers`` is first read: a
    session read needs none of them but the framing, which :func:`frame`
    finds without building a dict.
    """

    __slots__ = ("status", "_head", "_headers", "body")

    def __init__(self, status: int, head: bytes, body: bytes):
        self.status = status
        self._head = head
        self._headers: dict | None = None
        self.body = body

    @property
    def headers(self) -> dict:
        if self._headers is None:
            self._headers = parse_head(self._head)[1]
        return self._headers

    # urllib3-like name, for code written against the old transport.
    @property
    def data(self) -> bytes:
        return self.body

    def __repr__(self) -> str:
        return f"Response({self.status}, {len(self.body)} bytes)"


# --------------------------------------------------------------------------- framing (sans-I/O)


def parse_head(head: bytes) -> tuple[int, dict, bool]:
    """Status line and header lines (without the final CRLFCRLF) →
    ``(status, headers, keep_alive)``."""
    lines = head.split(b"\r\n")
    status, _, _ = frame(lines[0])
    headers: dict = {}
    for raw in lines[1:]:
        name, sep, value = raw.partition(b":")
        if not sep:
            raise ProtocolError(f"bad header line {raw[:40]!r}")
        key = name.strip().lower().decode("latin-1")
        val = value.strip().decode("latin-1")
        headers[key] = headers[key] + ", " + val if key in headers else val
    conn = headers.get("connection", "").lower()
    keep_alive = "close" not in conn if head[7:8] == b"1" else "keep-alive" in conn
    return status, headers, keep_alive


def _value(low: bytes, name: bytes) -> bytes | None:
    """The value of header ``name`` (``b"\\r\\nname:"``) in a lower-cased head."""
    i = low.find(name)
    if i < 0:
        return None
    i += len(name)
    j = low.find(b"\r\n", i)
    return low[i:j if j >= 0 else len(low)].strip()


def frame(head: bytes) -> tuple[int, int | None, bool]:
    """What the framing needs from a head (without the final CRLFCRLF) →
    ``(status, content_length or -1 for chunked or None, keep_alive)``.

    The common answer (``Content-Length``, no ``Connection`` or
    ``Transfer-Encoding``) costs one ``lower()`` and three ``find``s."""
    if head[:7] != b"HTTP/1." or len(head) < 12 or head[12:13] not in (b" ", b"", b"\r"):
        raise ProtocolError(f"not an HTTP/1.x status line: {head[:40]!r}")
    try:
        status = int(head[9:12])
    except ValueError:
        raise ProtocolError(f"bad status line {head[:40]!r}") from None
    low = head.lower()
    length: int | None = None
    te = _value(low, b"\r\ntransfer-encoding:") if b"\r\ntransfer-encoding:" in low else None
    if te is not None and b"chunked" in te:
        length = -1
    else:
        i = low.find(b"\r\ncontent-length:")
        if i >= 0:
            j = low.find(b"\r\n", i + 17)
            cl = low[i + 17:j] if j >= 0 else low[i + 17:]
            try:
                length = int(cl)
            except ValueError:
                raise ProtocolError(f"bad Content-Length {cl!r}") from None
            if length < 0:
                raise ProtocolError(f"bad Content-Length {cl!r}")
    if b"\r\nconnection:" in low:
        conn = _value(low, b"\r\nconnection:") or b""
        keep_alive = b"close" not in conn if head[7] == 49 else b"keep-alive" in conn
    else:
        keep_alive = head[7] == 49  # HTTP/1.1 keeps the connection, 1.0 does not
    return status, length, keep_alive


def body_length(method: str, status: int, length: int | None) -> int | None:
    """How many body bytes follow the head: a count, ``-1`` for chunked, or
    ``None`` for "until the connection closes"."""
    if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
        return 0
    return length


def dechunk(buf: bytes, start: int) -> tuple[bytes, int] | None:
    """Decode a complete chunked body from ``buf[start:]`` → ``(body, end)``, or
    ``None`` if more bytes are needed."""
    out = []
    pos = start
    while True:
        eol = buf.find(b"\r\n", pos)
        if eol < 0:
            return None
        try:
            size = int(buf[pos:eol].split(b";", 1)[0], 16)
        except ValueError:
            raise ProtocolError("bad chunk size") from None
        if size == 0:
            end = buf.find(b"\r\n\r\n", eol)  # trailers, if any, end with an empty line
            if end < 0:
                if buf[eol:eol + 4] == b"\r\n\r\n":
                    end = eol
                else:
                    return None
            return b"".join(out), end + 4
        if len(buf) < eol + 2 + size + 2:
            return None
        out.append(buf[eol + 2:eol + 2 + size])
        pos = eol + 2 + size + 2


class Target:
    """Where a daemon is: TCP host and port (optionally TLS), or a unix socket,
    plus the path prefix and the request-head bytes every request shares."""

    def __init__(self, url: str, headers: dict):
        self.url = url
        self.unix_path: str | None = None
        self.tls: ssl.SSLContext | None = None
        self.host = ""
        self.port = 0
        self.prefix = ""
        if url.startswith("unix:"):
            rest = url[len("unix:"):]
            if rest.startswith("//"):
                rest = rest[2:]
            if not rest:
                raise ValueError(f"no socket path in {url!r}")
            self.unix_path = rest
            host_header = "localhost"
        else:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"sessiond URL must be http://host:port, https://… or unix:///path.sock, not {url!r}")
            self.host = parts.hostname
            self.port = parts.port or (443 if parts.scheme == "https" else 80)
            self.prefix = parts.path.rstrip("/")
            if parts.scheme == "https":
                self.tls = ssl.create_default_context()
            host_header = parts.netloc.rpartition("@")[2]
        lines = [f"Host: {host_header}"] + [f"{k}: {v}" for k, v in headers.items()]
        #: Everything after the request line, minus the body's own headers.
        self.common = ("\r\n".join(lines) + "\r\n").encode("latin-1")

    def request(self, method: str, path: str, headers: dict | None, body: bytes | None) -> bytes:
        """The bytes of one request; ``path`` already quoted (with its query)."""
        out = f"{method} {self.prefix}{path} HTTP/1.1\r\n".encode("latin-1") + self.common
        if headers:
            out += "".join(f"{k}: {v}\r\n" for k, v in headers.items()).encode("latin-1")
        if body is None:
            if method in ("POST", "PUT", "PATCH"):
                return out + b"Content-Length: 0\r\n\r\n"
            return out + b"\r\n"
        return out + b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body


# --------------------------------------------------------------------------- blocking


def _kernel_timeouts(sock: socket.socket, timeout: float) -> None:
    """Let the kernel enforce the timeout (SO_RCVTIMEO/SO_SNDTIMEO) on a
    blocking socket: Python's own timeouts poll() before every send and recv,
    which doubles the system calls of a request (~3 µs). A timed-out call then
    fails with EAGAIN (BlockingIOError), which the pool reports as a timeout."""
    if timeout is None or timeout <= 0:
        return  # no timeout, or non-blocking: Python's semantics, as given
    seconds = int(timeout)
    tv = struct.pack("ll", seconds, max(1, int((timeout - seconds) * 1e6)) if seconds == 0 else
                     int((timeout - seconds) * 1e6))  # (0, 0) would mean "no timeout"
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, tv)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, tv)
    except (OSError, struct.error):
        return  # not on this platform: keep Python's timeouts
    sock.settimeout(None)


class Connection:
    """One kept-alive socket."""

    __slots__ = ("sock", "reused")

    def __init__(self, target: Target, timeout: float):
        if target.unix_path is not None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            try:
                sock.connect(target.unix_path)
            except BaseException:
                sock.close()
                raise
        else:
            sock = socket.create_connection((target.host, target.port), timeout=timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if target.tls is not None:
                try:
                    sock = target.tls.wrap_socket(sock, server_hostname=target.host)
                except BaseException:
                    sock.close()
                    raise
        if target.tls is None:
            _kernel_timeouts(sock, timeout)
        self.sock = sock
        self.reused = False

    def exchange(self, data: bytes, method: str) -> tuple[Response, bool]:
        """Send one request and read its answer → ``(response, reusable)``."""
        sock = self.sock
        try:
            sock.sendall(data)
            buf = sock.recv(_RECV)
        except (ConnectionResetError, BrokenPipeError, ConnectionAbortedError):
            if self.reused:
                raise _Stale() from None
            raise
        # The usual answer: head and Content-Length body in one read. Every
        # line here runs once per request, cold after the wait for the
        # daemon, so it is kept short; anything else takes _read_rest.
        end = buf.find(b"\r\n\r\n")
        if end > 0:
            head = buf[:end]
            status, length, keep_alive = frame(head)
            if (length is not None and length >= 0 and len(buf) == end + 4 + length
                    and status >= 200 and method != "HEAD"):
                return Response(status, head, buf[end + 4:]), keep_alive
        return self._read_rest(buf, method)

    def _read_rest(self, buf: bytes, method: str) -> tuple[Response, bool]:
        """The general case of :meth:`exchange`, from the bytes of its first read."""
        sock = self.sock
        if not buf:
            if self.reused:
                raise _Stale()
            raise ConnectionError("the server closed the connection without answering")
        end = buf.find(b"\r\n\r\n")
        while end < 0:
            more = sock.recv(_RECV)
            if not more:
                raise ConnectionError("the connection closed inside a response head")
            buf += more
            end = buf.find(b"\r\n\r\n", max(0, len(buf) - len(more) - 3))
        head = buf[:end]
        status, length, keep_alive = frame(head)
        start = end + 4
        n = body_length(method, status, length)
        if n is not None and n >= 0:
            stop = start + n
            while len(buf) < stop:
                more = sock.recv(max(_RECV, stop - len(buf)))
                if not more:
                    raise ConnectionError("the connection closed inside a response body")
                buf += more
            return Response(status, head, buf[start:stop]), keep_alive and len(buf) == stop
        if n == -1:
            while True:
                got = dechunk(buf, start)
                if got is not None:
                    return Response(status, head, got[0]), keep_alive and got[1] == len(buf)
                more = sock.recv(_RECV)
                if not more:
                    raise ConnectionError("the connection closed inside a chunked body")
                buf += more
        chunks = [buf[start:]]
        while True:  # no length: the body ends with the connection
            more = sock.recv(_RECV)
            if not more:
                return Response(status, head, b"".join(chunks)), False
            chunks.append(more)

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


#: Every blocking pool, so that a forked child (a pre-forking server that
#: made requests before forking) forgets the sockets it shares with its
#: parent instead of reading the parent's answers.
_pools: "weakref.WeakSet[Pool]" = weakref.WeakSet()


def _forget_inherited_connections() -> None:
    for pool in list(_pools):
        pool._idle.clear()  # not closed: the parent still uses them


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_inherited_connections)


class Pool:
    """Kept-alive connections to one daemon, shared by threads.

    A request takes an idle connection (or opens one) and gives it back when
    the answer is read, so threads never share a socket; at most ``maxsize``
    idle connections are kept. ``deque.append``/``pop`` are atomic, so no
    lock is needed.
    """

    def __init__(self, target: Target, timeout: float, *, maxsize: int = 10, retries: int = 2):
        self.target = target
        self.timeout = timeout
        self.maxsize = maxsize
        self.retries = retries
        self._idle: collections.deque[Connection] = collections.deque()
        #: Counters, for tests and curiosity.
        self.num_connections = 0
        self.num_requests = 0
        _pools.add(self)

    def _connect(self) -> Connection:
        conn = Connection(self.target, self.timeout)
        self.num_connections += 1
        return conn

    def request(self, method: str, path: str, headers: dict | None = None, body: bytes | None = None) -> Response:
        data = self.target.request(method, path, headers, body)
        idle = self._idle
        try:
            conn = idle.pop()
        except IndexError:
            return self._request(method, data, None, None)
        # The usual case, kept short (see Connection.exchange): a pooled
        # connection answers. Failures and new connections go to _request.
        try:
            resp, reusable = conn.exchange(data, method)
        except BaseException as e:
            return self._request(method, data, conn, e)
        self.num_requests += 1
        if reusable and len(idle) < self.maxsize:
            idle.append(conn)
        else:
            conn.close()
        return resp

    def _request(self, method: str, data: bytes, conn: Connection | None, error: BaseException | None) -> Response:
        """Send ``data``, retrying as the rules say; ``error``: what the first
        attempt, on ``conn``, raised already."""
        idle = self._idle
        url = self.target.url
        stale_retry = True
        broken_retries = self.retries if method in IDEMPOTENT else 0
        connect_retries = self.retries
        while True:
            if error is None:
                if conn is None:
                    try:
                        conn = idle.pop()
                    except IndexError:
                        try:
                            conn = self._connect()
                        except socket.timeout as e:
                            raise SessiondUnavailable(f"sessiond at {url} did not answer: connect timed out") from e
                        except OSError as e:
                            if connect_retries > 0:
                                connect_retries -= 1
                                continue
                            raise SessiondUnavailable(f"sessiond at {url} did not answer: {e}") from e
                try:
                    resp, reusable = conn.exchange(data, method)
                except BaseException as e:
                    error = e
                else:
                    self.num_requests += 1
                    if reusable and len(idle) < self.maxsize:
                        conn.reused = True
                        idle.append(conn)
                    else:
                        conn.close()
                    return resp
            # The attempt on conn failed with error: that connection is done.
            conn.close()
            e, error, conn = error, None, None
            if isinstance(e, _Stale):
                # The server closed this idle connection before our request
                # reached it, so nothing happened there: once, for any method,
                # send it again on a fresh connection.
                if stale_retry:
                    stale_retry = False
                    self._drop_idle()
                    continue
                raise SessiondUnavailable(f"sessiond at {url} closed the connection") from None
            if isinstance(e, (socket.timeout, BlockingIOError)):
                raise SessiondUnavailable(f"sessiond at {url} did not answer: read timed out") from e
            if isinstance(e, (OSError, ProtocolError)):
                if broken_retries > 0:
                    broken_retries -= 1
                    continue
                raise SessiondUnavailable(f"sessiond at {url} did not answer: {e}") from e
            raise e  # e.g. KeyboardInterrupt mid-answer: the socket's state was unknown, so it is closed

    def _drop_idle(self) -> None:
        """After one stale connection, the other idle ones are likely stale too
        (the daemon restarted, or closed them for idleness)."""
        while True:
            try:
                self._idle.pop().close()
            except IndexError:
                return

    def close(self) -> None:
        self._drop_idle()


# --------------------------------------------------------------------------- asyncio


class AsyncConnection:
    __slots__ = ("reader", "writer", "reused")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader = reader
        self.writer = writer
        self.reused = False

    @classmethod
    async def open(cls, target: Target) -> "AsyncConnection":
        if target.unix_path is not None:
            reader, writer = await asyncio.open_unix_connection(target.unix_path)
        else:
            reader, writer = await asyncio.open_connection(
                target.host, target.port, ssl=target.tls, server_hostname=target.host if target.tls else None
            )
            sock = writer.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(reader, writer)

    async def exchange(self, data: bytes, method: str) -> tuple[Response, bool]:
        reader = self.reader
        try:
            self.writer.write(data)
            await self.writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as e:
            if self.reused and not e.partial:
                raise _Stale() from None
            raise ConnectionError("the connection closed inside a response head") from None
        except (ConnectionResetError, BrokenPipeError, ConnectionAbortedError):
            if self.reused:
                raise _Stale() from None
            raise
        except asyncio.LimitOverrunError:
            raise ProtocolError("response head too large") from None
        head = head[:-4]
        status, length, keep_alive = frame(head)
        n = body_length(method, status, length)
        try:
            if n is not None and n >= 0:
                body = await reader.readexactly(n) if n else b""
                return Response(status, head, body), keep_alive
            if n == -1:
                parts = []
                while True:
                    line = await reader.readuntil(b"\r\n")
                    try:
                        size = int(line[:-2].split(b";", 1)[0], 16)
                    except ValueError:
                        raise ProtocolError("bad chunk size") from None
                    if size == 0:
                        while (await reader.readuntil(b"\r\n")) != b"\r\n":
                            pass  # trailers
                        return Response(status, head, b"".join(parts)), keep_alive
                    parts.append(await reader.readexactly(size))
                    await reader.readexactly(2)
            return Response(status, head, await reader.read()), False
        except asyncio.IncompleteReadError:
            raise ConnectionError("the connection closed inside a response body") from None

    def close(self) -> None:
        try:
            self.writer.close()
        except (OSError, RuntimeError):
            pass


class AsyncPool:
    """The asyncio twin of :class:`Pool`: same framing, same retry rules.

    Connections belong to the event loop that opened them; the pool is meant
    to be used from one loop (as an ``AsyncSessiondClient`` is).
    """

    def __init__(self, target: Target, timeout: float, *, maxsize: int = 10, retries: int = 2):
        self.target = target
        self.timeout = timeout
        self.maxsize = maxsize
        self.retries = retries
        self._idle: collections.deque[AsyncConnection] = collections.deque()
        self.num_connections = 0
        self.num_requests = 0

    async def request(self, method: str, path: str, headers: dict | None = None, body: bytes | None = None) -> Response:
        data = self.target.request(method, path, headers, body)
        url = self.target.url
        idle = self._idle
        stale_retry = True
        broken_retries = self.retries if method in IDEMPOTENT else 0
        connect_retries = self.retries
        while True:
            try:
                conn = idle.pop()
            except IndexError:
                try:
                    conn = await asyncio.wait_for(AsyncConnection.open(self.target), self.timeout)
                    self.num_connections += 1
                except asyncio.TimeoutError as e:
                    raise SessiondUnavailable(f"sessiond at {url} did not answer: connect timed out") from e
                except OSError as e:
                    if connect_retries > 0:
                        connect_retries -= 1
                        continue
                    raise SessiondUnavailable(f"sessiond at {url} did not answer: {e}") from e
            try:
                resp, reusable = await asyncio.wait_for(conn.exchange(data, method), self.timeout)
            except _Stale:
                conn.close()
                if stale_retry:
                    stale_retry = False
                    while idle:
                        idle.pop().close()
                    continue
                raise SessiondUnavailable(f"sessiond at {url} closed the connection") from None
            except asyncio.TimeoutError as e:
                conn.close()
                raise SessiondUnavailable(f"sessiond at {url} did not answer: read timed out") from e
            except (OSError, ProtocolError) as e:
                conn.close()
                if broken_retries > 0:
                    broken_retries -= 1
                    continue
                raise SessiondUnavailable(f"sessiond at {url} did not answer: {e}") from e
            except BaseException:
                conn.close()  # cancelled mid-answer: the stream's state is unknown
                raise
            self.num_requests += 1
            if reusable and len(idle) < self.maxsize:
                conn.reused = True
                idle.append(conn)
            else:
                conn.close()
            return resp

    async def close(self) -> None:
        while self._idle:
            conn = self._idle.pop()
            conn.close()
            try:
                await conn.writer.wait_closed()
            except (OSError, RuntimeError):
                pass

