"""The manager's behaviour, written once and run against both backends: the local server and AWS on moto."""
from __future__ import annotations

import asyncio
import csv
import dataclasses
import io
import json
import time

import pytest
from manager_support import unique

from api_client import GameType
from manager_tui import backends
from manager_tui.backends import BackendError, OpenRequest


async def test_open_start_close_and_the_list_of_sessions(world):
    backend = world.backend
    opened = await backend.open_session(OpenRequest("ROOM-A", GameType.TIME_CONSTRAINED, True, 50, 5))
    assert opened.SessionId.startswith("ROOM-A") and opened.TimeoutInMinutes == 5 and opened.TotalSeats == 50
    assert (await backend.current_session()).SessionId == opened.SessionId
    with pytest.raises(BackendError, match="open"):
        await backend.open_session(OpenRequest("ROOM-B", GameType.MULTIPLE_TRIALS, False))

    before = time.time()
    started = await backend.start_session(2)
    assert before + 1.5 <= started.SynchronizeTime.timestamp() <= time.time() + 2.5
    assert (await backend.current_session()).SynchronizeTime == started.SynchronizeTime

    closed = await backend.close_session()
    assert closed.ClosingTime is not None and closed.SessionId == opened.SessionId
    with pytest.raises(BackendError):
        await backend.close_session()

    following = await backend.open_session(OpenRequest("ROOM-B", GameType.MULTIPLE_TRIALS, False))
    ids = [s.SessionId for s in await backend.sessions()]
    assert ids.index(following.SessionId) < ids.index(opened.SessionId)  # newest first
    board = await backend.board(opened.SessionId)  # a past session can still be watched
    assert board.session.ClosingTime is not None


async def test_only_a_synchronized_session_is_started(world):
    await world.backend.open_session(OpenRequest("FREE", GameType.MULTIPLE_TRIALS, False))
    with pytest.raises(BackendError, match="ynchronized"):
        await world.backend.start_session(3)


async def test_the_board_ranks_every_player_and_counts_seats_and_posts(world):
    backend = world.backend
    session = await backend.open_session(OpenRequest("RANKS", GameType.MULTIPLE_TRIALS, False, 10))
    sid = session.SessionId
    a, b, c, d = (unique(p) for p in ("ann", "bea", "cid", "dot"))
    for name in (a, b, c, d):
        await world.seat(name)
    await world.post(sid, a, 50, shots=5)
    await world.post(sid, b, 70, shots=9, lives=2)
    await world.post(sid, c, 70, shots=9, lives=3)  # same score, more lives: ahead of b
    first = await world.wait_board(sid, lambda board: len(board.entries) == 3)
    assert [e.Nickname for e in first.entries] == [c, b, a]
    assert [e.Score for e in first.entries] == [70, 70, 50]
    assert first.seats.total == 10 and first.seats.occupied == 4
    assert first.seats.playing == {a, b, c, d}
    assert first.records is not None and first.records >= 3

    await world.post(sid, a, 90, shots=6)
    second = await world.wait_board(sid, lambda board: board.entries[0].Nickname == a)
    assert [e.Nickname for e in second.entries] == [a, c, b]
    assert second.records >= first.records + 1


async def test_a_freed_seat_is_free_and_the_player_keeps_their_score(world):
    backend = world.backend
    session = await backend.open_session(OpenRequest("FREE-A-SEAT", GameType.SINGLE_TRIAL, False, 5))
    sid = session.SessionId
    stays, leaves, idle = unique("stay"), unique("leave"), unique("idle")
    for name in (stays, leaves, idle):
        await world.seat(name)
    await world.post(sid, stays, 10)
    await world.post(sid, leaves, 20)
    await world.wait_board(sid, lambda board: len(board.entries) == 2)

    await backend.free_seat(sid, leaves)  # played a single-trial session: finished
    await backend.free_seat(sid, idle)  # never played: the seat is simply free again
    await backend.free_seat(sid, idle)  # freeing a free seat changes nothing
    board = await backend.board(sid)
    assert board.seats.occupied == 1
    assert board.seats.playing == {stays}
    assert leaves in board.seats.finished and idle not in board.seats.finished
    assert [e.Nickname for e in board.entries] == [leaves, stays]


async def test_a_seated_player_not_seen_for_a_while_is_idle(world, monkeypatch):
    """Idle from when the backend last saw each seated player (local: LastSeen; AWS: Seats.LastSeen)."""
    monkeypatch.setattr(backends, "IDLE_AFTER_SECONDS", 3.0)  # the rule, not its 20 s, is under test
    sid = (await world.backend.open_session(OpenRequest("IDLE", GameType.MULTIPLE_TRIALS, False))).SessionId
    quiet, busy = unique("quiet"), unique("busy")
    for name in (quiet, busy):
        await world.seat(name)
    # quiet was last seen 3.5 s ago at least; busy, within the second before its post (instants are kept to
    # the second), which leaves the board 2 s to arrive before busy would look idle too.
    await asyncio.sleep(3.5)
    await world.post(sid, busy, 10)
    board = await world.wait_board(sid, lambda board: board.entries)
    assert board.seats.playing == {quiet, busy}
    assert board.seats.idle == {quiet}


async def test_export_writes_every_record_as_json_lines_or_csv(world, tmp_path):
    backend = world.backend
    sid = (await backend.open_session(OpenRequest("EXPORT", GameType.MULTIPLE_TRIALS, False))).SessionId
    name = unique("exp")
    await world.seat(name)
    for score in (5, 15, 25):
        await world.post(sid, name, score)
    await world.wait_board(sid, lambda board: board.entries and board.entries[0].Score == 25)
    seen = []

    def report(progress) -> None:  # a copy: a backend may report one object as it changes
        seen.append(dataclasses.replace(progress))

    jsonl = tmp_path / "session.jsonl"
    assert await backend.export(sid, "jsonl", jsonl, report) == 3
    records = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert [(r["Nickname"], r["Score"]) for r in records] == [(name, 5), (name, 15), (name, 25)]
    assert seen and seen[-1].records == 3
    if world.kind == "local":  # the server tells the count before the first record: a bar with a real total
        assert seen[0].records_total == 3 and seen[0].records == 0
    else:  # the archive's objects tell their size, not their records
        assert seen[0].bytes_total and seen[0].records_total is None

    table = tmp_path / "session.csv"
    seen.clear()
    assert await backend.export(sid, "csv", table, report) == 3
    assert all(p.records <= 3 for p in seen)  # CSV's header line is no record
    rows = list(csv.DictReader(io.StringIO(table.read_text())))
    assert [int(r["Score"]) for r in rows] == [5, 15, 25] and {r["SessionId"] for r in rows} == {sid}
    assert not list(tmp_path.glob(".*.part"))  # nothing half-written left behind
