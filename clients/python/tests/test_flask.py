"""sessiond.flask through Flask's test client, against the live daemon."""

from __future__ import annotations

import secrets
import threading
from datetime import timedelta

import pytest

flask = pytest.importorskip("flask")

from sessiond import SessiondClient, SessionNotFound  # noqa: E402
from sessiond.flask import SessiondSessionInterface, regenerate  # noqa: E402

from conftest import URL, redis_cli  # noqa: E402

COOKIE = "session"


@pytest.fixture
def sd():
    with SessiondClient(URL, timeout=5.0) as c:
        yield c


@pytest.fixture
def app(sd):
    app = flask.Flask(__name__)
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=2)
    app.session_interface = SessiondSessionInterface(URL)
    app.barrier = None

    @app.get("/visit")
    def visit():
        flask.session["visits"] = flask.session.get("visits", 0) + 1
        return {"visits": flask.session["visits"]}

    @app.get("/peek")
    def peek():
        return {"visits": flask.session.get("visits")}

    @app.get("/noop")
    def noop():
        return "ok"

    @app.post("/login/<user>")
    def login(user):
        flask.session["_user_id"] = user
        flask.session.permanent = True
        regenerate(flask.session)
        return "ok"

    @app.post("/logout")
    def logout():
        flask.session.clear()
        return "ok"

    @app.post("/set/<key>")
    def set_key(key):
        flask.session.get("visits")  # loaded before the barrier
        if app.barrier is not None:
            app.barrier.wait()
        flask.session[key] = flask.request.args.get("v", key)
        return "ok"

    @app.post("/drop/<key>")
    def drop_key(key):
        flask.session.get("visits")
        if app.barrier is not None:
            app.barrier.wait()
        flask.session.pop(key, None)
        return "ok"

    yield app
    app.session_interface.client.close()


def sid_of(client):
    cookie = client.get_cookie(COOKIE)
    return cookie.value if cookie else None


def stored(sd, sid):
    try:
        return sd.get(sid, touch=False)
    except SessionNotFound:
        return None


def test_new_session_is_created_on_first_write(app, sd):
    c = app.test_client()
    assert c.get("/noop").status_code == 200
    assert sid_of(c) is None  # nothing written, no cookie
    assert c.get("/visit").json == {"visits": 1}
    sid = sid_of(c)
    assert len(sid) == 32 and sid.isalnum()
    got = stored(sd, sid)
    assert got.data == {"visits": 1} and got["ttl"] == 7200
    assert redis_cli("HGET", f"sessiond:session:{sid}", "data:visits") == "1"
    assert c.get("/visit").json == {"visits": 2}
    assert sid_of(c) == sid
    assert c.get("/peek").json == {"visits": 2}
    sd.delete(sid)


def test_unknown_cookie_is_not_adopted(app, sd):
    c = app.test_client()
    forged = "f" * 32
    c.set_cookie(COOKIE, forged)
    assert c.get("/visit").json == {"visits": 1}
    assert sid_of(c) != forged and stored(sd, forged) is None
    sd.delete(sid_of(c))


def test_browser_session_cookie_unless_permanent(app, sd):
    c = app.test_client()
    r = c.get("/visit")
    assert "Expires" not in r.headers["Set-Cookie"]  # a browser-session cookie
    assert "HttpOnly" in r.headers["Set-Cookie"]
    r = c.post("/login/ann")
    assert "Expires" in r.headers["Set-Cookie"]
    sd.delete(sid_of(c))


def test_regenerate_gives_a_new_id_and_keeps_the_data(app, sd):
    c = app.test_client()
    c.get("/visit")
    old = sid_of(c)
    user = "u" + secrets.token_hex(5)
    c.post(f"/login/{user}")
    new = sid_of(c)
    assert new != old and stored(sd, old) is None
    got = stored(sd, new)
    assert got.data["visits"] == 1 and got.data["_user_id"] == user
    assert got["user"] == user  # the owner: sessiond lists the user's sessions
    assert [s.id for s in sd.user_sessions(user)] == [new]
    assert c.get("/peek").json == {"visits": 1}
    sd.delete(new)


def test_clear_deletes_the_session_and_the_cookie(app, sd):
    c = app.test_client()
    c.get("/visit")
    sid = sid_of(c)
    c.post("/logout")
    assert stored(sd, sid) is None
    assert sid_of(c) is None


def test_a_session_deleted_elsewhere_is_not_brought_back(app, sd):
    loaded, logged_out = threading.Event(), threading.Event()

    @app.post("/late")
    def late():
        flask.session.get("visits")
        loaded.set()
        assert logged_out.wait(10)
        flask.session["late"] = True
        return "ok"

    c = app.test_client()
    c.get("/visit")
    sid = sid_of(c)
    done = []
    t = threading.Thread(target=lambda: done.append(c.post("/late").status_code))
    t.start()
    assert loaded.wait(10)  # the request has read its session: now log it out
    sd.delete(sid)
    logged_out.set()
    t.join(10)
    assert done == [200]
    assert stored(sd, sid) is None
    assert sid_of(c) is None


def test_nothing_changed_writes_nothing(app, sd, redis):
    app.config["SESSION_REFRESH_EACH_REQUEST"] = True
    c = app.test_client()
    c.get("/visit")  # not permanent: no refresh either
    sid = sid_of(c)
    redis("EXPIRE", f"sessiond:session:{sid}", "50")
    c.get("/peek")
    assert int(redis("TTL", f"sessiond:session:{sid}")) <= 50
    sd.delete(sid)


def test_permanent_sessions_slide_on_every_request(app, sd, redis):
    c = app.test_client()
    c.post("/login/slider")
    sid = sid_of(c)
    redis("EXPIRE", f"sessiond:session:{sid}", "50")
    c.get("/peek")
    assert int(redis("TTL", f"sessiond:session:{sid}")) > 7000
    app.config["SESSION_REFRESH_EACH_REQUEST"] = False
    redis("EXPIRE", f"sessiond:session:{sid}", "50")
    c.get("/peek")
    assert int(redis("TTL", f"sessiond:session:{sid}")) <= 50
    sd.delete(sid)


def test_lifetime_change_reaches_the_stored_ttl(app, sd):
    c = app.test_client()
    c.get("/visit")
    sid = sid_of(c)
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(minutes=5)
    c.get("/visit")
    assert stored(sd, sid)["ttl"] == 300
    sd.delete(sid)


def concurrently(app, sid, *paths):
    """POST each path from its own test client (one browser, several tabs),
    all views waiting at one barrier after loading the session."""
    app.barrier = threading.Barrier(len(paths), timeout=10)
    statuses, errors = [], []

    def run(path):
        try:
            c = app.test_client()
            c.set_cookie(COOKIE, sid)
            statuses.append(c.post(path).status_code)
        except BaseException as e:  # reported below
            errors.append(e)
            app.barrier.abort()

    threads = [threading.Thread(target=run, args=(p,)) for p in paths]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    app.barrier = None
    assert not errors and statuses == [200] * len(paths)


def test_two_concurrent_requests_both_keep_their_change(app, sd):
    c = app.test_client()
    c.get("/visit")
    sid = sid_of(c)
    concurrently(app, sid, "/set/a?v=1", "/set/b?v=2")
    assert stored(sd, sid).data == {"visits": 1, "a": "1", "b": "2"}
    concurrently(app, sid, "/drop/a", "/set/c?v=3")
    assert stored(sd, sid).data == {"visits": 1, "b": "2", "c": "3"}
    sd.delete(sid)


def test_token_and_unix_socket(daemons):
    token = secrets.token_hex(8)
    (daemons.tmp / "token").write_text(token)
    sock = daemons.tmp / "f.sock"
    daemons.start("--auth-token-file", str(daemons.tmp / "token"), listen=f"unix:{sock}")
    app = flask.Flask(__name__)
    app.session_interface = SessiondSessionInterface(f"unix://{sock}", token=token)

    @app.get("/")
    def index():
        flask.session["n"] = flask.session.get("n", 0) + 1
        return {"n": flask.session["n"]}

    c = app.test_client()
    assert c.get("/").json == {"n": 1}
    assert c.get("/").json == {"n": 2}
    with SessiondClient(f"unix://{sock}", token=token) as direct:
        assert direct.get(sid_of(c), touch=False).data == {"n": 2}
