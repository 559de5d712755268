"""The game's one connection to a backend: its client (sign-in, sign-up, kept tokens) and its player's session.

Everything the player says to a session (joining, waiting for the start, each game's status and board, the
final state, freeing the seat) is the `PlayerSession`'s (`spaceinvaders_player`), shared with the bots and
the benchmarks. No Textual here: screens call these coroutines from workers and get the news as messages.
"""
from __future__ import annotations

import httpx

from api_client import AuthenticationError, SpaceInvadersClient, SpaceInvadersError, TokenStore
from spaceinvaders_player import PlayerSession

DEFAULT_API = "http://127.0.0.1:8080/v1"  # where `spaceinvaders-server serve` listens


class Link:
    """The client and the player's session of one run of the game."""

    def __init__(
        self, base_url: str, *, token_store: TokenStore | None = None, http: httpx.AsyncClient | None = None
    ) -> None:
        self.client = SpaceInvadersClient(base_url, token_store=token_store, http=http)
        self.base_url = self.client.base_url
        self.player = PlayerSession(self.client)

    @property
    def username(self) -> str | None:
        return self.client.username

    async def probe(self) -> bool:
        """Whether a backend answers: `/health`, or `/config` for the original deployment without one."""
        if await self.client.health():
            return True
        try:
            await self.client.config()
        except SpaceInvadersError:
            return False
        return True

    async def uses_cognito(self) -> bool:
        return (await self.client.config()).uses_cognito

    async def resume(self) -> bool:
        """Sign in with the tokens kept by an earlier run, if they still work."""
        if not await self.client.resume():
            return False
        try:
            await self.player.session()
        except AuthenticationError:
            self.client.sign_out()
            return False
        return True

    async def sign_in(self, username: str, password: str) -> None:
        await self.client.sign_in(username, password)

    async def sign_up(self, username: str, password: str, email: str | None = None) -> bool:
        """Create the account; True when it can sign in at once (False: a code was sent, see `confirm`)."""
        return (await self.client.sign_up(username, password, email)).UserConfirmed

    async def confirm(self, username: str, code: str) -> None:
        await self.client.confirm_sign_up(username, code)

    def sign_out(self) -> None:
        self.client.sign_out()

    async def aclose(self) -> None:
        await self.client.aclose()
