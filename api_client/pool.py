"""Many players in one process (the bots): one lean HTTP client shared by all of their API clients.

Measured (benchmarks/client_cpu.py, docs/benchmarks.md): httpx's default transport costs ~1 ms of CPU
per request with a client per player and several ms with one shared client (its pool scans every
connection); `Http11Transport` keeps idle connections on an O(1) stack and parses with llhttp, so one
shared client stays under half of that whatever the player count.
"""

from __future__ import annotations

import ssl
from typing import Self

import httpx

from .client import SpaceInvadersClient
from .core import DEFAULT_TIMEOUT
from .retry import DEFAULT_RETRY, RetryPolicy
from .tokens import TokenStore
from .transport import Http11Transport
from .trust import KnownServers, ServerTrust

# Idle keep-alive connections a pool keeps per server: one per player in flight. With fewer, a stall that
# puts more requests in flight makes every later request open a new connection, and a run of 600 bots fell
# from 99% to 40-80% of its posts on time; with this many it held.
POOL_IDLE_CONNECTIONS = 4096


def lean_http_client(
    timeout: httpx.Timeout = DEFAULT_TIMEOUT, max_idle: int = POOL_IDLE_CONNECTIONS,
    ssl_context: ssl.SSLContext | None = None,
) -> httpx.AsyncClient:
    """An `httpx.AsyncClient` over `Http11Transport`, without the environment lookups we never need.

    `ssl_context` holds https connections to a server's trust (`ServerTrust.context`)."""
    transport = Http11Transport(max_idle_per_origin=max_idle, ssl_context=ssl_context)
    return httpx.AsyncClient(transport=transport, timeout=timeout, trust_env=False)


class ClientPool:
    """Makes `SpaceInvadersClient`s (one per player, each with its own tokens) over one shared HTTP client.

    They share one `ServerTrust` too: the URL's `#sha256=` pin, or `trust`; what was trusted before is
    used only with a `token_store` (kept beside it), as for a single client."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy = DEFAULT_RETRY,
        token_store: TokenStore | None = None,
        trust: ServerTrust | None = None,
    ) -> None:
        self._store = token_store
        known = KnownServers(token_store.directory) if token_store is not None else None
        self.trust = trust or ServerTrust(base_url, known=known)
        self.base_url = self.trust.base_url
        self.http = lean_http_client(timeout, ssl_context=self.trust.context)
        self._retry = retry
        self.clients: list[SpaceInvadersClient] = []

    def client(self) -> SpaceInvadersClient:
        """A new player's client; tokens stay in memory unless the pool was given a `token_store`."""
        client = SpaceInvadersClient(
            self.base_url, http=self.http, retry=self._retry, token_store=self._store, trust=self.trust
        )
        self.clients.append(client)
        return client

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
