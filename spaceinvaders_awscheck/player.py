"""The throwaway player's side of the check: the game's own client (`api_client`) against the stack's REST
API, Cognito (its SRP sign-in through pycognito) and the start push over the WebSocket API."""

from __future__ import annotations

import asyncio
import time

from api_client import (
    ApiConfig,
    CognitoSignIn,
    GameStatus,
    SessionAnswer,
    SpaceInvadersClient,
    StartListener,
    StartPushed,
    StatusReceipt,
    Tokens,
)
from api_client.models import SignUpResult

BOARD_POLL_SECONDS = 0.25  # /scoreboard is cached by API Gateway for CacheSeconds (1 s)


class PlayerSide:
    def __init__(self, api_url: str) -> None:
        # No token file: the throwaway account's tokens stay in memory and go with the account.
        self.client = SpaceInvadersClient(api_url, token_store=None)
        self.listener: StartListener | None = None

    async def config(self) -> ApiConfig:
        return await self.client.config()

    async def sign_up(self, username: str, password: str) -> SignUpResult:
        return await self.client.sign_up(username, password)

    async def sign_in(self, username: str, password: str) -> Tokens:
        return await self.client.sign_in(username, password)

    @property
    def username(self) -> str:
        return self.client.username or ""

    async def allocate(self) -> str | None:
        return await self.client.allocate()

    async def post(self, session_id: str, score: int) -> StatusReceipt:
        return await self.client.update_status(session_id, GameStatus(Score=score, Shots=1, Level=1, Lives=3))

    async def board_shows(self, session_id: str, score: int, within: float) -> float | None:
        """Seconds until `/scoreboard` showed this player with `score`, or None if not within `within`."""
        began = time.monotonic()
        while True:
            entries = await self.client.scoreboard(session_id)
            if any(e.Nickname.lower() == self.username.lower() and e.Score == score for e in entries):
                return time.monotonic() - began
            left = within - (time.monotonic() - began)
            if left <= 0:
                return None
            await asyncio.sleep(min(BOARD_POLL_SECONDS, left))

    async def listen(self, session_id: str) -> SessionAnswer:
        """Connect to the start push of this session and ask for the session (the `session` route)."""
        self.listener = StartListener(self.client, session_id)
        await self.listener.open()
        await self.listener.ask()
        while True:
            event = await self.listener.receive()
            if isinstance(event, SessionAnswer):
                return event

    async def hear_start(self, session_id: str) -> StartPushed:
        """The next start pushed for this session (wrap in a timeout)."""
        assert self.listener is not None
        while True:
            event = await self.listener.receive()
            if isinstance(event, StartPushed) and event.session_id == session_id:
                return event

    async def delete_account(self) -> None:
        """The player deletes their own account with their access token (Cognito `DeleteUser`)."""
        auth = await self.client.auth()
        if not isinstance(auth.backend, CognitoSignIn) or auth.tokens is None or not auth.tokens.access_token:
            raise RuntimeError("not signed in to Cognito")
        await auth.backend.delete_account(self.username, auth.tokens.access_token)

    async def aclose(self) -> None:
        if self.listener is not None:
            await self.listener.aclose()
        await self.client.aclose()
