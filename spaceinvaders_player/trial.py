"""One game's talk with its session: the status every 300 ms on the server's clock, the top 10 every 2 s,
the refusals, whether the server answers, and the final state delivered however long the network is out.

What happens is told through `TrialEvents`, callbacks given at the start (a game's screen turns them into
messages, a bot into its own states); nothing polls the trial.
"""
from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from api_client import (
    ApiError,
    GameStatus,
    Scoreboard,
    ScoreboardPoller,
    ScoreEntry,
    ServerError,
    Session,
    SessionWatcher,
    SpaceInvadersClient,
    StatusPublisher,
)
from api_client.callbacks import notify

from .rules import ends_trial, is_early

log = logging.getLogger(__name__)

STATUS_INTERVAL = 0.3
BOARD_INTERVAL = 2.0

StatusProvider = Callable[[], Mapping[str, int] | GameStatus]


class TrialState(Enum):
    PLAYING = "playing"
    FINISHING = "finishing"  # the final state on its way
    OVER = "over"  # nothing more to post: delivered, refused, or stopped


class Delivery(Enum):
    """What became of a game's final state."""

    SENDING = "sending"  # on its way (through outages)
    SENT = "sent"  # stored by the server
    REFUSED = "refused"  # the session takes no more (closed, replaced, the seat gone)
    FAILED = "failed"  # stopped before the server had it, or an error (logged)


@dataclass(frozen=True)
class TrialEvents:
    """The caller's callbacks (called on the event loop; one that raises is logged, never propagated)."""

    on_board: Callable[[Scoreboard], None] | None = None  # a newer top 10 (and the player's own rank, `Caller`)
    on_ended: Callable[[ApiError], None] | None = None  # the server ended the game (closed, replaced, seat gone)
    on_refused: Callable[[ApiError], None] | None = None  # a post refused for another reason; the game goes on
    on_online: Callable[[bool], None] | None = None  # the server stopped or started answering


class TrialOwner(Protocol):
    """What a trial needs of the player it belongs to (`PlayerSession`, which imports this module)."""

    client: SpaceInvadersClient
    watcher: SessionWatcher  # the session as last seen and the server's clock
    on_post: Callable[[float], None] | None  # seconds from each status sample to its 2xx

    def trial_ended(self, trial: Trial) -> None:
        """The server ended the game (its seat is gone with it)."""


class Trial:
    def __init__(self, player: TrialOwner, session: Session, number: int, status: StatusProvider,
                 events: TrialEvents, *, stagger: random.Random | None = None) -> None:
        self.player = player
        self.session = session
        self.number = number  # this player's games in this session, from 1
        self.events = events
        self.state = TrialState.PLAYING
        self.online = True
        self.ended_by: ApiError | None = None  # the refusal that ended the game, if the server ended it
        self._status = status
        self._stagger = stagger
        self._starter: asyncio.Task[None] | None = None
        deadline = session.deadline
        watcher = player.watcher

        def stamp() -> float:  # the server's clock; never past a time-constrained session's end
            now = watcher.server_now()
            return now if deadline is None else min(now, deadline - 0.001)

        self.publisher = StatusPublisher(
            player.client, session.SessionId, self._sample, nickname=player.client.username,
            interval=STATUS_INTERVAL, wall_clock=stamp, on_rejected=self._refused, on_sent=self._sent,
            on_failed=self._failed)  # fmt: skip
        self.poller = ScoreboardPoller(player.client, session.SessionId, interval=BOARD_INTERVAL,
                                       on_update=self._board)

    @property
    def finished(self) -> bool:
        """Nothing more to post (the final state delivered or refused, or the trial stopped)."""
        return self.state is TrialState.OVER

    def start(self) -> None:
        if self._stagger is None:
            self.publisher.start()
            self.poller.start()
        else:  # many players in one process: each starts at a random phase, as people's screens come up
            self._starter = asyncio.create_task(self._start_staggered(self._stagger))

    async def _start_staggered(self, rng: random.Random) -> None:
        await asyncio.sleep(rng.uniform(0, STATUS_INTERVAL))
        self.publisher.start()
        await asyncio.sleep(rng.uniform(0, BOARD_INTERVAL))
        self.poller.start()

    # --- the publisher's and the poller's news -------------------------------------------------------
    def _sample(self) -> Mapping[str, int] | GameStatus | None:
        return None if self.state is TrialState.OVER else self._status()

    def _sent(self, seconds: float) -> None:
        self._set_online(True)
        notify(self.player.on_post, seconds, "on_post")

    def _failed(self, error: Exception) -> None:
        # 429 and 401 are answers; no answer at all, or a 5xx from the server or a proxy, is the network.
        self._set_online(isinstance(error, ApiError) and not isinstance(error, ServerError))

    def _refused(self, error: ApiError) -> None:
        self._set_online(True)
        if self.state is TrialState.OVER or is_early(error):
            return
        if ends_trial(error):
            self.ended_by = error
            self.state = TrialState.OVER  # nothing more to post, nor to tell
            self.player.trial_ended(self)
            notify(self.events.on_ended, error, "on_ended")
        else:
            notify(self.events.on_refused, error, "on_refused")

    def _set_online(self, online: bool) -> None:
        if online != self.online:
            self.online = online
            notify(self.events.on_online, online, "on_online")

    def _board(self, entries: list[ScoreEntry]) -> None:
        if self.poller.answer is not None:
            notify(self.events.on_board, self.poller.answer, "on_board")

    # --- the end -------------------------------------------------------------------------------------
    async def finish(self, final: Mapping[str, int] | GameStatus) -> Delivery:
        """Post the final state until the server has it (through outages), then stop posting."""
        self.state = TrialState.FINISHING
        self._cancel_starter()
        self.publisher.start()  # a staggered start not yet done: the final state does not wait for it
        delivered = await self.publisher.deliver(GameStatus.model_validate(dict(final)))
        self.state = TrialState.OVER
        await self.publisher.stop()
        if delivered:
            return Delivery.SENT
        return Delivery.REFUSED if self.publisher.last_rejection is not None else Delivery.FAILED

    async def refresh_board(self) -> None:
        """Fetch the board once more (the final rank); `on_board` hears of it if it changed."""
        await self.poller.poll_once()

    async def stop(self) -> None:
        """Stop polling and posting; unless over, the newest state is posted first (within 3 s)."""
        self._cancel_starter()
        await self.poller.stop()
        await self.publisher.stop()
        self.state = TrialState.OVER

    async def stop_board(self) -> None:
        await self.poller.stop()

    def _cancel_starter(self) -> None:
        if self._starter is not None:
            self._starter.cancel()
            self._starter = None
