'use strict';

/**
 * Errors of the sessiond client. Every daemon error is RFC 9457
 * problem+json; its `status`, `title` and `detail` are kept on the error so
 * callers can branch on `err.status` as well as on the class.
 */
class SessiondError extends Error {
  constructor(message, { status = null, title = null, detail = null, code, cause } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = new.target.name;
    this.status = status;
    this.title = title;
    this.detail = detail;
    if (code !== undefined) this.code = code;
  }

  /** Whether sending the same request again later may succeed. */
  get retryable() {
    return false;
  }
}

/** 404: the session does not exist (never existed, expired or deleted). */
class NotFoundError extends SessiondError {}

/**
 * 404 on a data-key read when the session exists but the key does not. A
 * subclass of NotFoundError, so one `instanceof NotFoundError` check (or
 * `err.status === 404`) covers both.
 */
class KeyNotFoundError extends NotFoundError {}

/** 412: If-Match / If-None-Match did not hold. */
class PreconditionFailedError extends SessiondError {}

/** 400 or 413: a malformed request or a broken limit (bad id, ttl out of range, body too large). */
class InvalidRequestError extends SessiondError {}

/** 401: a missing or wrong bearer token. */
class AuthenticationError extends SessiondError {}

/**
 * The daemon or its Redis could not serve the request: 503 (Redis
 * unreachable), 504 (Redis timed out), any other 5xx, or no answer at all
 * (connection refused or reset, client-side timeout; then `status` is null
 * and `code` is the socket error's, e.g. ECONNREFUSED or ETIMEDOUT).
 * `retryAfter` is the Retry-After header in seconds, or null.
 */
class UnavailableError extends SessiondError {
  constructor(message, { retryAfter = null, ...rest } = {}) {
    super(message, rest);
    this.retryAfter = retryAfter;
  }

  get retryable() {
    return true;
  }
}

/** An operation sessiond's HTTP API cannot offer (e.g. listing every session). */
class NotSupportedError extends SessiondError {
  constructor(message) {
    super(message, { code: 'ERR_SESSIOND_NOT_SUPPORTED' });
  }
}

module.exports = {
  SessiondError,
  NotFoundError,
  KeyNotFoundError,
  PreconditionFailedError,
  InvalidRequestError,
  AuthenticationError,
  UnavailableError,
  NotSupportedError,
};
