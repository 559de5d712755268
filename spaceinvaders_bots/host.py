"""The manager's part of a self-contained run (`--manager`): open a session for the bots, start it once
they are all seated (synchronized sessions), close it after they have left."""
from __future__ import annotations

from api_client import GameType, Session, SpaceInvadersClient

COUNTDOWN_SECONDS = 3.0


class SessionHost:
    def __init__(self, api: str, username: str, password: str, *, game_type: str = GameType.MULTIPLE_TRIALS,
                 synchronized: bool = False, seats: int = 200, timeout_minutes: int | None = None) -> None:
        self.client = SpaceInvadersClient(api, token_store=None)
        self.username = username
        self.password = password
        self.game_type = game_type
        self.synchronized = synchronized
        self.seats = seats
        self.timeout_minutes = timeout_minutes
        self.session: Session | None = None
        self.opened_here = False
        self.started = False

    async def open(self) -> Session:
        """Sign in as the manager and open a session, or take the one already open (then it is left open)."""
        await self.client.sign_in(self.username, self.password)
        current = await self.client.session()
        if current is not None and not current.is_closed:
            self.session = current
            self.started = not current.Synchronized or current.SynchronizeTime is not None
            return current
        self.session = await self.client.open_session(
            self.game_type, synchronized=self.synchronized, session_name="BOTS", total_seats=self.seats,
            timeout_minutes=self.timeout_minutes)
        self.opened_here = True
        self.started = not self.synchronized
        return self.session

    async def start_when_seated(self, joined: int, expected: int) -> None:
        """Start a synchronized session once `expected` bots have joined."""
        if not self.started and joined >= expected:
            self.started = True
            self.session = await self.client.start_session(COUNTDOWN_SECONDS)

    async def close(self) -> None:
        try:
            if self.opened_here:
                self.session = await self.client.close_session()
        finally:
            await self.client.aclose()
