"""The AWS deployment's resources, worked on directly with boto3 (`../shared/AWS.md`, `docs/aws.md`).

Every call is a boto3 call run in a worker thread (boto3 clients are thread-safe), with botocore's own
retry mode (adaptive by default) and paginators for every list. The DynamoDB transactions and the
session and seat rules are the deployment's own stores (`spaceinvaders_backend.aws`), which the Lambda
functions run too; this console gives them its clients:

- open, start, close: `session_store` (the Sessions item, the Current item naming it, SSM's copy for
  `GET /session`); a start then asks the start function to push it over the WebSocket (`push`).
- watch: `board_store.ranking` (the `Ranking` index), `seat_store.seats`, the Sessions item.
- free a seat: `seat_store.free`, the transaction of `/deallocate`.
- export: every object under `sessions/<SessionId>/` of the archive bucket (Firehose's output).
- replay: the index the replay index function stored under `replays/<SessionId>/` (`replay_store`), and
  the archive's objects it has not indexed yet (`aws_replay.py`).
"""
from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import boto3
import botocore.config
import botocore.exceptions

from api_client import ScoreEntry, Session
from spaceinvaders_backend.aws import board_store, push, replay_store, seat_store, session_store
from spaceinvaders_backend.aws.config import StackNames, published_tables
from spaceinvaders_backend.core.errors import ApiError as Refusal
from spaceinvaders_backend.core.sessions import FINISHED, PLAYING

from . import (
    BackendError,
    Board,
    ExportProgress,
    OpenRequest,
    ProgressCallback,
    Seats,
    SignInRequired,
    idle_players,
)
from .aws_archive import write_export
from .aws_replay import ArchiveReplay
from .replay_cache import ReplayCache

T = TypeVar("T")


def client_config(retry_mode: str = "adaptive") -> botocore.config.Config:
    return botocore.config.Config(retries={"mode": retry_mode, "max_attempts": 5}, connect_timeout=5,
                                  read_timeout=15, max_pool_connections=16)


def describe(error: Exception) -> str:
    if isinstance(error, botocore.exceptions.ClientError):
        info = error.response.get("Error", {})
        return f"{info.get('Message') or 'refused'} ({info.get('Code', 'AWS error')})"
    return str(error) or type(error).__name__


def as_session(document: dict[str, Any]) -> Session:
    return Session.model_validate(document)


class AwsBackend:
    def __init__(self, env: str, session: boto3.Session | None = None, *, retry_mode: str = "adaptive",
                 credentials: Any = None, replay_cache: ReplayCache | None = None) -> None:
        self.env = env
        self.replay_cache = replay_cache if replay_cache is not None else ReplayCache()
        self._boto = session or boto3.Session()
        self._config = client_config(retry_mode)
        self._credentials = credentials  # CognitoManagerCredentials when signing in through Cognito
        self.label = f"AWS {env} ({self._boto.region_name or 'no region'})"
        self._clients: dict[str, Any] = {}
        self.names: StackNames | None = None  # the stack's resources, from SSM /<env>/tables
        self._archive_bucket = ""
        self._delay: tuple[str, float | None, float] | None = None  # (session, delay, newest UpdatedAt seen)

    # --- plumbing ----------------------------------------------------------------------------------
    def _client(self, service: str) -> Any:
        """This console's client of a service (the stores call it through `self.names`)."""
        if service not in self._clients:
            self._clients[service] = self._boto.client(service, config=self._config)
        return self._clients[service]

    async def _call(self, work: Callable[..., T], *args: Any) -> T:
        if self._credentials is not None and self._credentials.expiring():
            try:
                self._boto = await self._credentials.renew()
            except Exception as error:
                raise SignInRequired(f"sign in again: {describe(error)}") from error
            self._clients.clear()
        try:
            return await asyncio.to_thread(work, *args)
        except botocore.exceptions.ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in ("ExpiredTokenException", "ExpiredToken", "UnrecognizedClientException"):
                raise SignInRequired(f"the AWS credentials expired: {describe(error)}") from error
            raise BackendError(describe(error)) from error
        except (botocore.exceptions.BotoCoreError, OSError) as error:
            raise BackendError(describe(error)) from error
        except Refusal as refusal:  # the session and seat rules said no
            raise BackendError(refusal.message) from refusal

    def _load_names(self) -> None:
        tables = published_tables(self.env, self._client)
        try:
            self.names = StackNames.from_tables(self.env, tables, self._client)
        except KeyError as missing:
            raise BackendError(f"/{self.env}/tables does not name {missing.args[0]}") from None
        self._archive_bucket = tables["ArchiveBucket"]

    async def connect(self) -> None:
        if self._credentials is not None and not self._credentials.signed_in:
            raise SignInRequired("sign in to Cognito as a manager")
        if self._boto.region_name is None:
            raise BackendError("no AWS region: pass --region or set one in your AWS profile")
        try:
            await self._call(self._load_names)
        except BackendError as error:
            raise BackendError(f"cannot read /{self.env}/tables: {error}") from error

    async def sign_in(self, username: str, password: str) -> None:
        if self._credentials is None:
            raise BackendError("this console uses the AWS credentials of your profile or environment")
        try:
            self._boto = await self._credentials.sign_in(username, password)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:
            raise SignInRequired(f"no AWS credentials for the Manager role: {describe(error)}") from error
        self._clients.clear()
        await self.connect()

    def trust_certificate(self, fingerprint: str) -> None:
        raise BackendError("AWS endpoints are checked against the authorities: no certificate to trust by hand")

    # --- sessions ----------------------------------------------------------------------------------
    @property
    def stack(self) -> StackNames:
        if self.names is None:
            raise BackendError("not connected")
        return self.names

    async def sessions(self) -> list[Session]:
        stored = await self._call(session_store.all_sessions, self.stack)
        return [as_session(s.session.document()) for s in stored]

    async def current_session(self) -> Session | None:
        stored = await self._call(session_store.current, self.stack, True)
        return None if stored is None else as_session(stored.session.document())

    async def open_session(self, request: OpenRequest) -> Session:
        opened = await self._call(
            session_store.open_session, self.stack, request.name, str(request.game_type), request.synchronized,
            time.time(), request.timeout_minutes, request.total_seats)
        return as_session(opened.document())

    async def start_session(self, countdown_seconds: float) -> Session:
        started = await self._call(push.start_and_announce, self.stack, countdown_seconds, time.time())
        return as_session(started.document())

    async def close_session(self) -> Session:
        closed = await self._call(session_store.close, self.stack, time.time())
        return as_session(closed.document())

    # --- the board ---------------------------------------------------------------------------------
    async def board(self, session_id: str) -> Board:
        ranking, seats, stored = await asyncio.gather(
            self._call(board_store.ranking, self.stack, session_id),
            self._call(seat_store.seats, self.stack, session_id),
            self._call(session_store.read, self.stack, session_id))
        if stored is None:
            raise BackendError(f"no session {session_id}")
        now = time.time()
        entries, newest = [], 0.0
        delays = []
        since = self._delay[2] if self._delay and self._delay[0] == session_id else 0.0
        for line in ranking:
            entries.append(ScoreEntry(Nickname=line.nickname, Score=line.score, Shots=line.shots,
                                      Level=line.level, Lives=line.lives))
            updated, arrived = line.updated_at, line.arrived_at
            if updated is not None and arrived is not None:
                newest = max(newest, updated)
                if updated > since:
                    delays.append(updated - arrived)
        delay = max(delays) if delays else (self._delay[1] if since else None)
        self._delay = (session_id, delay, max(newest, since))
        finished, last_seen = [], {}  # last_seen: the playing ones
        for seat in seats:
            if seat.state == PLAYING:
                last_seen[seat.username] = seat.last_seen
            elif seat.state == FINISHED:
                finished.append(seat.username)
        return Board(
            session=as_session(stored.session.document()), entries=entries, fetched_at=now,
            seats=Seats(stored.session.total_seats, stored.occupied, frozenset(last_seen), frozenset(finished),
                        idle_players(last_seen, now)),
            records=stored.records, delay=delay)

    async def free_seat(self, session_id: str, username: str) -> None:
        await self._call(seat_store.free, self.stack, session_id, username)

    async def export(self, session_id: str, fmt: str, destination: Path, progress: ProgressCallback) -> int:
        loop = asyncio.get_running_loop()
        cancelled = threading.Event()

        def report(done: ExportProgress) -> None:  # in the worker thread: hand a copy to the event loop
            if cancelled.is_set():
                raise BackendError("export cancelled")  # the half-written file is removed
            loop.call_soon_threadsafe(progress, ExportProgress(done.records, done.bytes_done, done.bytes_total))

        try:
            return await self._call(write_export, self._client("s3"), self._archive_bucket, session_id,
                                    fmt, destination, report)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async def replay(self, session_id: str) -> ArchiveReplay:
        read = await self._call(replay_store.read, self.stack, session_id)  # the session and its stored index
        if read is None:
            raise BackendError(f"no session {session_id}")
        stack = self.stack
        return ArchiveReplay(self._client("s3"), self._archive_bucket, as_session(read.stored.session.document()),
                             lambda: board_store.kept_verdicts(stack, session_id), describe, self.replay_cache,
                             stored=read)

    async def aclose(self) -> None:
        self._clients.clear()
