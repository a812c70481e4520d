"""sessiond.django beyond Django's mixin: what it stores in sessiond and how.

Django's own suite (test_django_mixin.py) proves the session API; these tests
look at the daemon's side: data keys, ttl, owner, touch-free reads, the
conditional writes, cycle through POST …/cycle, and the middleware flow.
"""

from __future__ import annotations

import asyncio
import secrets
from datetime import timedelta
from unittest import mock

import django
import pytest
from django.conf import settings as dj_settings
from django.contrib.sessions.backends.base import CreateError, UpdateError
from django.contrib.sessions.exceptions import SessionInterrupted
from django.contrib.sessions.middleware import SessionMiddleware
from django.core.management import call_command
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.utils import timezone

from sessiond import SessiondClient, SessiondUnavailable, SessionNotFound
from sessiond.django import SessionStore, get_client

from conftest import free_port


@pytest.fixture
def sd():
    return get_client()


@pytest.fixture
def store(sd):
    created = []

    def make(key=None):
        s = SessionStore(key)
        created.append(s)
        return s

    yield make
    for s in created:
        if s.session_key:
            sd.delete(s.session_key)


def stored(sd, key):
    try:
        return sd.get(key, touch=False)
    except SessionNotFound:
        return None


def test_data_keys_are_sessiond_data_keys(store, sd, redis):
    s = store()
    s["cart"] = [1, 2]
    s["big"] = 2**80
    s["nested"] = {"a": {"b": None}}
    s.save()
    got = stored(sd, s.session_key)
    assert got.data == {"cart": [1, 2], "big": 2**80, "nested": {"a": {"b": None}}}
    assert redis("HGET", f"sessiond:session:{s.session_key}", "data:cart") == "[1,2]"
    assert SessionStore(s.session_key).load() == got.data


def test_json_serializer_semantics(store):
    s = store()
    s["tuple"] = (1, 2)
    s[3] = "int key"
    s.save()
    again = SessionStore(s.session_key)
    assert again["tuple"] == [1, 2] and again["3"] == "int key"
    s["bad"] = object()
    with pytest.raises(TypeError):
        s.save()


def test_load_does_not_slide_ttl(store, sd, redis):
    s = store()
    s["x"] = 1
    s.save()
    key = f"sessiond:session:{s.session_key}"
    redis("EXPIRE", key, "50")
    fresh = SessionStore(s.session_key)
    assert fresh["x"] == 1
    assert fresh.exists(s.session_key)
    assert int(redis("TTL", key)) <= 50


def test_ttl_follows_set_expiry(store, sd, settings):
    s = store()
    s.save()
    key = s.session_key
    assert stored(sd, key)["ttl"] == dj_settings.SESSION_COOKIE_AGE
    for value, expected in [(300, 300), (0, dj_settings.SESSION_COOKIE_AGE), (None, dj_settings.SESSION_COOKIE_AGE)]:
        s.set_expiry(value)
        s.save()
        assert stored(sd, key)["ttl"] == expected, value
    s.set_expiry(timedelta(seconds=120))
    s.save()
    assert 118 <= stored(sd, key)["ttl"] <= 120
    s.set_expiry(timezone.now() + timedelta(seconds=600))
    s.save()
    assert 598 <= stored(sd, key)["expires_in"] <= 600
    settings.SESSION_COOKIE_AGE = 1000
    s.set_expiry(None)
    s.save()
    assert stored(sd, key)["ttl"] == 1000


def test_expiry_in_the_past_removes_the_session(store, sd):
    s = store()
    s["a"] = 1
    s.save()
    key = s.session_key
    s.set_expiry(-timedelta(seconds=10))
    s.save()
    assert stored(sd, key) is None
    with pytest.raises(UpdateError):
        s.save()  # it is gone now, and a save does not bring it back


def test_owner_is_the_authenticated_user(store, sd):
    user = "u" + secrets.token_hex(6)
    s = store()
    s["_auth_user_id"] = user
    s.save()
    assert stored(sd, s.session_key)["user"] == user
    assert [x.id for x in sd.user_sessions(user)] == [s.session_key]
    del s["_auth_user_id"]
    s.save()
    assert stored(sd, s.session_key)["user"] is None
    assert sd.user_sessions(user) == []


def test_must_create_is_create_only(store, sd):
    s = store()
    s["mine"] = True
    s.save()
    intruder = SessionStore(s.session_key)
    intruder["theirs"] = True
    with pytest.raises(CreateError):
        intruder.save(must_create=True)
    assert stored(sd, s.session_key).data == {"mine": True}


def test_create_retries_on_collision(store, sd):
    taken = store()
    taken["keep"] = 1
    taken.save()
    s = store()
    fresh = "f" + secrets.token_hex(16)
    with mock.patch.object(SessionStore, "_get_new_session_key", side_effect=[taken.session_key, fresh]):
        s.create()
    assert s.session_key == fresh and s.modified is True
    assert stored(sd, taken.session_key).data == {"keep": 1}
    assert stored(sd, fresh) is not None


def test_save_of_unknown_key_is_update_error(sd):
    s = SessionStore("unknown" + secrets.token_hex(8))
    with pytest.raises(UpdateError):
        s.save()
    assert not sd.exists("unknown" + secrets.token_hex(8))


def test_malformed_keys_never_reach_sessiond(sd):
    s = SessionStore("not a valid id!")
    assert s.exists("not a valid id!") is False
    s.delete("not a valid id!")
    assert s.load() == {} and s.session_key is None
    with mock.patch.object(SessiondClient, "_call", side_effect=AssertionError("no request")):
        assert SessionStore().exists("x" * 200) is False
        SessionStore().delete("1")


def test_cycle_key_renames_in_sessiond(store, sd):
    user = "c" + secrets.token_hex(6)
    s = store()
    s["_auth_user_id"] = user
    s["a"] = 1
    s.save()
    old = s.session_key
    before = stored(sd, old)
    s.modified = False
    with mock.patch.object(SessiondClient, "cycle", wraps=sd.cycle) as cycle, \
            mock.patch.object(SessiondClient, "replace", wraps=sd.replace) as replace:
        s.cycle_key()
    cycle.assert_called_once_with(old)
    replace.assert_not_called()  # nothing unsaved: the rename is enough
    assert s.session_key != old and s.modified is True and s.accessed is True
    after = stored(sd, s.session_key)
    assert stored(sd, old) is None
    assert after["created_at"] == before["created_at"]  # renamed, not recreated
    assert after.data == {"_auth_user_id": user, "a": 1}
    assert [x.id for x in sd.user_sessions(user)] == [s.session_key]


def test_cycle_key_writes_unsaved_changes(store, sd):
    s = store()
    s["a"] = 1
    s.save()
    s["b"] = 2  # not saved yet
    s.cycle_key()
    assert stored(sd, s.session_key).data == {"a": 1, "b": 2}
    assert dict(s.items()) == {"a": 1, "b": 2}


def test_cycle_key_of_a_vanished_session_falls_back(store, sd):
    s = store()
    s["a"] = 1
    s.save()
    old = s.session_key
    s["a"]  # loaded
    sd.delete(old)
    s.cycle_key()  # like Django's base: a new session holding the data
    assert s.session_key != old
    assert stored(sd, s.session_key).data == {"a": 1}


@pytest.mark.skipif(django.VERSION < (5, 0), reason="SessionBase's async API (aset, asave, acycle_key) arrived in Django 5.0")
def test_cycle_key_async(store, sd):
    user = "a" + secrets.token_hex(6)
    s = store()

    async def go():
        await s.aset("_auth_user_id", user)
        await s.asave()
        old = s.session_key
        await s.acycle_key()
        return old

    old = asyncio.run(go())
    assert stored(sd, old) is None
    assert [x.id for x in sd.user_sessions(user)] == [s.session_key]


def test_clear_expired_is_a_noop(settings):
    settings.SESSION_ENGINE = "sessiond.django"
    SessionStore.clear_expired()
    asyncio.run(SessionStore.aclear_expired())
    call_command("clearsessions")


def test_outage_raises_instead_of_dropping_the_session(settings):
    settings.SESSIOND_URL = f"http://127.0.0.1:{free_port()}"
    s = SessionStore("a" * 32)
    with pytest.raises(SessiondUnavailable):
        s.load()
    assert s.session_key == "a" * 32  # not forgotten: the user stays logged in once it is back


def test_settings_token_and_unix_socket(daemons, settings):
    token = secrets.token_hex(8)
    (daemons.tmp / "token").write_text(token)
    sock = daemons.tmp / "d.sock"
    daemons.start("--auth-token-file", str(daemons.tmp / "token"), listen=f"unix:{sock}")
    settings.SESSIOND_URL = f"unix://{sock}"
    settings.SESSIOND_TOKEN = token
    settings.SESSIOND_TIMEOUT = 1
    s = SessionStore()
    s["via"] = "unix"
    s.save()
    assert SessionStore(s.session_key)["via"] == "unix"
    assert get_client().url == f"unix://{sock}"
    s.delete()


# ----------------------------------------------------------------------------- middleware


def test_middleware_visits_and_flush(sd):
    c = Client()
    assert c.get("/visit/").json()["visits"] == 1
    r = c.get("/visit/")
    assert r.json()["visits"] == 2
    key = c.cookies[dj_settings.SESSION_COOKIE_NAME].value
    assert stored(sd, key).data == {"visits": 2}
    c.get("/flush/")
    assert stored(sd, key) is None
    assert c.get("/peek/").json() == {"visits": None, "key": None}


def test_middleware_cycle(sd):
    c = Client()
    c.get("/visit/")
    old = c.cookies[dj_settings.SESSION_COOKIE_NAME].value
    new = c.get("/cycle/").json()["key"]
    assert new != old and stored(sd, old) is None
    assert c.cookies[dj_settings.SESSION_COOKIE_NAME].value == new
    assert c.get("/visit/").json()["visits"] == 2
    sd.delete(new)


def test_save_every_request_slides_ttl(settings, sd, redis):
    settings.SESSION_SAVE_EVERY_REQUEST = True
    c = Client()
    c.get("/visit/")
    key = c.cookies[dj_settings.SESSION_COOKIE_NAME].value
    redis("EXPIRE", f"sessiond:session:{key}", "50")
    c.get("/peek/")
    assert int(redis("TTL", f"sessiond:session:{key}")) > 1000
    sd.delete(key)


def test_no_save_every_request_leaves_ttl(sd, redis):
    c = Client()
    c.get("/visit/")
    key = c.cookies[dj_settings.SESSION_COOKIE_NAME].value
    redis("EXPIRE", f"sessiond:session:{key}", "50")
    c.get("/peek/")
    assert int(redis("TTL", f"sessiond:session:{key}")) <= 50
    sd.delete(key)


def test_middleware_session_deleted_during_request_is_interrupted():
    def view(request):
        request.session = SessionStore()
        request.session.save(must_create=True)
        request.session.delete()
        return HttpResponse()

    with pytest.raises(SessionInterrupted):
        SessionMiddleware(view)(RequestFactory().get("/"))


def test_middleware_does_not_save_on_5xx(sd):
    def view(request):
        request.session["hello"] = "world"
        return HttpResponse(status=503)

    request = RequestFactory().get("/")
    SessionMiddleware(view)(request)
    assert request.session.session_key is None


def test_logout_elsewhere_interrupts_a_concurrent_save(store, sd):
    user = "l" + secrets.token_hex(6)
    s = store()
    s["_auth_user_id"] = user
    s.save()
    request = RequestFactory().get("/")
    request.COOKIES[dj_settings.SESSION_COOKIE_NAME] = s.session_key

    def view(request):
        request.session["late"] = True  # loaded before the logout below
        sd.delete_user_sessions(user)
        return HttpResponse()

    with pytest.raises(SessionInterrupted):
        SessionMiddleware(view)(request)
    assert stored(sd, s.session_key) is None  # not brought back
