'use strict';

const { SessiondClient, RawJSON, DEFAULT_URL } = require('./lib/client');
const errors = require('./lib/errors');

module.exports = { SessiondClient, RawJSON, DEFAULT_URL, ...errors };
