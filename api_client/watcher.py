"""The session watcher: the current session and the server's clock, from `/session` polls (and from the start
push's answers, handed to `observe`); `wait_for_start` starts a player on the server's clock by polling."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Mapping

from .callbacks import notify
from .client import SpaceInvadersClient
from .clock import ClockOffset
from .errors import RateLimitError, ServerError, TransportError
from .models import Session

log = logging.getLogger(__name__)

# Errors that are a bad moment, not a reason to stop waiting.
_TRANSIENT = (TransportError, ServerError, RateLimitError)
# Below this offset uncertainty (seconds) polling at the normal pace is precise enough for a start.
_START_PRECISION = 0.05


def _comparable(session: Session | None) -> dict[str, object] | None:
    # ServerTime changes on every answer; the session has not.
    return None if session is None else session.model_dump(exclude={"ServerTime"})


class SessionWatcher:
    def __init__(
        self,
        client: SpaceInvadersClient,
        *,
        interval: float = 1.0,
        on_change: Callable[[Session | None], None] | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.interval = interval
        self.on_change = on_change
        self.clock = ClockOffset()
        self.session: Session | None = None
        self.polls = 0  # GET /session sent (answered or not)
        self.errors = 0
        self.last_error: Exception | None = None
        self._wall_clock = wall_clock

    def server_now(self) -> float:
        """The server's clock now, as epoch seconds, by this machine's clock and the estimated offset."""
        return self._wall_clock() + self.clock.offset

    def seconds_until_start(self) -> float | None:
        """Seconds (server clock) until the session's `SynchronizeTime`; None when it has none yet."""
        if self.session is None or self.session.SynchronizeTime is None:
            return None
        return self.session.SynchronizeTime.timestamp() - self.server_now()

    async def poll_once(self) -> Session | None:
        """Fetch the session once; transient failures are counted and leave the last session in place."""
        self.polls += 1
        try:
            session, response = await self.client.session_response()
        except _TRANSIENT as error:
            self.errors += 1
            self.last_error = error
            log.debug("session poll failed: %s", error)
            return self.session
        return self.observe(session, response.headers, response.sent_at, response.received_at)

    def observe(
        self, session: Session | None, headers: Mapping[str, str], sent_at: float, received_at: float
    ) -> Session | None:
        """Take in an answer about the session (a poll's, or the start push's): the session, a clock sample."""
        self.clock.add_answer(session, headers, sent_at, received_at)
        changed = _comparable(session) != _comparable(self.session)
        self.session = session
        if changed:
            notify(self.on_change, session, "on_change")
        return session

    def _poll_pause(self) -> float:
        # Whole-second Date headers need samples at varied phases of the second; ServerTime does not care.
        return self.interval * random.uniform(0.75, 1.25)

    async def wait_for_start(self, *, give_up_at: float | None = None) -> Session | None:
        """Wait until play may begin and return the session.

        For a synchronized session this returns at `SynchronizeTime` on the server's clock; an
        unsynchronized open session returns at once; a closed one is returned as is (check `is_closed`).
        With `give_up_at` (time.monotonic), None when that instant passes before a start is known.
        """
        while True:
            session = await self.poll_once()
            if session is not None and (session.is_closed or not session.Synchronized):
                return session
            remaining = self.seconds_until_start()
            if remaining is None and give_up_at is not None and time.monotonic() >= give_up_at:
                return None
            if remaining is not None and remaining <= self.interval * 1.25:
                # Close enough: sleep the rest by the local clock, which is steady over a second.
                await asyncio.sleep(max(0.0, remaining))
                return session  # type: ignore[return-value]
            pause = self._poll_pause()
            if remaining is not None:
                if self.clock.uncertainty > _START_PRECISION:
                    pause = min(pause, random.uniform(0.1, 0.3))  # whole-second Dates: sample more phases
                pause = min(pause, max(0.0, remaining - self.interval))
            elif give_up_at is not None:
                pause = min(pause, max(0.0, give_up_at - time.monotonic()))
            await asyncio.sleep(pause)
