"""What the export's record count costs on a large status table, and what an index on it costs the writes.

    .venv/bin/python benchmarks/export_count.py [--records 4000000] [--sessions 8] [--rounds 5]

`GET /manager/export` answers `X-Record-Count` before the first record: a `COUNT(*)` of the session's rows
in the same read snapshot as the export. Measured on a status table of `--records` rows spread over
`--sessions` sessions (made with the server's own schema and inserts), each figure a median of `--rounds`:

- the count of one session's rows and that session's whole export (JSON lines, the server's code), with
  and without the index `status_by_session` (session_id, and so seq: SQLite's index holds the rowid);
- the cost of the writes: group commits of 64 status records (the batch the writer makes at ~12,000
  posts/s) with `synchronous=FULL`, into a table of 1,000,000 rows with and without the index, rounds
  alternating; wall time per commit and the writer thread's CPU per record.
"""
from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from spaceinvaders_backend.local import database, export
from spaceinvaders_backend.local.records import StatusRecord

# The server's schema makes the index; the baseline drops it.
INDEX = "CREATE INDEX IF NOT EXISTS status_by_session ON status (session_id)"
NO_INDEX = "DROP INDEX IF EXISTS status_by_session"
BATCH = 64


def open_db(path: Path, indexed: bool) -> sqlite3.Connection:
    """The server's schema and write settings, with or without the index; later `raw` opens skip the schema
    (`database.connect` would make the index again)."""
    conn = database.connect(path)
    conn.execute(INDEX if indexed else NO_INDEX)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return conn


def raw(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None,
                           cached_statements=database.STATEMENT_CACHE)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    return conn


def session_ids(sessions: int) -> list[str]:
    return [f"ROOM-{chr(65 + i % 26)}2611{i:02d}T221500" for i in range(sessions)]


def fill(conn: sqlite3.Connection, records: int, sessions: list[str], first_seq: int = 1) -> None:
    """`records` rows, session after session (one session is current at a time), 200 players each."""
    conn.execute("PRAGMA synchronous=OFF")
    per_session = records // len(sessions)
    seq, now = first_seq, time.time()
    rows: list[StatusRecord] = []
    for sid in sessions:
        for i in range(per_session):
            rows.append(StatusRecord(seq, sid, f"player{i % 200:03d}", i, i // 10, 1 + i // 10_000, 3,
                                     "2026-11-26T22:15:00.123Z", now, now))
            seq += 1
            if len(rows) == 100_000:
                with database.transaction(conn):
                    database.append_status(conn, rows)
                rows = []
    if rows:
        with database.transaction(conn):
            database.append_status(conn, rows)
    conn.execute("PRAGMA synchronous=FULL")


def timed(work, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def count_rows(path: Path, sid: str) -> int:
    conn = database.connect(path, readonly=True)
    try:
        return conn.execute("SELECT COUNT(*) FROM status WHERE session_id = ?", (sid,)).fetchone()[0]
    finally:
        conn.close()


def export_all(path: Path, sid: str) -> int:
    return sum(len(chunk) for chunk in export.export_lines(path, sid, "jsonl"))


def reads(path: Path, sid: str, rounds: int, label: str) -> tuple[float, float]:
    count = timed(lambda: count_rows(path, sid), rounds)
    whole = timed(lambda: export_all(path, sid), max(1, rounds // 2))
    print(f"  {label:<18} count {count * 1e3:8.1f} ms   export of the session {whole * 1e3:8.0f} ms   "
          f"count / export {count / whole:.3f}", flush=True)
    return count, whole


def commits(path: Path, sid: str, batches: int, seq: int) -> tuple[float, float]:
    """Group commits as the writer makes them: (wall seconds per commit, CPU seconds per record)."""
    conn = raw(path)
    now = time.time()
    walls = []
    cpu = time.thread_time()
    for b in range(batches):
        rows = [StatusRecord(seq + i, sid, f"player{random.randrange(200):03d}", i, i, 1, 3,
                             "2026-11-26T22:15:00.123Z", now, now) for i in range(BATCH)]
        seq += BATCH
        start = time.perf_counter()
        database.append_status(conn, rows)
        walls.append(time.perf_counter() - start)
    cpu = time.thread_time() - cpu
    conn.close()
    return statistics.median(walls), cpu / (batches * BATCH)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=4_000_000)
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batches", type=int, default=300, help="group commits per write round")
    args = parser.parse_args()
    sessions = session_ids(args.sessions)
    target = sessions[len(sessions) // 2]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.db"
        conn = open_db(path, indexed=False)
        started = time.perf_counter()
        fill(conn, args.records, sessions)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
        size = path.stat().st_size / 1e6
        print(f"status table: {args.records:,} rows in {args.sessions} sessions, {size:,.0f} MB "
              f"(made in {time.perf_counter() - started:.0f} s); one session: {count_rows(path, target):,} rows")
        before = reads(path, target, args.rounds, "no index")
        started = time.perf_counter()
        conn = database.connect(path)  # the server's schema: the index is made here
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
        print(f"  index made in {time.perf_counter() - started:.1f} s "
              f"(+{path.stat().st_size / 1e6 - size:,.0f} MB): the cost once, when a server starts on an old database")
        after = reads(path, target, args.rounds, "with the index")
        print(f"  count with the index: {after[0] / before[0]:.3f} of the count without")

        walls: dict[bool, list[float]] = {False: [], True: []}
        cpus: dict[bool, list[float]] = {False: [], True: []}
        small = {}
        for indexed in (False, True):
            small[indexed] = Path(tmp) / f"writes-{indexed}.db"
            conn = open_db(small[indexed], indexed)
            fill(conn, 1_000_000, session_ids(4))
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # both start from an empty WAL
            conn.close()
        seq = 2_000_000
        for _ in range(args.rounds):
            for indexed in (False, True):
                wall, cpu = commits(small[indexed], "ROOM-CURRENT", args.batches, seq)
                seq += args.batches * BATCH
                walls[indexed].append(wall)
                cpus[indexed].append(cpu)
        for indexed in (False, True):
            print(f"  group commit of {BATCH}, {'with' if indexed else 'no':>4} index: "
                  f"{statistics.median(walls[indexed]) * 1e3:6.2f} ms a commit, "
                  f"{statistics.median(cpus[indexed]) * 1e6:5.1f} µs of the writer's CPU a record")
        print(f"  with / without: commit {statistics.median(walls[True]) / statistics.median(walls[False]):.2f}, "
              f"CPU a record {statistics.median(cpus[True]) / statistics.median(cpus[False]):.2f}")


if __name__ == "__main__":
    main()
