'use strict';

/**
 * Express apps driven over HTTP by a cookie-keeping client: one that uses
 * SessiondClient directly (examples/counter-app.js), and one on the Store
 * through express-session's request flow.
 */

const test = require('node:test');
const assert = require('node:assert/strict');

const express = require('./support/express');
const session = require('./support/express-session-lite');
const { Browser } = require('./support/http-client');
const { SessiondClient } = require('sessiond');
const SessiondStore = require('sessiond/express')(session);
const { createApp } = require('../examples/counter-app');
const { URL, redis, newId } = require('./support/env');

const client = new SessiondClient(URL);

function listen(app) {
  return new Promise((resolve) => {
    const server = app.listen(0, '127.0.0.1', () => resolve(server));
  });
}

let direct;
let viaStore;
test.before(async () => {
  direct = await listen(createApp(client, express));
  viaStore = await listen(storeApp());
});
test.after(async () => {
  for (const server of [direct, viaStore]) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  client.close();
});

const base = (server) => `http://127.0.0.1:${server.address().port}`;

test('the client directly: a counter across requests, in a cookie-named session', async () => {
  const b = new Browser(base(direct));
  try {
    assert.deepEqual((await b.get('/count')).json, { count: 1 });
    const id = b.jar.get('sid');
    assert.match(id, /^[a-z0-9]{32}$/);
    assert.deepEqual((await b.get('/count')).json, { count: 2 });
    assert.deepEqual((await b.get('/count')).json, { count: 3 });
    assert.equal(b.jar.get('sid'), id, 'same session throughout');
    assert.equal(redis('HGET', `sessiond:session:${id}`, 'data:count'), '3');
    const ttl = Number(redis('TTL', `sessiond:session:${id}`));
    assert.ok(ttl > 1790 && ttl <= 1800, `TTL ${ttl}`);
  } finally {
    b.close();
  }
});

test('the client directly: login cycles the id and keeps the data; logout destroys the session', async () => {
  const b = new Browser(base(direct));
  const user = 'ann-' + newId();
  try {
    await b.get('/count');
    await b.get('/count');
    const before = b.jar.get('sid');
    assert.deepEqual((await b.post('/login', { user })).json, { user });
    const after = b.jar.get('sid');
    assert.notEqual(after, before, 'a new id at login');
    assert.equal(await client.exists(before), false, 'the pre-login id is gone');
    assert.deepEqual((await b.get('/me')).json, { user, count: 2 });
    assert.deepEqual((await b.get('/count')).json, { count: 3 });
    assert.deepEqual(
      (await client.userSessions(user)).map((s) => s.id),
      [after],
    );

    const res = await b.post('/logout');
    assert.equal(res.status, 204);
    assert.equal(b.jar.has('sid'), false, 'the cookie is cleared');
    assert.equal(await client.exists(after), false, 'the session is destroyed');
    assert.equal(redis('EXISTS', `sessiond:session:${after}`), '0');

    // The old cookie replayed: not adopted, a fresh session instead.
    const replay = new Browser(base(direct));
    replay.jar.set('sid', after);
    assert.deepEqual((await replay.get('/count')).json, { count: 1 });
    assert.notEqual(replay.jar.get('sid'), after);
    assert.equal(await client.exists(after), false);
    await client.delete(replay.jar.get('sid'));
    replay.close();
  } finally {
    b.close();
  }
});

test('the client directly: a forged id is not adopted', async () => {
  for (const forged of [newId(), 'forged-but-well-formed-0001', '../../etc/passwd', 'x']) {
    const b = new Browser(base(direct));
    try {
      b.jar.set('sid', encodeURIComponent(forged));
      assert.deepEqual((await b.get('/count')).json, { count: 1 });
      const issued = b.jar.get('sid');
      assert.notEqual(issued, forged);
      assert.match(issued, /^[a-z0-9]{32}$/);
      if (/^[A-Za-z0-9_-]{8,128}$/.test(forged)) assert.equal(await client.exists(forged), false);
      await client.delete(issued);
    } finally {
      b.close();
    }
  }
});

test('the client directly: log out everywhere else', async () => {
  const user = 'bo-' + newId();
  const phone = new Browser(base(direct));
  const laptop = new Browser(base(direct));
  try {
    await phone.post('/login', { user });
    await laptop.post('/login', { user });
    assert.equal((await client.userSessions(user)).length, 2);
    assert.deepEqual((await laptop.post('/logout-everywhere')).json, { deleted: 1 });
    assert.deepEqual((await phone.get('/me')).json, { user: null, count: 0 }, 'the phone is logged out');
    assert.deepEqual((await laptop.get('/me')).json.user, user, 'the laptop is not');
    await client.deleteUserSessions(user);
  } finally {
    phone.close();
    laptop.close();
  }
});

/** Lets a test hold a request after express-session loaded its session, and let it go. */
const gates = new Map();
function gate(name) {
  const g = {};
  g.entered = new Promise((resolve) => (g.enter = resolve));
  g.released = new Promise((resolve) => (g.release = resolve));
  gates.set(name, g);
  return g;
}

/** The same counter on express-session's flow with SessiondStore. */
function storeApp() {
  const app = express();
  app.use(express.json());
  app.use(session({ store: new SessiondStore({ client }), cookie: { maxAge: 600000 } }));
  app.get('/views', (req, res) => {
    req.session.views = (req.session.views || 0) + 1;
    res.json({ views: req.session.views });
  });
  app.get('/peek', (req, res) => res.json({ views: req.session.views || 0 }));
  // A slow request: its session is loaded, then it waits (for the test), then changes the session.
  app.get('/slow', async (req, res) => {
    const g = gates.get(req.query.gate);
    g.enter();
    await g.released;
    req.session.views = (req.session.views || 0) + 100;
    req.session.slow = true;
    res.json({ views: req.session.views });
  });
  app.post('/login', (req, res, next) => {
    const views = req.session.views;
    req.session.regenerate((err) => {
      if (err) return next(err);
      req.session.views = views;
      req.session.userId = req.body.user;
      res.json({ ok: true });
    });
  });
  app.post('/logout', (req, res, next) => {
    req.session.destroy((err) => {
      if (err) return next(err);
      res.setHeader('Set-Cookie', 'connect.sid=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT');
      res.status(204).end();
    });
  });
  return app;
}

test('the Store under express-session: counter, touch on unchanged requests, regenerate, destroy', async () => {
  const b = new Browser(base(viaStore));
  try {
    assert.equal((await b.get('/peek')).json.views, 0);
    assert.equal(b.jar.has('connect.sid'), false, 'an unmodified new session is not saved');
    assert.equal((await b.get('/views')).json.views, 1);
    const sid = decodeURIComponent(b.jar.get('connect.sid'));
    assert.equal((await b.get('/views')).json.views, 2);
    assert.equal(redis('HGET', `sessiond:session:${sid}`, 'data:views'), '2');
    assert.ok(JSON.parse(redis('HGET', `sessiond:session:${sid}`, 'data:cookie')).originalMaxAge > 599000);

    // An unchanged request touches: the TTL slides back up to the cookie's 600 s.
    redis('EXPIRE', `sessiond:session:${sid}`, 100);
    assert.equal((await b.get('/peek')).json.views, 2);
    const ttl = Number(redis('TTL', `sessiond:session:${sid}`));
    assert.ok(ttl > 590 && ttl <= 600, `TTL ${ttl}`);

    await b.post('/login', { user: 'cy' });
    const next = decodeURIComponent(b.jar.get('connect.sid'));
    assert.notEqual(next, sid);
    assert.equal(await client.exists(sid), false);
    assert.equal((await client.get(next)).data.userId, 'cy');
    assert.equal((await b.get('/views')).json.views, 3);

    assert.equal((await b.post('/logout')).status, 204);
    assert.equal(await client.exists(next), false);

    const forger = new Browser(base(viaStore));
    forger.jar.set('connect.sid', next);
    assert.equal((await forger.get('/views')).json.views, 1, 'a destroyed id is not adopted');
    const issued = decodeURIComponent(forger.jar.get('connect.sid'));
    assert.notEqual(issued, next);
    assert.equal(await client.exists(next), false);
    await client.delete(issued);
    forger.close();
  } finally {
    b.close();
  }
});

test('a logout (or a login) while a slower request on the same cookie runs: the old session stays gone', async () => {
  for (const [i, end] of ['/logout', '/login'].entries()) {
    const b = new Browser(base(viaStore));
    try {
      assert.equal((await b.get('/views')).json.views, 1);
      const sid = decodeURIComponent(b.jar.get('connect.sid'));
      assert.equal(redis('EXISTS', `sessiond:session:${sid}`), '1');

      const g = gate(`race-${process.pid}-${i}`);
      const slow = b.get(`/slow?gate=race-${process.pid}-${i}`); // same cookie
      await g.entered; // express-session has loaded the session for the slow request
      const res = await b.post(end, { user: 'dee' }); // destroy / regenerate, in another request
      assert.ok(res.status === 204 || res.status === 200, `${end}: ${res.status}`);
      assert.equal(redis('EXISTS', `sessiond:session:${sid}`), '0', `${end} destroyed it`);
      const fresh = end === '/login' ? decodeURIComponent(b.jar.get('connect.sid')) : null;

      g.release(); // the slow request now saves its changed session
      const late = await slow;
      assert.equal(late.status, 200, 'the late save is not an error for the user');
      assert.equal(late.json.views, 101);
      assert.equal(redis('EXISTS', `sessiond:session:${sid}`), '0', 'the late save did not bring it back');
      assert.equal(await client.exists(sid), false);

      if (fresh) {
        // The session made at login is the only one, without the slow request's change.
        const s = await client.get(fresh);
        assert.equal(s.data.userId, 'dee');
        assert.equal(s.data.slow, undefined);
        await client.delete(fresh);
      }
      // The late response may set the dead id as the cookie again; it is not adopted.
      b.jar.set('connect.sid', encodeURIComponent(sid));
      assert.equal((await b.get('/views')).json.views, 1);
      const issued = decodeURIComponent(b.jar.get('connect.sid'));
      assert.notEqual(issued, sid);
      assert.equal(redis('EXISTS', `sessiond:session:${sid}`), '0');
      await client.delete(issued);
    } finally {
      b.close();
    }
  }
});
