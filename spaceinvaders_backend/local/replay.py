"""Replays of the local server's sessions (`GET /manager/replay`): frames from the core's `ReplayIndex`.

The stream processor makes a session's replay as it counts its records and stores it with its output
(`stream.py`), so the replay of a session recorded by this server seeks at once, during the session,
after it, and after a restart (its keyframes and chunks are read from the database when a cursor needs
them). A session recorded before the server kept replays is indexed from the log on its first replay, in
a thread of its own, a batch of records at a time, so its first frames come while the rest is read.
"""
from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from ..core.replay import FrameView, ReplayCursor, ReplayFrame, ReplayIndex, ReplayRecord, frame_of
from ..core.scoreboard import counts
from ..core.sessions import Session
from . import database
from .stream import StreamProcessor

KEPT_CURSORS = 3
BATCH = 20_000
FIRST_BATCH_WAIT_SECONDS = 5.0

_READ = ("SELECT seq, nickname, score, shots, level, lives, ts, received_at FROM status "
         "WHERE session_id = ? AND seq > ? ORDER BY seq LIMIT ?")


class LogReplay:
    """The replay of a session the processor did not index (recorded before it did): read from the log in
    a thread, each record judged by the session's close as it stands (`scoreboard.counts`)."""

    def __init__(self, db_path: Path, session: Session) -> None:
        self.db_path = db_path
        self.session = session
        self.closes_at = session.closes_at()
        self.index = ReplayIndex(session.started_at)
        self._last_seq = 0
        self._lock = threading.Lock()  # one extension at a time
        self._thread: threading.Thread | None = None
        self.first_batch = threading.Event()  # set once the first records are indexed (or there are none)

    def extend(self) -> None:
        """Read what arrived since the last extension, in a thread (nothing if one is running)."""
        if self.index.complete or (self._thread is not None and self._thread.is_alive()):
            return
        self._thread = threading.Thread(target=self._read, name=f"replay-{self.session.session_id}", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        with self._lock:
            conn = database.connect(self.db_path, readonly=True)
            try:
                self._read_all(conn)
            finally:
                conn.close()

    def _read_all(self, conn: sqlite3.Connection) -> None:
        closed = self.session.closing_time is not None  # read before the rows: no record comes after
        sid, closes_at = self.session.session_id, self.closes_at
        while True:
            rows = conn.execute(_READ, (sid, self._last_seq, BATCH)).fetchall()
            if rows:
                self._last_seq = rows[-1][0]
                self.index.feed([ReplayRecord(*row[1:], row[0]) for row in rows if counts(row[6], row[7], closes_at)],
                                upto=rows[-1][7])
            self.first_batch.set()
            if len(rows) < BATCH:
                break
        if closed:
            self.index.finish()


class Replays:
    """Cursors on the replays of the last few sessions asked for, by session id."""

    def __init__(self, db_path: Path, sessions: Callable[[str], Session], processor: StreamProcessor) -> None:
        self.db_path = db_path
        self._sessions = sessions  # the session document by id (raises the API's 404)
        self._processor = processor
        self._cursors: OrderedDict[str, ReplayCursor] = OrderedDict()
        self._from_log: dict[str, LogReplay] = {}

    async def _index(self, session: Session) -> tuple[ReplayIndex, LogReplay | None]:
        sid = session.session_id
        await self._processor.ensure_loaded(sid)
        index = self._processor.replay(sid)  # made as the session went, or stored
        if index is not None:
            return index, None
        log = self._from_log.get(sid)
        if log is None or log.closes_at != session.closes_at():  # new, or closed since: read again
            log = self._from_log[sid] = LogReplay(self.db_path, session)
        log.extend()
        return log.index, log

    def _cursor(self, sid: str, index: ReplayIndex) -> ReplayCursor:
        cursor = self._cursors.get(sid)
        if cursor is None or cursor.index is not index:
            cursor = self._cursors[sid] = ReplayCursor(index)
        self._cursors.move_to_end(sid)
        while len(self._cursors) > KEPT_CURSORS:
            gone, _ = self._cursors.popitem(last=False)
            self._from_log.pop(gone, None)
        return cursor

    async def frame(self, session_id: str, at: float | None, view: FrameView | None = None) -> ReplayFrame:
        session = self._sessions(session_id)
        index, log = await self._index(session)
        if log is not None and not log.first_batch.is_set():  # the first frame waits for the first batch only
            await asyncio.to_thread(log.first_batch.wait, FIRST_BATCH_WAIT_SECONDS)
        return frame_of(self._cursor(session_id, index), session_id, at, view=view)
