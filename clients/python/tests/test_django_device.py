"""sessiond.django's opt-in device recording (SESSIOND_RECORD_DEVICE + DeviceMiddleware), through
Django's test client against a live daemon; Redis is checked with redis-cli."""

from __future__ import annotations

import json
from unittest import mock

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client, override_settings

from sessiond.django import device_of, get_client

WITH_DEVICES = dict(
    SESSIOND_RECORD_DEVICE=True,
    MIDDLEWARE=[
        "django.contrib.sessions.middleware.SessionMiddleware",
        "sessiond.django.DeviceMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
    ],
)
UA = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) sessiond-tests"


@pytest.fixture
def user(db):
    u = get_user_model().objects.create_user("devuser", password="x")
    yield u
    get_client().delete_user_sessions(str(u.pk))


def key(c: Client) -> str:
    return c.cookies[settings.SESSION_COOKIE_NAME].value


def stored_device(redis, session_key: str):
    text = redis("HGET", f"sessiond:session:{session_key}", "meta:device")
    return json.loads(text) if text else None


def test_login_records_the_device(user, redis):
    with override_settings(**WITH_DEVICES):
        c = Client(HTTP_USER_AGENT=UA, REMOTE_ADDR="203.0.113.9")
        c.get("/visit/")  # an anonymous session first: created with its device
        anonymous = key(c)
        assert stored_device(redis, anonymous) == {"user_agent": UA, "ip": "203.0.113.9"}
        c.get(f"/login/{user.username}/")
    session = get_client().get(key(c), touch=False)
    assert key(c) != anonymous
    assert session["user"] == str(user.pk)
    assert session.device == {"user_agent": UA, "ip": "203.0.113.9"}
    assert stored_device(redis, key(c)) == session.device
    listed = get_client().user_sessions(str(user.pk))
    assert [(s.id, s.device) for s in listed] == [(key(c), session.device)]
    assert listed[0].last_seen_at


def test_login_from_a_new_browser_records_the_device(user):
    with override_settings(**WITH_DEVICES):
        c = Client(HTTP_USER_AGENT="phone", REMOTE_ADDR="198.51.100.2")
        c.get(f"/login/{user.username}/")  # no session before: created at login
    assert get_client().get(key(c), touch=False).device == {"user_agent": "phone", "ip": "198.51.100.2"}


def test_the_device_survives_ordinary_saves_without_extra_requests(user, redis):
    with override_settings(**WITH_DEVICES):
        c = Client(HTTP_USER_AGENT=UA, REMOTE_ADDR="203.0.113.9")
        c.get(f"/login/{user.username}/")
        sd = get_client()
        calls = []
        real = type(sd)._call

        def spy(self, method, path, **kw):
            calls.append((method, path.split("?")[0].rsplit("/", 1)[-1]))
            return real(self, method, path, **kw)

        with mock.patch.object(type(sd), "_call", spy):
            for _ in range(3):
                c.get("/visit/", HTTP_USER_AGENT="another agent", REMOTE_ADDR="10.9.9.9")
        # Each visit: one read, one PATCH; the device is not re-sent.
        assert [m for m, _ in calls] == ["GET", "PATCH"] * 3
    session = get_client().get(key(c), touch=False)
    assert session.data["visits"] == 3
    assert session.device == {"user_agent": UA, "ip": "203.0.113.9"}
    assert stored_device(redis, key(c)) == session.device


def test_logout_starts_a_new_session_with_the_device(user):
    with override_settings(**WITH_DEVICES):
        c = Client(HTTP_USER_AGENT=UA, REMOTE_ADDR="203.0.113.9")
        c.get(f"/login/{user.username}/")
        logged_in = key(c)
        c.get("/logout/")
    assert not get_client().exists(logged_in)
    after = get_client().get(key(c), touch=False)
    assert after["user"] is None and after.device == {"user_agent": UA, "ip": "203.0.113.9"}
    get_client().delete(key(c))


def test_without_the_setting_nothing_is_sent(user, redis):
    middleware = dict(WITH_DEVICES)
    del middleware["SESSIOND_RECORD_DEVICE"]
    with override_settings(**middleware):
        c = Client(HTTP_USER_AGENT=UA, REMOTE_ADDR="203.0.113.9")
        c.get("/visit/")
        c.get(f"/login/{user.username}/")
    assert get_client().get(key(c), touch=False).device is None
    assert redis("HEXISTS", f"sessiond:session:{key(c)}", "meta:device") == "0"


def test_the_user_agent_is_truncated():
    class Req:
        META = {"HTTP_USER_AGENT": "\x01" * 5000, "REMOTE_ADDR": "::1"}

    device = device_of(Req())
    assert len(json.dumps(device)) <= 1024 and device["ip"] == "::1"
    assert device_of(type("R", (), {"META": {}})()) == {"user_agent": "", "ip": None}
