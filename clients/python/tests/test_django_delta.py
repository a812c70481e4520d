"""sessiond.django's delta saves: a save sends only what this request changed.

The concurrency tests use real threads and a threading.Barrier between load
and save, so both requests have loaded before either saves: with whole-dict
saves one of the two changes would be lost.
"""

from __future__ import annotations

import secrets
import threading
from unittest import mock

import pytest
from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.middleware import SessionMiddleware
from django.conf import settings as dj_settings
from django.http import HttpResponse
from django.test import RequestFactory

from sessiond import SessiondClient, SessionNotFound
from sessiond.django import SessionStore, get_client


@pytest.fixture
def sd():
    return get_client()


@pytest.fixture
def session(sd):
    s = SessionStore()
    s.update({"cart": [1], "theme": "dark", "n": 0})
    s.save()
    yield s.session_key
    sd.delete(s.session_key)


def run_concurrently(*jobs):
    """Run the jobs in threads; each gets the shared barrier. Re-raises the first error."""
    barrier = threading.Barrier(len(jobs), timeout=10)
    errors = []

    def run(job):
        try:
            job(barrier)
        except BaseException as e:  # reported below
            errors.append(e)
            barrier.abort()

    threads = [threading.Thread(target=run, args=(j,)) for j in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert not any(t.is_alive() for t in threads)
    if errors:
        raise errors[0]


def test_concurrent_saves_of_different_keys_both_survive(session, sd):
    def change(key, value):
        def job(barrier):
            s = SessionStore(session)
            assert s["theme"] == "dark"  # loaded
            barrier.wait()  # the other request has loaded too
            s[key] = value
            s.save()
        return job

    run_concurrently(change("theme", "light"), change("cart", [1, 2]), change("new", True))
    assert sd.get(session, touch=False).data == {"cart": [1, 2], "theme": "light", "n": 0, "new": True}


def test_concurrent_delete_and_set_both_survive(session, sd):
    def drop(barrier):
        s = SessionStore(session)
        _ = s["n"]  # loaded (load() alone does not keep the data)
        barrier.wait()
        del s["cart"]
        s.save()

    def add(barrier):
        s = SessionStore(session)
        _ = s["n"]  # loaded (load() alone does not keep the data)
        barrier.wait()
        s["seen"] = 1
        s.save()

    run_concurrently(drop, add)
    assert sd.get(session, touch=False).data == {"theme": "dark", "n": 0, "seen": 1}


def test_concurrent_requests_through_the_middleware(session, sd):
    """Two requests of one browser, as Django runs them: middleware, view, save."""
    barrier = threading.Barrier(2, timeout=10)

    def view_setting(key):
        def view(request):
            _ = request.session["n"]  # loaded
            barrier.wait()
            request.session[key] = key
            return HttpResponse()
        return view

    def run(key):
        def job(_):
            request = RequestFactory().get("/")
            request.COOKIES[dj_settings.SESSION_COOKIE_NAME] = session
            SessionMiddleware(view_setting(key))(request)
        return job

    run_concurrently(run("a"), run("b"))
    data = sd.get(session, touch=False).data
    assert data["a"] == "a" and data["b"] == "b"


def test_save_sends_only_the_changed_keys(session, sd):
    s = SessionStore(session)
    s["theme"] = "light"
    del s["n"]
    with mock.patch.object(SessiondClient, "_call", autospec=True, side_effect=SessiondClient._call) as call:
        s.save()
    (method, path), kw = call.call_args_list[0][0][1:], call.call_args_list[0][1]
    assert method == "PATCH" and path == f"/v1/sessions/{session}"
    assert kw["body"] == b'{"set":{"theme":"light"},"delete":["n"]}'
    assert len(call.call_args_list) == 1  # the ttl did not change: no expiry request


def test_in_place_mutation_is_saved(session, sd):
    s = SessionStore(session)
    s["cart"].append(2)  # Django needs modified=True for this; the delta sees it anyway
    s.modified = True
    s.save()
    assert sd.get(session, touch=False).data["cart"] == [1, 2]
    s["cart"].append(3)
    s.save()  # compared with what this store last saved, not with the first load
    assert sd.get(session, touch=False).data["cart"] == [1, 2, 3]


def test_strict_types_are_changes(session, sd):
    s = SessionStore(session)
    s["n"] = False  # 0 == False in Python, not in JSON
    s.save()
    assert sd.get(session, touch=False).data["n"] is False


def test_second_save_does_not_delete_keys_written_elsewhere(session, sd):
    s = SessionStore(session)
    s["mine"] = 1
    s.save()
    sd.set_key(session, "theirs", 2)  # another request, after our first save
    s["mine"] = 2
    s.save()
    assert sd.get(session, touch=False).data["theirs"] == 2


def test_expiry_change_is_sent(session, sd):
    s = SessionStore(session)
    s.set_expiry(600)
    s.save()
    got = sd.get(session, touch=False)
    assert got["ttl"] == 600 and got.data["_session_expiry"] == 600


def test_owner_change_keeps_a_concurrent_change(session, sd):
    user = "d" + secrets.token_hex(6)

    def login(barrier):
        s = SessionStore(session)
        _ = s["n"]  # loaded (load() alone does not keep the data)
        barrier.wait()
        barrier.wait()  # the other request has saved
        s["_auth_user_id"] = user
        s.save()

    def other(barrier):
        s = SessionStore(session)
        _ = s["n"]  # loaded (load() alone does not keep the data)
        barrier.wait()
        s["theme"] = "light"
        s.save()
        barrier.wait()

    run_concurrently(login, other)
    got = sd.get(session, touch=False)
    assert got["user"] == user
    assert got.data["theme"] == "light" and got.data["_auth_user_id"] == user
    assert [x.id for x in sd.user_sessions(user)] == [session]


def test_save_after_delete_elsewhere_is_update_error_and_not_recreated(session, sd):
    s = SessionStore(session)
    _ = s["n"]  # loaded (load() alone does not keep the data)
    sd.delete(session)
    s["late"] = 1
    with pytest.raises(UpdateError):
        s.save()
    with pytest.raises(SessionNotFound):
        sd.get(session, touch=False)


def test_owner_change_after_delete_elsewhere_is_update_error(session, sd):
    s = SessionStore(session)
    _ = s["n"]  # loaded (load() alone does not keep the data)
    sd.delete(session)
    s["_auth_user_id"] = "x" + secrets.token_hex(4)
    with pytest.raises(UpdateError):
        s.save()
    with pytest.raises(SessionNotFound):
        sd.get(session, touch=False)


def test_cycle_key_keeps_a_key_another_request_added(session, sd):
    s = SessionStore(session)
    _ = s["n"]  # loaded
    sd.set_key(session, "theirs", 1)  # another request, meanwhile
    s["_auth_user_id"] = "c" + secrets.token_hex(4)
    s.cycle_key()  # login: a new id, then the unsaved change is written
    try:
        assert sd.get(s.session_key, touch=False).data["theirs"] == 1
    finally:
        sd.delete(s.session_key)


def test_non_string_keys_are_saved_as_json_names_them(session, sd):
    s = SessionStore(session)
    s[3] = "three"
    s.save()
    s[3] = "drei"
    s.save()  # 3 and "3" are one key in sessiond: a set, not a set and a delete
    assert sd.get(session, touch=False).data["3"] == "drei"


def test_session_answers_are_parsed_in_any_layout():
    from sessiond._delta import _parse_session, data_of, same

    fast = b'{"id":"abcdefgh12","data":{"a":[1,{"b":"}"}]},"ttl":60,"expires_in":5,"user":"b\\"ob","device":null}'
    assert data_of(fast) == {"a": [1, {"b": "}"}]}
    assert _parse_session(fast) == ({"a": [1, {"b": "}"}]}, 60, 'b"ob')
    other = b'{"data": {"x": 1}, "user": null, "id": "abcdefgh12", "ttl": 9}'  # another order, spaces
    assert data_of(other) == {"x": 1} and _parse_session(other) == ({"x": 1}, 9, None)
    assert same({"a": [1, 2]}, {"a": [1, 2]}) and not same(1, True) and not same(1, 1.0)
    assert not same([1, 2], (1, 2)) and not same({"a": 1}, {"a": 1, "b": 2})
