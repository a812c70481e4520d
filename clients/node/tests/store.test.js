'use strict';

/**
 * The express-session Store, called the way express-session calls it:
 * callbacks with (err, value), the session object with its Cookie (maxAge in
 * ms is the ttl), get of a missing session → callback(null, null).
 */

const test = require('node:test');
const assert = require('node:assert/strict');
const { promisify } = require('node:util');

const session = require('./support/express-session-lite');
const { SessiondClient, UnavailableError, NotSupportedError, PreconditionFailedError } = require('sessiond');
const sessiondExpress = require('sessiond/express');
const { URL, TOKEN_URL, TOKEN, SOCKET, redis, newId, freePort, startDaemon } = require('./support/env');

const SessiondStore = sessiondExpress(session);
const client = new SessiondClient(URL);
const store = new SessiondStore({ client });
test.after(() => client.close());

const key = (id) => `sessiond:session:${id}`;

/** A session object as express-session hands it to a store: a Session with a Cookie. */
function expressSession(sid, data, cookieOptions = { maxAge: 60000 }) {
  const req = { sessionID: sid, sessionStore: store };
  const sess = new session.Session(req, data);
  sess.cookie = new session.Cookie(cookieOptions);
  return sess;
}

/** A session as express-session inflates it from the store (Store#load: get, then createSession). */
function loaded(s, sid) {
  return promisify(s.load).call(s, sid);
}

/** Calls store[method](...args, cb) and resolves with [err, value], as express-session would see them. */
function call(s, method, ...args) {
  return new Promise((resolve) => {
    s[method](...args, (err, value) => resolve([err, value]));
  });
}

test('the factory returns a class that extends session.Store', () => {
  assert.equal(typeof SessiondStore, 'function');
  assert.ok(store instanceof session.Store);
  assert.ok(store instanceof require('node:events'));
  assert.equal(typeof store.load, 'function', 'inherits Store.prototype.load');
  assert.throws(() => sessiondExpress(), TypeError);
  assert.throws(() => sessiondExpress({}), TypeError);
});

test('get of a missing, malformed or empty id → callback(null, null)', async () => {
  for (const sid of [newId(), 'short', 'has.dots.in.it.x', '', 'x'.repeat(200)]) {
    const [err, value] = await call(store, 'get', sid);
    assert.equal(err, null, sid);
    assert.equal(value, null, sid);
  }
});

test('set then get: one data key per top-level session key, cookie included', async () => {
  const sid = newId();
  const sess = expressSession(sid, { views: 3, user: { id: 7, name: 'Ann' } });
  const [err] = await call(store, 'set', sid, sess);
  assert.equal(err, null);

  assert.equal(redis('HGET', key(sid), 'data:views'), '3');
  assert.equal(redis('HGET', key(sid), 'data:user'), '{"id":7,"name":"Ann"}');
  const cookie = JSON.parse(redis('HGET', key(sid), 'data:cookie'));
  // express-session's Cookie measures originalMaxAge against the clock: 59999 when a millisecond passed.
  assert.ok(cookie.originalMaxAge > 59900 && cookie.originalMaxAge <= 60000, `${cookie.originalMaxAge}`);
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.path, '/');
  assert.ok(Math.abs(Date.parse(cookie.expires) - (Date.now() + 60000)) < 5000);
  const ttl = Number(redis('TTL', key(sid)));
  assert.ok(ttl > 55 && ttl <= 60, `TTL ${ttl}`);

  const [gerr, got] = await call(store, 'get', sid);
  assert.equal(gerr, null);
  assert.deepEqual(got, JSON.parse(JSON.stringify(sess)));
  // Other languages see the same keys.
  assert.deepEqual(Object.keys((await client.get(sid)).data).sort(), ['cookie', 'user', 'views']);
  await promisify(store.destroy).call(store, sid);
});

test('load() gives express-session a Session with a live Cookie', async () => {
  const sid = newId();
  await promisify(store.set).call(store, sid, expressSession(sid, { n: 1 }, { maxAge: 90000 }));
  const [err, sess] = await call(store, 'load', sid);
  assert.equal(err, null);
  assert.ok(sess instanceof session.Session);
  assert.equal(sess.n, 1);
  assert.ok(sess.cookie.expires instanceof Date);
  assert.ok(sess.cookie.maxAge > 85000 && sess.cookie.maxAge <= 90000);
  assert.ok(sess.cookie.originalMaxAge > 89900 && sess.cookie.originalMaxAge <= 90000);
  await promisify(store.destroy).call(store, sid);
});

test('cookie.maxAge becomes the ttl in seconds, rounded up', async () => {
  const sid = newId();
  const sess = expressSession(sid, { a: 1 }, { maxAge: 1500 });
  await promisify(store.set).call(store, sid, sess);
  const e = await client.getExpiry(sid);
  assert.equal(e.ttl, 2);
  await promisify(store.destroy).call(store, sid);
});

test('a browser-session cookie (no maxAge) gets the store ttl, else the daemon default', async () => {
  const sid = newId();
  await promisify(store.set).call(store, sid, expressSession(sid, { a: 1 }, {}));
  assert.equal((await client.getExpiry(sid)).ttl, 1209600);
  const withTtl = new SessiondStore({ client, ttl: 321 });
  const sid2 = newId();
  await promisify(withTtl.set).call(withTtl, sid2, expressSession(sid2, { a: 1 }, {}));
  assert.equal((await client.getExpiry(sid2)).ttl, 321);
  const withFn = new SessiondStore({ client, ttl: (sess) => sess.a * 100 });
  const again = await loaded(withFn, sid2);
  again.a = 2;
  again.cookie = new session.Cookie({});
  await promisify(withFn.set).call(withFn, sid2, again);
  assert.equal((await client.getExpiry(sid2)).ttl, 200);
  await client.delete(sid);
  await client.delete(sid2);
});

test('a session saved with an expired cookie is removed, not stored', async () => {
  const sid = newId();
  await promisify(store.set).call(store, sid, expressSession(sid, { a: 1 }));
  const expired = expressSession(sid, { a: 2 }, { expires: new Date(Date.now() - 1000) });
  const [err] = await call(store, 'set', sid, expired);
  assert.equal(err, null);
  assert.equal(await client.exists(sid), false);
});

test('saving a loaded session replaces its data: changed keys change, removed keys disappear', async () => {
  const sid = newId();
  await promisify(store.set).call(store, sid, expressSession(sid, { a: 1, b: 2 }));
  const sess = await loaded(store, sid);
  delete sess.a;
  sess.b = 3;
  sess.c = { nested: true };
  const [err] = await call(store, 'set', sid, sess);
  assert.equal(err, null);
  assert.deepEqual(Object.keys((await client.get(sid)).data).sort(), ['b', 'c', 'cookie']);
  assert.equal(redis('HGET', key(sid), 'data:b'), '3');
  assert.equal(redis('HGET', key(sid), 'data:c'), '{"nested":true}');
  assert.equal(redis('HEXISTS', key(sid), 'data:a'), '0');
  // The mark that says "loaded" is not data: no key for it in Redis or in the session's own keys.
  assert.deepEqual(Object.keys(sess).sort(), ['b', 'c', 'cookie']);
  assert.deepEqual(redis('HKEYS', key(sid)).split('\n').filter((f) => f.startsWith('data:')).sort(), [
    'data:b',
    'data:c',
    'data:cookie',
  ]);
  await client.delete(sid);
});

test('a loaded session destroyed before it is saved stays destroyed (a save racing a logout)', async () => {
  const other = new SessiondStore({ client: new SessiondClient(URL) }); // another process's store
  try {
    for (const destroyElsewhere of [(sid) => client.delete(sid), (sid) => promisify(other.destroy).call(other, sid)]) {
      const sid = newId();
      await promisify(store.set).call(store, sid, expressSession(sid, { userId: 'ann', views: 1 }));
      const sess = await loaded(store, sid); // the slow request loads it…
      await destroyElsewhere(sid); // …a logout destroys it…
      assert.equal(redis('EXISTS', key(sid)), '0');
      sess.views = 2;
      const [err] = await call(store, 'set', sid, sess); // …and the slow request saves.
      assert.equal(err, null, 'nothing to report: the user is logged out, the save is dropped');
      assert.equal(redis('EXISTS', key(sid)), '0', 'the save did not bring the session back');
      assert.equal(await client.exists(sid), false);
      assert.equal((await call(store, 'get', sid))[1], null);
      // Its later touch does not bring it back either.
      assert.equal((await call(store, 'touch', sid, sess))[0], null);
      assert.equal(redis('EXISTS', key(sid)), '0');
    }
  } finally {
    other.client.close();
  }
});

test('a session from get(), changed and set, is replaced, never recreated', async () => {
  const sid = newId();
  await promisify(store.set).call(store, sid, expressSession(sid, { n: 1 }));
  const got = await store.get(sid);
  got.n = 2;
  await store.set(sid, got);
  assert.equal(redis('HGET', key(sid), 'data:n'), '2');
  await client.delete(sid);
  got.n = 3;
  await store.set(sid, got);
  assert.equal(redis('EXISTS', key(sid)), '0');
});

test('a new session is created create-only: an id already in use is an error, never overwritten', async () => {
  const sid = newId();
  const [err] = await call(store, 'set', sid, expressSession(sid, { fresh: 1 }));
  assert.equal(err, null);
  assert.equal(redis('HGET', key(sid), 'data:fresh'), '1');
  assert.equal(redis('HGET', key(sid), 'meta:version'), '1', 'created, not replaced');

  // Another new session (a collision, a replayed id) under the same id.
  const [dup] = await call(store, 'set', sid, expressSession(sid, { intruder: true }));
  assert.ok(dup instanceof PreconditionFailedError, `${dup}`);
  assert.equal(dup.status, 412);
  assert.match(dup.message, /already exists/);
  assert.equal(redis('HGET', key(sid), 'data:fresh'), '1', 'the existing session is untouched');
  assert.equal(redis('HEXISTS', key(sid), 'data:intruder'), '0');
  assert.equal(redis('HGET', key(sid), 'meta:version'), '1');
  await client.delete(sid);
});

test('a new session saved twice in one request: the first save creates, the second replaces', async () => {
  const sid = newId();
  const sess = expressSession(sid, { step: 1 });
  await promisify(store.set).call(store, sid, sess);
  sess.step = 2;
  const [err] = await call(store, 'set', sid, sess);
  assert.equal(err, null);
  assert.equal(redis('HGET', key(sid), 'data:step'), '2');
  // Once created it is a stored session: destroyed meanwhile, it stays destroyed.
  await client.delete(sid);
  sess.step = 3;
  assert.equal((await call(store, 'set', sid, sess))[0], null);
  assert.equal(redis('EXISTS', key(sid)), '0');
});

test('touch slides the TTL to cookie.maxAge without rewriting the data', async () => {
  const sid = newId();
  const sess = expressSession(sid, { views: 1 }, { maxAge: 30000 });
  await promisify(store.set).call(store, sid, sess);
  // Another request (or another language) changes the data meanwhile.
  await client.setKey(sid, 'views', 99);
  sess.cookie.maxAge = 500000;
  const [err] = await call(store, 'touch', sid, sess);
  assert.equal(err, null);
  const s = await client.get(sid, { touch: false });
  assert.equal(s.data.views, 99, 'touch did not write the stale session back');
  assert.equal(s.ttl, 500);
  const ttl = Number(redis('TTL', key(sid)));
  assert.ok(ttl > 490 && ttl <= 500, `TTL ${ttl}`);
  await client.delete(sid);
});

test('touch without a ttl of its own slides the session by the ttl it was stored with', async () => {
  const s = await client.create({ from: 'python' }, { ttl: 400 });
  redis('EXPIRE', key(s.id), 100);
  const [err] = await call(store, 'touch', s.id, expressSession(s.id, {}, {}));
  assert.equal(err, null);
  assert.equal((await client.getExpiry(s.id, { touch: false })).ttl, 400);
  const ttl = Number(redis('TTL', key(s.id)));
  assert.ok(ttl > 390 && ttl <= 400, `TTL ${ttl}`);
  await client.delete(s.id);
});

test('touch of a session deleted meanwhile is quiet and does not bring it back', async () => {
  // With a cookie maxAge (PUT …/expiry, 404) and without (HEAD ?touch=true, 404).
  for (const cookie of [{ maxAge: 60000 }, {}]) {
    const sid = newId();
    const [err] = await call(store, 'touch', sid, expressSession(sid, { a: 1 }, cookie));
    assert.equal(err, null);
    assert.equal(await client.exists(sid), false);
    assert.equal(redis('EXISTS', key(sid)), '0');
  }
});

test('disableTouch leaves the TTL alone', async () => {
  const quiet = new SessiondStore({ client, disableTouch: true });
  const sid = newId();
  await promisify(quiet.set).call(quiet, sid, expressSession(sid, { a: 1 }, { maxAge: 30000 }));
  const sess = expressSession(sid, { a: 1 }, { maxAge: 900000 });
  await promisify(quiet.touch).call(quiet, sid, sess);
  assert.equal((await client.getExpiry(sid)).ttl, 30);
  await client.delete(sid);
});

test('destroy deletes; get then answers (null, null)', async () => {
  const sid = newId();
  await promisify(store.set).call(store, sid, expressSession(sid, { a: 1 }));
  const [err] = await call(store, 'destroy', sid);
  assert.equal(err, null);
  assert.equal(redis('EXISTS', key(sid)), '0');
  assert.deepEqual((await call(store, 'get', sid)).slice(0, 2), [null, null]);
  assert.equal((await call(store, 'destroy', sid))[0], null, 'destroying a missing session is fine');
});

test('the user option makes the session findable per user (log out everywhere)', async () => {
  const owned = new SessiondStore({ client, user: (sess) => sess.userId && String(sess.userId) });
  const user = 'u' + newId();
  const a = newId();
  const b = newId();
  await promisify(owned.set).call(owned, a, expressSession(a, { userId: user }));
  await promisify(owned.set).call(owned, b, expressSession(b, { userId: user }));
  assert.deepEqual((await client.userSessions(user)).map((s) => s.id).sort(), [a, b].sort());
  // Logging out in one session (userId gone) removes the owner.
  const sb = await loaded(owned, b);
  delete sb.userId;
  await promisify(owned.set).call(owned, b, sb);
  assert.equal((await client.get(b)).user, null);
  assert.equal(await client.deleteUserSessions(user), 1);
  assert.equal(await client.exists(a), false);
  await client.delete(b);
});

test('sessions written by another language are readable, with a cookie made from their expiry', async () => {
  const s = await client.create({ cart: [1, 2] }, { ttl: 600 });
  const [err, got] = await call(store, 'get', s.id);
  assert.equal(err, null);
  assert.deepEqual(got.cart, [1, 2]);
  assert.equal(got.cookie.originalMaxAge, 600000);
  const [lerr, loaded] = await call(store, 'load', s.id);
  assert.equal(lerr, null);
  assert.ok(loaded.cookie.maxAge > 590000 && loaded.cookie.maxAge <= 600000);
  await client.delete(s.id);
});

test('all, length and ids are not supported: a clear error through the callback', async () => {
  for (const method of ['all', 'length', 'ids']) {
    const [err, value] = await call(store, method);
    assert.ok(err instanceof NotSupportedError, method);
    assert.equal(err.code, 'ERR_SESSIOND_NOT_SUPPORTED');
    assert.match(err.message, new RegExp(`Store\\.${method}\\(\\)`));
    assert.equal(value, undefined);
  }
  await assert.rejects(store.all(), NotSupportedError);
});

test('without a callback every method returns a promise', async () => {
  const sid = newId();
  await store.set(sid, expressSession(sid, { p: 1 }));
  assert.equal((await store.get(sid)).p, 1);
  await store.touch(sid, expressSession(sid, { p: 1 }));
  await store.destroy(sid);
  assert.equal(await store.get(sid), null);
});

test('new Store({ url, token }) and unix sockets', async () => {
  const tokenStore = new SessiondStore({ url: TOKEN_URL, token: TOKEN });
  const unixStore = new SessiondStore({ url: `unix:${SOCKET}` });
  try {
    const sid = newId();
    await promisify(tokenStore.set).call(tokenStore, sid, expressSession(sid, { via: 'token' }));
    assert.equal((await promisify(unixStore.get).call(unixStore, sid)).via, 'token');
    const noToken = new SessiondStore({ url: TOKEN_URL });
    const [err] = await call(noToken, 'get', sid);
    assert.equal(err.status, 401);
    noToken.client.close();
    await promisify(tokenStore.destroy).call(tokenStore, sid);
  } finally {
    tokenStore.client.close();
    unixStore.client.close();
  }
});

test('a store that cannot reach sessiond reports the error: it never logs users out silently', async () => {
  const down = new SessiondStore({ url: `http://127.0.0.1:${await freePort()}`, timeout: 1000 });
  try {
    for (const [method, args] of [
      ['get', [newId()]],
      ['set', [newId(), expressSession(newId(), { a: 1 })]],
      ['touch', [newId(), expressSession(newId(), { a: 1 })]],
      ['destroy', [newId()]],
    ]) {
      const [err] = await call(down, method, ...args);
      assert.ok(err instanceof UnavailableError, `${method}: ${err}`);
      assert.equal(err.retryable, true);
    }
  } finally {
    down.client.close();
  }
});

test('clear drops every session under the daemon prefix, and only those', async () => {
  // A daemon of its own with its own prefix: clear() must not wipe the other tests' sessions.
  const d = await startDaemon(['--key-prefix', `nodeclear${process.pid}:`]);
  const own = new SessiondStore({ url: d.url });
  try {
    const bystander = await client.create({ keep: true });
    const ids = [newId(), newId(), newId()];
    for (const sid of ids) await promisify(own.set).call(own, sid, expressSession(sid, { x: 1 }));
    assert.equal(redis('EXISTS', `nodeclear${process.pid}:session:${ids[0]}`), '1');
    const [err, value] = await call(own, 'clear');
    assert.equal(err, null);
    assert.equal(value, undefined);
    for (const sid of ids) assert.equal(await own.client.exists(sid), false);
    assert.equal(await client.exists(bystander.id), true, 'the default prefix is untouched');
    await client.delete(bystander.id);
  } finally {
    own.client.close();
    await d.stop();
  }
});

test('a session reloaded by req.session.reload() (get, then createSession) is saved replace-only too', async () => {
  const sid = newId();
  await promisify(store.set).call(store, sid, expressSession(sid, { r: 1 }));
  const req = { sessionID: sid, sessionStore: store };
  store.createSession(req, await store.get(sid));
  await client.setKey(sid, 'r', 2); // changed by another request
  await promisify(req.session.reload).call(req.session);
  assert.equal(req.session.r, 2, 'reload read the stored data');
  await client.delete(sid);
  req.session.r = 3;
  assert.equal((await call(req.session, 'save'))[0], null);
  assert.equal(redis('EXISTS', key(sid)), '0', 'not recreated');
});
