'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');

const {
  SessiondClient,
  RawJSON,
  SessiondError,
  NotFoundError,
  KeyNotFoundError,
  PreconditionFailedError,
  InvalidRequestError,
  AuthenticationError,
  UnavailableError,
} = require('sessiond');
const { URL, TOKEN_URL, TOKEN, SOCKET, redis, newId, rejectsWith } = require('./support/env');

const client = new SessiondClient(URL, { timeout: 5000 });
test.after(() => client.close());

const key = (id) => `sessiond:session:${id}`;

test('create returns the session with its ETag; get reads it back', async () => {
  const s = await client.create({ cart: [1, 2], name: 'ü' }, { ttl: 3600, user: 'alice-node' });
  assert.match(s.id, /^[a-z0-9]{32}$/);
  assert.deepEqual(s.data, { cart: [1, 2], name: 'ü' });
  assert.equal(s.ttl, 3600);
  assert.equal(s.user, 'alice-node');
  assert.equal(s.created, true);
  assert.match(s.etag, /^"\d+"$/);
  assert.ok(s.expires_in > 3590 && s.expires_in <= 3600);
  assert.ok(!Number.isNaN(Date.parse(s.created_at)));
  assert.deepEqual(Object.keys(s).includes('etag'), false, 'metadata is not enumerable data');

  const got = await client.get(s.id);
  assert.deepEqual(got.data, s.data);
  assert.equal(got.etag, s.etag);
  assert.equal(got.created, false);
  assert.equal(redis('HGET', key(s.id), 'data:cart'), '[1,2]');
  assert.equal(redis('HGET', key(s.id), 'meta:user'), 'alice-node');
  await client.delete(s.id);
});

test('create with no arguments gives an empty session with the default ttl', async () => {
  const s = await client.create();
  assert.deepEqual(s.data, {});
  assert.equal(s.ttl, 1209600);
  assert.equal(s.user, null);
  await client.delete(s.id);
});

test('a missing session is a NotFoundError with status 404', async () => {
  const err = await rejectsWith(client.get(newId()), NotFoundError, { status: 404 });
  assert.ok(err instanceof SessiondError);
  assert.ok(!(err instanceof KeyNotFoundError));
  assert.equal(err.retryable, false);
  assert.equal(err.detail, 'session not found');
  assert.equal(await client.exists(newId()), false);
});

test('get with touch: false leaves the TTL; a plain get slides it', async () => {
  const s = await client.create({ a: 1 }, { ttl: 1000 });
  redis('EXPIRE', key(s.id), 100);
  await client.get(s.id, { touch: false });
  assert.ok(Number(redis('TTL', key(s.id))) <= 100);
  assert.equal(await client.exists(s.id, { touch: false }), true);
  assert.ok(Number(redis('TTL', key(s.id))) <= 100);
  await client.get(s.id);
  assert.ok(Number(redis('TTL', key(s.id))) > 990);
  await client.delete(s.id);
});

test('replace: upsert, If-Match etag, If-Match *, and ttl/user kept when left out', async () => {
  const id = newId();
  const created = await client.replace(id, { v: 1 }, { ttl: 500, user: 'bob-node' });
  assert.equal(created.created, true);
  const replaced = await client.replace(id, { v: 2 }, { ifMatch: created.etag });
  assert.equal(replaced.created, false);
  assert.deepEqual(replaced.data, { v: 2 });
  assert.equal(replaced.ttl, 500, 'ttl kept');
  assert.equal(replaced.user, 'bob-node', 'user kept');

  await rejectsWith(client.replace(id, { v: 3 }, { ifMatch: created.etag }), PreconditionFailedError, { status: 412 });
  assert.deepEqual((await client.get(id)).data, { v: 2 });

  const cleared = await client.replace(id, null, { user: null, ttl: null, ifMatch: '*' });
  assert.deepEqual(cleared.data, {});
  assert.equal(cleared.user, null);
  assert.equal(cleared.ttl, 1209600);

  await client.delete(id);
  await rejectsWith(client.replace(id, { late: true }, { ifMatch: '*' }), PreconditionFailedError);
  assert.equal(await client.exists(id), false, 'If-Match: * never creates');
});

test('create with an id is create-only (If-None-Match: *)', async () => {
  const id = newId();
  const s = await client.create({ n: 1 }, { id });
  assert.equal(s.id, id);
  assert.equal(s.created, true);
  await rejectsWith(client.create({ n: 2 }, { id }), PreconditionFailedError, { status: 412 });
  assert.deepEqual((await client.get(id)).data, { n: 1 });
  await client.delete(id);
});

test('ETags given as numbers and lists', async () => {
  const s = await client.create({ a: 1 });
  const version = Number(s.etag.slice(1, -1));
  const r = await client.replace(s.id, { a: 2 }, { ifMatch: [version + 5, version] });
  assert.deepEqual(r.data, { a: 2 });
  await client.delete(s.id);
});

test('patch sets and deletes atomically; 404 and 412', async () => {
  const s = await client.create({ a: 1, b: 2 });
  const p = await client.patch(s.id, { set: { c: { deep: [true] } }, delete: ['a'] });
  assert.deepEqual(p.data, { b: 2, c: { deep: [true] } });
  await rejectsWith(client.patch(s.id, { set: { x: 1 } }, { ifMatch: s.etag }), PreconditionFailedError);
  const q = await client.patch(s.id, { set: { x: 1 } }, { ifMatch: p.etag });
  assert.equal(q.data.x, 1);
  await rejectsWith(client.patch(newId(), { set: { x: 1 } }), NotFoundError, { status: 404 });
  await client.delete(s.id);
});

test('delete removes the session and is quiet when it is absent', async () => {
  const s = await client.create({ a: 1 });
  await client.delete(s.id);
  assert.equal(redis('EXISTS', key(s.id)), '0');
  await client.delete(s.id);
  await rejectsWith(client.get(s.id), NotFoundError);
});

test('data keys: get, set, delete, clear, and which 404 is which', async () => {
  const s = await client.create({ a: 1 });
  const etag = await client.setKey(s.id, 'csrf', 'k9Xq');
  assert.match(etag, /^"\d+"$/);
  assert.notEqual(etag, s.etag);
  assert.equal(await client.getKey(s.id, 'csrf'), 'k9Xq');
  assert.equal(redis('HGET', key(s.id), 'data:csrf'), '"k9Xq"');

  const missingKey = await rejectsWith(client.getKey(s.id, 'nope'), KeyNotFoundError, { status: 404 });
  assert.ok(missingKey instanceof NotFoundError);
  assert.equal(await client.getKey(s.id, 'nope', { default: null }), null);
  const missingSession = await rejectsWith(client.getKey(newId(), 'csrf', { default: 1 }), NotFoundError);
  assert.ok(!(missingSession instanceof KeyNotFoundError), 'a missing session is not a missing key');
  await rejectsWith(client.setKey(newId(), 'k', 1), NotFoundError);

  await client.deleteKey(s.id, 'csrf');
  await client.deleteKey(s.id, 'never-there');
  assert.deepEqual((await client.get(s.id)).data, { a: 1 });
  await rejectsWith(client.setKey(s.id, 'k', 1, { ifMatch: s.etag }), PreconditionFailedError);

  await client.clear(s.id);
  const after = await client.get(s.id);
  assert.deepEqual(after.data, {});
  await rejectsWith(client.clear(newId()), NotFoundError);
  await client.delete(s.id);
});

test('keys and users are percent-encoded in paths', async () => {
  const s = await client.create({}, { user: 'mail/ü ser?x=1&y' });
  const odd = 'a/b c?d#e%f ü';
  await client.setKey(s.id, odd, { ok: true });
  assert.deepEqual(await client.getKey(s.id, odd), { ok: true });
  assert.deepEqual((await client.get(s.id)).data, { [odd]: { ok: true } });
  const listed = await client.userSessions('mail/ü ser?x=1&y');
  assert.deepEqual(
    listed.map((x) => x.id),
    [s.id],
  );
  await client.delete(s.id);
});

test('64-bit integers survive with RawJSON and raw reads', async () => {
  const s = await client.create(new RawJSON('{"big":9007199254740993}'));
  assert.equal(await client.getKey(s.id, 'big', { raw: true }), '9007199254740993');
  await client.setKey(s.id, 'big2', new RawJSON('-9223372036854775808'));
  assert.equal(redis('HGET', key(s.id), 'data:big2'), '-9223372036854775808');
  await client.delete(s.id);
});

test('expiry: get, set ttl, restore the default, fix an absolute time', async () => {
  const s = await client.create({}, { ttl: 300 });
  const e = await client.getExpiry(s.id);
  assert.equal(e.ttl, 300);
  assert.ok(e.expires_in <= 300 && e.expires_in > 290);
  assert.equal((await client.setExpiry(s.id, { ttl: 42 })).ttl, 42);
  assert.ok(Number(redis('TTL', key(s.id))) <= 42);
  assert.equal((await client.setExpiry(s.id, { ttl: null })).ttl, 1209600);
  const at = new Date(Date.now() + 3600 * 1000);
  const fixed = await client.setExpiry(s.id, { expiresAt: at });
  assert.ok(Math.abs(Date.parse(fixed.expires_at) - at.getTime()) < 2000);
  const ttl = Number(redis('TTL', key(s.id)));
  assert.ok(ttl > 3500 && ttl <= 3600, `TTL ${ttl}`);
  await assert.rejects(client.setExpiry(s.id, {}), TypeError);
  await rejectsWith(client.setExpiry(s.id, { ttl: 0 }), InvalidRequestError, { status: 400 });
  await rejectsWith(client.getExpiry(newId()), NotFoundError);
  await client.delete(s.id);
});

test('cycle moves the data to a new id; the old one is gone', async () => {
  const s = await client.create({ cart: [3] }, { ttl: 777, user: 'cycler-node' });
  const n = await client.cycle(s.id);
  assert.notEqual(n.id, s.id);
  assert.equal(n.created, true);
  assert.deepEqual(n.data, { cart: [3] });
  assert.equal(n.ttl, 777);
  assert.equal(n.user, 'cycler-node');
  assert.equal(await client.exists(s.id), false);
  await rejectsWith(client.cycle(s.id), NotFoundError);
  await client.delete(n.id);
});

test("a user's sessions: list them, log out everywhere except one", async () => {
  const user = 'u-' + newId();
  const a = await client.create({ n: 'a' }, { user });
  const b = await client.create({ n: 'b' }, { user });
  const c = await client.create({ n: 'c' }, { user });
  const listed = await client.userSessions(user);
  assert.deepEqual(listed.map((s) => s.id).sort(), [a.id, b.id, c.id].sort());
  assert.ok(listed.every((s) => s.user === user && typeof s.data.n === 'string'));
  assert.equal(await client.deleteUserSessions(user, { except: b.id }), 2);
  assert.deepEqual(
    (await client.userSessions(user)).map((s) => s.id),
    [b.id],
  );
  assert.equal(await client.deleteUserSessions(user), 1);
  assert.deepEqual(await client.userSessions(user), []);
});

test('deleteAll insists on confirm', async () => {
  await assert.rejects(client.deleteAll(), TypeError);
  await assert.rejects(client.deleteAll({ confirm: 'yes' }), TypeError);
});

test('probes, metrics and the OpenAPI document', async () => {
  assert.equal(await client.healthy(), true);
  assert.equal(await client.ready(), true);
  assert.match(await client.metrics(), /^# (HELP|TYPE) /m);
  assert.match(await client.openapi(), /^openapi: 3\.1/m);
});

test('bad input is an InvalidRequestError (400 / 413)', async () => {
  await rejectsWith(client.get('bad'), InvalidRequestError, { status: 400 });
  await rejectsWith(client.get('has.a.dot.in.it'), InvalidRequestError, { status: 400 });
  await rejectsWith(client.create({}, { ttl: 0 }), InvalidRequestError, { status: 400 });
  await rejectsWith(client.create({ blob: 'x'.repeat(1024 * 1024 + 10) }), InvalidRequestError, { status: 413 });
  assert.equal(await client.healthy(), true, 'the client recovers after the daemon closed on a 413');
  await assert.rejects(client.get(''), TypeError);
  await assert.rejects(client.create({ n: 1n }), TypeError);
});

test('the bearer token: 401 without it, accepted with it; probes stay open', async () => {
  const anon = new SessiondClient(TOKEN_URL);
  const authed = new SessiondClient(TOKEN_URL, { token: TOKEN });
  const wrong = new SessiondClient(TOKEN_URL, { token: 'not-the-token' });
  try {
    const err = await rejectsWith(anon.create(), AuthenticationError, { status: 401 });
    assert.equal(err.retryable, false);
    await rejectsWith(wrong.get(newId()), AuthenticationError, { status: 401 });
    assert.equal(await anon.healthy(), true);
    assert.equal(await anon.ready(), true);
    const s = await authed.create({ t: 1 });
    assert.deepEqual((await authed.get(s.id)).data, { t: 1 });
    await authed.delete(s.id);
  } finally {
    anon.close();
    authed.close();
    wrong.close();
  }
});

test('unix sockets: unix:/path, unix:///path and the socketPath option', async () => {
  for (const c of [
    new SessiondClient(`unix:${SOCKET}`),
    new SessiondClient(`unix://${SOCKET}`),
    new SessiondClient('http://localhost', { socketPath: SOCKET }),
  ]) {
    try {
      const s = await c.create({ via: 'unix' });
      assert.deepEqual((await c.get(s.id)).data, { via: 'unix' });
      assert.deepEqual((await client.get(s.id)).data, { via: 'unix' }, 'same Redis as the TCP daemon');
      await c.delete(s.id);
      assert.equal(await c.ready(), true);
    } finally {
      c.close();
    }
  }
});

test('URLs with a path prefix keep it; bad URLs are refused', async () => {
  const c = new SessiondClient(URL + '/', {});
  try {
    assert.equal(await c.healthy(), true);
  } finally {
    c.close();
  }
  assert.throws(() => new SessiondClient('ftp://x'), TypeError);
  assert.throws(() => new SessiondClient('unix:'), TypeError);
  assert.throws(() => new SessiondClient(URL, { timeout: 0 }), TypeError);
  assert.ok(UnavailableError);
});

test('the options-object form of the constructor', async () => {
  const c = new SessiondClient({ url: URL, timeout: 3000 });
  try {
    assert.equal(c.timeout, 3000);
    assert.equal(await c.ready(), true);
  } finally {
    c.close();
  }
});

test('sequential calls reuse one kept-alive socket', async () => {
  const c = new SessiondClient(URL);
  try {
    let connects = 0;
    const orig = c.agent.createConnection;
    c.agent.createConnection = function (...args) {
      connects += 1;
      return orig.apply(this, args);
    };
    const s = await c.create({ a: 1 });
    for (let i = 0; i < 5; i++) await c.get(s.id);
    await c.setKey(s.id, 'b', 2);
    await c.delete(s.id);
    assert.equal(connects, 1);
  } finally {
    c.close();
  }
});

test('unknown fields of a session are passed through', async () => {
  const s = await client.create({ a: 1 });
  const got = await client.get(s.id);
  // Whatever the daemon adds (device, last_seen_at, …) stays on the object.
  for (const field of ['id', 'data', 'ttl', 'expires_in', 'expires_at', 'created_at', 'user']) {
    assert.ok(field in got, field);
  }
  const raw = JSON.parse(JSON.stringify(got));
  assert.deepEqual(Object.keys(raw).sort(), Object.keys(got).sort());
  await client.delete(s.id);
});

test('device: given at create, kept by a replace without it, cleared with null', async (t) => {
  let s;
  try {
    s = await client.create({ a: 1 }, { user: 'dev-node', device: { user_agent: 'curl/8', ip: '10.0.0.1' } });
  } catch (err) {
    if (err instanceof InvalidRequestError && /device/.test(err.message)) {
      t.skip(`this daemon predates devices: ${err.message}`);
      return;
    }
    throw err;
  }
  assert.deepEqual(s.device, { user_agent: 'curl/8', ip: '10.0.0.1' });
  assert.equal(typeof s.last_seen_at, 'string');
  assert.deepEqual(JSON.parse(redis('HGET', key(s.id), 'meta:device')), s.device);
  assert.deepEqual((await client.replace(s.id, { a: 2 })).device, s.device);
  assert.equal((await client.replace(s.id, { a: 3 }, { device: null })).device, null);
  await client.delete(s.id);
});

test('the package: no dependencies; only its entry points are exported', () => {
  const pkg = require('sessiond/package.json');
  assert.equal(pkg.name, 'sessiond');
  assert.equal(pkg.dependencies, undefined);
  assert.equal(typeof require('sessiond/express'), 'function');
  assert.throws(() => require('sessiond/lib/client'), { code: 'ERR_PACKAGE_PATH_NOT_EXPORTED' });
});
