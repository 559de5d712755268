"""Local sign-up, sign-in and refresh (Cognito's shapes), with limits per source address.

Sign-ups and sign-ins each have a pace per source address (a burst that lets a room join from one NAT
address, then a slow rate). A call refused for its pace or for a full hashing queue (429 TooManyRequests)
is answered after a pause (0.5 to 1.5 times `refusal_pause_seconds`: calls refused together come back
spread out), so that a flood that ignores Retry-After costs one cheap answer per connection per pause
instead of spinning. (A try refused for failed sign-ins is answered at once: its Retry-After is the whole
story, and it costs nothing.)
"""
from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from ...core import models
from ...core.answers import SignedUp, Tokens
from ...core.errors import ApiError
from ..accounts import Accounts
from ..ratelimit import RateLimiter, retry_after, source_key
from ..settings import Settings
from .operation import Call, Operation

T = TypeVar("T")


class SignInPaths:
    def __init__(self, accounts: Accounts, settings: Settings, clock: Callable[[], float]) -> None:
        self.accounts = accounts
        self.sign_ups = RateLimiter(settings.signup_rate_per_source, settings.signup_burst_per_source)
        self.sign_ins = RateLimiter(settings.signin_rate_per_source, settings.signin_burst_per_source)
        self.pause = settings.refusal_pause_seconds
        self.clock = clock

    async def _paced(self, limiter: RateLimiter, what: str, source: str, work: Callable[[], Awaitable[T]]) -> T:
        try:
            wait = limiter.take(source, self.clock())
            if wait:
                raise ApiError(429, "TooManyRequests", f"Too many {what} from your address; wait before the next.",
                               headers=retry_after(wait))
            return await work()
        except ApiError as error:
            if error.code == "TooManyRequests":  # over the pace, or the hashing queue full
                # Spread out: calls refused together must not come back together (a burst every pause).
                await asyncio.sleep(self.pause * random.uniform(0.5, 1.5))
            raise

    async def sign_up(self, call: Call) -> SignedUp:
        b: models.SignUp = call.body
        source = source_key(call.source)
        return await self._paced(self.sign_ups, "sign-ups", source,
                                 lambda: self.accounts.sign_up(b.Username, b.Password, b.Email, source))

    async def sign_in(self, call: Call) -> Tokens:
        b: models.SignIn = call.body
        source = source_key(call.source)
        return await self._paced(self.sign_ins, "sign-ins", source,
                                 lambda: self.accounts.sign_in(b.Username, b.Password, source))

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
