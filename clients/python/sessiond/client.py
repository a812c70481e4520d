"""The sessiond HTTP API (``/v1``) as Python methods, and the synchronous client.

:class:`SessiondClient` keeps a small pool of kept-alive connections
(TCP, TLS or a unix socket; see :mod:`sessiond._http`) shared by threads.
Every call has a timeout, sends the bearer token when one is configured, and
turns the daemon's problem+json errors into the exceptions of
:mod:`sessiond.errors`.

The methods are written once, in :class:`_Api`, as "this request, then this
conversion"; :class:`SessiondClient` runs them on blocking sockets and
:class:`sessiond.aio.AsyncSessiondClient` on asyncio streams.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Mapping
from urllib.parse import quote, urlencode

from ._http import Pool, Response, Target
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
    ``ttl``, ``expires_in``, ``expires_at``, ``created_at``, ``user``,
    ``device`` and ``last_seen_at`` (timestamps as the daemon's RFC 3339
    strings), plus any member a newer daemon adds.

    ``etag`` is the ``ETag`` header of the response (``'"3"'``) or ``None``
    (sessions in a user listing carry none); ``created`` is ``True`` when a
    PUT created the session (``201``); ``evicted`` is how many of the user's
    other sessions the daemon's ``--max-sessions-per-user`` cap deleted to
    make room (its ``Sessions-Evicted`` header; 0 when absent).
    """

    etag: str | None
    created: bool
    evicted: int

    def __init__(self, body: Mapping[str, Any], etag: str | None = None, created: bool = False,
                 evicted: int = 0):
        super().__init__(body)
        self.etag = etag
        self.created = created
        self.evicted = evicted

    @property
    def id(self) -> str:
        return self["id"]

    @property
    def data(self) -> dict:
        return self["data"]

    @property
    def device(self) -> dict | None:
        """The JSON object given as ``device`` at create or replace, or ``None``."""
        return self.get("device")

    @property
    def last_seen_at(self) -> str | None:
        """Last write or sliding read (RFC 3339), for sessions with a user or a
        device; ``None`` for others (and from daemons that predate it)."""
        return self.get("last_seen_at")

    @property
    def version(self) -> int | None:
        """The session version, from the ETag (``'"3"'`` → ``3``)."""
        if self.etag and self.etag.startswith('"') and self.etag.endswith('"'):
            try:
                return int(self.etag[1:-1])
            except ValueError:
                return None
        return None


_PLAIN = re.compile(r"[A-Za-z0-9_-]+\Z").match


def _quote(segment: str) -> str:
    if not isinstance(segment, str):
        raise TypeError(f"expected a string path segment, got {type(segment).__name__}")
    if _PLAIN(segment):
        return segment  # every session id: nothing to escape
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


def _touch_query(touch: bool | None) -> str:
    if touch is None:
        return ""
    return "?touch=true" if touch else "?touch=false"



def _error(resp: Response, *, key_op: bool = False) -> SessiondError:
    """A non-2xx answer → the exception of :mod:`sessiond.errors` it stands for."""
    status = resp.status
    title = detail = None
    try:
        problem = json.loads(resp.body) if resp.body else {}
        if isinstance(problem, dict):
            title, detail = problem.get("title"), problem.get("detail")
    except ValueError:
        detail = resp.body[:200].decode("utf-8", "replace") if resp.body else None
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
        ra = resp.headers.get("retry-after")
        if ra:
            try:
                retry_after = float(ra)
            except ValueError:
                retry_after = None
        return SessiondUnavailable(detail, retry_after=retry_after, **kw)
    return SessiondError(detail, **kw)


def _evicted(resp: Response) -> int:
    value = resp.headers.get("sessions-evicted")
    try:
        return int(value) if value else 0
    except ValueError:
        return 0


def _session(resp: Response) -> Session:
    return Session(json.loads(resp.body), etag=resp.headers.get("etag"), created=resp.status == 201,
                   evicted=_evicted(resp))


def _json(resp: Response) -> Any:
    return json.loads(resp.body)


def _etag(resp: Response) -> str | None:
    return resp.headers.get("etag")


def _true(resp: Response) -> bool:
    return True


def _sessions(resp: Response) -> list[Session]:
    return [Session(s) for s in json.loads(resp.body).get("sessions", [])]


def _deleted(resp: Response) -> int:
    return int(json.loads(resp.body)["deleted"])


def _sid(session_id: str) -> str:
    return "/v1/sessions/" + _quote(session_id)


def _preconditions(if_match: Any, if_none_match: Any) -> dict | None:
    if if_match is None and if_none_match is None:
        return None
    h = {}
    if if_match is not None:
        h["If-Match"] = _etag_list(if_match)
    if if_none_match is not None:
        h["If-None-Match"] = _etag_list(if_none_match)
    return h


def _none(resp: Response) -> None:
    return None


def _session_body(data: Any, ttl: Any, user: Any, device: Any = UNSET) -> bytes:
    parts = []
    if data is not UNSET and data is not None:
        parts.append(b'"data":' + (data.text if isinstance(data, RawJSON) else _dumps(data)))
    if ttl is not UNSET:
        parts.append(b'"ttl":' + _dumps(ttl))
    if user is not UNSET:
        parts.append(b'"user":' + _dumps(user))
    if device is not UNSET:
        if device is not None and not isinstance(device, (Mapping, RawJSON)):
            raise TypeError("device must be a dict (a JSON object) or None")
        if isinstance(device, RawJSON):
            parts.append(b'"device":' + device.text)
        else:
            parts.append(b'"device":' + _dumps(None if device is None else dict(device)))
    return b"{" + b",".join(parts) + b"}"


def _patch_body(set_: Any, delete: Iterable[str] | None) -> bytes:
    parts = []
    if isinstance(set_, RawJSON):
        if set_.text != b"{}":
            parts.append(b'"set":' + set_.text)
    elif set_:
        parts.append(b'"set":' + _dumps(dict(set_)))
    if delete:
        parts.append(b'"delete":' + _dumps(list(delete)))
    return b"{" + b",".join(parts) + b"}"


class _Api:
    """Every API route as a method, written once for both clients.

    Each method describes its request and what to make of the answer, and
    hands both to ``_call``: the synchronous client returns the result, the
    asyncio client a coroutine of it.
    """

    url: str
    timeout: float

    def _call(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        headers: dict | None = None,
        key_op: bool = False,
        then: Callable[[Response], Any] | None = None,
        catch: tuple[type[BaseException], Any] | None = None,
    ) -> Any:  # pragma: no cover - implemented by the clients
        """Send the request; a 2xx answer → ``then(response)`` (the response
        itself when ``then`` is None), an error → its exception, or
        ``catch[1]`` when that exception is a ``catch[0]``."""
        raise NotImplementedError

    #: Kept as a method: tests and subclasses use it.
    _session_body = staticmethod(_session_body)

    # ----------------------------------------------------------------- sessions

    def create(
        self,
        data: Mapping[str, Any] | RawJSON | None = None,
        *,
        ttl: int | None = None,
        user: str | None = None,
        device: Mapping[str, Any] | None = None,
        session_id: str | None = None,
    ) -> Session:
        """Create a session (``201``). The daemon picks the id, unless
        ``session_id`` is given: then it is a create-only PUT
        (``If-None-Match: *``) that raises :class:`PreconditionFailed` when the
        id is taken. ``ttl``/``user``/``device`` ``None`` mean the daemon's
        default / no owner / no device. ``device``: a JSON object of at most
        2 KiB describing the client (e.g. ``{"user_agent": …, "ip": …}``),
        returned with the session and in the user's listing.
        """
        body = _session_body(data, UNSET if ttl is None else ttl, UNSET if user is None else user,
                             UNSET if device is None else device)
        if session_id is not None:
            return self._call("PUT", _sid(session_id), body=body, headers={"If-None-Match": "*"}, then=_session)
        return self._call("POST", "/v1/sessions", body=body, then=_session)

    def get(self, session_id: str, *, touch: bool | None = None) -> Session:
        """Read a session. ``touch=False`` reads without sliding its TTL."""
        return self._call("GET", _sid(session_id) + _touch_query(touch), then=_session)

    def exists(self, session_id: str, *, touch: bool | None = None) -> bool:
        """``HEAD``: whether the session exists (``touch=False``: without sliding it)."""
        return self._call("HEAD", _sid(session_id) + _touch_query(touch), then=_true, catch=(SessionNotFound, False))

    def replace(
        self,
        session_id: str,
        data: Mapping[str, Any] | RawJSON | None = None,
        *,
        ttl: int | None = UNSET,
        user: str | None = UNSET,
        device: Mapping[str, Any] | None = UNSET,
        if_match: str | int | Iterable[str | int] | None = None,
        if_none_match: str | int | Iterable[str | int] | None = None,
    ) -> Session:
        """``PUT``: replace the data (``None`` → empty), creating the session when absent.

        ``ttl``/``user``/``device`` left out keep the current values;
        ``ttl=None`` is the daemon's default, ``user=None`` removes the owner,
        ``device=None`` clears the device. ``if_match="*"``:
        replace only, never create; ``if_match=<etag>``: only if unchanged;
        ``if_none_match="*"``: create only. A failed precondition raises
        :class:`PreconditionFailed`. The result's ``created`` says whether the
        session was created.
        """
        return self._call(
            "PUT",
            _sid(session_id),
            body=_session_body(data, ttl, user, device),
            headers=_preconditions(if_match, if_none_match),
            then=_session,
        )

    def patch(
        self,
        session_id: str,
        set: Mapping[str, Any] | RawJSON | None = None,  # noqa: A002 - mirrors the API's member name
        delete: Iterable[str] | None = None,
        *,
        if_match: str | int | Iterable[str | int] | None = None,
    ) -> Session:
        """``PATCH``: set and delete data keys in one atomic step. ``set`` may
        be a :class:`RawJSON` object (already encoded)."""
        return self._call(
            "PATCH", _sid(session_id), body=_patch_body(set, delete),
            headers=_preconditions(if_match, None), then=_session,
        )

    def delete(self, session_id: str) -> None:
        """Delete a session and its user-index entry (no error when absent)."""
        return self._call("DELETE", _sid(session_id), then=_none)

    # ----------------------------------------------------------------- data keys

    def get_key(self, session_id: str, key: str, default: Any = UNSET, *, touch: bool | None = None) -> Any:
        """One data value. A missing key raises :class:`KeyNotFound` unless a
        ``default`` is given; a missing session raises :class:`SessionNotFound`."""
        return self._call(
            "GET", f"{_sid(session_id)}/data/{_quote(key)}{_touch_query(touch)}", key_op=True, then=_json,
            catch=None if default is UNSET else (KeyNotFound, default),
        )

    def set_key(self, session_id: str, key: str, value: Any, *, if_match: Any = None) -> str | None:
        """Set one data value; returns the new ETag."""
        return self._call(
            "PUT", f"{_sid(session_id)}/data/{_quote(key)}",
            body=value.text if isinstance(value, RawJSON) else _dumps(value),
            headers=_preconditions(if_match, None), then=_etag,
        )

    def delete_key(self, session_id: str, key: str, *, if_match: Any = None) -> str | None:
        """Delete one data key (no error when the key is absent); returns the new ETag."""
        return self._call(
            "DELETE", f"{_sid(session_id)}/data/{_quote(key)}", headers=_preconditions(if_match, None), then=_etag
        )

    def clear(self, session_id: str, *, if_match: Any = None) -> str | None:
        """Empty the data, keep the session; returns the new ETag."""
        return self._call("DELETE", f"{_sid(session_id)}/data", headers=_preconditions(if_match, None), then=_etag)

    # ----------------------------------------------------------------- expiry

    def get_expiry(self, session_id: str, *, touch: bool | None = None) -> dict:
        """``{"ttl", "expires_in", "expires_at"}``."""
        return self._call("GET", f"{_sid(session_id)}/expiry{_touch_query(touch)}", then=_json)

    def set_expiry(
        self, session_id: str, ttl: int | None = UNSET, *, expires_at: datetime | str | None = None
    ) -> dict:
        """Set the idle timeout (``ttl`` seconds; ``None`` = the daemon's
        default), or fix an absolute ``expires_at`` (a datetime, naive = UTC,
        or an RFC 3339 string) which stops sliding."""
        if (ttl is UNSET) == (expires_at is None):
            raise TypeError("give exactly one of ttl or expires_at")
        body = {"ttl": ttl} if ttl is not UNSET else {"expires_at": _rfc3339(expires_at)}
        return self._call("PUT", f"{_sid(session_id)}/expiry", body=_dumps(body), then=_json)

    def cycle(self, session_id: str) -> Session:
        """Give the session a new id (same data, ttl, user and device); the old id is gone."""
        return self._call("POST", f"{_sid(session_id)}/cycle", then=_session)

    # ----------------------------------------------------------------- users and admin

    def user_sessions(self, user: str) -> list[Session]:
        """The user's live sessions, most recently seen first (listing never slides them)."""
        return self._call("GET", f"/v1/users/{_quote(user)}/sessions", then=_sessions)

    def delete_user_sessions(self, user: str, *, except_id: str | None = None) -> int:
        """Log the user out everywhere, except ``except_id`` when given; returns how many were deleted."""
        query = "?" + urlencode({"except": except_id}) if except_id else ""
        return self._call("DELETE", f"/v1/users/{_quote(user)}/sessions{query}", then=_deleted)

    def delete_all(self, *, confirm: bool | str) -> int:
        """Drop every session under the daemon's prefix. ``confirm`` must be
        ``True`` (or ``"all"``): a guard against accidents."""
        if confirm is not True and confirm != "all":
            raise ValueError("delete_all needs confirm=True")
        return self._call("DELETE", "/v1/sessions?confirm=all", then=_deleted)

    def healthy(self) -> bool:
        """``GET /healthz``: the daemon process answers."""
        return self._call("GET", "/healthz", then=_true, catch=(SessiondError, False))

    def ready(self) -> bool:
        """``GET /readyz``: the daemon reaches Redis."""
        return self._call("GET", "/readyz", then=_true, catch=(SessiondError, False))


def _base_headers(token: str | None, headers: Mapping[str, str] | None) -> dict:
    base = {"Accept": "application/json", "User-Agent": "sessiond-python/0.2"}
    if headers:
        base.update(headers)
    if token:
        base["Authorization"] = f"Bearer {token}"
    return base


class SessiondClient(_Api):
    """Synchronous client of one sessiond daemon.

    ``url``: ``http://host:port`` (optionally with a path prefix, for a
    daemon behind a reverse proxy), ``https://…``, or ``unix:///path.sock``.
    ``token``: the bearer token (``--auth-token-file``), or ``None``.
    ``timeout``: seconds, for connecting and for each read.
    ``retries``: how often to retry a request that failed to connect (any
    method), or a GET/HEAD/DELETE whose connection broke; never a POST/PUT/PATCH
    that may have reached the daemon. Separately, a request that finds its
    kept-alive connection closed by the daemon (no byte of an answer) is sent
    once more on a new connection, whatever its method: the daemon never saw it.
    ``maxsize``: how many idle connections to keep.

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
        self._pool = Pool(Target(url, _base_headers(token, headers)), timeout, maxsize=maxsize, retries=retries)

    def close(self) -> None:
        """Close the pooled connections."""
        self._pool.close()

    def __enter__(self) -> "SessiondClient":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SessiondClient({self.url!r})"

    def _call(self, method, path, *, body=None, headers=None, key_op=False, then=None, catch=None):
        try:
            resp = self._pool.request(method, path, headers, body)
            if not 200 <= resp.status < 300:
                raise _error(resp, key_op=key_op)
        except SessiondError as e:
            if catch is not None and isinstance(e, catch[0]):
                return catch[1]
            raise
        return resp if then is None else then(resp)


__all__ = ["SessiondClient", "Session", "RawJSON", "UNSET", "DEFAULT_URL"]
