"""The server's state machine in-process (`LocalBackend`), with a clock the test moves.

A TIME_CONSTRAINED session lasts at least a minute; here the housekeeping closes one without waiting.
Background jobs are slowed to once an hour so that the test decides when the processor runs.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import time as real_time

import httpx
import pytest
from backend_support import assert_error

from spaceinvaders_backend.core.errors import ApiError
from spaceinvaders_backend.core.models import StatusUpdate
from spaceinvaders_backend.core.timeutil import to_iso
from spaceinvaders_backend.local import database
from spaceinvaders_backend.local.app import create_app
from spaceinvaders_backend.local.backend import LocalBackend
from spaceinvaders_backend.local.settings import Settings


class Clock:
    """The backend's clock: wall time moved by `offset`."""

    def __init__(self) -> None:
        self.offset = 0.0

    def time(self) -> float:
        return real_time.time() + self.offset


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _settings(tmp_path, **kw) -> Settings:
    return Settings(data_dir=tmp_path / "data", stream_interval_seconds=3600,
                    housekeeping_interval_seconds=3600, **kw)


def _backend(settings: Settings, clock: Clock) -> LocalBackend:
    return LocalBackend(settings, clock=clock.time)


def _status(sid: str, name: str, score: int, ts: float, lives: int = 3) -> bytes:
    return json.dumps({"SessionId": sid, "Nickname": name, "Score": score, "Shots": 0, "Level": 1,
                       "Lives": lives, "Timestamp": to_iso(ts)}).encode()


async def _post(b: LocalBackend, name: str, sid: str, score: int, ts: float, lives: int = 3) -> int:
    return await b.post_status(name, StatusUpdate(sid, name, score, 0, 1, lives, to_iso(ts)))


async def _board(b: LocalBackend, sid: str) -> list[tuple[str, int]]:
    return [(e.nickname, e.score) for e in await b.scoreboard(sid, None)]


async def _refused(coro, status: int, code: str) -> None:
    with pytest.raises(ApiError) as e:
        await coro
    assert (e.value.status, e.value.code) == (status, code)


async def _crash(b: LocalBackend) -> None:
    """Stop without the final processing that a clean stop does: the state a kill -9 leaves."""
    for task in getattr(b, "_tasks", []):
        task.cancel()
    for task in getattr(b, "_tasks", []):
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await b.writer.close()


async def test_time_constrained_session_closes_by_itself(tmp_path, clock):
    b = _backend(_settings(tmp_path), clock)
    await b.start()
    try:
        s = await b.open_session("TC", "TIME_CONSTRAINED", False, 1, 10)
        sid, t0 = s.session_id, s.opening_time
        assert s.deadline == t0 + 60
        await b.allocate("alice")
        await b.allocate("bob")
        await _post(b, "alice", sid, 100, t0 + 5)
        clock.offset = 50
        await _post(b, "bob", sid, 200, t0 + 50)
        await _post(b, "alice", sid, 999, t0 + 61)  # alice's clock runs ahead: stamped after the deadline
        await b.housekeeping()
        assert b.session.closing_time is None
        clock.offset = 61
        # Closed at the deadline even before the housekeeping notices.
        await _refused(_post(b, "bob", sid, 300, t0 + 61), 409, "SessionClosed")
        await _refused(b.allocate("carol"), 422, "SessionClosed")
        await b.housekeeping()
        assert b.session.closing_time == t0 + 60  # closed at the deadline, not when it was noticed
        stored = await b.writer.run(database.get_session, sid)
        assert stored.closing_time == t0 + 60
        assert b.session.document()["ClosingTime"] == to_iso(t0 + 60)
        while await b.stream.tick():
            pass
        assert await _board(b, sid) == [("bob", 200), ("alice", 100)]  # 999 was stamped after closing
        s2 = await b.open_session("NEXT", "MULTIPLE_TRIALS", False, None, 5)  # the room is free again
        assert b.session is not None and b.session.session_id == s2.session_id
    finally:
        await b.stop()
    # What the housekeeping decided survives a restart.
    b = _backend(_settings(tmp_path), clock)
    await b.start()
    try:
        assert b.sessions[sid].closing_time == t0 + 60
        assert await _board(b, sid) == [("bob", 200), ("alice", 100)]
    finally:
        await b.stop()


async def test_synchronized_time_constrained_counts_from_the_start(tmp_path, clock):
    b = _backend(_settings(tmp_path), clock)
    await b.start()
    try:
        s = await b.open_session("TCS", "TIME_CONSTRAINED", True, 1, 10)
        clock.offset = 600  # not started: no deadline yet
        await b.housekeeping()
        assert b.session.closing_time is None
        started = await b.start_session(10)
        assert started.deadline == started.synchronize_time + 60
        await b.allocate("ann")
        await _refused(_post(b, "ann", s.session_id, 1, clock.time()), 409, "SessionNotStarted")
        clock.offset += 10
        await _post(b, "ann", s.session_id, 7, clock.time())
        clock.offset += 59
        await b.housekeeping()
        assert b.session.closing_time is None
        clock.offset += 2
        await b.housekeeping()
        assert b.session.closing_time == started.synchronize_time + 60
    finally:
        await b.stop()


async def test_idle_players_lose_their_seat(tmp_path, clock):
    b = _backend(_settings(tmp_path, idle_timeout_seconds=30), clock)
    await b.start()
    try:
        s = await b.open_session("IDLE", "SINGLE_TRIAL", False, None, 10)
        for name in ("quiet", "played", "busy"):
            await b.allocate(name)
        await _post(b, "played", s.session_id, 5, clock.time())
        clock.offset = 20
        await _post(b, "busy", s.session_id, 6, clock.time())
        clock.offset = 31
        await b.housekeeping()
        players = await b.players(s.session_id)
        assert players.PlayingGamers == ["busy"]
        assert players.FinishedGamers == ["played"]  # single trial: having played uses the one go
        assert await b.allocate("quiet")  # never played: may sit down again
        await _refused(b.allocate("played"), 422, "GamerCannotPlay")
    finally:
        await b.stop()


async def test_catch_up_after_a_crash_keeps_older_sessions_boards(tmp_path, clock):
    """Records of a closed session still unprocessed at a crash are applied to its stored boards."""
    settings = _settings(tmp_path)
    b = _backend(settings, clock)
    await b.start()
    a = await b.open_session("A", "MULTIPLE_TRIALS", False, None, 10)
    sid, now = a.session_id, clock.time() - 10  # stamps in the past: all before the closing
    await b.allocate("alice")
    await b.allocate("bob")
    await _post(b, "alice", sid, 500, now, lives=0)  # alice's best trial
    await _post(b, "bob", sid, 300, now)
    while await b.stream.tick():
        pass
    assert await _board(b, sid) == [("alice", 500), ("bob", 300)]
    await b.allocate("alice")
    await _post(b, "alice", sid, 100, now + 1)  # a new trial, not processed before the crash
    await b.close_session()
    clock.offset = 2
    await b.open_session("B", "MULTIPLE_TRIALS", False, None, 10)
    await _crash(b)

    for _ in range(2):  # and once more: the catch-up stored what it should
        b = _backend(settings, clock)
        await b.start()
        try:
            checkpoint = await b.writer.run(database.checkpoint, "scoreboard")
            assert checkpoint == await b.writer.run(database.last_seq)
            assert await _board(b, sid) == [("alice", 500), ("bob", 300)]
        finally:
            await b.stop()


async def test_records_are_numbered_on_after_a_restart(tmp_path, clock):
    settings = _settings(tmp_path)
    b = _backend(settings, clock)
    await b.start()
    s = await b.open_session("SEQ", "MULTIPLE_TRIALS", False, None, 10)
    await b.allocate("ann")
    first = await _post(b, "ann", s.session_id, 1, clock.time())
    await _crash(b)
    b = _backend(settings, clock)
    await b.start()
    try:
        assert (await b.players(s.session_id)).PlayingGamers == ["ann"]  # seats survive
        clock.offset = 1
        second = await _post(b, "ann", s.session_id, 2, clock.time())
        assert second == first + 1
        assert await _board(b, s.session_id) == [("ann", 1)]  # caught up at start
    finally:
        await b.stop()


# --- the ASGI app in-process: storage failures and overload ----------------------------------------

class _App:
    """The app on an in-process transport; the lifespan's start and stop are run by hand."""

    def __init__(self, settings: Settings) -> None:
        self.app = create_app(settings)
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://t/v1")

    async def __aenter__(self) -> _App:  # noqa: PYI034
        await self.app.backend.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.client.aclose()
        await self.app.backend.stop()

    async def gamer_and_session(self, name: str) -> tuple[dict, str]:
        account = {"Username": name, "Password": "secret-1"}
        assert (await self.client.post("/auth/signup", json=account)).status_code == 201
        tokens = (await self.client.post("/auth/signin", json=account)).json()
        headers = {"Authorization": tokens["IdToken"]}
        session = await self.app.backend.open_session("IN", "MULTIPLE_TRIALS", False, None, 10)
        r = await self.client.post("/allocate", json={"Username": name}, headers=headers)
        assert r.status_code == 200, r.text
        return headers, session.session_id


async def test_storage_failure_is_a_503_and_health_says_so(tmp_path, monkeypatch):
    async with _App(_settings(tmp_path)) as t:
        headers, sid = await t.gamer_and_session("ann")
        real_append = database.append_status

        def broken(conn, rows):
            raise sqlite3.OperationalError("disk I/O error")

        monkeypatch.setattr(database, "append_status", broken)
        r = await t.client.post("/updatestatus", json=json.loads(_status(sid, "ann", 1, real_time.time())),
                                headers=headers)
        assert_error(r, 503, "StorageUnavailable")
        r = await t.client.get("/health")
        assert r.status_code == 503 and r.json()["status"] == "unavailable"
        monkeypatch.setattr(database, "append_status", real_append)  # the disk is back
        r = await t.client.post("/updatestatus", json=json.loads(_status(sid, "ann", 2, real_time.time())),
                                headers=headers)
        assert r.status_code == 200, r.text
        assert (await t.client.get("/health")).status_code == 200
        def scores(conn):
            return conn.execute("SELECT score FROM status").fetchall()

        stored = await t.app.backend.writer.run(scores)
        assert stored == [(2,)]  # the failed record is not there; the sequence goes on


async def test_overload_is_a_503_with_retry_after(tmp_path):
    async with _App(_settings(tmp_path, max_pending_records=0)) as t:
        headers, sid = await t.gamer_and_session("bob")
        r = await t.client.post("/updatestatus", json=json.loads(_status(sid, "bob", 1, real_time.time())),
                                headers=headers)
        assert_error(r, 503, "Overloaded")
        assert r.headers["Retry-After"] == "1"
        assert (await t.client.get("/session", headers=headers)).status_code == 200
