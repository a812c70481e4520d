"""Flask sessions kept in sessiond: ``app.session_interface = SessiondSessionInterface(url)``.

Server-side sessions: the cookie carries only the session id (32 random
characters, ~165 bits, as sessiond and Django make them); the data lives in
sessiond, one data key per session key, as plain JSON (so values must be
JSON-serialisable, and apps in other languages can read them).

- A request reads its session with ``?touch=false`` (one GET) and writes
  nothing unless it changed something (``session.modified``).
- A save sends only what changed since the read: one PATCH with the keys set
  and deleted, so two concurrent requests that change different keys both
  keep their change.
- The ttl is ``PERMANENT_SESSION_LIFETIME`` (31 days by default), for
  permanent and browser-session sessions alike; ``session.permanent`` decides
  only whether the cookie outlives the browser. With
  ``SESSION_REFRESH_EACH_REQUEST`` (Flask's default), every request of a
  permanent session slides its ttl, like its cookie.
- A new id after login (session fixation): call :func:`regenerate` on the
  session; the response carries the new id (``POST …/cycle``: same data, old
  id gone).
- ``session.clear()`` deletes the session in sessiond and the cookie.
- A session deleted elsewhere (log out everywhere) is never brought back by
  a late request: its changes are dropped and its cookie removed.
- ``session[user_key]`` (Flask-Login's ``_user_id`` by default) becomes the
  session's ``user`` in sessiond, so ``/v1/users/{user}/sessions`` lists a
  user's devices.
"""

from __future__ import annotations

import json
import re
import secrets
import string
from typing import Any

from flask.sessions import SecureCookieSession, SessionInterface

from . import _delta
from .client import SessiondClient
from .errors import PreconditionFailed, SessionNotFound

_VALID_ID = re.compile(r"\A[A-Za-z0-9_-]{8,128}\Z")
_ALPHABET = string.ascii_lowercase + string.digits


def _new_id() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(32))


def _encode(data: dict) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


class SessiondSession(SecureCookieSession):
    """Flask's session dict (``modified``/``accessed`` tracking, ``permanent``)
    plus its sessiond id and what was loaded."""

    def __init__(self, initial: Any = None, sid: str | None = None, snapshot: _delta.Snapshot | None = None):
        super().__init__(initial)
        self.sid = sid
        self.snapshot = snapshot
        self.regenerate = False
        self.new = sid is None


def regenerate(session: SessiondSession) -> None:
    """Give this session a new id when the response is sent (call it right
    after login): the data stays, the old id stops working."""
    session.regenerate = True
    session.modified = True


class SessiondSessionInterface(SessionInterface):
    """Keeps Flask's sessions in sessiond.

    ``url``/``token``/``timeout`` as for :class:`sessiond.SessiondClient` (or
    pass ``client``); ``user_key``: the session key whose value is the
    session's owner.
    """

    session_class = SessiondSession

    def __init__(self, url: str = "http://127.0.0.1:8080", token: str | None = None, *, timeout: float = 2.0,
                 client: SessiondClient | None = None, user_key: str = "_user_id"):
        self.client = client or SessiondClient(url, token=token, timeout=timeout)
        self.user_key = user_key

    # ------------------------------------------------------------------ read

    def open_session(self, app, request) -> SessiondSession:
        sid = request.cookies.get(self.get_cookie_name(app))
        if sid and _VALID_ID.match(sid):
            try:
                resp = self.client._call("GET", "/v1/sessions/" + sid + "?touch=false")
            except SessionNotFound:
                pass
            else:
                return self.session_class(_delta.data_of(resp.body), sid, _delta.Snapshot.of(resp))
        # No cookie, or one naming no session: a new session, under a new id
        # when it is first saved (a client-chosen id is never adopted).
        return self.session_class()

    # ------------------------------------------------------------------ write

    def _owner(self, session: dict) -> str | None:
        user = session.get(self.user_key)
        return str(user) if user not in (None, "") else None

    def _ttl(self, app) -> int:
        return max(1, int(app.permanent_session_lifetime.total_seconds()))

    def save_session(self, app, session, response) -> None:
        if not isinstance(session, SessiondSession):
            return  # a null session (no interface could open one)
        name = self.get_cookie_name(app)
        domain, path = self.get_cookie_domain(app), self.get_cookie_path(app)
        if session.accessed:
            response.vary.add("Cookie")
        if not session:
            if session.modified:
                # Cleared: the session ends, here and in sessiond.
                if session.sid is not None:
                    self.client.delete(session.sid)
                    response.delete_cookie(name, domain=domain, path=path,
                                           secure=self.get_cookie_secure(app),
                                           samesite=self.get_cookie_samesite(app),
                                           httponly=self.get_cookie_httponly(app))
            return
        data = dict(session)
        ttl, user = self._ttl(app), self._owner(data)
        set_cookie = self.should_set_cookie(app, session)
        if session.sid is None:
            self._create(session, data, ttl, user)
            set_cookie = True
        else:
            if session.regenerate:
                try:
                    cycled = self.client.cycle(session.sid)
                except SessionNotFound:
                    return self._gone(app, response)
                session.sid = cycled.id  # the snapshot stays this request's view of it
                set_cookie = True
            if session.modified or set_cookie:
                # modified: what changed; a refresh (SESSION_REFRESH_EACH_REQUEST)
                # with nothing changed: an empty PATCH, which slides the ttl.
                try:
                    session.snapshot = _delta.save(self.client, session.sid, data, session.snapshot, ttl=ttl,
                                                   user=user, encode=_encode)
                except SessionNotFound:
                    return self._gone(app, response)
        session.regenerate = False
        if set_cookie:
            response.set_cookie(
                name, session.sid, expires=self.get_expiration_time(app, session),
                httponly=self.get_cookie_httponly(app), domain=domain, path=path,
                secure=self.get_cookie_secure(app), samesite=self.get_cookie_samesite(app),
                **self._partitioned(app),
            )

    def _create(self, session: SessiondSession, data: dict, ttl: int, user: str | None) -> None:
        for _ in range(10):
            sid = _new_id()
            try:
                session.snapshot = _delta.create(self.client, sid, data, ttl=ttl, user=user, encode=_encode)
            except PreconditionFailed:
                continue  # practically impossible: 165 random bits
            session.sid = sid
            return
        raise RuntimeError("could not find a free session id in sessiond")

    def _gone(self, app, response) -> None:
        """The session was deleted elsewhere (logged out) while this request
        ran: drop its changes and its cookie, never recreate it."""
        response.delete_cookie(self.get_cookie_name(app), domain=self.get_cookie_domain(app),
                               path=self.get_cookie_path(app))

    def _partitioned(self, app) -> dict:
        get = getattr(self, "get_cookie_partitioned", None)  # Flask 3.1+
        return {"partitioned": get(app)} if get is not None else {}


__all__ = ["SessiondSessionInterface", "SessiondSession", "regenerate"]
