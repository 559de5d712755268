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
import jwt as pyjwt
import pytest
from backend_support import assert_error

from spaceinvaders_backend.core.errors import ApiError
from spaceinvaders_backend.core.models import StatusUpdate
from spaceinvaders_backend.core.timeutil import to_iso
from spaceinvaders_backend.local import database
from spaceinvaders_backend.local.accounts import hash_password
from spaceinvaders_backend.local.app import create_app
from spaceinvaders_backend.local.backend import LocalBackend
from spaceinvaders_backend.local.settings import Settings


class Clock:
    """The backend's clock: wall time moved by `offset`."""

    def __init__(self) -> None:
        self.offset = 0.0

    def time(self) -> float:
        return real_time.time() + self.offset


class StoppedClock:
    """A clock that moves only when the test moves it."""

    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _settings(tmp_path, **kw) -> Settings:
    return Settings(data_dir=tmp_path / "data", stream_interval_seconds=3600,
                    housekeeping_interval_seconds=3600, **kw)


def _backend(settings: Settings, clock: Clock) -> LocalBackend:
    return LocalBackend(settings, clock=clock.time)


async def _started(settings: Settings, clock: Clock) -> LocalBackend:
    b = _backend(settings, clock)
    await b.start()
    return b


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
    b = await _started(_settings(tmp_path), clock)
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
    b = await _started(_settings(tmp_path), clock)
    try:
        assert b.sessions[sid].closing_time == t0 + 60
        assert await _board(b, sid) == [("bob", 200), ("alice", 100)]
    finally:
        await b.stop()


async def test_synchronized_time_constrained_counts_from_the_start(tmp_path, clock):
    b = await _started(_settings(tmp_path), clock)
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
    b = await _started(_settings(tmp_path, idle_timeout_seconds=30), clock)
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


async def test_players_tell_when_each_seated_player_was_last_seen(tmp_path):
    clock = StoppedClock(int(real_time.time()) + 0.7)  # LastSeen is kept to the second: 0.7 s are dropped
    t0 = int(clock.now)
    b = await _started(_settings(tmp_path), clock)
    try:
        s = await b.open_session("SEEN", "MULTIPLE_TRIALS", False, None, 10)
        for name in ("quiet", "busy", "back", "done"):
            await b.allocate(name)
        clock.now += 12
        await _post(b, "busy", s.session_id, 5, clock.time())
        await b.allocate("back")  # asks again while seated: "Keep playing." is a sign of life
        await _post(b, "done", s.session_id, 9, clock.time(), lives=0)
        while await b.stream.tick():
            pass
        players = await b.players(s.session_id)
        assert players.PlayingGamers == ["back", "busy", "quiet"] and players.FinishedGamers == ["done"]
        assert players.LastSeen == {"quiet": to_iso(t0), "busy": to_iso(t0 + 12), "back": to_iso(t0 + 12)}
        await b.close_session()
        clock.now += 1
        await b.open_session("NEXT", "MULTIPLE_TRIALS", False, None, 10)
        assert (await b.players(s.session_id)).LastSeen is None  # a past session: nobody is seen any more
        assert (await b.players(b.session.session_id)).LastSeen == {}
    finally:
        await b.stop()


async def test_catch_up_after_a_crash_keeps_older_sessions_boards(tmp_path, clock):
    """Records of a closed session still unprocessed at a crash are applied to its stored boards."""
    settings = _settings(tmp_path)
    b = await _started(settings, clock)
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
        b = await _started(settings, clock)
        try:
            checkpoint = await b.writer.run(database.checkpoint, "scoreboard")
            assert checkpoint == await b.writer.run(database.last_seq)
            assert await _board(b, sid) == [("alice", 500), ("bob", 300)]
        finally:
            await b.stop()


async def test_records_are_numbered_on_after_a_restart(tmp_path, clock):
    settings = _settings(tmp_path)
    b = await _started(settings, clock)
    s = await b.open_session("SEQ", "MULTIPLE_TRIALS", False, None, 10)
    await b.allocate("ann")
    first = await _post(b, "ann", s.session_id, 1, clock.time())
    await _crash(b)
    b = await _started(settings, clock)
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


# --- sign-in under attack: bounded hashing, concurrent failures, sign-ups per source ---------------

async def test_wrong_passwords_sent_at_once_get_only_the_free_checks(tmp_path):
    async with _App(_settings(tmp_path)) as t:
        assert (await t.client.post("/auth/signup", json={"Username": "vic", "Password": "right-pw"})).status_code == 201
        wrong = {"Username": "vic", "Password": "wrong-pw"}
        answers = await asyncio.gather(*(t.client.post("/auth/signin", json=wrong) for _ in range(60)))
        codes = sorted(r.status_code for r in answers)
        assert codes == [401] * 5 + [429] * 55  # 5 free tries were checked, no more
        for r in answers:
            if r.status_code == 429:
                assert_error(r, 429, "TooManyFailedSignIns")
                assert int(r.headers["Retry-After"]) >= 1


async def test_a_sign_in_flood_is_bounded_and_status_posts_go_on(tmp_path):
    async with _App(_settings(tmp_path, hash_workers=1, hash_queue=4, refusal_pause_seconds=0.2)) as t:
        headers, sid = await t.gamer_and_session("ann")
        flood = [asyncio.ensure_future(t.client.post("/auth/signin", json={"Username": f"x{i}", "Password": "pw"}))
                 for i in range(40)]
        await asyncio.sleep(0)
        started = real_time.monotonic()
        r = await t.client.post("/updatestatus", json=json.loads(_status(sid, "ann", 1, real_time.time())),
                                headers=headers)
        posted_in = real_time.monotonic() - started
        answers = await asyncio.gather(*flood)
        flood_took = real_time.monotonic() - started
        assert r.status_code == 200, r.text
        assert posted_in < flood_took / 2, (posted_in, flood_took)  # not queued behind the hashes
        codes = [a.status_code for a in answers]
        assert codes.count(401) == 5 and codes.count(429) == 35, codes  # 1 hashing + 4 waiting, the rest turned away
        for a in answers:
            if a.status_code == 429:
                assert_error(a, 429, "TooManyRequests")
                assert a.headers["Retry-After"] == "1"
        # Turned away unchecked is not a failed try: the same names may sign in at once.
        assert (await t.client.post("/auth/signin", json={"Username": "x39", "Password": "pw"})).status_code == 401


async def test_sign_ups_are_limited_per_source(tmp_path):
    async with _App(_settings(tmp_path, signup_burst_per_source=3, signup_rate_per_source=0.01,
                                refusal_pause_seconds=0.2)) as t:
        for i in range(3):
            r = await t.client.post("/auth/signup", json={"Username": f"new{i}", "Password": "secret-1"})
            assert r.status_code == 201, r.text
        r = await t.client.post("/auth/signup", json={"Username": "new3", "Password": "secret-1"})
        assert_error(r, 429, "TooManyRequests")
        assert int(r.headers["Retry-After"]) >= 1
        # Sign-ins are not sign-ups: the accounts made still sign in.
        assert (await t.client.post("/auth/signin", json={"Username": "new0", "Password": "secret-1"})).status_code == 200


# --- names that differ only by case -----------------------------------------------------------------

async def test_usernames_are_one_account_in_any_case(tmp_path):
    async with _App(_settings(tmp_path)) as t:
        assert (await t.client.post("/auth/signup", json={"Username": "Alice", "Password": "secret-1"})).status_code == 201
        r = await t.client.post("/auth/signup", json={"Username": "aLICE", "Password": "other-pw"})
        assert_error(r, 409, "UsernameExistsException")
        for spelling in ("alice", "ALICE", "Alice"):
            r = await t.client.post("/auth/signin", json={"Username": spelling, "Password": "secret-1"})
            assert r.status_code == 200, r.text
            claims = pyjwt.decode(r.json()["IdToken"], options={"verify_signature": False})
            assert claims["cognito:username"] == "Alice"  # the account's own spelling
        headers = {"Authorization": r.json()["IdToken"]}
        session = await t.app.backend.open_session("CASE", "MULTIPLE_TRIALS", False, None, 10)
        assert (await t.client.post("/allocate", json={"Username": "alice"}, headers=headers)).status_code == 200
        r = await t.client.post("/updatestatus", headers=headers,
                                json=json.loads(_status(session.session_id, "ALICE", 7, real_time.time())))
        assert r.status_code == 200, r.text
        await t.app.backend.stream.tick()
        assert await _board(t.app.backend, session.session_id) == [("Alice", 7)]  # one player, one spelling


async def test_a_database_with_names_differing_by_case_keeps_working(tmp_path):
    """Two accounts from before the rule: each signs in with its own spelling; others find the oldest."""
    settings = _settings(tmp_path)
    database.prepare_data_dir(settings.data_dir)
    conn = database.connect(settings.database_path)
    for name, password, created in (("Bob", "first-pw", 1.0), ("bob", "second-pw", 2.0)):
        conn.execute("INSERT INTO users (username, sub, password_hash, email, groups, created_at) "
                     "VALUES (?,?,?,?,?,?)", (name, f"sub-{name}", hash_password(password), None, "Gamer", created))
    conn.close()
    async with _App(settings) as t:
        async def who(name: str, password: str) -> str | int:
            r = await t.client.post("/auth/signin", json={"Username": name, "Password": password})
            if r.status_code != 200:
                return r.status_code
            return pyjwt.decode(r.json()["IdToken"], options={"verify_signature": False})["cognito:username"]

        assert await who("Bob", "first-pw") == "Bob"
        assert await who("bob", "second-pw") == "bob"
        assert await who("BOB", "first-pw") == "Bob"  # the oldest
        assert await who("bob", "first-pw") == 401  # an exact spelling is that account, no other
        r = await t.client.post("/auth/signup", json={"Username": "BoB", "Password": "secret-1"})
        assert_error(r, 409, "UsernameExistsException")


async def test_same_session_name_twice_in_one_second(tmp_path, clock):
    b = await _started(_settings(tmp_path), clock)
    try:
        clock.offset = 1_800_000_000.05 - real_time.time()  # early in a second: the next is ~0.95 s away
        first = await b.open_session("ROOM", "MULTIPLE_TRIALS", False, None, 10)
        await b.close_session()
        second = await b.open_session("ROOM", "MULTIPLE_TRIALS", False, None, 10)
        await b.close_session()
        third = await b.open_session("ROOM", "SINGLE_TRIAL", False, None, 10)
        assert [first.session_id, second.session_id, third.session_id] == [
            "ROOM270115T080000", "ROOM270115T080000-2", "ROOM270115T080000-3"]
    finally:
        await b.stop()


# --- timestamps in the past -------------------------------------------------------------------------

async def test_a_timestamp_before_the_session_opened_is_refused_a_late_one_within_it_is_not(tmp_path, clock):
    b = await _started(_settings(tmp_path), clock)
    try:
        s = await b.open_session("PAST", "MULTIPLE_TRIALS", False, None, 10)
        await b.allocate("ann")
        opened = s.opening_time
        for stamped in (opened - 30 * 365 * 86400, opened - 301):
            await _refused(_post(b, "ann", s.session_id, 1, stamped), 422, "ValidationError")
        assert await _post(b, "ann", s.session_id, 2, opened - 299) > 0  # a client's clock 5 minutes behind
        # Two hours later, the final status of a game that went offline right after the opening still counts.
        clock.offset = 2 * 3600
        await b.allocate("ann")  # still seated (the idle rule is not run here)
        assert await _post(b, "ann", s.session_id, 3, opened + 10, lives=0) > 0
    finally:
        await b.stop()
