"""One writer thread owns the SQLite write connection; status records reach it in group commits.

Every post of a batch waits on the same future, which is resolved once the batch's transaction is on
disk. While one batch commits, the next fills up, so the number of fsyncs follows the disk, not the
request rate. The records just committed stay in memory for the stream processor (`recent`), so it
need not read them back.
"""
from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from ..core.errors import ApiError
from . import database
from .records import StatusRecord

T = TypeVar("T")
# Committed records kept for the stream processor; past it, it reads them back from the table.
RECENT_LIMIT = 200_000


class Writer:
    def __init__(self, path: Path, max_pending: int) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")
        self._conn: sqlite3.Connection = self._executor.submit(database.connect, path).result()
        self._max_pending = max_pending
        self._rows: list[StatusRecord] = []
        self._batch: asyncio.Future | None = None
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()  # set while no batch waits for its commit
        self._idle.set()
        self._task: asyncio.Task | None = None
        self._recent: list[StatusRecord] = []
        self.failed: BaseException | None = None
        self.commits = 0  # group commits of status records, for /health

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(conn, *args)` on the writer thread, after the work already queued."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, self._conn, *args)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._commit_loop(), name="group-commit")

    async def append_status(self, record: StatusRecord) -> None:
        """Queue one status record and return once it is committed; 503 when the backlog is too long."""
        if len(self._rows) >= self._max_pending:
            raise ApiError(503, "Overloaded", "The server is overloaded; retry shortly.",
                           headers={"Retry-After": "1"})
        batch = self._batch
        if batch is None:
            batch = self._batch = asyncio.get_running_loop().create_future()
            self._idle.clear()
            self._wake.set()
        self._rows.append(record)
        await batch

    async def _commit_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            rows, batch = self._rows, self._batch
            self._rows, self._batch = [], None
            try:
                await self.run(database.append_status, rows)
            except Exception as exc:  # noqa: BLE001 - disk full, I/O error: the posts of this batch get a 503
                self.failed = exc
                batch.set_exception(ApiError(503, "StorageUnavailable", f"The record was not stored: {exc}"))
            else:
                self.failed = None
                self.commits += 1
                if len(self._recent) < RECENT_LIMIT:
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
