"""The storage layer: batches of every size land whole and in order, processor output with its checkpoint."""
from __future__ import annotations

import pytest

from spaceinvaders_backend.local import database, export


@pytest.fixture
def conn(tmp_path):
    c = database.connect(tmp_path / "db.sqlite")
    yield c
    c.close()


def _rows(first: int, count: int) -> list[tuple]:
    return [(seq, "S1", f"p{seq % 7}", seq, seq % 5, 1, 3, "2026-11-26T23:00:00Z", 1.0 * seq, 2.0 * seq)
            for seq in range(first, first + count)]


@pytest.mark.parametrize("count", [1, 2, database.ROWS_PER_STATEMENT - 1, database.ROWS_PER_STATEMENT,
                                   database.ROWS_PER_STATEMENT + 1, 3 * database.ROWS_PER_STATEMENT + 5])
def test_status_batches_of_every_size_are_stored_whole_and_in_order(conn, count):
    rows = _rows(1, count)
    database.append_status(conn, rows)
    assert database.read_status_after(conn, 0, 10_000) == rows
    assert database.last_seq(conn) == count


def test_a_batch_with_a_bad_row_stores_nothing(conn):
    database.append_status(conn, _rows(1, 3))
    clash = _rows(4, database.ROWS_PER_STATEMENT + 10) + _rows(2, 1)  # seq 2 is taken: the batch fails
    with pytest.raises(Exception, match="UNIQUE"):
        database.append_status(conn, clash)
    assert database.last_seq(conn) == 3


def test_processor_output_and_checkpoint_are_saved_together(conn):
    many = [("S1", f"p{i}", f'"board {i}"') for i in range(database.ROWS_PER_STATEMENT * 2 + 3)]
    database.save_progress(conn, "scoreboard", 42, many, [("S1", "p1", "finished")])
    database.save_progress(conn, "scoreboard", 50, [("S1", "p0", '"newer"')], [])
    boards = dict(database.load_boards(conn, "S1"))
    assert len(boards) == len(many)
    assert boards["p0"] == '"newer"' and boards["p9"] == '"board 9"'
    assert database.checkpoint(conn, "scoreboard") == 50
    assert database.load_seats(conn, "S1") == [("p1", "finished", True)]


def test_an_export_counts_and_writes_the_same_records_while_more_arrive(conn, tmp_path):
    database.append_status(conn, _rows(1, 50))
    database.append_status(conn, [(51, "S2", "q", 1, 0, 1, 3, "2026-11-26T23:00:00Z", 1.0, 2.0)])
    records = export.SessionExport(tmp_path / "db.sqlite", "S1", "jsonl")
    assert records.records == 50
    database.append_status(conn, _rows(52, 7))  # the session's records keep coming meanwhile
    assert len(b"".join(records.lines()).splitlines()) == 50  # the count told is the count written
    assert export.SessionExport(tmp_path / "db.sqlite", "S1", "csv").records == 57
    assert export.SessionExport(tmp_path / "db.sqlite", "NONE", "csv").records == 0
    plan = conn.execute("EXPLAIN QUERY PLAN SELECT COUNT(*) FROM status WHERE session_id = 'S1'").fetchall()
    assert "status_by_session" in str(plan)  # counted from the index, not by reading every session's rows
