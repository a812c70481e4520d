"""The asyncio client: the same methods as :class:`sessiond.SessiondClient`,
as coroutines, on the same request writer and response reader
(:mod:`sessiond._http`), over asyncio streams instead of blocking sockets.

No threads: concurrent awaits use concurrent connections of the client's
pool. A client's connections belong to the event loop that opened them, so
use one client per loop (``asyncio.run`` makes a new loop each time).
"""

from __future__ import annotations

from typing import Any, Mapping

from ._http import AsyncPool, Target
from .client import DEFAULT_URL, SessiondClient, _Api, _base_headers, _error
from .errors import SessiondError


class AsyncSessiondClient(_Api):
    """Same methods and arguments as :class:`SessiondClient`, as coroutines.

    ``client``: take url, token, timeout and pool settings from an existing
    synchronous client instead (it is not used for requests).
    """

    def __init__(
        self,
        url: str = DEFAULT_URL,
        token: str | None = None,
        timeout: float = 2.0,
        *,
        client: SessiondClient | None = None,
        retries: int = 2,
        maxsize: int = 10,
        headers: Mapping[str, str] | None = None,
    ):
        if client is not None:
            pool = client._pool
            self.url, self.timeout = client.url, client.timeout
            self._pool = AsyncPool(pool.target, pool.timeout, maxsize=pool.maxsize, retries=pool.retries)
        else:
            self.url, self.timeout = url, timeout
            self._pool = AsyncPool(Target(url, _base_headers(token, headers)), timeout, maxsize=maxsize,
                                   retries=retries)

    async def _call(self, method, path, *, body=None, headers=None, key_op=False, then=None, catch=None):
        try:
            resp = await self._pool.request(method, path, headers, body)
            if not 200 <= resp.status < 300:
                raise _error(resp, key_op=key_op)
        except SessiondError as e:
            if catch is not None and isinstance(e, catch[0]):
                return catch[1]
            raise
        return resp if then is None else then(resp)

    async def aclose(self) -> None:
        """Close the pooled connections."""
        await self._pool.close()

    async def __aenter__(self) -> "AsyncSessiondClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"AsyncSessiondClient({self.url!r})"


__all__ = ["AsyncSessiondClient"]
