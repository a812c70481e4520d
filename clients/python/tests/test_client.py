"""The sessiond client against a live daemon: every API row, errors, transport."""

from __future__ import annotations

import asyncio
import secrets
import socket
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest

from sessiond import (
    UNSET,
    AsyncSessiondClient,
    AuthenticationFailed,
    InvalidRequest,
    KeyNotFound,
    PreconditionFailed,
    RawJSON,
    SessiondClient,
    SessiondUnavailable,
    SessionNotFound,
)

from conftest import REDIS_PORT, URL, free_port


def new_id() -> str:
    return "t" + secrets.token_hex(16)


# ----------------------------------------------------------------------------- create / read


def test_create_returns_session_and_etag(client):
    s = client.create({"cart": [1, 2], "theme": "dark"}, ttl=3600, user="alice")
    try:
        assert len(s.id) == 32 and s.id.isalnum() and s.id == s.id.lower()
        assert s.data == {"cart": [1, 2], "theme": "dark"}
        assert s["ttl"] == 3600 and s["user"] == "alice"
        assert s.etag == '"1"' and s.version == 1 and s.created is True
        got = client.get(s.id)
        assert isinstance(got, dict) and got["id"] == s.id  # a plain dict underneath
        assert got.data == s.data and got.etag == '"1"'
    finally:
        client.delete(s.id)


def test_create_defaults(client):
    s = client.create()
    try:
        assert s.data == {} and s["ttl"] == 1209600 and s["user"] is None
    finally:
        client.delete(s.id)


def test_create_with_own_id_is_create_only(client):
    sid = new_id()
    s = client.create({"n": 1}, session_id=sid)
    try:
        assert s.id == sid and s.created
        with pytest.raises(PreconditionFailed):
            client.create({"n": 2}, session_id=sid)
        assert client.get(sid).data == {"n": 1}
    finally:
        client.delete(sid)


def test_get_missing_raises_session_not_found(client):
    with pytest.raises(SessionNotFound) as e:
        client.get(new_id())
    assert e.value.status == 404 and e.value.detail


def test_exists(client):
    s = client.create()
    assert client.exists(s.id) is True
    assert client.exists(s.id, touch=False) is True
    client.delete(s.id)
    assert client.exists(s.id) is False


def test_invalid_id_is_invalid_request(client):
    with pytest.raises(InvalidRequest) as e:
        client.get("short")
    assert e.value.status == 400
    with pytest.raises(InvalidRequest):
        client.get("has a space in it")


def test_touch_false_does_not_slide(client, redis):
    s = client.create(ttl=1000)
    key = f"sessiond:session:{s.id}"
    try:
        redis("EXPIRE", key, "50")
        client.get(s.id, touch=False)
        client.exists(s.id, touch=False)
        client.get_key(s.id, "x", default=None, touch=False)
        client.get_expiry(s.id, touch=False)
        assert int(redis("TTL", key)) <= 50
        client.get(s.id)  # a default read slides
        assert int(redis("TTL", key)) > 900
    finally:
        client.delete(s.id)


# ----------------------------------------------------------------------------- replace / patch


def test_replace_keeps_ttl_and_user_unless_given(client):
    s = client.create({"a": 1}, ttl=3600, user="bob")
    try:
        r = client.replace(s.id, {"b": 2})
        assert r.data == {"b": 2} and r["ttl"] == 3600 and r["user"] == "bob" and r.created is False
        r = client.replace(s.id, {"c": 3}, ttl=None, user=None)
        assert r["ttl"] == 1209600 and r["user"] is None
        r = client.replace(s.id, None, ttl=60, user="carol")
        assert r.data == {} and r["ttl"] == 60 and r["user"] == "carol"
        assert client.replace(s.id, RawJSON(b'{"raw": [1, 2]}')).data == {"raw": [1, 2]}
    finally:
        client.delete(s.id)


def test_replace_creates_when_absent(client):
    sid = new_id()
    r = client.replace(sid, {"n": 1})
    try:
        assert r.created is True and r.etag == '"1"'
    finally:
        client.delete(sid)


def test_replace_if_match_star_never_creates(client):
    sid = new_id()
    with pytest.raises(PreconditionFailed) as e:
        client.replace(sid, {"x": 1}, if_match="*")
    assert e.value.status == 412
    assert client.exists(sid) is False


def test_replace_if_match_etag(client):
    s = client.create({"v": 1})
    try:
        r = client.replace(s.id, {"v": 2}, if_match=s.etag)
        assert r.version == 2
        with pytest.raises(PreconditionFailed):
            client.replace(s.id, {"v": 3}, if_match=s.etag)  # stale
        assert client.replace(s.id, {"v": 3}, if_match=2).version == 3  # an int version works too
        assert client.replace(s.id, {"v": 4}, if_match=['"1"', '"3"']).version == 4  # any of a list
        with pytest.raises(PreconditionFailed):
            client.replace(s.id, {"v": 5}, if_none_match="*")
    finally:
        client.delete(s.id)


def test_patch_is_atomic_set_and_delete(client):
    s = client.create({"a": 1, "b": 2})
    try:
        p = client.patch(s.id, set={"c": 3, "a": 10}, delete=["b"])
        assert p.data == {"a": 10, "c": 3}
        with pytest.raises(PreconditionFailed):
            client.patch(s.id, set={"x": 1}, if_match=s.etag)
        with pytest.raises(InvalidRequest):
            client.patch(s.id, set={"a": 1}, delete=["a"])
    finally:
        client.delete(s.id)
    with pytest.raises(SessionNotFound):
        client.patch(s.id, set={"a": 1})


def test_delete_is_idempotent(client):
    s = client.create()
    client.delete(s.id)
    client.delete(s.id)
    assert not client.exists(s.id)


# ----------------------------------------------------------------------------- data keys


@pytest.mark.parametrize("key", ["csrf", "prefs/ui", "ünïcode ключ", "a?b#c&d=e%f", "_auth_user_id", "x" * 256])
def test_data_keys_round_trip(client, key):
    s = client.create()
    try:
        etag = client.set_key(s.id, key, {"font": 12, "big": 2**70})
        assert etag == '"2"'
        assert client.get_key(s.id, key) == {"font": 12, "big": 2**70}
        assert client.get(s.id).data == {key: {"font": 12, "big": 2**70}}
        assert client.delete_key(s.id, key) == '"3"'
        with pytest.raises(KeyNotFound):
            client.get_key(s.id, key)
    finally:
        client.delete(s.id)


def test_get_key_errors_and_default(client):
    s = client.create({"k": None})
    try:
        assert client.get_key(s.id, "k") is None
        assert client.get_key(s.id, "missing", default="dflt") == "dflt"
        with pytest.raises(KeyNotFound) as e:
            client.get_key(s.id, "missing")
        assert isinstance(e.value, SessionNotFound)
    finally:
        client.delete(s.id)
    with pytest.raises(SessionNotFound) as e:
        client.get_key(s.id, "k", default="dflt")  # a default never hides a missing session
    assert not isinstance(e.value, KeyNotFound)
    with pytest.raises(SessionNotFound):
        client.set_key(s.id, "k", 1)
    with pytest.raises(SessionNotFound):
        client.delete_key(s.id, "k")


def test_set_key_raw_json_and_if_match(client):
    s = client.create()
    try:
        client.set_key(s.id, "n", RawJSON("123456789012345678901234567890.50e10"))
        assert client.get(s.id).data["n"] == 123456789012345678901234567890.50e10
        with pytest.raises(PreconditionFailed):
            client.set_key(s.id, "n", 1, if_match='"1"')
        with pytest.raises(PreconditionFailed):
            client.delete_key(s.id, "n", if_match='"1"')
        with pytest.raises(ValueError):
            client.set_key(s.id, "nan", float("nan"))  # not JSON: refused before sending
    finally:
        client.delete(s.id)


def test_clear_keeps_session(client):
    s = client.create({"a": 1}, ttl=500, user="dora")
    try:
        assert client.clear(s.id) == '"2"'
        got = client.get(s.id)
        assert got.data == {} and got["ttl"] == 500 and got["user"] == "dora"
        with pytest.raises(PreconditionFailed):
            client.clear(s.id, if_match=1)
    finally:
        client.delete(s.id)
    with pytest.raises(SessionNotFound):
        client.clear(s.id)


# ----------------------------------------------------------------------------- expiry / cycle


def test_expiry(client, redis):
    s = client.create(ttl=100)
    key = f"sessiond:session:{s.id}"
    try:
        e = client.get_expiry(s.id)
        assert e["ttl"] == 100 and 98 <= e["expires_in"] <= 100
        assert client.set_expiry(s.id, 600)["ttl"] == 600
        assert 598 <= int(redis("TTL", key)) <= 600
        assert client.set_expiry(s.id, None)["ttl"] == 1209600
        # Microseconds are sent as milliseconds (RFC 3339 with 3 digits).
        at = datetime.now(timezone.utc) + timedelta(hours=1, microseconds=123456)
        e = client.set_expiry(s.id, expires_at=at)
        assert 3595 <= e["expires_in"] <= 3601
        assert 3595 <= int(redis("TTL", key)) <= 3601
        naive = datetime.utcnow().replace(microsecond=0) + timedelta(hours=2)  # naive = UTC
        assert 7195 <= client.set_expiry(s.id, expires_at=naive)["expires_in"] <= 7201
        with pytest.raises(InvalidRequest):
            client.set_expiry(s.id, expires_at=datetime.now(timezone.utc) - timedelta(hours=1))
        with pytest.raises(InvalidRequest):
            client.set_expiry(s.id, 0)
        with pytest.raises(TypeError):
            client.set_expiry(s.id)
    finally:
        client.delete(s.id)
    with pytest.raises(SessionNotFound):
        client.get_expiry(s.id)


def test_cycle(client):
    user = "cycler-" + secrets.token_hex(4)
    s = client.create({"a": 1}, ttl=700, user=user)
    c = client.cycle(s.id)
    try:
        assert c.id != s.id and c.data == {"a": 1} and c["ttl"] == 700 and c["user"] == user
        assert c["created_at"] == s["created_at"] and c.version > s.version
        assert not client.exists(s.id)
        assert [x.id for x in client.user_sessions(user)] == [c.id]
    finally:
        client.delete(c.id)
    with pytest.raises(SessionNotFound):
        client.cycle(s.id)


# ----------------------------------------------------------------------------- users / admin


def test_user_sessions_and_logout_elsewhere(client):
    user = "user@example.com/" + secrets.token_hex(4)  # needs percent-encoding in the path
    ids = [client.create({"i": i}, user=user).id for i in range(3)]
    other = client.create(user="someone-else-" + secrets.token_hex(4))
    try:
        listed = client.user_sessions(user)
        assert sorted(s.id for s in listed) == sorted(ids)
        assert all(s["user"] == user for s in listed)
        assert client.delete_user_sessions(user, except_id=ids[0]) == 2
        assert [s.id for s in client.user_sessions(user)] == [ids[0]]
        assert client.exists(other.id)
        assert client.delete_user_sessions(user) == 1
        assert client.user_sessions(user) == []
        assert client.delete_user_sessions(user) == 0
    finally:
        for i in ids + [other.id]:
            client.delete(i)


def test_delete_all_only_touches_its_prefix(client, daemons):
    url = daemons.start("--key-prefix", f"flushtest{secrets.token_hex(3)}:")
    keep = client.create({"keep": True})
    try:
        with SessiondClient(url) as other:
            for _ in range(3):
                other.create()
            with pytest.raises(ValueError):
                other.delete_all(confirm=False)
            assert other.delete_all(confirm=True) == 3
            assert other.delete_all(confirm="all") == 0
        assert client.exists(keep.id)
    finally:
        client.delete(keep.id)


def test_health(client):
    assert client.healthy() is True
    assert client.ready() is True


# ----------------------------------------------------------------------------- errors


def test_invalid_request_details(client):
    with pytest.raises(InvalidRequest) as e:
        client.create(ttl=0)
    assert "ttl" in e.value.detail and e.value.title == "Bad Request"
    with pytest.raises(InvalidRequest):
        client.create(user="")
    with pytest.raises(InvalidRequest):
        client.create({"": 1})


def test_body_too_large_is_invalid_request(client):
    with pytest.raises(InvalidRequest) as e:
        client.create({"blob": "x" * (1024 * 1024 + 10)})
    assert e.value.status == 413
    assert client.healthy()  # the pool recovers from the closed connection


def test_connection_refused_is_unavailable():
    with SessiondClient(f"http://127.0.0.1:{free_port()}", timeout=1, retries=0) as c:
        with pytest.raises(SessiondUnavailable) as e:
            c.get(new_id())
        assert e.value.status is None and e.value.retry_after is None
        assert c.healthy() is False


def test_client_timeout_is_unavailable():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)  # accepts connections, never answers
    try:
        with SessiondClient(f"http://127.0.0.1:{srv.getsockname()[1]}", timeout=0.3) as c:
            t0 = time.monotonic()
            with pytest.raises(SessiondUnavailable):
                c.create()  # a POST: never retried after it may have been sent
            assert time.monotonic() - t0 < 2
    finally:
        srv.close()


def test_redis_down_is_503_with_retry_after(daemons):
    url = daemons.start(redis=f"redis://127.0.0.1:{free_port()}/0")
    with SessiondClient(url) as c:
        with pytest.raises(SessiondUnavailable) as e:
            c.create({"x": 1})
        assert e.value.status == 503 and e.value.retry_after == 1
        assert c.healthy() is True and c.ready() is False


def test_redis_timeout_is_504(daemons, redis):
    url = daemons.start("--redis-timeout", "300ms")
    with SessiondClient(url) as c:
        s = c.create()
        redis("CLIENT", "PAUSE", "3000", "ALL")
        try:
            with pytest.raises(SessiondUnavailable) as e:
                c.get(s.id)
            assert e.value.status == 504 and e.value.retry_after == 1
        finally:
            redis("CLIENT", "UNPAUSE")
        # The daemon reconnects; retry until it answers again.
        deadline = time.monotonic() + 5
        while True:
            try:
                c.delete(s.id)
                break
            except SessiondUnavailable:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)


def test_unix_socket_and_token(daemons, tmp_path):
    token = secrets.token_hex(16)
    token_file = daemons.tmp / "token"
    token_file.write_text(token + "\n")
    sock = daemons.tmp / "s.sock"
    url = daemons.start("--auth-token-file", str(token_file), listen=f"unix:{sock}")
    assert url == f"unix://{sock}"
    for form in (f"unix://{sock}", f"unix:{sock}"):
        with SessiondClient(form, token=token) as c:
            s = c.create({"via": "unix"}, user="u")
            assert c.get(s.id).data == {"via": "unix"}
            c.delete(s.id)
    with SessiondClient(url) as anonymous:
        with pytest.raises(AuthenticationFailed) as e:
            anonymous.create()
        assert e.value.status == 401
        assert anonymous.healthy() is True  # probes stay open
    with SessiondClient(url, token="wrong") as wrong:
        with pytest.raises(AuthenticationFailed):
            wrong.get(new_id())


def test_bad_urls():
    with pytest.raises(ValueError):
        SessiondClient("ftp://x")
    with pytest.raises(ValueError):
        SessiondClient("unix://")


# ----------------------------------------------------------------------------- transport


def test_connections_are_reused(client):
    s = client.create()
    for _ in range(30):
        client.get(s.id, touch=False)
    client.delete(s.id)
    pool = client._pool
    assert pool.num_connections == 1
    assert pool.num_requests >= 32


def test_threads_share_one_client_without_losing_writes(client):
    s = client.create()
    errors = []

    def writer(n):
        try:
            for i in range(10):
                client.set_key(s.id, f"t{n}-{i}", i)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert not errors
        assert len(client.get(s.id).data) == 80
    finally:
        client.delete(s.id)


def test_async_client():
    async def main():
        async with AsyncSessiondClient(URL) as c:
            s = await c.create({"a": 1}, user="async-user")
            got = await asyncio.gather(*(c.get(s.id, touch=False) for _ in range(10)))
            assert all(g.data == {"a": 1} for g in got)
            await c.set_key(s.id, "b", 2)
            assert (await c.patch(s.id, delete=["a"])).data == {"b": 2}
            assert await c.exists(s.id)
            await c.delete(s.id)
            assert not await c.exists(s.id)
            with pytest.raises(SessionNotFound):
                await c.get(s.id)
            with pytest.raises(AttributeError):
                c.no_such_method

    asyncio.run(main())


def test_unset_keeps_members_out_of_the_body():
    assert SessiondClient._session_body(UNSET, UNSET, UNSET) == b"{}"
    assert SessiondClient._session_body({"a": 1}, None, None) == b'{"data":{"a":1},"ttl":null,"user":null}'
    assert SessiondClient._session_body(RawJSON('{"b":2}'), 5, "u") == b'{"data":{"b":2},"ttl":5,"user":"u"}'
