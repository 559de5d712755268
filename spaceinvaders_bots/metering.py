"""Measuring the bots' requests without changing how they are made.

`Meter` hooks into the pool's shared httpx client (its public event hooks) and times every attempt
by endpoint, retries included, as a load tool counts them. A request that never gets an answer
(a transport error) fires no response hook; since an asyncio task sends one request at a time, it is
found when the same task sends its next request, or when the task ends without being cancelled.

(How late each status post's 2xx came after its sample is the publisher's `on_sent`, through the bot's
player session.)
"""
from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx

from .stats import RunStats

NO_ANSWER = "no answer (connection failed or timed out)"
_EXPECTED: contextvars.ContextVar[frozenset[int]] = contextvars.ContextVar("expected", default=frozenset())


@contextlib.contextmanager
def expecting(*statuses: int) -> Iterator[None]:
    """Answers with these statuses are part of the plan, not failures (Locust's `catch_response`), for the
    requests this task sends meanwhile: a 409 to a sign-up whose account an earlier run made."""
    token = _EXPECTED.set(frozenset(statuses))
    try:
        yield
    finally:
        _EXPECTED.reset(token)


def error_label(status: int, body: bytes, reason: str) -> str:
    """The status and the contract's errorCode (or the reason phrase): "409 SessionClosed"."""
    try:
        data = json.loads(body)
        code = data.get("errorCode") if isinstance(data, dict) else None
    except ValueError:
        code = None
    return f"{status} {code or reason or 'error'}"


class Meter:
    def __init__(self, stats: RunStats, base_url: str) -> None:
        self.stats = stats
        self._prefix = httpx.URL(base_url).path.rstrip("/")
        self._pending: dict[asyncio.Task[Any], tuple[httpx.Request, float]] = {}

    def install(self, http: httpx.AsyncClient) -> None:
        http.event_hooks = {"request": [self._sent], "response": [self._answered]}

    def name(self, request: httpx.Request) -> str:
        path = request.url.path
        path = path.removeprefix(self._prefix)
        return f"{request.method} {path}"

    async def _sent(self, request: httpx.Request) -> None:
        task = asyncio.current_task()
        if task is None:
            return
        earlier = self._pending.pop(task, None)
        if earlier is not None:  # this task's previous request never got an answer
            self.stats.endpoint(self.name(earlier[0])).record(None, NO_ANSWER)
        self._pending[task] = (request, time.perf_counter())

    async def _answered(self, response: httpx.Response) -> None:
        task = asyncio.current_task()
        pending = self._pending.get(task) if task is not None else None
        if pending is None or pending[0] is not response.request:
            return
        del self._pending[task]
        ms = (time.perf_counter() - pending[1]) * 1000
        error = None
        if response.status_code >= 400 and response.status_code not in _EXPECTED.get():
            await response.aread()
            error = error_label(response.status_code, response.content, response.reason_phrase)
        self.stats.endpoint(self.name(response.request)).record(ms, error)

    def sweep(self) -> None:
        """Settle the requests of finished tasks: failed if the task was not cancelled, else dropped."""
        for task in [task for task in self._pending if task.done()]:
            request, _ = self._pending.pop(task)
            if not task.cancelled():
                self.stats.endpoint(self.name(request)).record(None, NO_ANSWER)

    @property
    def in_flight(self) -> int:
        return len(self._pending)
