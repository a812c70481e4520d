"""Devices, last_seen_at and the per-user cap (contract §3, §6) through the client, against a live daemon."""

from __future__ import annotations

import asyncio
import json
import secrets

import pytest

from sessiond import AsyncSessiondClient, InvalidRequest, SessiondClient

from conftest import URL


def new_user() -> str:
    return "dev-" + secrets.token_hex(6)


def test_create_stores_the_device_as_given(client, redis):
    user = new_user()
    device = {"user_agent": "Mozilla/5.0 (X11) ünï", "ip": "203.0.113.7", "extra": [1, {"a": None}]}
    s = client.create({"k": 1}, user=user, device=device)
    assert s.device == device and s["device"] == device
    assert isinstance(s.last_seen_at, str) and s.last_seen_at.endswith("Z")
    assert s.evicted == 0
    assert json.loads(redis("HGET", f"sessiond:session:{s.id}", "meta:device")) == device
    assert client.get(s.id, touch=False).device == device
    client.delete(s.id)


def test_no_device_and_no_user_means_nulls(client):
    s = client.create({"k": 1})
    assert s.device is None and s.last_seen_at is None
    assert "device" in s and "last_seen_at" in s  # the daemon sends both members
    client.delete(s.id)


def test_device_without_user_gets_last_seen(client):
    s = client.create(device={"ip": "198.51.100.1"})
    assert s.device == {"ip": "198.51.100.1"} and s.last_seen_at is not None
    client.delete(s.id)


def test_replace_keeps_device_when_left_out_and_clears_it_with_none(client, redis):
    s = client.create(user=new_user(), device={"ip": "1.1.1.1"})
    kept = client.replace(s.id, {"a": 1})
    assert kept.device == {"ip": "1.1.1.1"}
    changed = client.replace(s.id, {"a": 2}, device={"ip": "2.2.2.2"}, if_match="*")
    assert changed.device == {"ip": "2.2.2.2"}
    cleared = client.replace(s.id, {"a": 3}, device=None)
    assert cleared.device is None
    assert redis("HEXISTS", f"sessiond:session:{s.id}", "meta:device") == "0"
    client.delete(s.id)


def test_patch_and_cycle_keep_the_device(client):
    s = client.create(user=new_user(), device={"ip": "3.3.3.3"})
    assert client.patch(s.id, {"x": 1}).device == {"ip": "3.3.3.3"}
    cycled = client.cycle(s.id)
    assert cycled.device == {"ip": "3.3.3.3"} and cycled.evicted == 0
    client.delete(cycled.id)


def test_device_must_be_an_object(client):
    with pytest.raises(TypeError):
        client.create(device=["not", "an", "object"])
    with pytest.raises(InvalidRequest):
        client.create(device={"pad": "x" * 3000})  # over 2 KiB


def test_user_sessions_carry_device_and_last_seen_most_recent_first(client):
    user = new_user()
    first = client.create(user=user, device={"ip": "10.0.0.1"})
    second = client.create(user=user, device={"ip": "10.0.0.2"})
    client.get(first.id)  # a sliding read: first is now the most recently seen
    listed = client.user_sessions(user)
    assert [s.id for s in listed] == [first.id, second.id]
    assert [s.device for s in listed] == [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}]
    assert all(s.last_seen_at for s in listed)
    assert listed[0].last_seen_at >= listed[1].last_seen_at  # RFC 3339 UTC strings sort by time
    client.delete_user_sessions(user)


def test_evicted_count_from_the_cap(daemons):
    url = daemons.start("--max-sessions-per-user", "2")
    user = new_user()
    with SessiondClient(url, timeout=5.0) as c:
        a = c.create(user=user)
        b = c.create(user=user)
        assert b.evicted == 0
        third = c.create(user=user)
        assert third.evicted == 1
        assert not c.exists(a.id, touch=False)  # the least recently seen went
        other = c.create()
        claimed = c.replace(other.id, {}, user=user)  # replace gives it the user: one more over the cap
        assert claimed.evicted == 1
        cycled = c.cycle(claimed.id)
        assert cycled.evicted == 0
        assert len(c.user_sessions(user)) == 2
        c.delete_user_sessions(user)


def test_async_client_shares_device_and_evicted():
    async def main():
        async with AsyncSessiondClient(URL, timeout=5.0) as c:
            s = await c.create(user=new_user(), device={"ip": "4.4.4.4"})
            assert s.device == {"ip": "4.4.4.4"} and s.evicted == 0 and s.last_seen_at
            r = await c.replace(s.id, {}, device={"ip": "5.5.5.5"})
            assert r.device == {"ip": "5.5.5.5"}
            listed = await c.user_sessions(s["user"])
            assert [x.device for x in listed] == [{"ip": "5.5.5.5"}]
            await c.delete(s.id)

    asyncio.run(main())
