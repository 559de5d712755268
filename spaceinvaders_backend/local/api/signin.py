"""Local sign-up, sign-in and refresh (Cognito's shapes), with a limit on sign-ups per source address."""
from __future__ import annotations

from collections.abc import Callable

from ...core import models
from ...core.answers import SignedUp, Tokens
from ...core.errors import ApiError
from ..accounts import Accounts
from ..ratelimit import RateLimiter, retry_after
from .operation import Call, Operation


class SignInPaths:
    def __init__(self, accounts: Accounts, sign_ups: RateLimiter, clock: Callable[[], float]) -> None:
        self.accounts = accounts
        self.sign_ups = sign_ups  # per source address
        self.clock = clock

    async def sign_up(self, call: Call) -> SignedUp:
        wait = self.sign_ups.take(call.source, self.clock())
        if wait:
            raise ApiError(429, "TooManyRequests", "Too many sign-ups from your address; wait before the next.",
                           headers=retry_after(wait))
        b: models.SignUp = call.body
        return await self.accounts.sign_up(b.Username, b.Password, b.Email)

    async def sign_in(self, call: Call) -> Tokens:
        b: models.SignIn = call.body
        return await self.accounts.sign_in(b.Username, b.Password)

    async def refresh(self, call: Call) -> Tokens:
        return await self.accounts.refresh(call.body.RefreshToken)

    def operations(self) -> list[Operation]:
        return [
            Operation("POST", "/auth/signup", "Sign up (joins Gamer)", self.sign_up, None, SignedUp,
                      body=models.SignUp, status=201, errors=(409, 429)),
            Operation("POST", "/auth/signin", "Sign in", self.sign_in, None, Tokens, body=models.SignIn,
                      errors=(401, 429)),
            Operation("POST", "/auth/refresh", "New tokens from a refresh token", self.refresh, None, Tokens,
                      body=models.Refresh, errors=(401,)),
        ]
