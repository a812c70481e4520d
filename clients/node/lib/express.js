'use strict';

/**
 * An express-session store on sessiond:
 *
 *   const session = require('express-session');
 *   const SessiondStore = require('sessiond/express')(session);
 *   app.use(session({ store: new SessiondStore({ url, token }), secret, resave: false, saveUninitialized: false }));
 *
 * Each top-level key of the session object (`cookie` included, as
 * express-session's own stores keep it) is one sessiond data key, so apps in
 * other languages read the same keys (`redis-cli HGET … data:userId`).
 */

const { isDeepStrictEqual } = require('node:util');
const { SessiondClient } = require('./client');
const {
  NotFoundError,
  InvalidRequestError,
  NotSupportedError,
  PreconditionFailedError,
  UnavailableError,
} = require('./errors');

/** The daemon's id syntax; anything else is a forged or foreign cookie and never a session. */
const ID_RE = /^[A-Za-z0-9_-]{8,128}$/;

/**
 * Marks a session object that came from the store (express-session's
 * createSession, our get, or a save that created it), so set() writes it
 * replace-only and a session destroyed meanwhile is never written back. A
 * Symbol and non-enumerable: never in JSON.stringify, Object.keys, for…in or
 * express-session's hash, so never in the stored data.
 */
const STORED = Symbol('sessiond.stored');

/** The call met a kept-alive socket the daemon had closed (the client's own retry rule). */
function staleSocket(err) {
  return (
    err instanceof UnavailableError &&
    Boolean(err.cause && err.cause.reusedSocket) &&
    ['ECONNRESET', 'EPIPE', 'ECONNABORTED'].includes(err.code)
  );
}

function markStored(sess) {
  if (sess && typeof sess === 'object' && Object.isExtensible(sess) && !sess[STORED]) {
    Object.defineProperty(sess, STORED, { value: true, configurable: true });
  }
  return sess;
}

/**
 * Calls `cb(err, value)` from a fresh tick when given (so an exception
 * thrown by the callback is not swallowed by the promise), else returns the
 * promise.
 */
function settle(promise, cb) {
  if (typeof cb !== 'function') return promise;
  promise.then(
    (value) => process.nextTick(cb, null, value),
    (err) => process.nextTick(cb, err),
  );
  return undefined;
}

function notSupported(what) {
  return new NotSupportedError(
    `sessiond has no route that lists every session, so Store.${what}() is not supported; ` +
      'list one user\'s sessions with store.client.userSessions(user) (see the "user" option)',
  );
}

module.exports = function sessiondExpress(session) {
  const Store = session && (session.Store || (typeof session === 'function' && session.prototype && session));
  if (typeof Store !== 'function') {
    throw new TypeError("require('sessiond/express') needs express-session: require('sessiond/express')(session)");
  }

  class SessiondStore extends Store {
    /**
     * @param {object} [options]
     * @param {SessiondClient} [options.client] a client to share; else one is made from:
     * @param {string} [options.url] the daemon (http://host:port or unix:/path.sock)
     * @param {string} [options.token] its bearer token
     * @param {number} [options.timeout] milliseconds per call (the client's default: 2000)
     * @param {number|function} [options.ttl] seconds, for sessions whose cookie has no maxAge
     *   (browser-session cookies); or `(sess) => seconds`. Default: the daemon's --default-ttl.
     * @param {function} [options.user] `(sess) => owner id or null`: the session's sessiond
     *   `user`, so that client.userSessions / deleteUserSessions (log out everywhere) see it.
     * @param {boolean} [options.disableTouch] do not slide the TTL on touch()
     */
    constructor(options = {}) {
      super(options);
      this.client =
        options.client ||
        new SessiondClient(options.url, {
          token: options.token,
          ...(options.timeout !== undefined && { timeout: options.timeout }),
          ...(options.socketPath !== undefined && { socketPath: options.socketPath }),
        });
      this.ttl = options.ttl;
      this.user = options.user;
      this.disableTouch = Boolean(options.disableTouch);
    }

    /** Seconds until the cookie expires (rounded up), the `ttl` option, or undefined (the daemon's default). */
    _ttl(sess) {
      const cookie = sess && sess.cookie;
      let ms = cookie ? cookie.maxAge : undefined;
      if (typeof ms !== 'number' && cookie && cookie.expires) ms = new Date(cookie.expires).getTime() - Date.now();
      if (typeof ms === 'number' && Number.isFinite(ms)) return Math.ceil(ms / 1000);
      return typeof this.ttl === 'function' ? this.ttl(sess) : this.ttl;
    }

    get(sid, cb) {
      return settle(this._get(sid), cb);
    }

    async _get(sid) {
      if (typeof sid !== 'string' || !ID_RE.test(sid)) return null;
      let s;
      try {
        // touch: false: sliding is express-session's decision, through touch().
        s = await this.client.get(sid, { touch: false });
      } catch (err) {
        if (err instanceof NotFoundError || err instanceof InvalidRequestError) return null;
        throw err;
      }
      const sess = s.data;
      if (!sess.cookie || typeof sess.cookie !== 'object') {
        // Written by another language: give express-session the cookie it needs, from the session's own expiry.
        sess.cookie = { originalMaxAge: s.ttl * 1000, expires: s.expires_at, httpOnly: true, path: '/' };
      }
      // A caller that gets, changes and sets this object updates the session, never recreates it.
      return markStored(sess);
    }

    /**
     * express-session (1.18) builds every session it loaded from the store
     * here (inflate on each request, Session#reload, Store#load), and every
     * new one through generate(). Marking the loaded ones is what lets set()
     * tell "save what we loaded" (replace-only) from "save a new session"
     * (create-only): both arrive as the same set(sid, sess) call.
     */
    createSession(req, sess) {
      return markStored(super.createSession(req, sess));
    }

    set(sid, sess, cb) {
      return settle(this._set(sid, sess), cb);
    }

    /**
     * Never resurrects a session. A session loaded from the store is written
     * with `If-Match: *` (replace only): if a logout destroyed it since this
     * request loaded it, the save is dropped and `cb(null)` is called (see the
     * README: an error would only turn the late request into a 500 for a user
     * who is logged out anyway). A new session (generate, regenerate) is
     * written with `If-None-Match: *` (create only): a 412 means the id is
     * taken (a collision or a replayed id) and is an error, never an overwrite.
     */
    async _set(sid, sess) {
      const ttl = this._ttl(sess);
      if (typeof ttl === 'number' && ttl <= 0) {
        // An expired cookie: what the browser will not send back need not be kept.
        await this.client.delete(sid);
        return;
      }
      // JSON round trip: the cookie through its toJSON, undefined values dropped, as every JSON store does.
      const data = JSON.parse(JSON.stringify(sess));
      const options = { ttl };
      if (typeof this.user === 'function') options.user = this.user(sess) || null;
      if (sess && sess[STORED]) {
        try {
          await this.client.replace(sid, data, { ...options, ifMatch: '*' });
        } catch (err) {
          // 412 (no session to replace), or 404: destroyed meanwhile. It stays destroyed.
          if (err instanceof PreconditionFailedError || err instanceof NotFoundError) return;
          throw err;
        }
        return;
      }
      try {
        await this._create(sid, data, options);
      } catch (err) {
        if (err instanceof PreconditionFailedError) {
          throw new PreconditionFailedError(
            `session ${sid} already exists: a new session is only ever created, never written over ` +
              '(an id collision, or a new session saved under an id in use)',
            { status: err.status, title: err.title, detail: err.detail, cause: err },
          );
        }
        throw err;
      }
      // Stored now: a second save in the same request (req.session.save(), then express-session's own) replaces.
      markStored(sess);
    }

    /**
     * A create-only PUT. The client never repeats one (had it landed, the
     * repeat would be a 412), so this store does, once, when it met a stale
     * kept-alive socket, as the client does for upserts; a 412 then is our
     * own first attempt only if the stored data is exactly ours.
     */
    async _create(sid, data, options) {
      try {
        await this.client.replace(sid, data, { ...options, ifNoneMatch: '*' });
        return;
      } catch (err) {
        if (!staleSocket(err)) throw err;
      }
      try {
        await this.client.replace(sid, data, { ...options, ifNoneMatch: '*' });
      } catch (err) {
        if (!(err instanceof PreconditionFailedError)) throw err;
        const stored = await this.client.get(sid, { touch: false }).catch(() => null);
        if (!stored || !isDeepStrictEqual(stored.data, data)) throw err;
      }
    }

    touch(sid, sess, cb) {
      return settle(this._touch(sid, sess), cb);
    }

    async _touch(sid, sess) {
      if (this.disableTouch || !ID_RE.test(sid)) return;
      const ttl = this._ttl(sess);
      try {
        // Only the expiry: the data stays as stored (another request may have changed it).
        if (typeof ttl === 'number' && ttl <= 0) await this.client.delete(sid);
        else if (typeof ttl === 'number') await this.client.setExpiry(sid, { ttl });
        // No ttl of ours: a sliding read, so the session keeps the ttl it was stored with.
        else await this.client.exists(sid, { touch: true });
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err; // gone meanwhile (a logout): nothing to slide
      }
    }

    destroy(sid, cb) {
      return settle(ID_RE.test(sid) ? this.client.delete(sid) : Promise.resolve(), cb);
    }

    /** Drops every session under the daemon's key prefix: every app's that shares the daemon, not only this one's. */
    clear(cb) {
      return settle(
        this.client.deleteAll({ confirm: true }).then(() => undefined),
        cb,
      );
    }

    all(cb) {
      return settle(Promise.reject(notSupported('all')), cb);
    }

    length(cb) {
      return settle(Promise.reject(notSupported('length')), cb);
    }

    ids(cb) {
      return settle(Promise.reject(notSupported('ids')), cb);
    }
  }

  return SessiondStore;
};
