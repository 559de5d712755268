"""Waiting for a synchronized session's start, pushed when the backend offers it, polled when it cannot be.

While the start push is up (`api_client.StartListener`), nothing polls `/session`: the socket's answer to
`{"action": "session"}` tells the session as it is (a start made before the socket opened included) and
samples the server's clock, and the push tells the start (or a restart, or the close). Play begins at
`SynchronizeTime` on the server's clock; the socket stays open through the countdown so a restart or a
close still reaches the player. When the socket cannot be opened, or drops, the wait goes on by polling
`/session` (`SessionWatcher.wait_for_start`) and the socket is tried again after a backoff (1 s doubling up
to 30 s), polling stopping as soon as it is back.

Polls while the socket is up only where the socket cannot do it: a clock its answers could not pin down (a
backend whose answers carry no `ServerTime`) is refined by polls during the countdown (over the socket when
its answers carry it), and a socket that pushes but does not answer `{"action": "session"}` (the original deployment's,
which pushes the bare text `start`) has its questions asked of `/session` instead.
"""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from api_client import (
    ClosedPushed,
    PushUnavailable,
    Session,
    SessionAnswer,
    SessionWatcher,
    SpaceInvadersClient,
    StartListener,
    StartPushed,
    StartSignal,
)
from api_client.retry import backoff

log = logging.getLogger(__name__)

RECONNECT_FIRST, RECONNECT_MOST = 1.0, 30.0  # seconds of polling before the socket is tried again
ASK_AGAIN = 300.0  # a silent socket asks again this often (API Gateway closes sockets idle for 10 minutes)
ANSWER_WAIT = 3.0  # a question the socket leaves unanswered this long is asked of /session instead
START_PRECISION = 0.05  # below this clock uncertainty, the countdown needs no more samples


@dataclass
class StartWaitStats:
    """How the last wait went: whether the push carried it, and the `/session` polls it cost."""

    pushed: bool = False
    polls: int = 0
    socket_failures: int = 0


class StartWait:
    def __init__(self, client: SpaceInvadersClient, watcher: SessionWatcher, *, push: bool = True) -> None:
        self.client = client
        self.watcher = watcher
        self.push_offered: bool | None = None if push else False  # None: not known yet
        self.stats = StartWaitStats()
        self._failures = 0  # socket failures in a row
        self._closing: set[asyncio.Future[None]] = set()  # sockets still closing

    async def until_start(self, session: Session) -> Session | None:
        """Returns at the start (server clock) with the started session; None when it closed or another
        replaced it first."""
        self.stats = stats = StartWaitStats()
        polls_before = self.watcher.polls
        try:
            while True:
                if self.push_offered is not False:
                    try:
                        return await self._pushed(session.SessionId)
                    except PushUnavailable as error:
                        self._failures += 1
                        stats.socket_failures += 1
                        if not error.offered or error.status in (400, 404):
                            self.push_offered = False  # nothing to try again
                        log.info("start push unavailable (%s): polling /session", error)
                give_up_at = None
                if self.push_offered is not False:
                    give_up_at = time.monotonic() + backoff(self._failures, RECONNECT_FIRST, RECONNECT_MOST)
                started = await self.watcher.wait_for_start(give_up_at=give_up_at)
                if started is not None:
                    return _same(started, session.SessionId)
        finally:
            stats.polls = self.watcher.polls - polls_before

    async def _pushed(self, session_id: str) -> Session | None:
        listener = StartListener(self.client, session_id)
        await listener.open(self.watcher.clock)  # the upgrade answer's Date: a first clock sample
        try:
            self.push_offered, self._failures = True, 0
            return await self._listen(listener, session_id)
        finally:
            # Closed on the side: the close handshake is a round trip the start must not wait for.
            closing = asyncio.ensure_future(listener.aclose())
            self._closing.add(closing)
            closing.add_done_callback(self._closing.discard)

    async def _listen(self, listener: StartListener, session_id: str) -> Session | None:
        self._known: Session | None = None  # the session as last told (None before the first answer)
        self._socket_answers = True  # the socket answers {"action": "session"} (the original's does not)
        self._timed_answers = False  # its answers carry ServerTime (clock samples as good as the round trip)
        await listener.ask()
        # One receive at a time, kept across waits that run out (the countdown's last one ends at the start).
        receiving = asyncio.ensure_future(listener.receive())
        try:
            while True:
                known = self._known
                if known is not None and known.SynchronizeTime is not None:
                    remaining = self.watcher.seconds_until_start() or 0.0
                    if remaining <= 0:
                        self.stats.pushed = True
                        return known
                done, _ = await asyncio.wait((receiving,), timeout=self._next_wait(listener))
                event = receiving.result() if done else None
                if done:
                    receiving = asyncio.ensure_future(listener.receive())
                outcome = await self._handle(event, listener, session_id)
                if outcome is not _GO_ON:
                    return outcome  # type: ignore[return-value]
        finally:
            receiving.cancel()
            await asyncio.gather(receiving, return_exceptions=True)

    def _next_wait(self, listener: StartListener) -> float:
        wait = ASK_AGAIN
        if listener.asked_at is not None:  # a question not answered yet
            wait = min(wait, listener.asked_at + ANSWER_WAIT - time.time())
        remaining = self.watcher.seconds_until_start()
        if remaining is not None:
            wait = min(wait, remaining)
            if self.watcher.clock.uncertainty > START_PRECISION:
                wait = min(wait, 0.2)  # the clock is pinned down by more samples before the start
        return max(0.0, wait)

    async def _handle(self, event: object, listener: StartListener, session_id: str) -> object:
        """Act on one event of the socket (None: a wait ran out); a session or None ends the wait."""
        if event is None:
            if listener.asked_at is not None and time.time() >= listener.asked_at + ANSWER_WAIT:
                listener.forget_questions()  # a socket that pushes but does not answer (the original's)
                self._socket_answers = False
                return self._learn(await self.watcher.poll_once(), session_id)
            if self.watcher.seconds_until_start() is not None:
                if self.watcher.clock.uncertainty > START_PRECISION:  # the clock needs another sample
                    if self._timed_answers:
                        await listener.ask()  # over the socket, as good as a poll
                        return _GO_ON
                    return self._learn(await self.watcher.poll_once(), session_id)
                return _GO_ON  # the start is due: the loop sees it
            return await self._ask(listener, session_id)  # a long wait: say something before it counts as idle
        if isinstance(event, SessionAnswer):
            self.watcher.observe(event.session, {}, event.sent_at, event.received_at)
            self._timed_answers = event.session is not None and event.session.ServerTime is not None
            return self._learn(event.session, session_id)
        if isinstance(event, StartSignal):
            return await self._ask(listener, session_id)
        if isinstance(event, StartPushed) and event.session_id == session_id:
            if self._known is None:
                return await self._ask(listener, session_id)  # pushed before the first answer: ask again
            self._known = self._known.model_copy(update={"SynchronizeTime": event.synchronize_time})
            self.watcher.session = self._known
        elif isinstance(event, ClosedPushed) and event.session_id == session_id:
            return None
        return _GO_ON

    async def _ask(self, listener: StartListener, session_id: str) -> object:
        if self._socket_answers:
            await listener.ask()
            return _GO_ON
        return self._learn(await self.watcher.poll_once(), session_id)

    def _learn(self, session: Session | None, session_id: str) -> object:
        if session is None or _same(session, session_id) is None:
            return None  # closed, or replaced by another
        self._known = session
        return session if not session.Synchronized else _GO_ON


_GO_ON = object()  # the wait goes on


def _same(session: Session, session_id: str) -> Session | None:
    return None if session.SessionId != session_id or session.is_closed else session
