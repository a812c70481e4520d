"""An asyncio facade over :class:`sessiond.client.SessiondClient`.

Each call runs the synchronous client in a worker thread
(``asyncio.to_thread``), the same approach Django takes for its own async
session methods (``sync_to_async``). The connection pool is shared and
thread-safe, so concurrent awaits use concurrent connections.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from .client import DEFAULT_URL, SessiondClient

_METHODS = (
    "create", "get", "exists", "replace", "patch", "delete",
    "get_key", "set_key", "delete_key", "clear",
    "get_expiry", "set_expiry", "cycle",
    "user_sessions", "delete_user_sessions", "delete_all",
    "healthy", "ready",
)


class AsyncSessiondClient:
    """Same methods and arguments as :class:`SessiondClient`, as coroutines."""

    def __init__(self, url: str = DEFAULT_URL, token: str | None = None, timeout: float = 2.0, *,
                 client: SessiondClient | None = None, **kwargs: Any):
        self.sync = client or SessiondClient(url, token, timeout, **kwargs)

    def __getattr__(self, name: str) -> Any:
        if name not in _METHODS:
            raise AttributeError(name)
        method = getattr(self.sync, name)

        @functools.wraps(method)
        async def call(*args: Any, **kwargs: Any) -> Any:
            return await asyncio.to_thread(method, *args, **kwargs)

        return call

    async def aclose(self) -> None:
        self.sync.close()

    async def __aenter__(self) -> "AsyncSessiondClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()


__all__ = ["AsyncSessiondClient"]
