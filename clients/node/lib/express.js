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

const { SessiondClient } = require('./client');
const { NotFoundError, InvalidRequestError, NotSupportedError } = require('./errors');

/** The daemon's id syntax; anything else is a forged or foreign cookie and never a session. */
const ID_RE = /^[A-Za-z0-9_-]{8,128}$/;

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
      return sess;
    }

    set(sid, sess, cb) {
      return settle(this._set(sid, sess), cb);
    }

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
      await this.client.replace(sid, data, options);
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
