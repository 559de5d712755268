"""Accounts: sign-up, sign-in and refresh over the `users` table, with argon2id password hashes.

Usernames are unique regardless of case and sign in with any case. Hashing is memory-hard and costs
~30 ms of a core, so it runs on threads of its own, a bounded number at a time (`HashGate`): a flood of
sign-ins or sign-ups gets 429s instead of taking the CPU from status posts.
"""
from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import secrets
import threading
import time
import uuid
from collections.abc import Callable
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


DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


@dataclass
class _Hash:
    fn: Callable[..., Any]
    args: tuple
    done: asyncio.Future
    loop: asyncio.AbstractEventLoop


def _settle(done: asyncio.Future, ok: bool, outcome: Any) -> None:
    if not done.done():  # a caller that went away cancelled it
        if ok:
            done.set_result(outcome)
        else:
            done.set_exception(outcome)


class HashGate:
    """At most `workers` password hashes at once, on threads of their own. One source address takes up to
    `per_source_running` of them while it is the only one with calls, and one while others have calls too:
    with more threads than one source may take, another source's call starts at once, and its hash shares
    the cores with one of a flood's, not with all of them. Calls that wait queue by source and the sources
    take turns (round-robin): one source cannot fill the queue ahead of the others. A source may have `per_source`
    calls waiting, all sources `queue`; past that a 429 with Retry-After (nothing was done, so a client may
    send the same call again).

    The threads choose their next hash themselves, as soon as one is done, so they never wait for the event
    loop between two hashes."""

    def __init__(self, workers: int, queue: int, per_source: int | None = None,
                 per_source_running: int | None = None) -> None:
        self._cap = workers if per_source_running is None else per_source_running
        # Calls admitted (running or waiting), in all and from one source.
        self._room = workers + queue
        self._room_per_source = self._cap + (queue if per_source is None else per_source)
        self._turns = threading.Condition()  # guards everything below
        self._waiting: dict[str, collections.deque[_Hash]] = {}  # source -> its calls; dict order = the round
        self._running_by: dict[str, int] = {}
        self._admitted = 0
        self._admitted_by: dict[str, int] = {}
        self._closed = False
        for i in range(workers):
            threading.Thread(target=self._work, name=f"argon2-{i}", daemon=True).start()

    async def run(self, source: str, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        job = _Hash(fn, args, loop.create_future(), loop)
        with self._turns:
            mine = self._admitted_by.get(source, 0)
            full = self._admitted >= self._room or mine >= self._room_per_source
            if not full:
                self._waiting.setdefault(source, collections.deque()).append(job)
                self._admitted += 1
                self._admitted_by[source] = mine + 1
                self._turns.notify()
        if full:
            raise ApiError(429, "TooManyRequests", "Too many sign-ins at once; retry shortly.",
                           headers={"Retry-After": "1"})
        return await job.done  # a caller that goes away cancels it: it is then skipped, or its result dropped

    def _next(self) -> tuple[str, _Hash] | None:
        """The next call to run, the sources taking turns, passing over one that has its share of threads
        (`per_source_running` alone, else one). Called with the lock held."""
        while True:
            alone = len(self._running_by.keys() | self._waiting.keys()) <= 1
            share = self._cap if alone else 1
            source = next((s for s in self._waiting if self._running_by.get(s, 0) < share), None)
            if source is None:
                return None
            calls = self._waiting.pop(source)
            job = calls.popleft()
            if calls:
                self._waiting[source] = calls  # to the back of the round
            self._running_by[source] = self._running_by.get(source, 0) + 1
            if not job.done.cancelled():
                return source, job
            self._done(source)  # its caller went away: the next one

    def _work(self) -> None:
        while True:
            with self._turns:
                while (chosen := self._next()) is None:
                    if self._closed:
                        return
                    self._turns.wait()
            source, job = chosen
            try:
                ok, outcome = True, job.fn(*job.args)
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                ok, outcome = False, exc
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile (the server stopping)
                job.loop.call_soon_threadsafe(_settle, job.done, ok, outcome)
            with self._turns:
                self._done(source)
                self._turns.notify_all()  # the shares may have changed

    def _done(self, source: str) -> None:
        """A call of `source` has run (or was dropped). Called with the lock held."""
        for counts in (self._running_by, self._admitted_by):
            left = counts[source] - 1
            if left:
                counts[source] = left
            else:
                del counts[source]
        self._admitted -= 1

    def close(self) -> None:
        with self._turns:
            self._closed = True
            self._waiting.clear()
            self._turns.notify_all()


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

    async def sign_up(self, username: str, password: str, email: str | None, source: str) -> SignedUp:
        if await self.writer.run(database.get_user, username):  # no hash spent on a name that is taken
            raise _taken()
        password_hash = await self.gate.run(source, hash_password, password)
        sub = str(uuid.uuid4())
        if not await self.writer.run(database.insert_user, username, sub, password_hash, email, GAMER,
                                     self.clock()):
            raise _taken()
        return SignedUp(UserConfirmed=True, UserSub=sub, Username=username)

    async def sign_in(self, username: str, password: str, source: str) -> Tokens:
        key = username.lower()  # one throttle for every spelling of a name
        self.throttle.begin(key, source, self.clock())
        try:
            user = await self.writer.run(database.get_user, username)
            # An unknown name is checked against a hash made with the same parameters, so the answer's
            # timing does not reveal who exists.
            ok = await self.gate.run(source, verify_password, user[2] if user else DUMMY_HASH, password)
        except ApiError:
            self.throttle.forgive(key, source)  # turned away before any check: not a failed try
            raise
        if not (user and ok):
            raise ApiError(401, "NotAuthorizedException", "Incorrect username or password.")
        self.throttle.succeeded(key, source)
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
