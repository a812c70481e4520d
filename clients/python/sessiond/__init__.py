"""sessiond: a client for the sessiond session-cache daemon.

``SESSION_ENGINE = "sessiond.django"`` makes Django keep its sessions in it
(see :mod:`sessiond.django`, imported only when used, so this package works
without Django installed).
"""

from .aio import AsyncSessiondClient
from .client import DEFAULT_URL, UNSET, RawJSON, Session, SessiondClient
from .errors import (
    AuthenticationFailed,
    InvalidRequest,
    KeyNotFound,
    PreconditionFailed,
    SessiondError,
    SessiondUnavailable,
    SessionNotFound,
)

__version__ = "0.1.0"

__all__ = [
    "SessiondClient",
    "AsyncSessiondClient",
    "Session",
    "RawJSON",
    "UNSET",
    "DEFAULT_URL",
    "SessiondError",
    "SessionNotFound",
    "KeyNotFound",
    "PreconditionFailed",
    "InvalidRequest",
    "AuthenticationFailed",
    "SessiondUnavailable",
]
