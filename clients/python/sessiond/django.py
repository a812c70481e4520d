"""Django session engine over sessiond: ``SESSION_ENGINE = "sessiond.django"``.

Settings:

- ``SESSIOND_URL``: ``"http://127.0.0.1:8080"`` (default) or ``"unix:///path.sock"``
- ``SESSIOND_TOKEN``: the daemon's bearer token, or ``None`` (default)
- ``SESSIOND_TIMEOUT``: seconds per connect/read, default ``2.0``

The semantics are those of ``django.contrib.sessions.backends.cache``, with
sessiond's conditional writes making them atomic:

- ``load()`` reads with ``?touch=false`` (sliding is Django's decision, through
  ``SESSION_SAVE_EVERY_REQUEST``). An unknown, expired or malformed key gives
  an empty session, forgets the key and creates nothing.
- ``save(must_create=True)`` is a create-only ``PUT`` (``If-None-Match: *``):
  a taken key raises ``CreateError`` and ``create()`` retries with a new key.
- ``save()`` is a replace-only ``PUT`` (``If-Match: *``): a session deleted
  elsewhere (logged out) raises ``UpdateError`` and is never brought back.
- The ``ttl`` is ``get_expiry_age()`` at save time, as the cache backend
  passes it as the cache timeout; ``user`` is the session's
  ``_auth_user_id`` (so ``/v1/users/{user}/sessions`` lists a user's
  sessions), or no owner.
- ``cycle_key()`` uses ``POST /v1/sessions/{id}/cycle``.
- ``clear_expired()`` does nothing: Redis expires the keys.

The session dict's keys are sessiond data keys, each value stored as JSON,
encoded by ``SESSION_SERIALIZER`` (Django's ``JSONSerializer`` by default).
"""

from __future__ import annotations

import re
import threading
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.sessions.backends.base import CreateError, SessionBase, UpdateError

from .client import DEFAULT_URL, RawJSON, SessiondClient
from .errors import PreconditionFailed, SessionNotFound

#: Ids sessiond accepts in paths; any other key cannot name a stored session.
_VALID_ID = re.compile(r"\A[A-Za-z0-9_-]{8,128}\Z")

_clients: dict[tuple, SessiondClient] = {}
_clients_lock = threading.Lock()


def get_client() -> SessiondClient:
    """The process-wide client for the current ``SESSIOND_*`` settings.

    One client (one connection pool) per distinct (url, token, timeout), so
    ``override_settings`` in tests gets its own and production shares one.
    """
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

    def __init__(self, session_key: str | None = None):
        super().__init__(session_key)

    @property
    def client(self) -> SessiondClient:
        return get_client()

    # ------------------------------------------------------------------ load

    def load(self) -> dict:
        session_key = self.session_key
        if _is_valid_id(session_key):
            try:
                session = self.client.get(session_key, touch=False)
            except SessionNotFound:
                pass
            else:
                return dict(session["data"])
        # Unknown, expired or malformed (cannot exist in sessiond): start an
        # empty session under a new key, as the cache backend does.
        self._session_key = None
        return {}

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

    def _encode_data(self, session_dict: dict) -> RawJSON:
        # SESSION_SERIALIZER turns the dict into a JSON object (Django's
        # JSONSerializer by default): exactly what the db/file backends store,
        # so tuples come back as lists and non-string keys as strings.
        return RawJSON(self.serializer().dumps(session_dict))

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
            return
        try:
            client.replace(
                session_key,
                self._encode_data(data),
                ttl=ttl,
                user=self._owner(data),
                if_none_match="*" if must_create else None,
                if_match=None if must_create else "*",
            )
        except PreconditionFailed:
            raise CreateError if must_create else UpdateError

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


__all__ = ["SessionStore", "get_client"]
