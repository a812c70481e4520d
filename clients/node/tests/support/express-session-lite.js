'use strict';

/**
 * The parts of express-session (1.18.2) a store meets, ported from its
 * source (index.js, session/store.js, session/cookie.js,
 * session/session.js): express-session itself is not installable here (no
 * npm registry), and a store only ever sees these objects and calls.
 *
 * The calls a store gets, as express-session makes them:
 * - a request with no cookie: `store.generate(req)`, which session()
 *   assigns onto the store instance: a new id, `new Session(req)`, a new Cookie.
 * - a request with a cookie: `store.get(sid, cb)`; no session (or an error
 *   with code ENOENT) → generate(); else inflate: `store.createSession(req,
 *   sess)` (Store.prototype's, called on the store, so a subclass may
 *   override it), which puts `new Session(req, sess)` on req.session.
 * - `req.session.reload(cb)`: `store.get` then `store.createSession` again;
 *   `Store#load(sid, cb)`: `get` then `createSession` with a stand-in req.
 * - `req.session.regenerate(cb)`: `store.regenerate(req, cb)` =
 *   `store.destroy(req.sessionID)` then `store.generate(req)`.
 * - `req.session.save(cb)` and the end of the response: `store.set(req.sessionID,
 *   req.session, cb)`, the Session object itself.
 * - `req.session.destroy(cb)`: `delete req.session`, `store.destroy(sid, cb)`.
 * - the end of a response whose session was not saved: `store.touch(sid,
 *   req.session, cb)` when the cookie came with the request.
 *
 * session() below is index.js's middleware with its save, touch and
 * set-cookie decisions (resave, saveUninitialized, rolling, unset; hashes
 * that ignore the top-level cookie; savedHash set by save()). Left out:
 * cookie signing (the cookie holds the bare id), trust proxy and secure
 * cookies, path matching, the store's connect/disconnect events. One
 * deliberate difference: index.js writes the response head before the
 * store's callback and reports a store error through next(err); this one
 * waits for the callback and answers 500 with the error, so a test sees a
 * failed save as a status.
 */

const crypto = require('node:crypto');
const EventEmitter = require('node:events');

class Cookie {
  constructor(options) {
    this.path = '/';
    this.maxAge = null;
    this.httpOnly = true;
    if (options) {
      if (typeof options !== 'object') throw new TypeError('argument options must be a object');
      for (const key in options) if (key !== 'data') this[key] = options[key];
    }
    if (this.originalMaxAge === undefined || this.originalMaxAge === null) this.originalMaxAge = this.maxAge;
  }

  set expires(date) {
    this._expires = date;
    this.originalMaxAge = this.maxAge;
  }

  get expires() {
    return this._expires;
  }

  set maxAge(ms) {
    this.expires = typeof ms === 'number' ? new Date(Date.now() + ms) : ms;
  }

  get maxAge() {
    return this.expires instanceof Date ? this.expires.valueOf() - Date.now() : this.expires;
  }

  get data() {
    return {
      originalMaxAge: this.originalMaxAge,
      partitioned: this.partitioned,
      priority: this.priority,
      expires: this._expires,
      secure: this.secure,
      httpOnly: this.httpOnly,
      domain: this.domain,
      path: this.path,
      sameSite: this.sameSite,
    };
  }

  toJSON() {
    return this.data;
  }
}

/** session.js's methods are non-enumerable (defineMethod), so they are never copied or serialized. */
function defineMethod(obj, name, fn) {
  Object.defineProperty(obj, name, { configurable: true, enumerable: false, value: fn, writable: true });
}

function Session(req, data) {
  Object.defineProperty(this, 'req', { value: req });
  Object.defineProperty(this, 'id', { value: req.sessionID });
  if (typeof data === 'object' && data !== null) {
    // for…in as in session.js: enumerable string keys (a Symbol on data is not copied).
    for (const prop in data) if (!(prop in this)) this[prop] = data[prop];
  }
}

defineMethod(Session.prototype, 'touch', function touch() {
  return this.resetMaxAge();
});

defineMethod(Session.prototype, 'resetMaxAge', function resetMaxAge() {
  this.cookie.maxAge = this.cookie.originalMaxAge;
  return this;
});

defineMethod(Session.prototype, 'save', function save(fn) {
  this.req.sessionStore.set(this.id, this, fn || (() => {}));
  return this;
});

defineMethod(Session.prototype, 'reload', function reload(fn) {
  const req = this.req;
  const store = this.req.sessionStore;
  store.get(this.id, (err, sess) => {
    if (err) return fn(err);
    if (!sess) return fn(new Error('failed to load session'));
    store.createSession(req, sess);
    fn();
  });
  return this;
});

defineMethod(Session.prototype, 'destroy', function destroy(fn) {
  delete this.req.session;
  this.req.sessionStore.destroy(this.id, fn);
  return this;
});

defineMethod(Session.prototype, 'regenerate', function regenerate(fn) {
  this.req.sessionStore.regenerate(this.req, fn);
  return this;
});

function Store() {
  EventEmitter.call(this);
}
Object.setPrototypeOf(Store.prototype, EventEmitter.prototype);

Store.prototype.regenerate = function regenerate(req, fn) {
  this.destroy(req.sessionID, (err) => {
    this.generate(req);
    fn(err);
  });
};

Store.prototype.load = function load(sid, fn) {
  this.get(sid, (err, sess) => {
    if (err) return fn(err);
    if (!sess) return fn();
    const req = { sessionID: sid, sessionStore: this };
    fn(null, this.createSession(req, sess));
  });
};

Store.prototype.createSession = function createSession(req, sess) {
  const expires = sess.cookie.expires;
  const originalMaxAge = sess.cookie.originalMaxAge;
  sess.cookie = new Cookie(sess.cookie);
  if (typeof expires === 'string') sess.cookie.expires = new Date(expires);
  sess.cookie.originalMaxAge = originalMaxAge;
  req.session = new Session(req, sess);
  return req.session;
};

/** uid-safe's format: 24 random bytes, base64url (32 characters). */
function generateSessionId() {
  return crypto.randomBytes(24).toString('base64url');
}

function getcookie(req, name) {
  for (const part of (req.headers.cookie || '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) {
      const raw = part.slice(i + 1).trim();
      try {
        return decodeURIComponent(raw) || undefined;
      } catch {
        return raw || undefined;
      }
    }
  }
  return undefined;
}

/** index.js's hash: the session's JSON without its top-level cookie (sha1 there; the text itself does here). */
function hash(sess) {
  return JSON.stringify(sess, function (key, val) {
    if (this === sess && key === 'cookie') return undefined;
    return val;
  });
}

function setcookie(res, name, val, data) {
  let cookie = `${name}=${encodeURIComponent(val)}; Path=${data.path || '/'}`;
  if (data.expires instanceof Date) cookie += `; Expires=${data.expires.toUTCString()}`;
  if (data.httpOnly) cookie += '; HttpOnly';
  const prev = res.getHeader('Set-Cookie') || [];
  res.setHeader('Set-Cookie', Array.isArray(prev) ? prev.concat(cookie) : [prev, cookie]);
}

/**
 * `session({ store, cookie, name, genid, resave, saveUninitialized, rolling, unset })`.
 * resave and saveUninitialized default to false (express-session's
 * deprecated default is true; its README and ours recommend false).
 */
function session(options = {}) {
  const cookieOptions = options.cookie || {};
  const generateId = options.genid || generateSessionId;
  const name = options.name || 'connect.sid';
  const store = options.store;
  const resaveSession = Boolean(options.resave);
  const rollingSessions = Boolean(options.rolling);
  const saveUninitializedSession = Boolean(options.saveUninitialized);
  const unsetDestroy = options.unset === 'destroy';

  // index.js: "generates the new session", assigned onto the store instance.
  store.generate = function (req) {
    req.sessionID = generateId(req);
    req.session = new Session(req);
    req.session.cookie = new Cookie(typeof cookieOptions === 'function' ? cookieOptions(req) : cookieOptions);
  };

  const storeImplementsTouch = typeof store.touch === 'function';

  return function sessionMiddleware(req, res, next) {
    if (req.session) return next();

    let originalHash;
    let originalId;
    let savedHash;
    let touched = false;

    req.sessionStore = store;
    const cookieId = (req.sessionID = getcookie(req, name));

    // on-headers: the cookie is decided when the head goes out.
    const writeHead = res.writeHead;
    res.writeHead = function (...args) {
      res.writeHead = writeHead;
      if (req.session && shouldSetCookie(req)) {
        if (!touched) {
          req.session.touch();
          touched = true;
        }
        setcookie(res, name, req.sessionID, req.session.cookie.data);
      }
      return writeHead.apply(this, args);
    };

    const _end = res.end;
    let ended = false;
    res.end = function end(...args) {
      if (ended) return false;
      ended = true;
      const finish = (err) => {
        if (err && !res.headersSent) {
          res.statusCode = 500;
          res.removeHeader('Content-Length');
          return _end.call(res, String(err && err.message));
        }
        return _end.apply(res, args);
      };

      if (shouldDestroy(req)) {
        store.destroy(req.sessionID, finish);
        return true;
      }
      if (!req.session) return _end.apply(res, args);
      if (!touched) {
        req.session.touch();
        touched = true;
      }
      if (shouldSave(req)) {
        req.session.save(finish);
        return true;
      }
      if (storeImplementsTouch && shouldTouch(req)) {
        store.touch(req.sessionID, req.session, finish);
        return true;
      }
      return _end.apply(res, args);
    };

    function generate() {
      store.generate(req);
      originalId = req.sessionID;
      originalHash = hash(req.session);
      wrapmethods(req.session);
    }

    function inflate(req, sess) {
      store.createSession(req, sess);
      originalId = req.sessionID;
      originalHash = hash(sess);
      if (!resaveSession) savedHash = originalHash;
      wrapmethods(req.session);
    }

    function rewrapmethods(sess, callback) {
      return function (...args) {
        if (req.session !== sess) wrapmethods(req.session);
        callback.apply(this, args);
      };
    }

    function wrapmethods(sess) {
      const _reload = sess.reload;
      const _save = sess.save;
      function reload(callback) {
        _reload.call(this, rewrapmethods(this, callback));
      }
      function save(...args) {
        savedHash = hash(this);
        _save.apply(this, args);
      }
      Object.defineProperty(sess, 'reload', { configurable: true, enumerable: false, value: reload, writable: true });
      Object.defineProperty(sess, 'save', { configurable: true, enumerable: false, value: save, writable: true });
    }

    function isModified(sess) {
      return originalId !== sess.id || originalHash !== hash(sess);
    }

    function isSaved(sess) {
      return originalId === sess.id && savedHash === hash(sess);
    }

    function shouldDestroy(req) {
      return req.sessionID && unsetDestroy && req.session == null;
    }

    function shouldSave(req) {
      if (typeof req.sessionID !== 'string') return false;
      return !saveUninitializedSession && !savedHash && cookieId !== req.sessionID
        ? isModified(req.session)
        : !isSaved(req.session);
    }

    function shouldTouch(req) {
      if (typeof req.sessionID !== 'string') return false;
      return cookieId === req.sessionID && !shouldSave(req);
    }

    function shouldSetCookie(req) {
      if (typeof req.sessionID !== 'string') return false;
      return cookieId !== req.sessionID
        ? saveUninitializedSession || isModified(req.session)
        : rollingSessions || (req.session.cookie.expires != null && isModified(req.session));
    }

    if (!req.sessionID) {
      generate();
      return next();
    }
    store.get(req.sessionID, (err, sess) => {
      if (err && err.code !== 'ENOENT') return next(err);
      try {
        if (err || !sess) generate();
        else inflate(req, sess);
      } catch (e) {
        return next(e);
      }
      next();
    });
  };
}

session.Store = Store;
session.Cookie = Cookie;
session.Session = Session;

module.exports = session;
