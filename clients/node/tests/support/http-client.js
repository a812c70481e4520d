'use strict';

/** A browser in small: node's own http client with a cookie jar. */

const http = require('node:http');

class Browser {
  constructor(base) {
    this.base = new URL(base);
    this.jar = new Map();
    this.agent = new http.Agent({ keepAlive: true });
  }

  request(method, path, { body, headers = {} } = {}) {
    const cookie = [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          hostname: this.base.hostname,
          port: this.base.port,
          method,
          path,
          agent: this.agent,
          headers: { ...(cookie && { Cookie: cookie }), ...(body !== undefined && { 'Content-Type': 'application/json' }), ...headers },
        },
        (res) => {
          for (const line of res.headers['set-cookie'] || []) {
            const [pair, ...attrs] = line.split(';');
            const i = pair.indexOf('=');
            const name = pair.slice(0, i).trim();
            const value = pair.slice(i + 1).trim();
            const expired = attrs.some((a) => /^\s*expires=/i.test(a) && Date.parse(a.split('=')[1]) <= Date.now());
            if (!value || expired) this.jar.delete(name);
            else this.jar.set(name, value);
          }
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let json;
            try {
              json = JSON.parse(text);
            } catch {
              json = undefined;
            }
            resolve({ status: res.statusCode, headers: res.headers, text, json });
          });
        },
      );
      req.on('error', reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  }

  get(path) {
    return this.request('GET', path);
  }

  post(path, body) {
    return this.request('POST', path, { body });
  }

  close() {
    this.agent.destroy();
  }
}

module.exports = { Browser };
