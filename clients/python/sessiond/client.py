"""A small synchronous client for the sessiond HTTP API (``/v1``).

One :class:`SessiondClient` holds one urllib3 connection pool (a
``PoolManager`` for ``http://``/``https://``, a unix-socket connection pool
for ``unix:///path.sock``) and reuses its keep-alive connections across calls
and threads. Every call has a connect and a read timeout, sends the bearer
token when one is configured, and turns the daemon's problem+json errors into
the exceptions of :mod:`sessiond.errors`.
"""

from __future__ import annotations

import json
import socket
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping
from urllib.parse import quote, urlencode, urlsplit

import urllib3
from urllib3.connection import HTTPConnection
from urllib3.connectionpool import HTTPConnectionPool
from urllib3.exceptions import ConnectTimeoutError, HTTPError, NewConnectionError
from urllib3.util.retry import Retry
from urllib3.util.timeout import Timeout

from .errors import (
    AuthenticationFailed,
    InvalidRequest,
    KeyNotFound,
    PreconditionFailed,
    SessiondError,
    SessiondUnavailable,
    SessionNotFound,
)

DEFAULT_URL = "http://127.0.0.1:8080"


class _Unset:
    def __repr__(self) -> str:  # pragma: no cover - cosmetic
        return "UNSET"


#: Marker for "leave this member out of the request" (PUT keeps the current value).
UNSET: Any = _Unset()


class RawJSON:
    """JSON text that is sent as is (already serialised), e.g. a session's data object."""

    __slots__ = ("text",)

    def __init__(self, text: bytes | str):
        self.text = text.encode("utf-8") if isinstance(text, str) else bytes(text)

    def __repr__(self) -> str:
        return f"RawJSON({self.text!r})"


class Session(dict):
    """A session as the daemon returns it: a ``dict`` with ``id``, ``data``,
    ``ttl``, ``expires_in``, ``expires_at``, ``created_at`` and ``user``.

    ``etag`` is the ``ETag`` header of the response (``'"3"'``) or ``None``
    (sessions in a user listing carry none); ``created`` is ``True`` when a
    PUT created the session (``201``).
    """

    etag: str | None
    created: bool

    def __init__(self, body: Mapping[str, Any], etag: str | None = None, created: bool = False):
        super().__init__(body)
        self.etag = etag
        self.created = created

    @property
    def id(self) -> str:
        return self["id"]

    @property
    def data(self) -> dict:
        return self["data"]

    @property
    def version(self) -> int | None:
        """The session version, from the ETag (``'"3"'`` → ``3``)."""
        if self.etag and self.etag.startswith('"') and self.etag.endswith('"'):
            try:
                return int(self.etag[1:-1])
            except ValueError:
                return None
        return None


# --------------------------------------------------------------------------- transport


class _UnixHTTPConnection(HTTPConnection):
    """An urllib3 HTTP connection over a unix-domain socket."""

    def __init__(self, *args: Any, socket_path: str, **kwargs: Any):
        self.socket_path = socket_path
        super().__init__(*args, **kwargs)

    def _new_conn(self) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout if isinstance(self.timeout, (int, float)) else None)
            sock.connect(self.socket_path)
        except socket.timeout as e:
            sock.close()
            raise ConnectTimeoutError(self, f"Connection to {self.socket_path} timed out") from e
        except OSError as e:
            sock.close()
            raise NewConnectionError(self, f"Failed to connect to unix socket {self.socket_path}: {e}") from e
        return sock


class _UnixHTTPConnectionPool(HTTPConnectionPool):
    """A keep-alive connection pool to one unix-domain socket."""

    ConnectionCls = _UnixHTTPConnection

    def __init__(self, socket_path: str, **kwargs: Any):
        # "localhost" is only what goes into the Host header.
        super().__init__("localhost", socket_path=socket_path, **kwargs)
        self.socket_path = socket_path

    def __str__(self) -> str:
        return f"{type(self).__name__}(unix://{self.socket_path})"


def _unix_socket_path(url: str) -> str | None:
    """``unix:///run/s.sock`` or ``unix:/run/s.sock`` → ``/run/s.sock``; else None."""
    if not url.startswith("unix:"):
        return None
    rest = url[len("unix:"):]
    if rest.startswith("//"):
        rest = rest[2:]
    if not rest:
        raise ValueError(f"no socket path in {url!r}")
    return rest


def _quote(segment: str) -> str:
    if not isinstance(segment, str):
        raise TypeError(f"expected a string path segment, got {type(segment).__name__}")
    return quote(segment, safe="")


def _dumps(value: Any) -> bytes:
    # allow_nan=False: NaN/Infinity are not JSON, the daemon would refuse them.
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def _etag_list(tags: str | int | Iterable[str | int]) -> str:
    """``"*"``, ``'"3"'``, ``3`` or an iterable of those → an If-Match header value."""
    if isinstance(tags, (str, int)):
        tags = [tags]
    out = []
    for t in tags:
        if isinstance(t, bool):
            raise TypeError("an ETag cannot be a bool")
        if isinstance(t, int):
            out.append(f'"{t}"')
        elif t == "*" or (t.startswith('"') or t.startswith("W/")):
            out.append(t)
        else:
            out.append(f'"{t}"')
    return ", ".join(out)


def _rfc3339(value: datetime | str) -> str:
    if isinstance(value, str):
        return value
    if not isinstance(value, datetime):
        raise TypeError("expires_at must be a datetime or an RFC 3339 string")
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)  # naive datetimes are taken as UTC
    value = value.astimezone(timezone.utc)
    # Millisecond precision: the daemon keeps milliseconds.
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _touch_query(touch: bool | None) -> dict:
    if touch is None:
        return {}
    return {"touch": "true" if touch else "false"}


class SessiondClient:
    """Synchronous client of one sessiond daemon.

    ``url``: ``http://host:port`` (optionally with a path prefix, for a
    daemon behind a reverse proxy), ``https://…``, or ``unix:///path.sock``.
    ``token``: the bearer token (``--auth-token-file``), or ``None``.
    ``timeout``: seconds, for connecting and for each read.
    ``retries``: how often to retry a request that failed to connect (any
    method), or a GET/HEAD/DELETE whose connection broke; never a retry of a
    POST/PUT/PATCH that may have reached the daemon.

    Thread-safe: share one instance per process.
    """

    def __init__(
        self,
        url: str = DEFAULT_URL,
        token: str | None = None,
        timeout: float = 2.0,
        *,
        retries: int = 2,
        maxsize: int = 10,
        headers: Mapping[str, str] | None = None,
    ):
        self.url = url
        self.timeout = timeout
        base_headers = {"Accept": "application/json", "User-Agent": "sessiond-python/0.1"}
        if headers:
            base_headers.update(headers)
        if token:
            base_headers["Authorization"] = f"Bearer {token}"
        self._headers = base_headers
        self._timeout = Timeout(connect=timeout, read=timeout)
        self._retries = Retry(
            total=retries,
            connect=retries,
            read=retries,
            status=0,
            other=0,
            redirect=0,
            allowed_methods=frozenset({"GET", "HEAD", "DELETE"}),
            raise_on_status=False,
            respect_retry_after_header=False,
        )
        socket_path = _unix_socket_path(url)
        if socket_path is not None:
            self._pool: Any = _UnixHTTPConnectionPool(
                socket_path, maxsize=maxsize, timeout=self._timeout, retries=self._retries, block=False
            )
            self._base = ""
        else:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError(f"sessiond URL must be http://host:port, https://… or unix:///path.sock, not {url!r}")
            self._pool = urllib3.PoolManager(
                num_pools=4, maxsize=maxsize, timeout=self._timeout, retries=self._retries, block=False
            )
            self._base = url.rstrip("/")

    # ----------------------------------------------------------------- plumbing

    def close(self) -> None:
        """Close the pooled connections."""
        if isinstance(self._pool, urllib3.PoolManager):
            self._pool.clear()
        else:
            self._pool.close()

    def __enter__(self) -> "SessiondClient":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SessiondClient({self.url!r})"

    def _request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        json_body: Any = UNSET,
        raw_body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        key_op: bool = False,
        ok: Iterable[int] = (200, 201, 204),
    ) -> urllib3.BaseHTTPResponse:
        url = self._base + path
        if query:
            url += "?" + urlencode(query)
        hdrs = dict(self._headers)
        body: bytes | None = raw_body
        if json_body is not UNSET:
            body = _dumps(json_body)
        if body is not None:
            hdrs["Content-Type"] = "application/json"
        if headers:
            hdrs.update(headers)
        try:
            resp = self._pool.request(method, url, body=body, headers=hdrs, redirect=False)
        except HTTPError as e:
            reason = getattr(e, "reason", None) or e
            raise SessiondUnavailable(f"sessiond at {self.url} did not answer: {reason}") from e
        if resp.status in ok:
            return resp
        raise self._error(resp, key_op=key_op)

    @staticmethod
    def _error(resp: urllib3.BaseHTTPResponse, *, key_op: bool = False) -> SessiondError:
        status = resp.status
        title = detail = None
        try:
            problem = json.loads(resp.data) if resp.data else {}
            if isinstance(problem, dict):
                title, detail = problem.get("title"), problem.get("detail")
        except ValueError:
            detail = resp.data[:200].decode("utf-8", "replace") if resp.data else None
        detail = detail or title or f"HTTP {status}"
        kw = {"status": status, "title": title}
        if status == 404:
            if key_op and "key" in detail and "session not found" not in detail:
                return KeyNotFound(detail, **kw)
            return SessionNotFound(detail, **kw)
        if status == 412:
            return PreconditionFailed(detail, **kw)
        if status in (400, 413):
            return InvalidRequest(detail, **kw)
        if status == 401:
            return AuthenticationFailed(detail, **kw)
        if status >= 500:
            retry_after = None
            ra = resp.headers.get("Retry-After")
            if ra:
                try:
                    retry_after = float(ra)
                except ValueError:
                    retry_after = None
            return SessiondUnavailable(detail, retry_after=retry_after, **kw)
        return SessiondError(detail, **kw)

    @staticmethod
    def _session(resp: urllib3.BaseHTTPResponse) -> Session:
        return Session(json.loads(resp.data), etag=resp.headers.get("ETag"), created=resp.status == 201)

    @staticmethod
    def _sid(session_id: str) -> str:
        return "/v1/sessions/" + _quote(session_id)

    @staticmethod
    def _preconditions(if_match: Any, if_none_match: Any) -> dict:
        h = {}
        if if_match is not None:
            h["If-Match"] = _etag_list(if_match)
        if if_none_match is not None:
            h["If-None-Match"] = _etag_list(if_none_match)
        return h

    @staticmethod
    def _session_body(data: Any, ttl: Any, user: Any) -> bytes:
        parts = []
        if data is not UNSET and data is not None:
            parts.append(b'"data":' + (data.text if isinstance(data, RawJSON) else _dumps(data)))
        if ttl is not UNSET:
            parts.append(b'"ttl":' + _dumps(ttl))
        if user is not UNSET:
            parts.append(b'"user":' + _dumps(user))
        return b"{" + b",".join(parts) + b"}"

    # ----------------------------------------------------------------- sessions

    def create(
        self,
        data: Mapping[str, Any] | RawJSON | None = None,
        *,
        ttl: int | None = None,
        user: str | None = None,
        session_id: str | None = None,
    ) -> Session:
        """Create a session (``201``). The daemon picks the id, unless
        ``session_id`` is given: then it is a create-only PUT
        (``If-None-Match: *``) that raises :class:`PreconditionFailed` when the
        id is taken. ``ttl``/``user`` ``None`` mean the daemon's default / no owner.
        """
        body = self._session_body(data, UNSET if ttl is None else ttl, UNSET if user is None else user)
        if session_id is not None:
            resp = self._request("PUT", self._sid(session_id), raw_body=body, headers={"If-None-Match": "*"})
        else:
            resp = self._request("POST", "/v1/sessions", raw_body=body)
        return self._session(resp)

    def get(self, session_id: str, *, touch: bool | None = None) -> Session:
        """Read a session. ``touch=False`` reads without sliding its TTL."""
        return self._session(self._request("GET", self._sid(session_id), query=_touch_query(touch)))

    def exists(self, session_id: str, *, touch: bool | None = None) -> bool:
        """``HEAD``: whether the session exists (``touch=False``: without sliding it)."""
        try:
            self._request("HEAD", self._sid(session_id), query=_touch_query(touch))
        except SessionNotFound:
            return False
        return True

    def replace(
        self,
        session_id: str,
        data: Mapping[str, Any] | RawJSON | None = None,
        *,
        ttl: int | None = UNSET,
        user: str | None = UNSET,
        if_match: str | int | Iterable[str | int] | None = None,
        if_none_match: str | int | Iterable[str | int] | None = None,
    ) -> Session:
        """``PUT``: replace the data (``None`` → empty), creating the session when absent.

        ``ttl``/``user`` left out keep the current values; ``ttl=None`` is the
        daemon's default, ``user=None`` removes the owner. ``if_match="*"``:
        replace only, never create; ``if_match=<etag>``: only if unchanged;
        ``if_none_match="*"``: create only. A failed precondition raises
        :class:`PreconditionFailed`. The result's ``created`` says whether the
        session was created.
        """
        resp = self._request(
            "PUT",
            self._sid(session_id),
            raw_body=self._session_body(data, ttl, user),
            headers=self._preconditions(if_match, if_none_match),
        )
        return self._session(resp)

    def patch(
        self,
        session_id: str,
        set: Mapping[str, Any] | None = None,  # noqa: A002 - mirrors the API's member name
        delete: Iterable[str] | None = None,
        *,
        if_match: str | int | Iterable[str | int] | None = None,
    ) -> Session:
        """``PATCH``: set and delete data keys in one atomic step."""
        body: dict = {}
        if set:
            body["set"] = dict(set)
        if delete:
            body["delete"] = list(delete)
        resp = self._request(
            "PATCH", self._sid(session_id), json_body=body, headers=self._preconditions(if_match, None)
        )
        return self._session(resp)

    def delete(self, session_id: str) -> None:
        """Delete a session and its user-index entry (no error when absent)."""
        self._request("DELETE", self._sid(session_id))

    # ----------------------------------------------------------------- data keys

    def get_key(self, session_id: str, key: str, default: Any = UNSET, *, touch: bool | None = None) -> Any:
        """One data value. A missing key raises :class:`KeyNotFound` unless a
        ``default`` is given; a missing session raises :class:`SessionNotFound`."""
        try:
            resp = self._request(
                "GET", f"{self._sid(session_id)}/data/{_quote(key)}", query=_touch_query(touch), key_op=True
            )
        except KeyNotFound:
            if default is UNSET:
                raise
            return default
        return json.loads(resp.data)

    def set_key(self, session_id: str, key: str, value: Any, *, if_match: Any = None) -> str | None:
        """Set one data value; returns the new ETag."""
        resp = self._request(
            "PUT",
            f"{self._sid(session_id)}/data/{_quote(key)}",
            raw_body=value.text if isinstance(value, RawJSON) else _dumps(value),
            headers=self._preconditions(if_match, None),
        )
        return resp.headers.get("ETag")

    def delete_key(self, session_id: str, key: str, *, if_match: Any = None) -> str | None:
        """Delete one data key (no error when the key is absent); returns the new ETag."""
        resp = self._request(
            "DELETE", f"{self._sid(session_id)}/data/{_quote(key)}", headers=self._preconditions(if_match, None)
        )
        return resp.headers.get("ETag")

    def clear(self, session_id: str, *, if_match: Any = None) -> str | None:
        """Empty the data, keep the session; returns the new ETag."""
        resp = self._request("DELETE", f"{self._sid(session_id)}/data", headers=self._preconditions(if_match, None))
        return resp.headers.get("ETag")

    # ----------------------------------------------------------------- expiry

    def get_expiry(self, session_id: str, *, touch: bool | None = None) -> dict:
        """``{"ttl", "expires_in", "expires_at"}``."""
        return json.loads(self._request("GET", f"{self._sid(session_id)}/expiry", query=_touch_query(touch)).data)

    def set_expiry(
        self, session_id: str, ttl: int | None = UNSET, *, expires_at: datetime | str | None = None
    ) -> dict:
        """Set the idle timeout (``ttl`` seconds; ``None`` = the daemon's
        default), or fix an absolute ``expires_at`` (a datetime, naive = UTC,
        or an RFC 3339 string) which stops sliding."""
        if (ttl is UNSET) == (expires_at is None):
            raise TypeError("give exactly one of ttl or expires_at")
        body = {"ttl": ttl} if ttl is not UNSET else {"expires_at": _rfc3339(expires_at)}
        return json.loads(self._request("PUT", f"{self._sid(session_id)}/expiry", json_body=body).data)

    def cycle(self, session_id: str) -> Session:
        """Give the session a new id (same data, ttl and user); the old id is gone."""
        return self._session(self._request("POST", f"{self._sid(session_id)}/cycle"))

    # ----------------------------------------------------------------- users and admin

    def user_sessions(self, user: str) -> list[Session]:
        """The user's live sessions (listing never slides them)."""
        body = json.loads(self._request("GET", f"/v1/users/{_quote(user)}/sessions").data)
        return [Session(s) for s in body.get("sessions", [])]

    def delete_user_sessions(self, user: str, *, except_id: str | None = None) -> int:
        """Log the user out everywhere, except ``except_id`` when given; returns how many were deleted."""
        query = {"except": except_id} if except_id else None
        return int(json.loads(self._request("DELETE", f"/v1/users/{_quote(user)}/sessions", query=query).data)["deleted"])

    def delete_all(self, *, confirm: bool | str) -> int:
        """Drop every session under the daemon's prefix. ``confirm`` must be
        ``True`` (or ``"all"``): a guard against accidents."""
        if confirm is not True and confirm != "all":
            raise ValueError("delete_all needs confirm=True")
        return int(json.loads(self._request("DELETE", "/v1/sessions", query={"confirm": "all"}).data)["deleted"])

    def healthy(self) -> bool:
        """``GET /healthz``: the daemon process answers."""
        try:
            self._request("GET", "/healthz")
        except SessiondError:
            return False
        return True

    def ready(self) -> bool:
        """``GET /readyz``: the daemon reaches Redis."""
        try:
            self._request("GET", "/readyz")
        except SessiondError:
            return False
        return True


__all__ = ["SessiondClient", "Session", "RawJSON", "UNSET", "DEFAULT_URL"]
