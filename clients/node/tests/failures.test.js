'use strict';

/**
 * When the daemon or its Redis cannot answer: each test that needs a daemon
 * in a particular state starts one of its own, and stops it by PID.
 */

const test = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');

const { SessiondClient, UnavailableError, SessiondError } = require('sessiond');
const { freePort, startDaemon, blockUntilPort, rejectsWith, newId } = require('./support/env');

/** A TCP listener that accepts connections and never says a word: a hung peer. */
async function blackHole() {
  const sockets = new Set();
  let connections = 0;
  const srv = net.createServer((s) => {
    connections += 1;
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
  });
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
  return {
    port: srv.address().port,
    get connections() {
      return connections;
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => srv.close(resolve));
    },
  };
}

test('connection refused is an UnavailableError without a status', async () => {
  const c = new SessiondClient(`http://127.0.0.1:${await freePort()}`, { timeout: 1000 });
  try {
    const err = await rejectsWith(c.get(newId()), UnavailableError, { status: null, retryAfter: null });
    assert.equal(err.code, 'ECONNREFUSED');
    assert.equal(err.retryable, true);
    assert.ok(err instanceof SessiondError);
    assert.ok(err.cause instanceof Error);
    assert.equal(await c.healthy(), false);
  } finally {
    c.close();
  }
});

test('a daemon that never answers: the client times out, and a POST is sent once', async () => {
  const hole = await blackHole();
  const c = new SessiondClient(`http://127.0.0.1:${hole.port}`, { timeout: 300 });
  try {
    const t0 = Date.now();
    const err = await rejectsWith(c.create({ a: 1 }), UnavailableError, { status: null });
    const took = Date.now() - t0;
    assert.equal(err.code, 'ETIMEDOUT');
    assert.ok(took >= 250 && took < 2000, `took ${took} ms`);
    assert.equal(hole.connections, 1);
  } finally {
    c.close();
    await hole.close();
  }
});

test('a timeout below 20 is seconds: timeout: 2 means 2 s, as in the other clients', async () => {
  assert.equal(new SessiondClient('http://127.0.0.1:1', { timeout: 2 }).timeout, 2000);
  assert.equal(new SessiondClient('http://127.0.0.1:1', { timeout: 0.25 }).timeout, 250);
  assert.equal(new SessiondClient('http://127.0.0.1:1', { timeout: 20 }).timeout, 20);
  assert.equal(new SessiondClient('http://127.0.0.1:1').timeout, 2000);
  const hole = await blackHole();
  const c = new SessiondClient(`http://127.0.0.1:${hole.port}`, { timeout: 0.3 });
  try {
    const t0 = Date.now();
    await rejectsWith(c.get(newId()), UnavailableError, { code: 'ETIMEDOUT' });
    const took = Date.now() - t0;
    assert.ok(took >= 250 && took < 2000, `took ${took} ms`);
  } finally {
    c.close();
    await hole.close();
  }
});

test('Redis down: 503 with Retry-After; healthy but not ready', async () => {
  const d = await startDaemon([], { redis: `redis://127.0.0.1:${await freePort()}/0` });
  const c = new SessiondClient(d.url);
  try {
    const err = await rejectsWith(c.create({ x: 1 }), UnavailableError, { status: 503, retryAfter: 1 });
    assert.equal(err.retryable, true);
    await rejectsWith(c.get(newId()), UnavailableError, { status: 503 });
    assert.equal(await c.healthy(), true);
    assert.equal(await c.ready(), false);
  } finally {
    c.close();
    await d.stop();
  }
});

test('Redis hung: 504 after --redis-timeout, with Retry-After', async () => {
  const hole = await blackHole();
  const d = await startDaemon(['--redis-timeout', '300ms'], { redis: `redis://127.0.0.1:${hole.port}/0` });
  const c = new SessiondClient(d.url, { timeout: 5000 });
  try {
    const err = await rejectsWith(c.create({ x: 1 }), UnavailableError, { status: 504, retryAfter: 1 });
    assert.equal(err.retryable, true);
  } finally {
    c.close();
    await d.stop();
    await hole.close();
  }
});

/**
 * Leaves `client` holding a pooled socket to a daemon that has since been
 * killed and replaced by a new one on the same port. The event loop is
 * blocked from the kill until `then` runs, so node cannot notice the closed
 * socket first: the next request goes out on it, as in the race with a
 * daemon's idle timeout.
 */
async function withStaleSocket(then) {
  const first = await startDaemon();
  const client = new SessiondClient(first.url);
  let second;
  try {
    assert.equal(await client.healthy(), true);
    assert.equal(Object.values(client.agent.freeSockets).flat().length, 1, 'one pooled socket');
    first.proc.kill('SIGKILL');
    blockUntilPort(first.port, 'closed');
    second = startDaemonBlocking(first.port);
    const result = await then(client);
    return result;
  } finally {
    client.close();
    await first.stop();
    if (second) await second.stop();
  }
}

/** Starts a daemon on `port` and waits for it without giving the event loop a turn. */
function startDaemonBlocking(port) {
  let started;
  // startDaemon spawns synchronously and only then awaits readiness; block on the port instead.
  const pending = startDaemon([], { port }).then((d) => (started = d));
  blockUntilPort(port, 'open');
  return {
    async stop() {
      await pending;
      await started.stop();
    },
  };
}

test('an idempotent request on a socket the daemon had closed is retried once, on a fresh socket', async () => {
  await withStaleSocket(async (client) => {
    const s = await client.create({ n: 1 }).catch((e) => e);
    // A POST is never retried: the first attempt met the dead socket.
    assert.ok(s instanceof UnavailableError, `POST: ${s}`);
    assert.ok(['ECONNRESET', 'EPIPE'].includes(s.code), s.code);
  });
  await withStaleSocket(async (client) => {
    // GET: retried, answered by the new daemon.
    assert.equal(await client.ready(), true);
    const id = newId();
    assert.equal(await client.exists(id), false);
  });
  await withStaleSocket(async (client) => {
    const id = newId();
    // An unconditional PUT is idempotent too.
    const s = await client.replace(id, { put: true });
    assert.equal(s.created, true);
    await client.delete(id);
  });
});

test('the Store saves a new session (create-only, never repeated by the client) over a socket the daemon had closed', async () => {
  const session = require('./support/express-session-lite');
  const SessiondStore = require('sessiond/express')(session);
  await withStaleSocket(async (client) => {
    const store = new SessiondStore({ client });
    const sid = newId();
    const sess = new session.Session({ sessionID: sid, sessionStore: store }, { fresh: true });
    sess.cookie = new session.Cookie({ maxAge: 60000 });
    await store.set(sid, sess); // met the dead socket, then created once on the new daemon
    const s = await client.get(sid, { touch: false });
    assert.equal(s.data.fresh, true);
    assert.equal(s.etag, '"1"', 'created once');
    await client.delete(sid);
  });
});
