"""Django session engine over sessiond: ``SESSION_ENGINE = "sessiond.django"``.

Settings:

- ``SESSIOND_URL``: ``"http://127.0.0.1:8080"`` (default) or ``"unix:///path.sock"``
- ``SESSIOND_TOKEN``: the daemon's bearer token, or ``None`` (default)
- ``SESSIOND_TIMEOUT``: seconds per connect/read, default ``2.0``
- ``SESSIOND_MIGRATE_FROM``: an engine module (e.g.
  ``"django.contrib.sessions.backends.cache"``) whose sessions are moved
  into sessiond when first seen, so switching engines logs nobody out
- ``SESSIOND_RECORD_DEVICE``: ``True`` to record each session's device
  (``{"user_agent", "ip"}``) through :class:`DeviceMiddleware`; default ``False``

Devices (opt-in): with ``SESSIOND_RECORD_DEVICE = True`` and
``"sessiond.django.DeviceMiddleware"`` listed after Django's
``SessionMiddleware``, every request's session carries
``{"user_agent": <User-Agent, at most 256 characters>, "ip": <REMOTE_ADDR>}``
as ``store.device``. The engine sends it as sessiond's ``device`` whenever
it creates or replaces the session (a new session, the owner-changing PUT at
login), never with an extra request: ordinary saves are a PATCH, which keeps
the stored device. ``GET /v1/users/{user}/sessions`` then shows each of a
user's sessions with its device and ``last_seen_at`` ("log out my other
devices" pages). Behind a proxy, REMOTE_ADDR is the proxy's unless a
middleware of yours sets it from a header you trust. An app may also set
``request.session.device`` itself (any JSON object of at most 2 KiB).

The semantics are those of ``django.contrib.sessions.backends.cache``, with
sessiond's conditional writes making them atomic:

- ``load()`` reads with ``?touch=false`` (sliding is Django's decision, through
  ``SESSION_SAVE_EVERY_REQUEST``). An unknown, expired or malformed key gives
  an empty session, forgets the key and creates nothing.
- ``save(must_create=True)`` is a create-only ``PUT`` (``If-None-Match: *``):
  a taken key raises ``CreateError`` and ``create()`` retries with a new key.
- ``save()`` sends only what changed since ``load()``: one ``PATCH`` with the
  keys set and deleted, so two concurrent requests that change different
  keys both keep their change (a whole-dict save would drop one). A session
  deleted elsewhere (logged out) is ``404`` → ``UpdateError``, never brought
  back.
- The ``ttl`` is ``get_expiry_age()`` at save time, as the cache backend
  passes it as the cache timeout (sent with ``PUT …/expiry`` only when it
  changed); ``user`` is the session's ``_auth_user_id`` (so
  ``/v1/users/{user}/sessions`` lists a user's sessions), or no owner. A
  save that changes the owner (login, logout) is a ``PUT`` with ``If-Match``
  on the ETag of a fresh read, re-read and re-applied on a conflict.
- ``cycle_key()`` uses ``POST /v1/sessions/{id}/cycle``.
- ``clear_expired()`` does nothing: Redis expires the keys.

The session dict's keys are sessiond data keys, each value stored as JSON,
encoded by ``SESSION_SERIALIZER`` (Django's ``JSONSerializer`` by default).
"""

from __future__ import annotations

import json
import math
import re
import threading
from importlib import import_module
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.sessions.backends.base import CreateError, SessionBase, UpdateError
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils import timezone as django_timezone

from . import _delta
from .client import DEFAULT_URL, UNSET, SessiondClient, _dumps
from .errors import PreconditionFailed, SessionNotFound

#: Ids sessiond accepts in paths; any other key cannot name a stored session.
_VALID_ID = re.compile(r"\A[A-Za-z0-9_-]{8,128}\Z")

_clients: dict[tuple, SessiondClient] = {}
_clients_lock = threading.Lock()


#: (settings object, its client): reading three settings costs more than a
#: whole session read's parsing, so each request reuses the last answer.
_current: tuple[Any, SessiondClient] | None = None
_get_attribute = object.__getattribute__


def get_client() -> SessiondClient:
    """The process-wide client for the current ``SESSIOND_*`` settings.

    One client (one connection pool) per distinct (url, token, timeout), so
    ``override_settings`` in tests gets its own and production shares one.
    The answer is kept until the settings change (``override_settings``,
    ``setting_changed``), as Django expects settings to stay put at runtime.
    """
    global _current
    current = _current
    wrapped = _get_attribute(settings, "_wrapped")  # past LazyObject's Python-level __getattribute__
    if current is not None and current[0] is wrapped:
        return current[1]
    client = _client_for_settings()
    _current = (wrapped, client)
    return client


@receiver(setting_changed)
def _forget_client(setting: str, **kwargs: Any) -> None:
    global _current
    if setting.startswith("SESSIOND_"):
        _current = None


def _client_for_settings() -> SessiondClient:
    url = getattr(settings, "SESSIOND_URL", None) or DEFAULT_URL
    token = getattr(settings, "SESSIOND_TOKEN", None)
    timeout = float(getattr(settings, "SESSIOND_TIMEOUT", None) or 2.0)
    key = (url, token, timeout)
    client = _clients.get(key)
    if client is None:
        with _clients_lock:
            client = _clients.get(key)
            if client is None:
                client = _clients[key] = SessiondClient(url, token=token, timeout=timeout)
    return client


def _is_valid_id(session_key: str | None) -> bool:
    return bool(session_key) and bool(_VALID_ID.match(session_key))


class SessionStore(SessionBase):
    """A session store kept in sessiond."""

    #: How many fresh keys create() tries before giving up. A collision of two
    #: 32-character random keys is practically impossible; unlike a cache that
    #: fails silently, sessiond reports outages as errors, so few are needed.
    create_attempts = 100

    #: The device to send when this store creates or replaces its session in
    #: sessiond (set by DeviceMiddleware, or by the app); None: send none.
    device: dict | None = None

    #: What this store last knew to be stored (set by load, create, save and
    #: cycle_key); save() sends the difference. None: nothing known yet.
    _stored: _delta.Snapshot | None = None

    def __init__(self, session_key: str | None = None):
        super().__init__(session_key)

    @property
    def client(self) -> SessiondClient:
        return get_client()

    # ------------------------------------------------------------------ load

    def load(self) -> dict:
        session_key = self.session_key
        if _is_valid_id(session_key):
            client = self.client
            try:
                resp = client._call("GET", "/v1/sessions/" + session_key + "?touch=false")
            except SessionNotFound:
                pass
            else:
                self._stored = _delta.Snapshot.of(resp)
                return _delta.data_of(resp.body)
            source = getattr(settings, "SESSIOND_MIGRATE_FROM", None)
            if source:
                data = self._migrate(source, session_key)
                if data is not None:
                    return data
        # Unknown, expired or malformed (cannot exist in sessiond): start an
        # empty session under a new key, as the cache backend does.
        self._session_key = None
        self._stored = None
        return {}

    # ------------------------------------------------------------------ migration

    def _migrate(self, source: str, session_key: str) -> dict | None:
        """Move a session of the old engine into sessiond → its data, or None.

        Created under the same key (create-only, so a concurrent migration or
        a newer session wins) with the time it had left, then deleted from
        the old store: the user's cookie keeps working and the old store
        empties itself as users come back.
        """
        found = _legacy_session(source, session_key)
        if found is None:
            return None
        old, data, remaining = found
        client = self.client
        try:
            self._stored = _delta.create(client, session_key, data, ttl=remaining, user=self._owner(data),
                                         encode=self._encode, device=self._device())
        except PreconditionFailed:
            # Another request moved it first: read what is stored now.
            try:
                resp = client._call("GET", "/v1/sessions/" + session_key + "?touch=false")
            except SessionNotFound:
                return None  # moved and logged out again meanwhile
            self._stored = _delta.Snapshot.of(resp)
            data = json.loads(resp.body)["data"]
        old.delete(session_key)
        return data

    # ------------------------------------------------------------------ exists / delete

    def exists(self, session_key: str | None) -> bool:
        return _is_valid_id(session_key) and self.client.exists(session_key, touch=False)

    def delete(self, session_key: str | None = None) -> None:
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        if not _is_valid_id(session_key):
            return  # such a key can never have been stored
        if session_key == self.session_key:
            self._stored = None
        self.client.delete(session_key)

    # ------------------------------------------------------------------ create / save

    def create(self) -> None:
        for _ in range(self.create_attempts):
            self._session_key = self._get_new_session_key()
            try:
                self.save(must_create=True)
            except CreateError:
                continue
            self.modified = True
            return
        raise RuntimeError("Unable to create a new session key in sessiond.")

    def _encode(self, session_dict: dict) -> bytes:
        # SESSION_SERIALIZER turns the dict into a JSON object (Django's
        # JSONSerializer by default): exactly what the db/file backends store,
        # so tuples come back as lists and non-string keys as strings.
        return self.serializer().dumps(session_dict)

    def _device(self) -> Any:
        device = self.device
        return UNSET if device is None else device

    @staticmethod
    def _owner(session_dict: dict) -> str | None:
        user_id = session_dict.get("_auth_user_id")
        return str(user_id) if user_id not in (None, "") else None

    def save(self, must_create: bool = False) -> None:
        if self.session_key is None:
            return self.create()
        session_key = self.session_key
        if not _is_valid_id(session_key):
            if must_create:
                raise CreateError
            raise UpdateError  # a key sessiond refuses cannot name a stored session
        # As in the cache backend: the data first (a new session does not load),
        # then the expiry age, which reads _session_expiry from that data.
        data = self._get_session(no_load=must_create)
        if self.session_key is None:
            # Loading found the session gone (deleted elsewhere or expired).
            raise UpdateError
        ttl = int(self.get_expiry_age())
        client = self.client
        if ttl <= 0:
            # An expiry in the past: like a cache set with a timeout <= 0, the
            # session expires at once. sessiond's ttl is at least 1 s, so
            # instead of writing, honour the precondition and leave nothing.
            if must_create:
                if client.exists(session_key, touch=False):
                    raise CreateError
                return
            if not client.exists(session_key, touch=False):
                raise UpdateError
            client.delete(session_key)
            self._stored = None
            return
        user = self._owner(data)
        try:
            if must_create:
                self._stored = _delta.create(client, session_key, data, ttl=ttl, user=user, encode=self._encode,
                                             device=self._device())
            elif self._stored is not None:
                self._stored = _delta.save(client, session_key, data, self._stored, ttl=ttl, user=user,
                                           encode=self._encode, device=self._device())
            else:
                # Data set without a load (nothing to compare with): a
                # replace-only PUT of the whole dict, as Django's backends do.
                self._stored = _delta.replace(client, session_key, data, ttl=ttl, user=user, encode=self._encode,
                                              device=self._device())
        except PreconditionFailed:
            raise CreateError if must_create else UpdateError
        except SessionNotFound:
            self._stored = None
            raise UpdateError

    # ------------------------------------------------------------------ cycle_key

    def _cycle_in_sessiond(self, data: dict, old_key: str) -> bool:
        """Rename the stored session with POST …/cycle. False when it is gone."""
        modified = self.modified
        try:
            cycled = self.client.cycle(old_key)
        except SessionNotFound:
            return False
        self._session_key = cycled["id"]
        self._session_cache = data
        if self._stored is None:
            # Nothing loaded: what the daemon copied is what there is to compare with.
            self._stored = _delta.Snapshot(data=cycled["data"], ttl=cycled.get("ttl"), user=cycled.get("user"))
        # Else the snapshot stays this request's view of the (renamed) session:
        # keys another request added meanwhile are not this request's to delete.
        # The daemon copied the stored data and ttl. Base cycle_key() would
        # have written the in-memory data with a fresh get_expiry_age(); do so
        # when they can differ: unsaved changes, or an absolute expiry
        # (a datetime), whose remaining age shrinks.
        if modified or isinstance(data.get("_session_expiry"), str):
            self.save()
        self.modified = True  # base cycle_key() leaves it so (create() sets it)
        return True

    def cycle_key(self) -> None:
        data = self._session
        key = self.session_key
        if key is None or not self._cycle_in_sessiond(data, key):
            # No stored session to rename: Django's own behaviour (create a
            # new session holding the data, delete the old key if any).
            super().cycle_key()

    async def acycle_key(self) -> None:
        data = await self._aget_session()
        key = self.session_key
        if key is None or not await sync_to_async(self._cycle_in_sessiond, thread_sensitive=False)(data, key):
            await super().acycle_key()

    # ------------------------------------------------------------------ expiry

    @classmethod
    def clear_expired(cls) -> None:
        """Nothing to do: Redis expires sessions by itself."""

    @classmethod
    async def aclear_expired(cls) -> None:
        """Nothing to do: Redis expires sessions by itself."""

    # ------------------------------------------------------------------ async
    # The HTTP calls run in worker threads (thread_sensitive=False: they hold
    # no thread-bound state, and the client's pool is thread-safe), so
    # concurrent ASGI requests don't queue behind one thread.

    async def aload(self) -> dict:
        return await sync_to_async(self.load, thread_sensitive=False)()

    async def aexists(self, session_key: str | None) -> bool:
        if not _is_valid_id(session_key):
            return False
        return await sync_to_async(self.exists, thread_sensitive=False)(session_key)

    async def acreate(self) -> None:
        return await sync_to_async(self.create, thread_sensitive=False)()

    async def asave(self, must_create: bool = False) -> None:
        return await sync_to_async(self.save, thread_sensitive=False)(must_create)

    async def adelete(self, session_key: str | None = None) -> None:
        return await sync_to_async(self.delete, thread_sensitive=False)(session_key)


#: User-Agent characters kept: even all escaped (6 bytes each) the device
#: stays well under sessiond's 2 KiB limit.
_MAX_USER_AGENT = 256


def device_of(request: Any) -> dict:
    """``{"user_agent", "ip"}`` of a request, small enough for sessiond."""
    user_agent = request.META.get("HTTP_USER_AGENT", "")[:_MAX_USER_AGENT]
    ip = request.META.get("REMOTE_ADDR") or None
    device = {"user_agent": user_agent, "ip": ip[:64] if ip else None}
    while len(_dumps(device)) > 1024:  # paranoia: never let a header make the session unwritable
        device["user_agent"] = device["user_agent"][: len(device["user_agent"]) // 2]
    return device


class DeviceMiddleware:
    """Gives the request's session its device (see the module docstring).

    Does nothing unless ``SESSIOND_RECORD_DEVICE`` is true, or for a
    session engine other than this one. List it after ``SessionMiddleware``.
    """

    def __init__(self, get_response: Any):
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        session = getattr(request, "session", None)
        if isinstance(session, SessionStore) and getattr(settings, "SESSIOND_RECORD_DEVICE", False):
            session.device = device_of(request)
        return self.get_response(request)


def _legacy_session(source: str, session_key: str) -> tuple[SessionBase, dict, int] | None:
    """The session ``session_key`` of the engine module ``source`` →
    ``(its store, its data, seconds it has left)``, or None when absent or expired."""
    old = import_module(source).SessionStore(session_key)
    if old.session_key is None:
        return None  # a key that engine would not accept
    from_db = getattr(old, "_get_session_from_db", None)
    if from_db is not None:
        # db and cached_db: the row knows its expiry; an expired row is no session.
        row = from_db()
        if row is None:
            return None
        data = old.decode(row.session_data)
        remaining = (row.expire_date - django_timezone.now()).total_seconds()
    else:
        data = old.load()
        if old.session_key is None:
            return None
        remaining = None
        cache, cache_key = getattr(old, "_cache", None), getattr(type(old), "cache_key", None)
        if cache is not None and cache_key is not None and hasattr(cache, "ttl"):
            # django-redis (and other caches with ttl()): what Redis has left.
            left = cache.ttl(old.cache_key)
            if left is not None and left > 0:
                remaining = left
        if remaining is None:
            remaining = old.get_expiry_age(session_data=data)
    if remaining <= 0:
        return None
    return old, data, max(1, math.ceil(remaining))


__all__ = ["SessionStore", "DeviceMiddleware", "device_of", "get_client"]
