"""SQLite storage of the local server: users, sessions, seats, the status stream, the scoreboard.

Every function here runs on the single writer thread (see `writer.py`) or on a read-only connection;
none is called from the event loop directly.
"""
from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
from collections.abc import Iterator
from itertools import chain
from pathlib import Path

from ..core.sessions import Session
from .records import StatusRecord

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY,
    sub TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    email TEXT,
    groups TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    session_id TEXT PRIMARY KEY,
    game_type TEXT NOT NULL,
    synchronized INTEGER NOT NULL,
    total_seats INTEGER NOT NULL,
    opening_time REAL NOT NULL,
    timeout_minutes INTEGER,
    synchronize_time REAL,
    closing_time REAL
);
CREATE TABLE IF NOT EXISTS seats (
    session_id TEXT NOT NULL,
    username TEXT NOT NULL,
    state TEXT,
    played INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (session_id, username)
) WITHOUT ROWID;
-- The stream and its archive: every accepted status record, in arrival order (seq).
CREATE TABLE IF NOT EXISTS status (
    seq INTEGER PRIMARY KEY,
    session_id TEXT NOT NULL,
    nickname TEXT NOT NULL,
    score INTEGER NOT NULL,
    shots INTEGER NOT NULL,
    level INTEGER NOT NULL,
    lives INTEGER NOT NULL,
    timestamp TEXT NOT NULL,
    ts REAL NOT NULL,
    received_at REAL NOT NULL
);
-- One row a player and session: the processor's state for that player (JSON of PlayerBoard).
CREATE TABLE IF NOT EXISTS scoreboard (
    session_id TEXT NOT NULL,
    nickname TEXT NOT NULL,
    board TEXT NOT NULL,
    PRIMARY KEY (session_id, nickname)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS checkpoints (
    name TEXT PRIMARY KEY,
    seq INTEGER NOT NULL
);
-- Usernames are unique regardless of case (new sign-ups are checked against it); not a UNIQUE index,
-- because a database from before that rule may hold two names that differ only by case.
CREATE INDEX IF NOT EXISTS users_by_folded_name ON users (username COLLATE NOCASE);
-- A session's records for its export and their count, without reading every session's (it holds seq too:
-- SQLite indexes the rowid). Measured cheap for the writes: benchmarks/export_count.py.
CREATE INDEX IF NOT EXISTS status_by_session ON status (session_id);
-- The replay of each session (core/replay.py), made by the stream processor as it counts the records
-- (local/stream.py): how far it is, a keyframe every 2 s of the session, and the records up to the next.
CREATE TABLE IF NOT EXISTS replay_index (
    session_id TEXT PRIMARY KEY,
    end_at REAL,
    complete INTEGER NOT NULL,
    resume_seq INTEGER  -- the first record to read again to go on after a restart (NULL: none needed)
);
CREATE TABLE IF NOT EXISTS replay_keyframes (
    session_id TEXT NOT NULL,
    number INTEGER NOT NULL,
    at REAL NOT NULL,
    records INTEGER NOT NULL,
    leaders TEXT NOT NULL,
    states BLOB NOT NULL,
    PRIMARY KEY (session_id, number)
);
CREATE TABLE IF NOT EXISTS replay_chunks (
    session_id TEXT NOT NULL,
    number INTEGER NOT NULL,
    names TEXT NOT NULL,
    records BLOB NOT NULL,
    PRIMARY KEY (session_id, number)
);
"""

STATUS_COLUMNS = "seq, session_id, nickname, score, shots, level, lives, timestamp, ts, received_at"
SESSION_COLUMNS = (
    "session_id, game_type, synchronized, total_seats, opening_time, timeout_minutes, synchronize_time, closing_time"
)


class DataDirError(ValueError):
    """The data directory cannot be used safely; the message says why and what to do."""


def prepare_data_dir(data_dir: Path) -> None:
    """Create the data directory private to its owner (0700); an existing one keeps its mode, but one
    that anybody may write into (e.g. /tmp) is refused: another user could plant or swap its files."""
    if not data_dir.exists():
        data_dir.mkdir(mode=0o700, parents=True)
        os.chmod(data_dir, 0o700)  # mkdir's mode is filtered by the umask
        return
    if not data_dir.is_dir():
        raise DataDirError(f"{data_dir} is not a directory.")
    if data_dir.stat().st_mode & stat.S_IWOTH:
        raise DataDirError(f"{data_dir} is writable by everyone; use a directory of your own, "
                           f"e.g. {data_dir / 'spaceinvaders'} (created private to you).")


def connect(path: Path, readonly: bool = False) -> sqlite3.Connection:
    if not readonly and not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))  # its journal files take the same mode
    if readonly:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    else:
        conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None,
                               cached_statements=STATEMENT_CACHE)
        conn.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit is on disk before a 2xx goes out; group commits keep the fsyncs few.
        conn.execute("PRAGMA synchronous=FULL")
        conn.executescript(SCHEMA)
    conn.execute("PRAGMA busy_timeout=5000")
    return conn


class transaction:
    """BEGIN IMMEDIATE ... COMMIT on an autocommit connection, ROLLBACK on error; within a transaction
    already begun, it is part of that one."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.outermost = False

    def __enter__(self) -> sqlite3.Connection:
        self.outermost = not self.conn.in_transaction
        if self.outermost:
            self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type, exc, tb) -> None:
        if not self.outermost:
            return
        if exc_type is None:
            try:
                self.conn.execute("COMMIT")
                return
            except sqlite3.Error:
                self._rollback()  # a COMMIT that failed (a full disk) may leave the transaction open
                raise
        self._rollback()

    def _rollback(self) -> None:
        # SQLite may have rolled back already (SQLITE_FULL, IOERR); the first error is the one to tell.
        if self.conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self.conn.execute("ROLLBACK")


# --- status stream -------------------------------------------------------------------------------

# Many rows per statement. Each statement is one step of SQLite, during which the writer thread lets go
# of the GIL; taking it back means waiting for the busy event loop, so one step per row (`executemany`)
# would make a batch wait hundreds of times. A status batch of up to ROWS_PER_STATEMENT rows is a single
# statement, which SQLite runs as its own transaction (insert, commit, fsync) in one step. Every row count
# up to that keeps its prepared statement in the connection's cache (about 8 MB for both tables).
ROWS_PER_STATEMENT = 128
STATEMENT_CACHE = 2 * ROWS_PER_STATEMENT + 64


def _insert_many(conn: sqlite3.Connection, head: str, row: str, rows: list[tuple], tail: str = "") -> None:
    """`head VALUES row,row,... tail` for every chunk of rows; call within a transaction for more than one."""
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        chunk = rows[start:start + ROWS_PER_STATEMENT]
        conn.execute(f"{head} VALUES {','.join([row] * len(chunk))} {tail}", list(chain.from_iterable(chunk)))


_STATUS_INSERT = f"INSERT INTO status ({STATUS_COLUMNS})"
_STATUS_ROW = "(?,?,?,?,?,?,?,?,?,?)"


def append_status(conn: sqlite3.Connection, rows: list[StatusRecord]) -> None:
    if len(rows) <= ROWS_PER_STATEMENT:
        _insert_many(conn, _STATUS_INSERT, _STATUS_ROW, rows)
        return
    with transaction(conn):
        _insert_many(conn, _STATUS_INSERT, _STATUS_ROW, rows)


SeatRow = tuple[str, str, str | None, int]  # session_id, username, state, played
_SEAT_UPSERT = ("INSERT INTO seats (session_id, username, state, played)", "(?,?,?,?)",
                "ON CONFLICT (session_id, username) DO UPDATE SET state = excluded.state, played = excluded.played")


def commit_group(conn: sqlite3.Connection, rows: list[StatusRecord], seats: list[SeatRow]) -> None:
    """One group commit: status records and seat changes (in the order they were made), in one transaction."""
    if not seats:
        append_status(conn, rows)
        return
    with transaction(conn):
        _insert_many(conn, _STATUS_INSERT, _STATUS_ROW, rows)
        _insert_many(conn, *_SEAT_UPSERT[:2], seats, _SEAT_UPSERT[2])


def last_seq(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT COALESCE(MAX(seq), 0) FROM status").fetchone()[0]


def _records(cursor: sqlite3.Cursor) -> sqlite3.Cursor:
    cursor.row_factory = lambda _cursor, row: StatusRecord._make(row)
    return cursor


def read_status_after(conn: sqlite3.Connection, seq: int, limit: int) -> list[StatusRecord]:
    cursor = _records(conn.cursor())
    return cursor.execute(f"SELECT {STATUS_COLUMNS} FROM status WHERE seq > ? ORDER BY seq LIMIT ?",
                          (seq, limit)).fetchall()


def count_session_status(conn: sqlite3.Connection, session_id: str) -> int:
    return conn.execute("SELECT COUNT(*) FROM status WHERE session_id = ?", (session_id,)).fetchone()[0]


def iter_session_status(conn: sqlite3.Connection, session_id: str) -> Iterator[StatusRecord]:
    yield from _records(conn.cursor()).execute(
        f"SELECT {STATUS_COLUMNS} FROM status WHERE session_id = ? ORDER BY seq", (session_id,)
    )


# --- stream processor checkpoint and scoreboard --------------------------------------------------

def checkpoint(conn: sqlite3.Connection, name: str) -> int:
    row = conn.execute("SELECT seq FROM checkpoints WHERE name = ?", (name,)).fetchone()
    return row[0] if row else 0


def save_progress(
    conn: sqlite3.Connection,
    name: str,
    seq: int,
    boards: list[tuple[str, str, str]],
    seat_states: list[tuple[str, str, str]],
) -> None:
    """The processor's output and its checkpoint in one transaction: a crash never counts twice."""
    with transaction(conn):
        _insert_many(conn, "INSERT INTO scoreboard (session_id, nickname, board)", "(?,?,?)", boards,
                     "ON CONFLICT (session_id, nickname) DO UPDATE SET board = excluded.board")
        _insert_many(conn, "INSERT INTO seats (session_id, username, state, played)", "(?,?,?,1)", seat_states,
                     "ON CONFLICT (session_id, username) DO UPDATE SET state = excluded.state, played = 1")
        conn.execute(
            "INSERT INTO checkpoints (name, seq) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET seq = excluded.seq",
            (name, seq),
        )


def load_boards(conn: sqlite3.Connection, session_id: str) -> list[tuple[str, str]]:
    return conn.execute(
        "SELECT nickname, board FROM scoreboard WHERE session_id = ?", (session_id,)
    ).fetchall()


# --- sessions and seats --------------------------------------------------------------------------

def _session(row: tuple) -> Session:
    return Session(row[0], row[1], bool(row[2]), row[3], row[4], row[5], row[6], row[7])


def save_session(conn: sqlite3.Connection, s: Session) -> None:
    conn.execute(
        f"INSERT INTO sessions ({SESSION_COLUMNS}) VALUES (?,?,?,?,?,?,?,?) ON CONFLICT (session_id) DO UPDATE SET "
        "synchronize_time = excluded.synchronize_time, closing_time = excluded.closing_time",
        (s.session_id, s.game_type, int(s.synchronized), s.total_seats, s.opening_time, s.timeout_minutes,
         s.synchronize_time, s.closing_time),
    )


def list_sessions(conn: sqlite3.Connection) -> list[Session]:
    rows = conn.execute(f"SELECT {SESSION_COLUMNS} FROM sessions ORDER BY opening_time DESC").fetchall()
    return [_session(r) for r in rows]


def get_session(conn: sqlite3.Connection, session_id: str) -> Session | None:
    row = conn.execute(f"SELECT {SESSION_COLUMNS} FROM sessions WHERE session_id = ?", (session_id,)).fetchone()
    return _session(row) if row else None


def load_seats(conn: sqlite3.Connection, session_id: str) -> list[tuple[str, str | None, bool]]:
    rows = conn.execute("SELECT username, state, played FROM seats WHERE session_id = ?", (session_id,))
    return [(u, s, bool(p)) for u, s, p in rows]


# --- users and refresh tokens --------------------------------------------------------------------

def insert_user(conn, username: str, sub: str, password_hash: str, email: str | None, groups: str, now: float) -> bool:
    """False when the username is taken, in any case (checked and inserted in one transaction)."""
    with transaction(conn):
        if conn.execute("SELECT 1 FROM users WHERE username = ? COLLATE NOCASE", (username,)).fetchone():
            return False
        conn.execute(
            "INSERT INTO users (username, sub, password_hash, email, groups, created_at) VALUES (?,?,?,?,?,?)",
            (username, sub, password_hash, email, groups, now),
        )
        return True


def set_user_groups(conn, username: str, password_hash: str, groups: str) -> None:
    conn.execute(
        "UPDATE users SET groups = ?, password_hash = ? WHERE username = ?", (groups, password_hash, username)
    )


def get_user(conn, username: str) -> tuple[str, str, str, str] | None:
    """(username as stored, sub, password_hash, groups) of the account a name signs in to, in any case.

    The exact name first: a database from before case-insensitive names may hold `Alice` and `alice`,
    and each keeps signing in with its own spelling; another spelling finds the oldest of them."""
    return conn.execute(
        "SELECT username, sub, password_hash, groups FROM users WHERE username = ? COLLATE NOCASE "
        "ORDER BY username = ? DESC, created_at LIMIT 1", (username, username)
    ).fetchone()


def save_refresh_token(conn, token_hash: str, username: str, expires_at: float) -> None:
    conn.execute(
        "INSERT INTO refresh_tokens (token_hash, username, expires_at) VALUES (?,?,?)",
        (token_hash, username, expires_at),
    )


def refresh_token_owner(conn, token_hash: str, now: float) -> str | None:
    row = conn.execute(
        "SELECT username FROM refresh_tokens WHERE token_hash = ? AND expires_at > ?", (token_hash, now)
    ).fetchone()
    return row[0] if row else None


# --- replays (the stream processor's keyframes and chunks, core/replay.py) ------------------------

def save_replay(conn: sqlite3.Connection, session_id: str, keyframes: list[tuple], chunks: list[tuple],
                end_at: float | None, complete: bool, resume_seq: int | None) -> None:
    """New keyframes (number, at, records, leaders JSON, states) and chunks (number, names JSON, records) of a
    session's replay, and how far it is; within the caller's transaction."""
    conn.executemany("INSERT OR REPLACE INTO replay_keyframes (session_id, number, at, records, leaders, states) "
                     "VALUES (?,?,?,?,?,?)", [(session_id, *k) for k in keyframes])
    conn.executemany("INSERT OR REPLACE INTO replay_chunks (session_id, number, names, records) VALUES (?,?,?,?)",
                     [(session_id, *c) for c in chunks])
    conn.execute("INSERT INTO replay_index (session_id, end_at, complete, resume_seq) VALUES (?,?,?,?) "
                 "ON CONFLICT (session_id) DO UPDATE SET end_at = excluded.end_at, complete = excluded.complete, "
                 "resume_seq = excluded.resume_seq", (session_id, end_at, int(complete), resume_seq))


def load_replay(conn: sqlite3.Connection, session_id: str):
    """(end_at, complete, resume_seq, keyframes [(number, at, records, leaders JSON)], chunks' names [JSON]) of
    a session's stored replay, or None."""
    row = conn.execute("SELECT end_at, complete, resume_seq FROM replay_index WHERE session_id = ?",
                       (session_id,)).fetchone()
    if row is None:
        return None
    keyframes = conn.execute("SELECT number, at, records, leaders FROM replay_keyframes WHERE session_id = ? "
                             "ORDER BY number", (session_id,)).fetchall()
    names = [r[0] for r in conn.execute("SELECT names FROM replay_chunks WHERE session_id = ? ORDER BY number",
                                        (session_id,))]
    return row[0], bool(row[1]), row[2], keyframes, names


def incomplete_replays(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute("SELECT session_id FROM replay_index WHERE complete = 0")]


def replay_states(conn: sqlite3.Connection, session_id: str, number: int) -> bytes:
    return conn.execute("SELECT states FROM replay_keyframes WHERE session_id = ? AND number = ?",
                        (session_id, number)).fetchone()[0]


def replay_records(conn: sqlite3.Connection, session_id: str, number: int) -> bytes:
    return conn.execute("SELECT records FROM replay_chunks WHERE session_id = ? AND number = ?",
                        (session_id, number)).fetchone()[0]
