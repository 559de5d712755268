"""The archive replays this console built, kept on disk: a second replay of a session seeks at once.

Reading an hour of the AWS archive (2.4 million records) and indexing it takes a minute; the index it
makes is the core's keyframes and chunks (`core/replay.py`), about 60 MB for that hour. Once a replay of
a closed session is built, its segments go into one SQLite file in the user's cache directory
(`SPACEINVADERS_REPLAY_CACHE` names another), under a fingerprint of what it was built from: the
archive's object listing (keys and ETags), the records the scoreboard function kept as not counted, and
the session's close. A replay whose fingerprint matches reads its segments from the file as a cursor
needs them; anything else (an object Firehose delivered since, a late batch) builds it again.
"""
from __future__ import annotations

import json
import os
import sqlite3
import threading
from pathlib import Path

import platformdirs

from spaceinvaders_backend.core.replay import Chunk, Keyframe, ReplayIndex

_SCHEMA = """
CREATE TABLE IF NOT EXISTS replays (
    session_id TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, started_at REAL, end_at REAL);
CREATE TABLE IF NOT EXISTS keyframes (
    session_id TEXT NOT NULL, number INTEGER NOT NULL, at REAL NOT NULL, records INTEGER NOT NULL,
    leaders TEXT NOT NULL, states BLOB NOT NULL, PRIMARY KEY (session_id, number));
CREATE TABLE IF NOT EXISTS chunks (
    session_id TEXT NOT NULL, number INTEGER NOT NULL, names TEXT NOT NULL, records BLOB NOT NULL,
    PRIMARY KEY (session_id, number));
"""
KEPT_SESSIONS = 20  # the oldest replays beyond these are removed from the file


def default_path() -> Path:
    named = os.environ.get("SPACEINVADERS_REPLAY_CACHE")
    if named:
        return Path(named)
    return Path(platformdirs.user_cache_dir("spaceinvaders")) / "replays.sqlite3"


class ReplayCache:
    """One SQLite file of replays; each thread reads on a connection of its own."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_path()
        self._local = threading.local()

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=10)
            conn.executescript(_SCHEMA)
            self._local.conn = conn
        return conn

    def load(self, session_id: str, fingerprint: str) -> ReplayIndex | None:
        """The stored replay of a session built from the same things, or None."""
        conn = self._conn()
        row = conn.execute("SELECT started_at, end_at FROM replays WHERE session_id = ? AND fingerprint = ?",
                           (session_id, fingerprint)).fetchone()
        if row is None:
            return None
        keyframes = [(n, at, records, json.loads(leaders)) for n, at, records, leaders in conn.execute(
            "SELECT number, at, records, leaders FROM keyframes WHERE session_id = ? ORDER BY number", (session_id,))]
        names = [json.loads(n) for (n,) in conn.execute(
            "SELECT names FROM chunks WHERE session_id = ? ORDER BY number", (session_id,))]
        return ReplayIndex.stored(keyframes, names, _Segments(self, session_id), started_at=row[0], end=row[1],
                                  complete=True)

    def save(self, session_id: str, fingerprint: str, index: ReplayIndex, segments: list[Keyframe | Chunk]) -> None:
        """A complete replay's segments (every one it made, in order)."""
        conn = self._conn()
        with conn:
            for table in ("replays", "keyframes", "chunks"):
                conn.execute(f"DELETE FROM {table} WHERE session_id = ?", (session_id,))
            conn.execute("INSERT INTO replays VALUES (?,?,?,?)", (session_id, fingerprint, index.started_at, index.end))
            conn.executemany("INSERT INTO keyframes VALUES (?,?,?,?,?,?)",
                             [(session_id, k.number, k.at, k.records, json.dumps(k.leaders), k.states)
                              for k in segments if isinstance(k, Keyframe)])
            conn.executemany("INSERT INTO chunks VALUES (?,?,?,?)",
                             [(session_id, c.number, json.dumps(c.names), c.records)
                              for c in segments if isinstance(c, Chunk)])
            stale = [sid for (sid,) in conn.execute("SELECT session_id FROM replays ORDER BY rowid DESC LIMIT -1 "
                                                     "OFFSET ?", (KEPT_SESSIONS,))]
            for sid in stale:
                for table in ("replays", "keyframes", "chunks"):
                    conn.execute(f"DELETE FROM {table} WHERE session_id = ?", (sid,))

    def states(self, session_id: str, number: int) -> bytes:
        return self._conn().execute("SELECT states FROM keyframes WHERE session_id = ? AND number = ?",
                                    (session_id, number)).fetchone()[0]

    def records(self, session_id: str, number: int) -> bytes:
        return self._conn().execute("SELECT records FROM chunks WHERE session_id = ? AND number = ?",
                                    (session_id, number)).fetchone()[0]


class _Segments:
    """A cached replay's segments, as the core's `SegmentSource`."""

    def __init__(self, cache: ReplayCache, session_id: str) -> None:
        self.cache = cache
        self.session_id = session_id

    def keyframe_states(self, number: int) -> bytes:
        return self.cache.states(self.session_id, number)

    def chunk_records(self, number: int) -> bytes:
        return self.cache.records(self.session_id, number)
