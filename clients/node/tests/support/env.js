'use strict';

/**
 * What tests/harness/with_daemon.py provides (a live daemon and its Redis),
 * plus helpers for the tests that need a daemon of their own (special flags,
 * a dead Redis, a restart).
 */

const assert = require('node:assert/strict');
const { execFileSync, spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

function need(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the tests through clients/node/test (tests/harness/with_daemon.py)`);
  return v;
}

const URL = need('SESSIOND_TEST_URL');
const TOKEN_URL = need('SESSIOND_TEST_TOKEN_URL');
const TOKEN = need('SESSIOND_TEST_TOKEN');
const SOCKET = need('SESSIOND_TEST_SOCKET');
const REDIS_PORT = need('SESSIOND_TEST_REDIS_PORT');
const BIN = need('SESSIOND_BIN');

/** redis-cli --raw against the harness's Redis: replies as they are (a data value's JSON text, a TTL's digits). */
function redis(...args) {
  return execFileSync('redis-cli', ['-p', REDIS_PORT, '--raw', ...args.map(String)], { encoding: 'utf8' }).replace(
    /\n$/,
    '',
  );
}

function newId() {
  return 'node' + crypto.randomBytes(14).toString('hex');
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Polls `check` (sync or async) until it returns truthy or the deadline passes. */
async function waitFor(what, check, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Answers HTTP 200 to GET path, or false. */
function httpOk(port, p = '/healthz') {
  return new Promise((resolve) => {
    const req = require('node:http').get({ host: '127.0.0.1', port, path: p, agent: false, timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
  });
}

/**
 * Starts `$SESSIOND_BIN` on a free loopback port (on the harness's Redis
 * unless `redis` is given) and waits for /healthz. `stop()` ends it by PID.
 */
async function startDaemon(args = [], { redis: redisUrl, port } = {}) {
  port = port || (await freePort());
  const logPath = path.join(os.tmpdir(), `sessiond-node-test-${process.pid}-${port}.log`);
  const log = fs.openSync(logPath, 'w');
  const proc = spawn(
    BIN,
    ['--listen', `127.0.0.1:${port}`, '--redis', redisUrl || `redis://127.0.0.1:${REDIS_PORT}/0`, ...args],
    { stdio: ['ignore', log, log] },
  );
  fs.closeSync(log);
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  try {
    await waitFor(`sessiond on port ${port}`, () => {
      if (proc.exitCode !== null) throw new Error(`exited: ${fs.readFileSync(logPath, 'utf8').slice(-2000)}`);
      return httpOk(port);
    });
  } catch (err) {
    proc.kill('SIGKILL');
    throw err;
  }
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    proc,
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      await exited;
      fs.rmSync(logPath, { force: true });
    },
  };
}

/**
 * Runs a python3 one-liner that blocks this process (so the event loop sees
 * nothing meanwhile) until `127.0.0.1:port` accepts (`open`) or refuses
 * (`closed`) connections, with a deadline.
 */
function blockUntilPort(port, state, timeoutS = 15) {
  const script = `
import socket, sys, time
port, want, deadline = int(sys.argv[1]), sys.argv[2], time.monotonic() + float(sys.argv[3])
while time.monotonic() < deadline:
    s = socket.socket()
    try:
        s.connect(("127.0.0.1", port)); is_open = True
    except OSError:
        is_open = False
    finally:
        s.close()
    if is_open == (want == "open"):
        sys.exit(0)
    time.sleep(0.02)
sys.exit(f"port {port} not {want} after {sys.argv[3]} s")
`;
  execFileSync('python3', ['-c', script, String(port), state, String(timeoutS)], { stdio: 'inherit' });
}

/** Asserts that `promise` rejects with an instance of `cls`, and returns the error. */
async function rejectsWith(promise, cls, fields = {}) {
  let error;
  await assert.rejects(promise, (err) => {
    error = err;
    return true;
  });
  assert.ok(error instanceof cls, `expected ${cls.name}, got ${error && error.name}: ${error && error.message}`);
  for (const [k, v] of Object.entries(fields)) assert.deepEqual(error[k], v, `err.${k}`);
  return error;
}

module.exports = {
  URL,
  TOKEN_URL,
  TOKEN,
  SOCKET,
  REDIS_PORT,
  BIN,
  redis,
  newId,
  freePort,
  waitFor,
  startDaemon,
  blockUntilPort,
  rejectsWith,
};
