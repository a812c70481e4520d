'use strict';

/**
 * A dependency-free client of the sessiond HTTP API (/v1) on node:http.
 *
 * One SessiondClient owns one keep-alive agent, so its sockets are reused
 * across calls; share one instance per process. Every call has a deadline
 * (connect + answer), sends the bearer token when one is configured, and
 * turns problem+json answers into the errors of ./errors.js.
 */

const http = require('node:http');
const https = require('node:https');
const {
  SessiondError,
  NotFoundError,
  KeyNotFoundError,
  PreconditionFailedError,
  InvalidRequestError,
  AuthenticationError,
  UnavailableError,
} = require('./errors');

const DEFAULT_URL = 'http://127.0.0.1:8080';
const VERSION = require('../package.json').version;

/** Timeouts below this many are seconds, not milliseconds. */
const SECONDS_BELOW = 20;

/** Socket errors that mean "the server had already closed this kept-alive socket". */
const STALE_SOCKET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

/** JSON text sent as is (already serialised): e.g. integers beyond 2^53, or data read raw. */
class RawJSON {
  constructor(text) {
    this.text = Buffer.isBuffer(text) ? text.toString('utf8') : String(text);
  }
}

function json(value) {
  if (value instanceof RawJSON) return value.text;
  const text = JSON.stringify(value);
  if (text === undefined) throw new TypeError(`not JSON-serialisable: ${typeof value}`);
  return text;
}

function quote(segment, what) {
  if (typeof segment !== 'string' || segment === '') {
    throw new TypeError(`${what} must be a non-empty string`);
  }
  return encodeURIComponent(segment);
}

/** '*', '"3"', 3, 'W/"3"' or an array of those → an If-Match / If-None-Match value. */
function etagList(tags) {
  const list = Array.isArray(tags) ? tags : [tags];
  return list
    .map((t) => {
      if (typeof t === 'number') return `"${t}"`;
      if (typeof t !== 'string') throw new TypeError('an ETag is a string or a number');
      return t === '*' || t.startsWith('"') || t.startsWith('W/') ? t : `"${t}"`;
    })
    .join(', ');
}

function touchQuery(touch) {
  if (touch === undefined || touch === null) return '';
  return touch ? '?touch=true' : '?touch=false';
}

/** Marks a parsed session with the response's metadata, without making it enumerable data. */
function asSession(body, headers, status) {
  const etag = headers ? headers.etag || null : null;
  Object.defineProperties(body, {
    etag: { value: etag, configurable: true, writable: true },
    created: { value: status === 201, configurable: true, writable: true },
    evicted: {
      value: headers && headers['sessions-evicted'] ? Number(headers['sessions-evicted']) : 0,
      configurable: true,
      writable: true,
    },
  });
  return body;
}

/**
 * Parses `http://host:port[/prefix]`, `https://…`, `unix:/path.sock` or
 * `unix:///path.sock` into request options.
 */
function parseTarget(url, socketPath) {
  if (url.startsWith('unix:')) {
    let path = url.slice('unix:'.length);
    if (path.startsWith('//')) path = path.slice(2);
    if (!path) throw new TypeError(`no socket path in ${JSON.stringify(url)}`);
    return { transport: http, options: { socketPath: path }, host: 'localhost', basePath: '' };
  }
  let parsed;
  try {
    parsed = new URL(url);
  } catch {
    parsed = null;
  }
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    throw new TypeError(`sessiond URL must be http://host:port, https://… or unix:/path.sock, not ${JSON.stringify(url)}`);
  }
  const secure = parsed.protocol === 'https:';
  const hostname = parsed.hostname.replace(/^\[|\]$/g, '');
  const options = socketPath
    ? { socketPath }
    : { hostname, port: parsed.port || (secure ? 443 : 80) };
  if (secure) options.servername = hostname;
  return {
    transport: secure ? https : http,
    options,
    host: parsed.host,
    basePath: parsed.pathname.replace(/\/+$/, ''),
  };
}

class SessiondClient {
  /**
   * @param {string} [url] http://host:port (optionally with a path prefix, for
   *   a daemon behind a proxy), https://…, or unix:/path.sock
   * @param {object} [options]
   * @param {string} [options.token] the daemon's bearer token (--auth-token-file)
   * @param {number} [options.timeout=2000] milliseconds for a whole call: connect, send, answer.
   *   A number below 20 is taken as seconds (the unit of the other sessiond clients):
   *   `timeout: 2` is 2 s, never a 2 ms deadline no HTTP call could meet.
   * @param {string} [options.socketPath] a unix socket to use whatever the URL's host
   * @param {number} [options.maxSockets=64] most concurrent connections
   * @param {http.Agent} [options.agent] an agent of your own instead of the built-in keep-alive one
   * @param {object} [options.headers] extra headers sent with every request
   */
  constructor(url = DEFAULT_URL, options = {}) {
    if (url !== null && typeof url === 'object') {
      options = url;
      url = options.url || DEFAULT_URL;
    }
    const { token = null, timeout = 2000, socketPath, maxSockets = 64, agent, headers } = options;
    if (!(typeof timeout === 'number' && timeout > 0)) throw new TypeError('timeout must be a positive number of milliseconds');
    this.url = url;
    this.timeout = timeout < SECONDS_BELOW ? timeout * 1000 : timeout;
    const target = parseTarget(url, socketPath);
    this._transport = target.transport;
    this._target = target.options;
    this._basePath = target.basePath;
    // Idle sockets are dropped after 30 s, well before the daemon's 60 s idle
    // timeout, so a reused socket is rarely one the daemon is closing.
    this.agent = agent || new target.transport.Agent({ keepAlive: true, maxSockets, timeout: 30000 });
    this._headers = {
      Host: target.host,
      Accept: 'application/json',
      'User-Agent': `sessiond-node/${VERSION}`,
      ...headers,
    };
    if (token) this._headers.Authorization = `Bearer ${token}`;
  }

  /** Closes the pooled sockets. The client still works afterwards (it opens new ones). */
  close() {
    this.agent.destroy();
  }

  // ------------------------------------------------------------------ plumbing

  /** One HTTP exchange; resolves with { status, headers, body } for any status. */
  _send(method, path, body, headers, freshSocket) {
    return new Promise((resolve, reject) => {
      let settled = false;
      let timer = null;
      const finish = (err, value) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(value);
      };
      const req = this._transport.request({
        ...this._target,
        method,
        path: this._basePath + path,
        headers,
        // A retry must not pick another stale pooled socket: it gets its own.
        agent: freshSocket ? false : this.agent,
      });
      timer = setTimeout(() => {
        const err = new Error(`no answer within ${this.timeout} ms`);
        err.code = 'ETIMEDOUT';
        req.destroy(err);
      }, this.timeout);
      req.on('response', (res) => {
        const chunks = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.on('end', () =>
          finish(null, { status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', (err) => finish(err));
        res.on('aborted', () => finish(Object.assign(new Error('response aborted'), { code: 'ECONNRESET' })));
      });
      req.on('error', (err) => {
        err.reusedSocket = req.reusedSocket;
        finish(err);
      });
      req.end(body);
    });
  }

  /**
   * Sends a request and maps a non-2xx answer to an error. An idempotent
   * request that failed because the daemon had closed the reused keep-alive
   * socket is sent once more, on a fresh socket: the daemon never saw it.
   */
  async _request(method, path, { body, headers: extra, keyOp = false } = {}) {
    const headers = { ...this._headers, ...extra };
    if (body !== undefined) {
      body = Buffer.from(body, 'utf8');
      headers['Content-Type'] = 'application/json';
    }
    if (body !== undefined || method === 'POST' || method === 'PUT' || method === 'PATCH') {
      headers['Content-Length'] = body ? body.length : 0;
    }
    let res;
    try {
      res = await this._send(method, path, body, headers, false);
    } catch (err) {
      if (!(err.reusedSocket && STALE_SOCKET_CODES.has(err.code) && idempotent(method, headers))) {
        throw this._unavailable(err);
      }
      try {
        res = await this._send(method, path, body, headers, true);
      } catch (again) {
        throw this._unavailable(again);
      }
    }
    if (res.status >= 200 && res.status < 300) return res;
    throw problem(res, keyOp);
  }

  _unavailable(err) {
    return new UnavailableError(`sessiond at ${this.url} did not answer: ${err.message}`, {
      code: err.code,
      cause: err,
    });
  }

  async _json(method, path, options) {
    const res = await this._request(method, path, options);
    return { res, value: JSON.parse(res.body.toString('utf8')) };
  }

  async _session(method, path, options) {
    const { res, value } = await this._json(method, path, options);
    return asSession(value, res.headers, res.status);
  }

  static _sid(id) {
    return '/v1/sessions/' + quote(id, 'session id');
  }

  // ------------------------------------------------------------------ sessions

  /**
   * Creates a session (201); the daemon picks the id. With `id`, a
   * create-only PUT (If-None-Match: *) instead, failing with
   * PreconditionFailedError when the id is taken.
   */
  async create(data, { ttl, user, device, id } = {}) {
    const body = sessionBody(data, ttl === null ? undefined : ttl, user === null ? undefined : user, device);
    if (id !== undefined) {
      return this._session('PUT', SessiondClient._sid(id), { body, headers: { 'If-None-Match': '*' } });
    }
    return this._session('POST', '/v1/sessions', { body });
  }

  /** Reads a session; `touch: false` reads it without sliding its TTL. */
  async get(id, { touch } = {}) {
    return this._session('GET', SessiondClient._sid(id) + touchQuery(touch));
  }

  /** HEAD: whether the session exists (`touch: false`: without sliding it). */
  async exists(id, { touch } = {}) {
    try {
      await this._request('HEAD', SessiondClient._sid(id) + touchQuery(touch));
      return true;
    } catch (err) {
      if (err instanceof NotFoundError) return false;
      throw err;
    }
  }

  /**
   * PUT: replaces the data, creating the session when absent (`created` on
   * the result says which). `ttl`/`user`/`device` left undefined keep their
   * current values; `null` means the daemon's default ttl / no owner / no
   * device. `ifMatch: '*'` replaces only, never creates (a logged-out session
   * is not brought back); `ifMatch: etag` only if unchanged; `ifNoneMatch:
   * '*'` creates only.
   */
  async replace(id, data, { ttl, user, device, ifMatch, ifNoneMatch } = {}) {
    return this._session('PUT', SessiondClient._sid(id), {
      body: sessionBody(data === undefined || data === null ? {} : data, ttl, user, device),
      headers: preconditions(ifMatch, ifNoneMatch),
    });
  }

  /** PATCH: sets and deletes data keys in one atomic step. */
  async patch(id, { set, delete: del } = {}, { ifMatch } = {}) {
    const body = {};
    if (set) body.set = set;
    if (del) body.delete = [...del];
    return this._session('PATCH', SessiondClient._sid(id), {
      body: json(body),
      headers: preconditions(ifMatch),
    });
  }

  /** Deletes a session and its user-index entry; no error when it is absent. */
  async delete(id) {
    await this._request('DELETE', SessiondClient._sid(id));
  }

  // ------------------------------------------------------------------ data keys

  /**
   * One data value. A missing key rejects with KeyNotFoundError unless a
   * `default` is given; a missing session with NotFoundError. `raw: true`
   * resolves with the JSON text as stored (exact 64-bit integers).
   */
  async getKey(id, key, options = {}) {
    let res;
    try {
      res = await this._request('GET', `${SessiondClient._sid(id)}/data/${quote(key, 'key')}${touchQuery(options.touch)}`, {
        keyOp: true,
      });
    } catch (err) {
      if (err instanceof KeyNotFoundError && 'default' in options) return options.default;
      throw err;
    }
    const text = res.body.toString('utf8');
    return options.raw ? text : JSON.parse(text);
  }

  /** Sets one data value; resolves with the session's new ETag. */
  async setKey(id, key, value, { ifMatch } = {}) {
    const res = await this._request('PUT', `${SessiondClient._sid(id)}/data/${quote(key, 'key')}`, {
      body: json(value),
      headers: preconditions(ifMatch),
    });
    return res.headers.etag || null;
  }

  /** Deletes one data key (no error when the key is absent); resolves with the new ETag. */
  async deleteKey(id, key, { ifMatch } = {}) {
    const res = await this._request('DELETE', `${SessiondClient._sid(id)}/data/${quote(key, 'key')}`, {
      headers: preconditions(ifMatch),
    });
    return res.headers.etag || null;
  }

  /** Empties the data, keeps the session; resolves with the new ETag. */
  async clear(id, { ifMatch } = {}) {
    const res = await this._request('DELETE', `${SessiondClient._sid(id)}/data`, { headers: preconditions(ifMatch) });
    return res.headers.etag || null;
  }

  // ------------------------------------------------------------------ expiry

  /** { ttl, expires_in, expires_at }. */
  async getExpiry(id, { touch } = {}) {
    return (await this._json('GET', `${SessiondClient._sid(id)}/expiry${touchQuery(touch)}`)).value;
  }

  /**
   * Sets the idle timeout (`{ ttl: seconds }`, `{ ttl: null }` = the
   * daemon's default), or fixes an absolute expiry (`{ expiresAt: Date or
   * RFC 3339 string }`), which stops sliding.
   */
  async setExpiry(id, { ttl, expiresAt } = {}) {
    if ((ttl === undefined) === (expiresAt === undefined)) {
      throw new TypeError('setExpiry needs exactly one of ttl or expiresAt');
    }
    const body = ttl !== undefined ? { ttl } : { expires_at: rfc3339(expiresAt) };
    return (await this._json('PUT', `${SessiondClient._sid(id)}/expiry`, { body: json(body) })).value;
  }

  /** Gives the session a new id (same data, ttl and user); the old id is gone. */
  async cycle(id) {
    return this._session('POST', `${SessiondClient._sid(id)}/cycle`);
  }

  // ------------------------------------------------------------------ users and admin

  /** The user's live sessions, most recently seen first (listing slides none of them). */
  async userSessions(user) {
    const { value } = await this._json('GET', `/v1/users/${quote(user, 'user')}/sessions`);
    return (value.sessions || []).map((s) => asSession(s, null, 200));
  }

  /** Logs the user out everywhere, except `except` when given; resolves with how many were deleted. */
  async deleteUserSessions(user, { except } = {}) {
    const query = except ? `?except=${encodeURIComponent(except)}` : '';
    return (await this._json('DELETE', `/v1/users/${quote(user, 'user')}/sessions${query}`)).value.deleted;
  }

  /**
   * Drops every session under the daemon's key prefix, every app's. Needs
   * `{ confirm: true }`, a guard against accidents.
   */
  async deleteAll({ confirm } = {}) {
    if (confirm !== true && confirm !== 'all') throw new TypeError('deleteAll needs { confirm: true }');
    return (await this._json('DELETE', '/v1/sessions?confirm=all')).value.deleted;
  }

  /** GET /healthz: the daemon process answers. */
  async healthy() {
    return this._probe('/healthz');
  }

  /** GET /readyz: the daemon reaches Redis. */
  async ready() {
    return this._probe('/readyz');
  }

  async _probe(path) {
    try {
      await this._request('GET', path);
      return true;
    } catch (err) {
      if (err instanceof SessiondError) return false;
      throw err;
    }
  }

  /** GET /metrics: Prometheus text. */
  async metrics() {
    return (await this._request('GET', '/metrics', { headers: { Accept: 'text/plain' } })).body.toString('utf8');
  }

  /** GET /openapi.yaml: the API as OpenAPI 3.1 YAML. */
  async openapi() {
    return (await this._request('GET', '/openapi.yaml', { headers: { Accept: '*/*' } })).body.toString('utf8');
  }
}

/**
 * HTTP calls it safe to repeat. A PUT carrying an ETag precondition or
 * If-None-Match is not: had the first attempt landed, the repeat would fail
 * with 412 instead of reporting the success.
 */
function idempotent(method, headers) {
  if (method === 'GET' || method === 'HEAD' || method === 'DELETE') return true;
  if (method !== 'PUT') return false;
  return !headers['If-None-Match'] && (!headers['If-Match'] || headers['If-Match'] === '*');
}

function preconditions(ifMatch, ifNoneMatch) {
  const h = {};
  if (ifMatch !== undefined && ifMatch !== null) h['If-Match'] = etagList(ifMatch);
  if (ifNoneMatch !== undefined && ifNoneMatch !== null) h['If-None-Match'] = etagList(ifNoneMatch);
  return h;
}

/** The session body, members left out when undefined (so the daemon keeps or defaults them). */
function sessionBody(data, ttl, user, device) {
  const parts = [];
  if (data !== undefined && data !== null) parts.push(`"data":${json(data)}`);
  if (ttl !== undefined) parts.push(`"ttl":${json(ttl)}`);
  if (user !== undefined) parts.push(`"user":${json(user)}`);
  if (device !== undefined) parts.push(`"device":${json(device)}`);
  return `{${parts.join(',')}}`;
}

function rfc3339(value) {
  if (typeof value === 'string') return value;
  if (value instanceof Date) return value.toISOString();
  throw new TypeError('expiresAt must be a Date or an RFC 3339 string');
}

function problem(res, keyOp) {
  const status = res.status;
  let title = null;
  let detail = null;
  const text = res.body.toString('utf8');
  try {
    const p = text ? JSON.parse(text) : {};
    if (p && typeof p === 'object') {
      title = typeof p.title === 'string' ? p.title : null;
      detail = typeof p.detail === 'string' ? p.detail : null;
    }
  } catch {
    detail = text.slice(0, 200) || null;
  }
  const message = detail || title || `HTTP ${status}`;
  const fields = { status, title, detail };
  if (status === 404) {
    // The daemon's detail says which is missing: "session not found" or "key not found in session".
    if (keyOp && /key/.test(message) && !/session not found/.test(message)) return new KeyNotFoundError(message, fields);
    return new NotFoundError(message, fields);
  }
  if (status === 412) return new PreconditionFailedError(message, fields);
  if (status === 400 || status === 413) return new InvalidRequestError(message, fields);
  if (status === 401) return new AuthenticationError(message, fields);
  if (status >= 500) {
    const ra = Number(res.headers['retry-after']);
    return new UnavailableError(message, { ...fields, retryAfter: res.headers['retry-after'] && Number.isFinite(ra) ? ra : null });
  }
  return new SessiondError(message, fields);
}

module.exports = { SessiondClient, RawJSON, DEFAULT_URL };
