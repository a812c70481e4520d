"""Exceptions raised by the sessiond client.

Every error the daemon returns is RFC 9457 ``application/problem+json``; the
exception keeps its ``status``, ``title`` and ``detail``.
"""

from __future__ import annotations


class SessiondError(Exception):
    """Base class of every error raised by this package."""

    def __init__(self, detail: str = "", *, status: int | None = None, title: str | None = None):
        super().__init__(detail or title or (f"HTTP {status}" if status else "sessiond error"))
        self.status = status
        self.title = title
        self.detail = detail


class SessionNotFound(SessiondError):
    """404: the session does not exist (never existed, expired or deleted)."""


class KeyNotFound(SessionNotFound):
    """404 on a data key when the session exists but the key does not.

    A subclass of :class:`SessionNotFound`, so ``except SessionNotFound``
    catches every 404 of a data-key read.
    """


class PreconditionFailed(SessiondError):
    """412: ``If-Match`` / ``If-None-Match`` did not hold."""


class InvalidRequest(SessiondError):
    """400 or 413: the request broke a limit or was malformed."""


class AuthenticationFailed(SessiondError):
    """401: missing or wrong bearer token."""


class SessiondUnavailable(SessiondError):
    """The daemon or its Redis could not serve the request.

    503 (Redis unreachable), 504 (Redis timed out), 507 (Redis out of memory),
    any other 5xx, or no answer from the daemon at all (connection refused,
    client-side timeout). ``retry_after`` is the ``Retry-After`` header in
    seconds when the daemon sent one, else ``None``.
    """

    def __init__(self, detail: str = "", *, status: int | None = None, title: str | None = None,
                 retry_after: float | None = None):
        super().__init__(detail, status=status, title=title)
        self.retry_after = retry_after


__all__ = [
    "SessiondError",
    "SessionNotFound",
    "KeyNotFound",
    "PreconditionFailed",
    "InvalidRequest",
    "AuthenticationFailed",
    "SessiondUnavailable",
]
