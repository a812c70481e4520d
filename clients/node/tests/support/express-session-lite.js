'use strict';

/**
 * The parts of express-session (1.18) a store meets, reduced from its
 * source (index.js, session/store.js, session/cookie.js,
 * session/session.js): express-session itself is not installable here (no
 * npm registry), and a store only ever sees these objects and calls.
 *
 * `session({ store, cookie })` is express-session's request flow in small
 * (resave: false, saveUninitialized: false, no cookie signing): load the
 * session named by the `connect.sid` cookie, generate a new one when it is
 * unknown (so a forged id is never adopted), save it and set the cookie when
 * it changed, else touch() it.
 */

const crypto = require('node:crypto');
const EventEmitter = require('node:events');

class Cookie {
  constructor(options) {
    this.path = '/';
    this.maxAge = null;
    this.httpOnly = true;
    if (options) {
      for (const key of Object.keys(options)) if (key !== 'data') this[key] = options[key];
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

class Session {
  constructor(req, data) {
    Object.defineProperty(this, 'req', { value: req });
    Object.defineProperty(this, 'id', { value: req.sessionID });
    if (data && typeof data === 'object') {
      for (const prop of Object.keys(data)) if (!(prop in this)) this[prop] = data[prop];
    }
  }

  touch() {
    this.cookie.maxAge = this.cookie.originalMaxAge;
    return this;
  }

  save(fn) {
    this.req.sessionStore.set(this.id, this, fn || (() => {}));
    return this;
  }

  destroy(fn) {
    delete this.req.session;
    this.req.sessionStore.destroy(this.id, fn);
    return this;
  }

  regenerate(fn) {
    this.req.sessionStore.regenerate(this.req, fn);
    return this;
  }
}

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
function genid() {
  return crypto.randomBytes(24).toString('base64url');
}

function parseCookies(header) {
  const out = {};
  for (const part of (header || '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out[part.slice(0, i).trim()] = decodeURIComponent(part.slice(i + 1).trim());
  }
  return out;
}

function session({ store, name = 'connect.sid', cookie = {} }) {
  store.generate = (req) => {
    req.sessionID = genid();
    req.session = new Session(req);
    req.session.cookie = new Cookie(cookie);
  };
  return function sessionMiddleware(req, res, next) {
    req.sessionStore = store;
    const cookieId = (req.sessionID = parseCookies(req.headers.cookie)[name]);
    let original;
    const hash = (sess) => JSON.stringify(sess, (k, v) => (k === 'cookie' ? undefined : v));

    const end = res.end;
    res.end = function (...args) {
      if (!req.session) {
        // destroyed: express-session leaves the cookie alone; the app clears it.
        return end.apply(res, args);
      }
      req.session.touch();
      const done = (err) => {
        if (err) {
          res.statusCode = 500;
          return end.call(res, String(err));
        }
        end.apply(res, args);
      };
      const isNew = cookieId !== req.sessionID;
      // saveUninitialized: false, resave: false: save what changed (or a new id with data), touch the rest.
      if (hash(req.session) !== original || (isNew && hash(req.session) !== '{}')) {
        res.setHeader('Set-Cookie', `${name}=${encodeURIComponent(req.sessionID)}; Path=/; HttpOnly`);
        req.session.save(done);
      } else if (!isNew) store.touch(req.sessionID, req.session, done);
      else done();
      return res;
    };

    if (!cookieId) {
      store.generate(req);
      original = hash(req.session);
      return next();
    }
    store.get(req.sessionID, (err, sess) => {
      if (err) return next(err);
      if (!sess) store.generate(req);
      else store.createSession(req, sess);
      original = hash(req.session);
      next();
    });
  };
}

session.Store = Store;
session.Cookie = Cookie;
session.Session = Session;

module.exports = session;
