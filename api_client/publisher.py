"""The status publisher: samples the game's state and posts it, never blocking or failing its caller.

Every `interval` it samples the state provider. A sample that differs from the last one is queued; so is
an unchanged one every `keepalive` seconds (a silent player looks idle). At most one post is in flight:
a newer sample replaces a queued one (counted as coalesced), and a post that fails puts its sample back
unless a newer one is queued, so the newest state always wins while the network is slow or down.
Failures back off (`retry.backoff`, or `Retry-After`). What became of each post is told to the caller's
callbacks: `on_sent(seconds from its sample to the 2xx)`, `on_failed(error)` (no answer, or a 5xx/401/429:
tried again), `on_rejected(error)` (409/403/422...: the server will not take it). `deliver(status)` waits
until one state (a game's final one) is stored.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Self

from .callbacks import notify
from .client import SpaceInvadersClient
from .errors import ApiError, AuthenticationError, RateLimitError, ServerError
from .models import GameStatus
from .retry import NO_RETRY, backoff

log = logging.getLogger(__name__)

StateProvider = Callable[[], GameStatus | Mapping[str, int] | None]


@dataclass
class PublisherStats:
    sent: int = 0
    coalesced: int = 0
    failed: int = 0
    rejected: int = 0
    provider_errors: int = 0


@dataclass(frozen=True, slots=True)
class _Sample:
    status: GameStatus
    stamp: datetime  # the Timestamp it is posted with (wall clock, as `wall_clock` tells it)
    sampled_at: float  # `clock()` when it was taken


def _as_status(value: GameStatus | Mapping[str, int]) -> GameStatus:
    return value if isinstance(value, GameStatus) else GameStatus.model_validate(value)


class StatusPublisher:
    def __init__(
        self,
        client: SpaceInvadersClient,
        session_id: str,
        state: StateProvider,
        *,
        nickname: str | None = None,
        interval: float = 0.3,
        keepalive: float = 5.0,
        post_timeout: float = 3.0,
        stop_timeout: float = 3.0,
        max_backoff: float = 2.0,
        on_rejected: Callable[[ApiError], None] | None = None,
        on_sent: Callable[[float], None] | None = None,
        on_failed: Callable[[Exception], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.session_id = session_id
        self.nickname = nickname
        self.interval = interval
        self.keepalive = keepalive
        self.post_timeout = post_timeout
        self.stop_timeout = stop_timeout
        self.max_backoff = max_backoff
        self.on_rejected = on_rejected
        self.on_sent = on_sent  # seconds from the sample to its 2xx (waiting behind a slow post counts)
        self.on_failed = on_failed
        self.stats = PublisherStats()
        self.last_rejection: ApiError | None = None
        self.last_sent: GameStatus | None = None
        self._state = state
        self._clock = clock
        self._wall_clock = wall_clock  # pass a server-corrected clock so Timestamps match the server's
        self._latest: GameStatus | None = None  # newest sample queued or sent
        self._pending: _Sample | None = None
        self._inflight: asyncio.Task[None] | None = None
        self._last_attempt = -float("inf")
        self._backoff_until = 0.0
        self._failures = 0
        self._loop_task: asyncio.Task[None] | None = None
        self._deliveries: list[tuple[GameStatus, asyncio.Future[bool]]] = []  # `deliver` waiting

    async def __aenter__(self) -> Self:
        self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def running(self) -> bool:
        return self._loop_task is not None and not self._loop_task.done()

    def start(self) -> None:
        if not self.running:
            self._loop_task = asyncio.create_task(self._run(), name=f"publisher-{self.nickname or ''}")

    async def _run(self) -> None:
        next_tick = self._clock()
        while True:
            self.tick()
            next_tick += self.interval
            delay = next_tick - self._clock()
            if delay < 0:  # the loop was late: skip missed ticks rather than bursting
                next_tick, delay = self._clock(), 0.0
            await asyncio.sleep(delay)

    def tick(self) -> None:
        """One sampling step (the loop calls it every `interval`; tests call it by hand)."""
        now = self._clock()
        sample = self._sample()
        if sample is not None:
            idle = self._pending is None and self._inflight is None
            if sample != self._latest or (idle and now - self._last_attempt >= self.keepalive):
                self._enqueue(sample)
        self._launch(now)

    def _sample(self) -> GameStatus | None:
        try:
            value = self._state()
            return None if value is None else _as_status(value)
        except Exception:  # the game's bug must not stop the publishing
            self.stats.provider_errors += 1
            log.exception("state provider failed")
            return None

    def _enqueue(self, status: GameStatus) -> None:
        if self._pending is not None:
            self.stats.coalesced += 1
        self._pending = _Sample(status, datetime.fromtimestamp(self._wall_clock(), UTC), self._clock())
        self._latest = status

    def _launch(self, now: float) -> None:
        if self._inflight is None and self._pending is not None and now >= self._backoff_until:
            sample, self._pending = self._pending, None
            self._last_attempt = now
            self._inflight = asyncio.create_task(self._post(sample))

    async def _post(self, sample: _Sample) -> None:
        try:
            await self.client.update_status(
                self.session_id, sample.status, nickname=self.nickname, timestamp=sample.stamp,
                retry=NO_RETRY, timeout=self.post_timeout,
            )  # fmt: skip
        except RateLimitError as error:
            self._failed(sample, error, error.retry_after)
        except (ServerError, AuthenticationError) as error:
            log.debug("status post failed: %s", error)
            self._failed(sample, error, error.retry_after)  # a 503 may say when to come back
        except ApiError as error:
            self._rejected(error)
        except Exception as error:  # noqa: BLE001 - transport errors, malformed answers: count and go on
            log.debug("status post failed: %r", error)
            self._failed(sample, error, None)
        else:
            self.stats.sent += 1
            self.last_sent = sample.status
            self._failures = 0
            self._backoff_until = 0.0
            if self.on_sent is not None:
                notify(self.on_sent, self._clock() - sample.sampled_at, "on_sent")
            if self._deliveries:  # the hot path of 200 publishers in one process: nothing to do mostly
                self._settle(lambda target: True if target == sample.status else None)
        finally:
            self._inflight = None
        self._launch(self._clock())

    def _failed(self, sample: _Sample, error: Exception, retry_after: float | None) -> None:
        self.stats.failed += 1
        self._failures += 1
        if self._pending is None:
            self._pending = sample  # nothing newer: send this one again
        else:
            self.stats.coalesced += 1
        wait = retry_after
        if wait is None:
            wait = backoff(self._failures, self.interval, self.max_backoff)
        self._backoff_until = self._clock() + wait
        notify(self.on_failed, error, "on_failed")

    def _rejected(self, error: ApiError) -> None:
        self.stats.rejected += 1
        self.last_rejection = error
        log.info("status refused: %s", error)
        self._settle(lambda target: False)
        notify(self.on_rejected, error, "on_rejected")

    def _settle(self, outcome: Callable[[GameStatus], bool | None]) -> None:
        """Answer the `deliver` calls whose outcome is known (None: not yet)."""
        waiting = []
        for target, future in self._deliveries:
            result = outcome(target)
            if result is None:
                waiting.append((target, future))
            elif not future.done():
                future.set_result(result)
        self._deliveries = waiting

    async def deliver(self, status: GameStatus | Mapping[str, int]) -> bool:
        """Wait until `status` is stored: True once a post of it succeeds, False when a post is refused or
        the publisher stops first. The state provider must answer it (a game's final state does); the
        publisher sends it on its next tick and through outages, as any other state."""
        target = _as_status(status)
        if self.last_sent == target:
            return True
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._deliveries.append((target, future))
        try:
            return await future
        finally:
            self._deliveries = [(t, f) for t, f in self._deliveries if f is not future]

    async def idle(self) -> None:
        """Wait until no post is in flight (for tests and orderly shutdown)."""
        while self._inflight is not None:
            await asyncio.shield(self._inflight)

    async def stop(self) -> None:
        """Stop sampling and send the final state, all within `stop_timeout`; never raises."""
        deadline = self._clock() + self.stop_timeout
        if self._loop_task is not None:
            self._loop_task.cancel()
            await asyncio.gather(self._loop_task, return_exceptions=True)
            self._loop_task = None
        try:
            await asyncio.wait_for(self._final_post(deadline), max(0.0, deadline - self._clock()))
        except TimeoutError:
            self.stats.failed += 1
            log.warning("final status post did not finish within %.1f s", self.stop_timeout)
        if self._inflight is not None:
            self._inflight.cancel()
            await asyncio.gather(self._inflight, return_exceptions=True)
            self._inflight = None
        self._settle(lambda target: self.last_sent == target)

    async def _final_post(self, deadline: float) -> None:
        await self.idle()
        sample = self._sample()
        if sample is not None:
            self._enqueue(sample)
        if self._pending is None:
            return
        wait = self._backoff_until - self._clock()
        if 0 < wait < deadline - self._clock():
            await asyncio.sleep(wait)
        pending, self._pending = self._pending, None
        await self._post(pending)
