"""SESSIOND_MIGRATE_FROM: switching to sessiond logs nobody out.

Sessions are written by the real old engines (the cache engine on
django-redis with its pickle and its JSON serializer, on the harness's Redis
under db 1; the db engine on SQLite), then read through sessiond.django.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest
from django.contrib.sessions.backends import cache as cache_engine
from django.contrib.sessions.backends import db as db_engine
from django.contrib.sessions.models import Session as SessionRow
from django.core.cache import caches
from django.test import override_settings
from django.utils import timezone

import sessiond.django
from sessiond import SessionNotFound
from sessiond.django import SessionStore, get_client

from conftest import REDIS_PORT, redis_cli

CACHE = "django.contrib.sessions.backends.cache"
DB = "django.contrib.sessions.backends.db"
SERIALIZERS = {
    "pickle": "django_redis.serializers.pickle.PickleSerializer",  # django-redis's default
    "json": "django_redis.serializers.json.JSONSerializer",
}


def legacy_cache(serializer: str) -> dict:
    return {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "legacy": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{REDIS_PORT}/1",
            "KEY_PREFIX": "mig" + secrets.token_hex(4),
            "OPTIONS": {"SERIALIZER": SERIALIZERS[serializer]},
        },
    }


def stored(key):
    try:
        return get_client().get(key, touch=False)
    except SessionNotFound:
        return None


@pytest.fixture
def cleanup():
    keys = []
    yield keys
    for k in keys:
        get_client().delete(k)


@pytest.mark.parametrize("serializer", sorted(SERIALIZERS))
def test_cache_engine_sessions_move_to_sessiond(serializer, cleanup):
    with override_settings(CACHES=legacy_cache(serializer), SESSION_CACHE_ALIAS="legacy"):
        old = cache_engine.SessionStore()
        old.update({"_auth_user_id": "7", "cart": [1, 2], "theme": "dark"})
        old.set_expiry(900)
        old.save()
        key = old.session_key
        cleanup.append(key)
        cache = caches["legacy"]
        assert cache.get(old.cache_key) is not None
        raw_keys = redis_cli("-n", "1", "KEYS", "*" + key)
        assert raw_keys  # it really is in Redis, db 1
        if serializer == "json":
            assert '"cart":[1,2]' in redis_cli("-n", "1", "GET", raw_keys.splitlines()[0]).replace(" ", "")
        cache.expire(old.cache_key, 500)  # a session that has been idle a while

        with override_settings(SESSIOND_MIGRATE_FROM=CACHE):
            assert stored(key) is None
            s = SessionStore(key)
            assert s["cart"] == [1, 2] and s["theme"] == "dark"
            assert s.session_key == key  # the user's cookie keeps working
        got = stored(key)
        assert got.data == {"_auth_user_id": "7", "cart": [1, 2], "theme": "dark", "_session_expiry": 900}
        assert 490 <= got["ttl"] <= 500  # what Redis had left, not a fresh two weeks
        assert got["user"] == "7"
        assert cache.get(old.cache_key) is None  # gone from the old store
        assert redis_cli("-n", "1", "EXISTS", raw_keys.splitlines()[0]) == "0"

        # From now on it is an ordinary sessiond session.
        s["theme"] = "light"
        s.save()
        assert stored(key).data["theme"] == "light"
        assert cache.get(old.cache_key) is None


@pytest.mark.django_db
def test_db_engine_sessions_move_to_sessiond(cleanup):
    old = db_engine.SessionStore()
    old.update({"_auth_user_id": "8", "n": 3})
    old.set_expiry(timezone.now() + timedelta(seconds=700))
    old.save()
    key = old.session_key
    cleanup.append(key)
    assert SessionRow.objects.filter(session_key=key).exists()
    with override_settings(SESSIOND_MIGRATE_FROM=DB):
        s = SessionStore(key)
        assert s["n"] == 3 and s.session_key == key
    got = stored(key)
    assert got.data["n"] == 3 and got["user"] == "8"
    assert 690 <= got["ttl"] <= 700
    assert not SessionRow.objects.filter(session_key=key).exists()


@pytest.mark.django_db
def test_expired_db_sessions_are_not_moved(cleanup):
    old = db_engine.SessionStore()
    old["n"] = 1
    old.save()
    key = old.session_key
    SessionRow.objects.filter(session_key=key).update(expire_date=timezone.now() - timedelta(seconds=5))
    with override_settings(SESSIOND_MIGRATE_FROM=DB):
        s = SessionStore(key)
        assert s.load() == {} and s.session_key is None
    assert stored(key) is None


def test_unknown_everywhere_is_a_new_session():
    with override_settings(CACHES=legacy_cache("pickle"), SESSION_CACHE_ALIAS="legacy",
                           SESSIOND_MIGRATE_FROM=CACHE):
        key = "n" + secrets.token_hex(16)
        s = SessionStore(key)
        assert s.load() == {} and s.session_key is None
        assert stored(key) is None


def test_without_the_setting_nothing_is_read_from_the_old_store(cleanup):
    with override_settings(CACHES=legacy_cache("pickle"), SESSION_CACHE_ALIAS="legacy"):
        old = cache_engine.SessionStore()
        old["x"] = 1
        old.save()
        s = SessionStore(old.session_key)
        assert s.load() == {}
        assert caches["legacy"].get(old.cache_key) == {"x": 1}


def test_a_concurrent_migration_wins_and_is_read(cleanup, monkeypatch):
    """Two requests migrate one key: the second's create-only PUT fails, it
    reads what the first stored, and the old copy is gone either way."""
    with override_settings(CACHES=legacy_cache("json"), SESSION_CACHE_ALIAS="legacy",
                           SESSIOND_MIGRATE_FROM=CACHE):
        old = cache_engine.SessionStore()
        old["v"] = "old"
        old.save()
        key = old.session_key
        cleanup.append(key)
        real = sessiond.django._legacy_session

        def racing(source, session_key):
            found = real(source, session_key)
            get_client().create({"v": "first"}, session_id=session_key)  # the other request got there first
            return found

        monkeypatch.setattr(sessiond.django, "_legacy_session", racing)
        s = SessionStore(key)
        assert s["v"] == "first"
        s["w"] = 1
        s.save()
        assert stored(key).data == {"v": "first", "w": 1}
        assert caches["legacy"].get(old.cache_key) is None
