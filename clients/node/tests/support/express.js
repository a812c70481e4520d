'use strict';

/**
 * Express from Debian's node-express. Debian's node searches /usr/share/nodejs
 * by itself; other builds (e.g. NodeSource's) need it on NODE_PATH, which
 * clients/node/test sets; this adds it for runs by hand too.
 */
const Module = require('node:module');

const DEBIAN = '/usr/share/nodejs';

function loadExpress() {
  try {
    return require('express');
  } catch (err) {
    if (err.code !== 'MODULE_NOT_FOUND') throw err;
  }
  process.env.NODE_PATH = [process.env.NODE_PATH, DEBIAN].filter(Boolean).join(':');
  Module._initPaths(); // re-read NODE_PATH: express's own dependencies live there too
  return require('express');
}

module.exports = loadExpress();
