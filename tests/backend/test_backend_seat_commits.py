"""Seat changes commit in groups, with the status records: 2xx = durable, the last seat goes to one
player, a kill -9 loses no acknowledged seat, and a slow fsync no longer sets the pace of allocation."""
from __future__ import annotations

import asyncio
import sqlite3
import time

import httpx
import pytest
from backend_support import LocalServer, minted_gamers, ok, unique
from slow_fsync import slow_fsync_env

from api_client import lean_http_client
from spaceinvaders_backend.core.sessions import PLAYING
from spaceinvaders_backend.local import database
from spaceinvaders_backend.local.backend import LocalBackend
from spaceinvaders_backend.local.process import CLI
from spaceinvaders_backend.local.settings import Settings


def _backend(tmp_path) -> LocalBackend:
    return LocalBackend(Settings(data_dir=tmp_path / "data", stream_interval_seconds=3600,
                                 housekeeping_interval_seconds=3600))


async def _outcomes(calls) -> list[str]:
    answers = await asyncio.gather(*calls, return_exceptions=True)
    return [a if isinstance(a, str) else a.code for a in answers]


async def test_seat_changes_at_once_commit_in_a_few_groups(tmp_path):
    b = _backend(tmp_path)
    await b.start()
    try:
        s = await b.open_session("G", "MULTIPLE_TRIALS", False, None, 500)
        names = [f"p{i}" for i in range(200)]
        before = b.writer.commits
        outcomes = await _outcomes(b.allocate(n) for n in names)
        assert all(o.startswith("Seat allocated") for o in outcomes), outcomes[:3]
        allocating = b.writer.commits - before
        assert 1 <= allocating <= 10, allocating  # was 200 transactions, each with its fsync
        assert (await b.players(s.session_id)).OccupiedSeats == 200
        before = b.writer.commits
        assert set(await _outcomes(b.deallocate(n) for n in names)) == {"Seat freed."}
        assert 1 <= b.writer.commits - before <= 10
        assert (await b.players(s.session_id)).OccupiedSeats == 0
        stored = await b.writer.run(database.load_seats, s.session_id)
        assert len(stored) == 200 and all(state is None for _, state, _ in stored)
    finally:
        await b.stop()


async def test_the_last_seats_go_to_one_player_each_even_when_a_commit_fails(tmp_path, monkeypatch):
    b = _backend(tmp_path)
    await b.start()
    try:
        s = await b.open_session("L", "MULTIPLE_TRIALS", False, None, 10)
        outcomes = await _outcomes(b.allocate(f"p{i}") for i in range(50))
        assert outcomes.count("NoSeatsAvailable") == 40 and len([o for o in outcomes if "allocated" in o]) == 10
        await _outcomes(b.deallocate(f"p{i}") for i in range(10))

        real = database.commit_group
        failures = []

        def full_once(conn, rows, seats):
            if seats and not failures:
                failures.append(seats)
                error = sqlite3.OperationalError("database or disk is full")
                error.sqlite_errorcode = 13  # SQLITE_FULL
                raise error
            return real(conn, rows, seats)

        monkeypatch.setattr(database, "commit_group", full_once)
        outcomes = await _outcomes(b.allocate(f"q{i}") for i in range(50))
        # The first group (every seat) failed: 503, and no seat was given meanwhile to anybody else.
        assert outcomes.count("StorageUnavailable") == 10 and outcomes.count("NoSeatsAvailable") == 40
        assert len(failures[0]) == 10
        assert (await b.players(s.session_id)).OccupiedSeats == 0  # the reserved seats were given back
        outcomes = await _outcomes(b.allocate(f"r{i}") for i in range(50))
        assert outcomes.count("NoSeatsAvailable") == 40
        assert (await b.players(s.session_id)).OccupiedSeats == 10
        stored = await b.writer.run(database.load_seats, s.session_id)
        assert sorted(u for u, state, _ in stored if state == PLAYING) == \
            sorted(u for u, o in zip([f"r{i}" for i in range(50)], outcomes, strict=True) if "allocated" in o)
    finally:
        await b.stop()


async def test_a_players_own_changes_are_decided_one_after_the_other(tmp_path):
    b = _backend(tmp_path)
    await b.start()
    try:
        s = await b.open_session("O", "MULTIPLE_TRIALS", False, None, 5)
        outcomes = await _outcomes([b.allocate("ann"), b.allocate("ann"), b.deallocate("ann"), b.allocate("ann")])
        assert outcomes == [f"Seat allocated in {s.session_id}.", "Keep playing.", "Seat freed.",
                            f"Seat allocated in {s.session_id}."]
        assert (await b.players(s.session_id)).PlayingGamers == ["ann"]
    finally:
        await b.stop()


async def _allocate_all(base_url: str, gamers: list[tuple[str, str]], concurrency: int,
                        acked: list[str] | None = None) -> list[float]:
    """Allocate each gamer's seat, `concurrency` at a time, until done or the server is gone; answers each
    call's seconds, and adds the names of those answered 200 to `acked`."""
    took: list[float] = []
    queue = list(reversed(gamers))
    async with lean_http_client(httpx.Timeout(10.0)) as http:  # httpx's own pool is the bottleneck past ~100/s
        async def worker() -> None:
            while queue:
                name, token = queue.pop()
                started = time.monotonic()
                try:
                    r = await http.post(f"{base_url}/allocate", json={"Username": name},
                                        headers={"Authorization": token})
                except httpx.HTTPError:
                    return  # the server is gone
                took.append(time.monotonic() - started)
                if r.status_code == 200 and acked is not None:
                    acked.append(name)
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return took


async def test_kill_9_loses_no_acknowledged_seat(local_server, api_for):
    server = local_server
    boss = api_for(server).manager(server)
    sid = boss.open_session(TotalSeats=5000)["SessionId"]
    gamers = minted_gamers(server, 1500)
    acked: list[str] = []
    allocating = asyncio.create_task(_allocate_all(server.base_url, gamers, 64, acked))
    deadline = time.monotonic() + 30
    while len(acked) < 300 and time.monotonic() < deadline and not allocating.done():
        await asyncio.sleep(0.01)
    assert len(acked) >= 300, len(acked)
    server.kill()
    await allocating
    assert len(acked) < len(gamers), "the kill came after every allocation"
    server.start()
    seated = set(boss.players(sid)["PlayingGamers"])
    assert set(acked) <= seated, sorted(set(acked) - seated)[:5]


FSYNCS = "fsyncs"


@pytest.fixture
def slow_disk_server(tmp_path):
    env = slow_fsync_env(tmp_path, milliseconds=20, count=tmp_path / FSYNCS)
    if env is None:
        pytest.skip("no C compiler to build the slow-fsync library (LD_PRELOAD)")
    server = LocalServer(tmp_path / "data", program=["env", *env, *CLI, "serve"]).start(timeout=60)
    yield server
    server.stop()


async def test_allocations_at_once_share_the_fsyncs_of_a_slow_disk(slow_disk_server, api_for):
    server = slow_disk_server
    boss = api_for(server).manager(server)
    boss.open_session(name=unique("SLOW")[:20], TotalSeats=1000)
    gamers = minted_gamers(server, 256)
    await _allocate_all(server.base_url, gamers[:16], 16)  # connections open, tokens verified
    fsyncs = server.data_dir.parent / FSYNCS
    synced_before = fsyncs.stat().st_size
    started = time.monotonic()
    took = await _allocate_all(server.base_url, gamers[16:144], 128)
    elapsed = time.monotonic() - started
    synced = fsyncs.stat().st_size - synced_before
    assert len(took) == 128
    # One commit (and its fsync of 20 ms) per allocation was at least 128 fsyncs and 2.56 s; in groups, a few
    # (a busier machine makes the groups bigger, not more of them; so the count is the test, not the time).
    assert synced <= 32, (synced, elapsed)
    assert len(ok(boss.get("/manager/players", params={"sessionId": boss.session()["SessionId"]}))
               ["PlayingGamers"]) == 144
