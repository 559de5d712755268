"""Replays of the local server's sessions: the core's `ReplayIndex`, fed from the `status` log.

An index is built in a thread of its own from a read-only connection (the server keeps writing), a batch
of records at a time, so the first frames are served while the rest is read. It follows a session while
it runs: the manager's board refresh (`follow`) asks for the records that arrived since, so when the
session closes its replay is already indexed. A session nobody watched is indexed on its first replay.
The indexes of the last few sessions are kept in memory (about 21 bytes a record, compressed).
"""
from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from ..core.replay import ReplayCursor, ReplayFrame, ReplayIndex, ReplayRecord, frame_of
from ..core.sessions import Session
from . import database

KEPT_SESSIONS = 3
BATCH = 20_000
FIRST_BATCH_WAIT_SECONDS = 5.0
FOLLOW_SECONDS = 1.0

_READ = ("SELECT seq, nickname, score, shots, level, lives, ts, received_at FROM status "
         "WHERE session_id = ? AND seq > ? ORDER BY seq LIMIT ?")


class SessionReplay:
    """One session's index, the thread that extends it, and a cursor the frames are read from."""

    def __init__(self, db_path: Path, session: Session) -> None:
        self.db_path = db_path
        self.session = session
        self.index = ReplayIndex(session)
        self.cursor = ReplayCursor(self.index)
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
        sid = self.session.session_id
        while True:
            rows = conn.execute(_READ, (sid, self._last_seq, BATCH)).fetchall()
            if rows:
                self._last_seq = rows[-1][0]
                self.index.feed(ReplayRecord._make(row[1:]) for row in rows)
            self.first_batch.set()
            if len(rows) < BATCH:
                break
        if closed:
            self.index.finish()

    def frame(self, at: float | None) -> ReplayFrame:
        return frame_of(self.cursor, self.session.session_id, at)


class Replays:
    """The replays of the last few sessions asked for, by session id."""

    def __init__(self, db_path: Path, sessions: Callable[[str], Session]) -> None:
        self.db_path = db_path
        self._sessions = sessions  # the session document by id (raises the API's 404)
        self._replays: OrderedDict[str, SessionReplay] = OrderedDict()
        self._followed: dict[str, float] = {}  # session -> when its index was last extended by `follow`

    def _replay(self, session_id: str) -> SessionReplay:
        session = self._sessions(session_id)
        replay = self._replays.get(session_id)
        if replay is None or (replay.session.closes_at() != session.closes_at()
                              and not replay.index.reclose(session)):
            # New, or the session closed since and its close drops records already indexed.
            replay = SessionReplay(self.db_path, session)
            self._replays[session_id] = replay
        replay.session = session  # closed or started since: read to its end once closed
        self._replays.move_to_end(session_id)
        while len(self._replays) > KEPT_SESSIONS:
            self._replays.popitem(last=False)
        return replay

    def follow(self, session_id: str, at_once: bool = False) -> None:
        """Keep a session's index up to date as it runs (called as the manager watches it): at most once
        a FOLLOW_SECONDS, so a manager polling often costs no more."""
        now = time.monotonic()
        if not at_once and now - self._followed.get(session_id, float("-inf")) < FOLLOW_SECONDS:
            return
        self._followed[session_id] = now
        self._replay(session_id).extend()

    async def frame(self, session_id: str, at: float | None) -> ReplayFrame:
        replay = self._replay(session_id)
        replay.extend()
        if not replay.first_batch.is_set():  # the first frame waits for the first batch, not for them all
            await asyncio.to_thread(replay.first_batch.wait, FIRST_BATCH_WAIT_SECONDS)
        return replay.frame(at)
