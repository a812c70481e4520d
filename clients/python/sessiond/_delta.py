"""Delta saves, shared by the Django engine and the Flask session interface.

A framework session is a dict loaded at the start of a request and saved at
its end. Saving the whole dict (a PUT) would undo what a concurrent request
wrote meanwhile; saving only the keys this request set or deleted (a PATCH)
keeps both, because sessiond applies a PATCH atomically on top of whatever is
stored.

:class:`Snapshot` is this request's view of the stored session: the data as
loaded (or as last saved by this request), its ttl and owner.
:func:`save` compares the current dict against it and sends the difference.
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable

from ._http import Response
from .client import UNSET, RawJSON, SessiondClient, _patch_body, _session_body, _sid
from .errors import PreconditionFailed


class Snapshot:
    """What this request last knew to be stored. Built from a response's raw
    bytes, it is parsed only when a save needs it: most requests only read."""

    __slots__ = ("_raw", "_data", "ttl", "user")

    def __init__(self, raw: bytes | None = None, *, data: dict | None = None, ttl: Any = None, user: Any = None):
        self._raw = raw
        self._data = data
        self.ttl = ttl
        self.user = user

    @classmethod
    def of(cls, resp: Response) -> "Snapshot":
        """From a session answer (GET, PATCH, cycle): its body, parsed later if ever."""
        return cls(resp.body)

    @property
    def data(self) -> dict:
        if self._data is None:
            self._data, self.ttl, self.user = _parse_session(self._raw)
            self._raw = None
        return self._data


_raw_decode = json.JSONDecoder().raw_decode
_TTL = re.compile(r',"ttl":(\d+)')
_USER = re.compile(r',"user":(null|"(?:[^"\\]|\\.)*")')


def _data_start(body: bytes) -> int:
    """Where the ``data`` object starts in ``{"id":"…","data":{…},…}`` (the
    layout sessiond writes), or -1."""
    if body.startswith(b'{"id":"'):
        quote = body.find(b'"', 7, 140)
        if quote > 7 and body.startswith(b',"data":{', quote + 1):
            return quote + 9
    return -1


def data_of(body: bytes) -> dict:
    """The ``data`` object of a session answer: decoded from its start to its
    end only, which skips half the parsing (any other layout: parsed whole)."""
    start = _data_start(body)
    if start < 0:
        return json.loads(body)["data"]
    return _raw_decode(body.decode("utf-8"), start)[0]


def _parse_session(body: bytes) -> tuple[dict, Any, Any]:
    """``(data, ttl, user)`` of a session answer."""
    start = _data_start(body)
    if start >= 0:
        text = body.decode("utf-8")
        data, end = _raw_decode(text, start)
        ttl, user = _TTL.match(text, end), _USER.search(text, end)
        if ttl is not None and user is not None:
            u = user.group(1)
            return data, int(ttl.group(1)), None if u == "null" else u[1:-1] if "\\" not in u else json.loads(u)
    doc = json.loads(body)
    return doc["data"], doc.get("ttl"), doc.get("user")


_SCALARS = (str, int, float, bool, type(None))


def same(a: Any, b: Any) -> bool:
    """JSON equality, strictly typed: ``1``, ``1.0`` and ``True`` differ, a
    tuple is not the list it was loaded as (so it is written, and comes back
    as a list)."""
    if type(a) is not type(b):
        return False
    if type(a) is dict:
        return len(a) == len(b) and all(k in b and same(v, b[k]) for k, v in a.items())
    if type(a) is list:
        return len(a) == len(b) and all(map(same, a, b))
    return a == b


def diff(stored: dict, current: dict) -> tuple[dict, list]:
    """``(keys set or changed → value, keys deleted)`` from stored to current."""
    changed = {k: v for k, v in current.items() if k not in stored or not same(stored[k], v)}
    deleted = [k for k in stored if k not in current]
    return changed, deleted


def _applied(base: dict, changed_json: bytes | None, deleted: list) -> dict:
    """``base`` with the changes as sessiond will hold them (decoded from the
    JSON that was sent, so later in-place edits of the caller's values still
    show up as changes)."""
    out = dict(base)
    if changed_json is not None:
        out.update(json.loads(changed_json))
    for k in deleted:
        out.pop(k, None)
    return out


def _remembered(base: dict, changed: dict, changed_json: bytes | None, deleted: list) -> dict:
    """The snapshot after a save: like :func:`_applied`, but scalar values (the
    usual change: a counter, a flag) are kept as they are, without decoding."""
    if changed_json is not None and not all(type(v) in _SCALARS and type(k) is str for k, v in changed.items()):
        return _applied(base, changed_json, deleted)
    out = dict(base)
    out.update(changed)
    for k in deleted:
        out.pop(k, None)
    return out


def save(client: SessiondClient, session_id: str, current: dict, snap: Snapshot, *,
         ttl: int, user: str | None, encode: Callable[[dict], bytes], attempts: int = 10,
         device: Any = UNSET) -> Snapshot:
    """Write what changed in ``current`` since ``snap`` → the new snapshot.

    One PATCH with the keys set and deleted (nothing else is touched), plus
    ``PUT …/expiry`` when the ttl changed. A new owner (login, logout) needs a
    PUT, since a PATCH cannot set it: the stored session is read, the changes
    applied to it, and written back with ``If-Match`` on its ETag, again on a
    conflict, so a concurrent change survives there too. ``device`` (a
    dict) goes with that PUT only: a PATCH cannot carry it, and it is not
    worth a request of its own.

    A session that no longer exists raises :class:`SessionNotFound`; it is
    never brought back.
    """
    stored = snap.data
    if not all(type(k) is str for k in current):
        # Keys JSON turns into strings (3 → "3"): compare as sessiond will store them.
        current = json.loads(encode(current))
    changed, deleted = diff(stored, current)
    changed_json = encode(changed) if changed else None
    path = _sid(session_id)
    if user != snap.user:
        for _ in range(attempts):
            fresh = client._call("GET", path + "?touch=false")  # 404: SessionNotFound
            merged = _applied(json.loads(fresh.body)["data"], changed_json, deleted)
            body = _session_body(RawJSON(encode(merged)), ttl, user, device)
            try:
                client._call("PUT", path, body=body, headers={"If-Match": fresh.headers.get("etag", "*")})
            except PreconditionFailed:
                continue  # someone wrote in between: read again, apply again
            return Snapshot(data=_applied(stored, changed_json, deleted), ttl=ttl, user=user)
        raise PreconditionFailed(f"session {session_id} kept changing during {attempts} save attempts", status=412)
    client._call("PATCH", path, body=_patch_body(RawJSON(changed_json or b"{}"), deleted))
    if ttl != snap.ttl:
        client._call("PUT", path + "/expiry", body=b'{"ttl":%d}' % ttl)
    return Snapshot(data=_remembered(stored, changed, changed_json, deleted) if (changed or deleted) else stored,
                    ttl=ttl, user=user)


def create(client: SessiondClient, session_id: str, current: dict, *, ttl: int, user: str | None,
           encode: Callable[[dict], bytes], device: Any = UNSET) -> Snapshot:
    """Create-only PUT (``If-None-Match: *``) → the snapshot; a taken id
    raises :class:`PreconditionFailed`."""
    data_json = encode(current)
    client._call("PUT", _sid(session_id), body=_session_body(RawJSON(data_json), ttl, user, device),
                 headers={"If-None-Match": "*"})
    return Snapshot(data=json.loads(data_json), ttl=ttl, user=user)


def replace(client: SessiondClient, session_id: str, current: dict, *, ttl: int, user: str | None,
            encode: Callable[[dict], bytes], device: Any = UNSET) -> Snapshot:
    """Replace-only PUT (``If-Match: *``), for a save with no snapshot to
    compare against → the snapshot; a missing session raises
    :class:`PreconditionFailed`."""
    data_json = encode(current)
    client._call("PUT", _sid(session_id), body=_session_body(RawJSON(data_json), ttl, user, device),
                 headers={"If-Match": "*"})
    return Snapshot(data=json.loads(data_json), ttl=ttl, user=user)
