"""The status publisher: samples the game's state and posts it, never blocking or failing its caller.

Every `interval` it samples the state provider. A sample that differs from the last one is queued; so is
an unchanged one every `keepalive` seconds (a silent player looks idle). At most one post is in flight:
a newer sample replaces a queued one (counted as coalesced), and a post that fails puts its sample back
unless a newer one is queued, so the newest state always wins while the network is slow or down.
Failures back off (`retry.backoff`, or `Retry-After`); refusals (409/403/422...) go to `on_rejected`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
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
    latencies: deque[float] = field(default_factory=lambda: deque(maxlen=10_000))  # seconds, of sent posts

    def latency_summary(self) -> dict[str, float]:
        """p50/p90/p99/max of post latencies in milliseconds (empty when nothing was sent)."""
        if not self.latencies:
            return {}
        ordered = sorted(self.latencies)

        def pick(q: float) -> float:
            return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

        return {"p50": pick(0.5), "p90": pick(0.9), "p99": pick(0.99), "max": ordered[-1] * 1000}


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
        self.stats = PublisherStats()
        self.last_rejection: ApiError | None = None
        self.last_sent: GameStatus | None = None
        self._state = state
        self._clock = clock
        self._wall_clock = wall_clock  # pass a server-corrected clock so Timestamps match the server's
        self._latest: GameStatus | None = None  # newest sample queued or sent
        self._pending: tuple[GameStatus, datetime] | None = None
        self._inflight: asyncio.Task[None] | None = None
        self._last_attempt = -float("inf")
        self._backoff_until = 0.0
        self._failures = 0
        self._loop_task: asyncio.Task[None] | None = None

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
                self._enqueue(sample, datetime.fromtimestamp(self._wall_clock(), UTC))
        self._launch(now)

    def _sample(self) -> GameStatus | None:
        try:
            value = self._state()
            return None if value is None else _as_status(value)
        except Exception:  # the game's bug must not stop the publishing
            self.stats.provider_errors += 1
            log.exception("state provider failed")
            return None

    def _enqueue(self, status: GameStatus, stamp: datetime) -> None:
        if self._pending is not None:
            self.stats.coalesced += 1
        self._pending = (status, stamp)
        self._latest = status

    def _launch(self, now: float) -> None:
        if self._inflight is None and self._pending is not None and now >= self._backoff_until:
            status, stamp = self._pending
            self._pending = None
            self._last_attempt = now
            self._inflight = asyncio.create_task(self._post(status, stamp))

    async def _post(self, status: GameStatus, stamp: datetime) -> None:
        started = self._clock()
        try:
            await self.client.update_status(
                self.session_id, status, nickname=self.nickname, timestamp=stamp,
                retry=NO_RETRY, timeout=self.post_timeout,
            )  # fmt: skip
        except RateLimitError as error:
            self._failed(status, stamp, error.retry_after)
        except (ServerError, AuthenticationError) as error:
            log.debug("status post failed: %s", error)
            self._failed(status, stamp, error.retry_after)  # a 503 may say when to come back
        except ApiError as error:
            self._rejected(error)
        except Exception as error:  # noqa: BLE001 - transport errors, malformed answers: count and go on
            log.debug("status post failed: %r", error)
            self._failed(status, stamp, None)
        else:
            self.stats.sent += 1
            self.stats.latencies.append(self._clock() - started)
            self.last_sent = status
            self._failures = 0
            self._backoff_until = 0.0
        finally:
            self._inflight = None
        self._launch(self._clock())

    def _failed(self, status: GameStatus, stamp: datetime, retry_after: float | None) -> None:
        self.stats.failed += 1
        self._failures += 1
        if self._pending is None:
            self._pending = (status, stamp)  # nothing newer: send this one again
        else:
            self.stats.coalesced += 1
        wait = retry_after
        if wait is None:
            wait = backoff(self._failures, self.interval, self.max_backoff)
        self._backoff_until = self._clock() + wait

    def _rejected(self, error: ApiError) -> None:
        self.stats.rejected += 1
        self.last_rejection = error
        log.info("status refused: %s", error)
        notify(self.on_rejected, error, "on_rejected")

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

    async def _final_post(self, deadline: float) -> None:
        await self.idle()
        sample = self._sample()
        if sample is not None:
            self._enqueue(sample, datetime.fromtimestamp(self._wall_clock(), UTC))
        if self._pending is None:
            return
        wait = self._backoff_until - self._clock()
        if 0 < wait < deadline - self._clock():
            await asyncio.sleep(wait)
        status, stamp = self._pending
        self._pending = None
        await self._post(status, stamp)
