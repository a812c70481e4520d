'use strict';

/**
 * An Express app that keeps its sessions in sessiond through the client
 * directly, without express-session: a visit counter, login (with a new
 * session id, against session fixation), logout, and "log out everywhere".
 *
 *   SESSIOND_URL=http://127.0.0.1:8080 node examples/counter-app.js
 */

const { SessiondClient, NotFoundError, InvalidRequestError, PreconditionFailedError } = require('sessiond');

const COOKIE = 'sid';
const TTL = 1800; // seconds of idleness before a session expires

function readCookie(req, name) {
  for (const part of (req.headers.cookie || '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return null;
}

function setCookie(res, id) {
  res.setHeader('Set-Cookie', `${COOKIE}=${id}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${TTL}`);
}

/** `express`: the module, for when it is not where require() looks (Debian's is in /usr/share/nodejs). */
function createApp(client, express = require('express')) {
  const app = express();
  app.use(express.json());

  // Loads the session the cookie names. An unknown or malformed id is
  // ignored, never adopted: a new session always gets a server-made id.
  app.use(async (req, res, next) => {
    req.sess = null;
    const id = readCookie(req, COOKIE);
    if (!id) return next();
    try {
      req.sess = await client.get(id); // a read slides the idle timeout
    } catch (err) {
      if (!(err instanceof NotFoundError || err instanceof InvalidRequestError)) return next(err);
    }
    next();
  });

  app.get('/count', async (req, res, next) => {
    try {
      if (!req.sess) {
        const s = await client.create({ count: 1 }, { ttl: TTL });
        setCookie(res, s.id);
        return res.json({ count: 1 });
      }
      const count = (req.sess.data.count || 0) + 1;
      // Only if nobody else wrote the session since we read it.
      await client.patch(req.sess.id, { set: { count } }, { ifMatch: req.sess.etag });
      res.json({ count });
    } catch (err) {
      if (err instanceof PreconditionFailedError) return res.status(409).json({ error: 'concurrent update, retry' });
      next(err);
    }
  });

  app.get('/me', (req, res) => {
    res.json({ user: req.sess ? req.sess.user : null, count: req.sess ? req.sess.data.count || 0 : 0 });
  });

  app.post('/login', async (req, res, next) => {
    try {
      const user = String(req.body.user || '');
      if (!user) return res.status(400).json({ error: 'user required' });
      let s = req.sess ? await client.cycle(req.sess.id) : await client.create({}, { ttl: TTL });
      // Replace only, never create: a logout racing this request wins.
      s = await client.replace(s.id, s.data, { user, ifMatch: '*' });
      setCookie(res, s.id);
      res.json({ user });
    } catch (err) {
      next(err);
    }
  });

  app.post('/logout', async (req, res, next) => {
    try {
      if (req.sess) await client.delete(req.sess.id);
      res.setHeader('Set-Cookie', `${COOKIE}=; Path=/; HttpOnly; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT`);
      res.status(204).end();
    } catch (err) {
      next(err);
    }
  });

  app.post('/logout-everywhere', async (req, res, next) => {
    try {
      if (!req.sess || !req.sess.user) return res.status(401).json({ error: 'not logged in' });
      const deleted = await client.deleteUserSessions(req.sess.user, { except: req.sess.id });
      res.json({ deleted });
    } catch (err) {
      next(err);
    }
  });

  return app;
}

module.exports = { createApp };

if (require.main === module) {
  const client = new SessiondClient(process.env.SESSIOND_URL || 'http://127.0.0.1:8080', {
    token: process.env.SESSIOND_TOKEN,
  });
  const port = Number(process.env.PORT || 3000);
  createApp(client).listen(port, () => console.log(`http://127.0.0.1:${port}/count`));
}
