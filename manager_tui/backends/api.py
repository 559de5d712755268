"""The local server's manager paths, through `api_client` (signed in as a Manager; tokens remembered)."""
from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import TypeVar

import msgspec

from api_client import (
    ApiError,
    AuthenticationError,
    ClockOffset,
    ServerTrustError,
    Session,
    SpaceInvadersClient,
    SpaceInvadersError,
    TokenStore,
    TransportError,
    UnknownServerError,
)
from spaceinvaders_backend.core.replay import FrameView, ReplayFrame

from . import (
    EXPORT_FORMATS,
    BackendError,
    Board,
    ExportProgress,
    OpenRequest,
    ProgressCallback,
    Seats,
    SignInRequired,
    TrustRequired,
    idle_players,
)
from .files import written_atomically

_frame = msgspec.json.Decoder(ReplayFrame)

T = TypeVar("T")
MANAGER = "Manager"


def describe(error: SpaceInvadersError) -> str:
    """One line for a notification: the server's own message where it sent one."""
    if isinstance(error, ApiError):
        return f"{error.message} ({error.status} {error.code})"
    if isinstance(error, TransportError):
        return f"the server does not answer: {error}"
    return str(error)


class ApiBackend:
    """The manager's backend through the HTTP API of a server with the manager's paths (the local server)."""

    def __init__(self, base_url: str, *, username: str | None = None, token_store: TokenStore | None = None,
                 client: SpaceInvadersClient | None = None) -> None:
        self.client = client or SpaceInvadersClient(base_url, token_store=token_store or TokenStore())
        self.label = f"local {self.client.base_url}"
        self._username = username
        self._clock = ClockOffset()
        self._sessions: dict[str, Session] = {}

    async def _run(self, call: Awaitable[T]) -> T:
        try:
            return await call
        except AuthenticationError as error:
            raise SignInRequired(f"sign in again: {describe(error)}") from error
        except SpaceInvadersError as error:
            raise BackendError(describe(error)) from error

    async def connect(self) -> None:
        try:  # the server's certificate, before any password or token goes to it (api_client/trust.py)
            await self.client.trust.check()
        except UnknownServerError as error:
            raise TrustRequired(str(error), error.origin, error.presented or "") from error
        except ServerTrustError as error:
            raise BackendError(str(error)) from error
        except SpaceInvadersError as error:
            raise BackendError(describe(error)) from error
        if not await self._run(self.client.resume(self._username)):
            raise SignInRequired("no remembered manager tokens for this server")
        if MANAGER not in self.client.groups:
            raise SignInRequired("the remembered account is not a manager; sign in as one")

    def trust_certificate(self, fingerprint: str) -> None:
        """The manager compared the fingerprint and trusts it: remembered, and required from now on."""
        self.client.trust.accept(fingerprint)

    async def sign_in(self, username: str, password: str) -> None:
        tokens = await self._run(self.client.sign_in(username, password))
        if MANAGER not in tokens.groups:
            self.client.sign_out()
            raise BackendError(f"{username} is not a manager (spaceinvaders-server create-manager makes one)")

    async def sessions(self) -> list[Session]:
        sessions = await self._run(self.client.sessions())
        self._sessions = {s.SessionId: s for s in sessions}
        return sessions

    async def current_session(self) -> Session | None:
        session, response = await self._run(self.client.session_response())
        self._clock.add_answer(session, response.headers, response.sent_at, response.received_at)
        return session

    async def open_session(self, request: OpenRequest) -> Session:
        return await self._run(self.client.open_session(
            request.game_type, synchronized=request.synchronized, session_name=request.name,
            timeout_minutes=request.timeout_minutes, total_seats=request.total_seats))

    async def start_session(self, countdown_seconds: float) -> Session:
        return await self._run(self.client.start_session(countdown_seconds))

    async def close_session(self) -> Session:
        return await self._run(self.client.close_session())

    async def _session(self, session_id: str) -> Session:
        current = await self.current_session()
        if current is not None and current.SessionId == session_id:
            return current
        known = self._sessions.get(session_id)
        if known is None or known.ClosingTime is None:  # a past session changes no more once closed
            await self.sessions()
            known = self._sessions.get(session_id)
        if known is None:
            raise BackendError(f"no session {session_id}")
        return known

    async def board(self, session_id: str) -> Board:
        answer, players, session = await self._run(asyncio.gather(
            self.client.full_scoreboard_answer(session_id), self.client.players(session_id),
            self._session(session_id)))
        stats = answer.Stats
        fetched_at = time.time()
        playing = frozenset(players.PlayingGamers)
        # A server without LastSeen (older ones) tells nothing of idleness: nobody is shown idle.
        last_seen = {name: seen.timestamp() for name, seen in (players.LastSeen or {}).items() if name in playing}
        return Board(
            session=session, entries=answer.entries, fetched_at=fetched_at,
            seats=Seats(players.TotalSeats, players.OccupiedSeats, playing, frozenset(players.FinishedGamers),
                        idle_players(last_seen, fetched_at + self._clock.offset)),
            records=stats.Records if stats else None, delay=stats.Delay if stats else None,
            clock_offset=self._clock.offset,
        )

    async def free_seat(self, session_id: str, username: str) -> None:
        current = await self.current_session()
        if current is None or current.SessionId != session_id:
            raise BackendError("seats can only be freed in the current session")
        await self._run(self.client.deallocate_player(username))

    async def export(self, session_id: str, fmt: str, destination: Path, progress: ProgressCallback) -> int:
        if fmt not in EXPORT_FORMATS:
            raise BackendError(f"format is one of {', '.join(EXPORT_FORMATS)}")
        done = ExportProgress()
        header = 1 if fmt == "csv" else 0  # CSV's first line names the columns
        lines = 0

        def counted(records: int | None) -> None:  # the server's X-Record-Count, before the first record
            done.records_total = records
            progress(done)

        try:
            with written_atomically(destination) as out:
                async for chunk in self.client.export_stream(session_id, fmt, on_count=counted):
                    out.write(chunk)
                    lines += chunk.count(b"\n")
                    done.bytes_done += len(chunk)
                    done.records = max(0, lines - header)
                    progress(done)
        except SpaceInvadersError as error:
            raise BackendError(describe(error)) from error
        progress(done)
        return done.records

    async def replay(self, session_id: str) -> ServerReplay:
        return ServerReplay(self, await self._session(session_id))

    async def aclose(self) -> None:
        await self.client.aclose()


class ServerReplay:
    """A replay the server computes from its log (`GET /manager/replay`): each frame is one request."""

    def __init__(self, backend: ApiBackend, session: Session) -> None:
        self.backend = backend
        self.session = session

    async def frame(self, at: float | None, view: FrameView | None = None) -> ReplayFrame:
        view = view or FrameView()
        text = await self.backend._run(self.backend.client.replay_frame(
            self.session.SessionId, at, first=view.first, count=view.count, since=view.since,
            tolerance=view.tolerance))
        try:
            return _frame.decode(text)
        except msgspec.ValidationError as error:
            raise BackendError(f"the server's replay answer is not a frame: {error}") from error

    async def aclose(self) -> None:
        return None
