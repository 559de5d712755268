"""One writer thread owns the SQLite write connection; status records and seat changes reach it in group commits.

Every post and seat change of a group waits on the same future, which is resolved once the group's
transaction is on disk. While one group commits, the next fills up, so the number of fsyncs follows the
disk, not the request rate. The records just committed stay in memory for the stream processor (`recent`),
so it need not read them back.

Every piece of work on the thread goes through `run`, where a storage failure becomes the one answer of
`storage.unavailable` (503 StorageUnavailable, Retry-After); `failed` tells /health until a write works again.
"""
from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from ..core.errors import ApiError
from . import database
from .records import StatusRecord
from .storage import RESERVE_FILE, SpaceReserve, is_disk_full, is_storage_failure, unavailable

T = TypeVar("T")
log = logging.getLogger("spaceinvaders.server")
# Committed records kept for the stream processor; past it, it reads them back from the table.
RECENT_LIMIT = 200_000


class Writer:
    def __init__(self, path: Path, max_pending: int) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")
        self._conn: sqlite3.Connection = self._executor.submit(database.connect, path).result()
        self._max_pending = max_pending
        self._rows: list[StatusRecord] = []
        self._seats: list[database.SeatRow] = []
        self._batch: asyncio.Future | None = None
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()  # set while no group waits for its commit
        self._idle.set()
        self._task: asyncio.Task | None = None
        self._recent: list[StatusRecord] = []
        self.reserve = SpaceReserve(path.parent / RESERVE_FILE)
        self.failed: BaseException | None = None
        self._changes_when_failed = 0
        self.commits = 0  # group commits, for /health

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(conn, *args)` on the writer thread, after the work already queued; a storage failure
        is a 503 StorageUnavailable."""
        try:
            result = await asyncio.get_running_loop().run_in_executor(self._executor, fn, self._conn, *args)
        except Exception as exc:
            if not is_storage_failure(exc):
                raise
            self._storage_failed(exc)
            raise unavailable(exc) from exc
        if self.failed is not None and self._conn.total_changes > self._changes_when_failed:
            log.warning("storage works again: writes are stored")
            self.failed = None
        return result

    async def run_reserved(self, fn: Callable[..., T], *args: Any) -> T:
        """`run`, but on a full disk the space reserve is given up and `fn` runs once more in the same
        job (nothing else can take that space first): for the manager's rare and small session changes."""
        def attempt(conn: sqlite3.Connection) -> T:
            try:
                return fn(conn, *args)
            except Exception as exc:
                if not (is_disk_full(exc) and self.reserve.release()):
                    raise
                log.warning("the disk is full: the space reserve was given up for a session change")
                return fn(conn, *args)
        return await self.run(attempt)

    async def keep_reserve(self) -> bool:
        return await self.run(lambda _conn: self.reserve.keep())

    def _storage_failed(self, exc: BaseException) -> None:
        if self.failed is None:
            log.warning("storage failed (%s): writes get 503 StorageUnavailable until it works again", exc)
        self.failed = exc
        self._changes_when_failed = self._conn.total_changes

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._commit_loop(), name="group-commit")

    def _group(self) -> asyncio.Future:
        batch = self._batch
        if batch is None:
            batch = self._batch = asyncio.get_running_loop().create_future()
            self._idle.clear()
            self._wake.set()
        return batch

    async def append_status(self, record: StatusRecord) -> None:
        """Queue one status record and return once it is committed; 503 when the backlog is too long."""
        if len(self._rows) >= self._max_pending:
            raise ApiError(503, "Overloaded", "The server is overloaded; retry shortly.",
                           headers={"Retry-After": "1"})
        batch = self._group()
        self._rows.append(record)
        await asyncio.shield(batch)  # a caller that goes away must not cancel the others' commit

    async def save_seat(self, session_id: str, username: str, state: str | None, played: bool) -> None:
        """Queue one seat change and return once it is committed (in the same groups as status records)."""
        batch = self._group()
        self._seats.append((session_id, username, state, int(played)))
        await asyncio.shield(batch)

    async def _commit_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            rows, seats, batch = self._rows, self._seats, self._batch
            self._rows, self._seats, self._batch = [], [], None
            try:
                await self.run(database.commit_group, rows, seats)
            except Exception as exc:  # every change of this group gets the same 503
                if not isinstance(exc, ApiError):
                    log.exception("a group commit failed")
                    self._storage_failed(exc)
                    exc = unavailable(exc)
                batch.set_exception(exc)
                batch.exception()  # retrieved here: a group whose callers all went away logs nothing
            else:
                self.commits += 1
                if rows and len(self._recent) < RECENT_LIMIT:
                    self._recent.extend(rows)
                batch.set_result(None)
            if self._batch is None:
                self._idle.set()

    def recent(self, after: int, limit: int) -> list[StatusRecord] | None:
        """Up to `limit` committed records following seq `after`, from memory; None when memory does not
        hold the next one (a failed commit, a restart, a full memory): then read the table."""
        recent = self._recent
        passed = 0
        while passed < len(recent) and recent[passed].seq <= after:
            passed += 1
        if passed:
            del recent[:passed]
        if not recent or recent[0].seq != after + 1:
            return None
        return recent[:limit]

    async def close(self) -> None:
        if self._task is not None:
            await self._idle.wait()  # let the last posts commit
            self._task.cancel()
        await self.run(lambda conn: conn.close())
        self._executor.shutdown(wait=True)
