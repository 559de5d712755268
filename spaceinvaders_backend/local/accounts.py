"""Accounts: sign-up, sign-in and refresh over the `users` table, with argon2id password hashes.

Usernames are unique regardless of case and sign in with any case. Hashing is memory-hard and costs
~30 ms of a core, so it runs on threads of its own, a bounded number at a time (`HashGate`): a flood of
sign-ins or sign-ups gets 429s instead of taking the CPU from status posts.
"""
from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ..core.answers import SignedUp, Tokens
from ..core.errors import ApiError
from . import database
from .throttle import SignInThrottle
from .tokens import GAMER, MANAGER, TokenService
from .writer import Writer

T = TypeVar("T")
# argon2id at OWASP's 19 MiB: ~20-30 ms a hash here, memory-hard, and not hundreds of ms per sign-in.
HASHER = PasswordHasher(time_cost=3, memory_cost=19456, parallelism=1)


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


class HashGate:
    """At most `workers` password hashes at once, on threads of their own, and `queue` more waiting;
    past that a 429 with Retry-After (nothing was done, so a client may send the same call again)."""

    def __init__(self, workers: int, queue: int) -> None:
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="argon2")
        self._room = workers + queue
        self._admitted = 0

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._admitted >= self._room:
            raise ApiError(429, "TooManyRequests", "Too many sign-ins at once; retry shortly.",
                           headers={"Retry-After": "1"})
        self._admitted += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)
        finally:
            self._admitted -= 1

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Accounts:
    writer: Writer
    tokens: TokenService
    throttle: SignInThrottle
    gate: HashGate
    refresh_lifetime_seconds: int
    clock: Callable[[], float] = time.time

    async def sign_up(self, username: str, password: str, email: str | None) -> SignedUp:
        if await self.writer.run(database.get_user, username):  # no hash spent on a name that is taken
            raise _taken()
        password_hash = await self.gate.run(hash_password, password)
        sub = str(uuid.uuid4())
        if not await self.writer.run(database.insert_user, username, sub, password_hash, email, GAMER,
                                     self.clock()):
            raise _taken()
        return SignedUp(UserConfirmed=True, UserSub=sub, Username=username)

    async def sign_in(self, username: str, password: str) -> Tokens:
        key = username.lower()  # one throttle for every spelling of a name
        self.throttle.begin(key, self.clock())
        user = await self.writer.run(database.get_user, username)
        try:
            # Hash even for unknown users, so the answer's timing does not reveal who exists.
            ok = await self.gate.run(verify_password, user[2] if user else _DUMMY_HASH, password)
        except ApiError:
            self.throttle.forgive(key)  # turned away before any check: not a failed try
            raise
        if not (user and ok):
            raise ApiError(401, "NotAuthorizedException", "Incorrect username or password.")
        self.throttle.succeeded(key)
        name, sub, _, groups = user
        refresh = secrets.token_urlsafe(48)
        await self.writer.run(database.save_refresh_token, _digest(refresh), name,
                              self.clock() + self.refresh_lifetime_seconds)
        return self.tokens.issue(name, sub, groups.split(","), refresh_token=refresh)

    async def refresh(self, refresh_token: str) -> Tokens:
        username = await self.writer.run(database.refresh_token_owner, _digest(refresh_token), self.clock())
        user = username and await self.writer.run(database.get_user, username)
        if not user:
            raise ApiError(401, "NotAuthorizedException", "Invalid or expired refresh token.")
        name, sub, _, groups = user
        return self.tokens.issue(name, sub, groups.split(","))


def _taken() -> ApiError:
    return ApiError(409, "UsernameExistsException", "That username is taken (names are the same in any case).")


def create_manager(conn, username: str, password: str) -> str:
    """Make `username` a Manager (creating the account, or promoting the one of that name in any case and
    setting its password). Answers what happened."""
    password_hash = hash_password(password)
    groups = f"{GAMER},{MANAGER}"
    with database.transaction(conn):
        if database.insert_user(conn, username, str(uuid.uuid4()), password_hash, None, groups, time.time()):
            return "created"
        existing = database.get_user(conn, username)
        database.set_user_groups(conn, existing[0], password_hash, groups)
        return f"promoted ({existing[0]})" if existing[0] != username else "promoted"
