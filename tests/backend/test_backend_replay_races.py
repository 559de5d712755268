"""The replay's last frame equals the stored board, for every race of the local server (issue 17).

In-process (`LocalBackend`, a clock the test moves, the processor run by the test): records stamped
ahead of the clock, a close being written while records arrive, records at and around a deadline, a
record posted twice, a restart and a crash with records waiting and a replay half made. Each test checks
the live board against what the rules say, and the replay's last frame (`local/replay.py`) against it.
"""
from __future__ import annotations

import asyncio
import time as real_time

import pytest
from test_backend_inprocess import StoppedClock, _crash, _settings

from spaceinvaders_backend.core.models import StatusUpdate
from spaceinvaders_backend.core.timeutil import to_iso
from spaceinvaders_backend.local import database
from spaceinvaders_backend.local.backend import LocalBackend
from spaceinvaders_backend.local.replay import Replays


@pytest.fixture
def clock() -> StoppedClock:
    return StoppedClock(round(real_time.time()) + 0.25)


async def started(tmp_path, clock) -> LocalBackend:
    b = LocalBackend(_settings(tmp_path), clock=clock.time)
    await b.start()
    return b


async def post(b: LocalBackend, name: str, score: int, ts: float, lives: int = 3) -> int:
    return await b.post_status(name, StatusUpdate(b.session.session_id, name, score, 0, 1, lives, to_iso(ts)))


async def settle(b: LocalBackend) -> None:
    while await b.stream.tick():
        pass


async def board(b: LocalBackend, sid: str) -> list[tuple]:
    return [tuple(e) for e in await b.scoreboard(sid, None)]


async def last_frame(b: LocalBackend, sid: str):
    """The replay at its end, once complete (the processor run until it is)."""
    replays = Replays(b.settings.database_path, b.get_session, b.stream)
    for _ in range(50):
        frame = await replays.frame(sid, 1e12)
        if frame.Complete:
            return frame
        await b.stream.tick()
    raise AssertionError("the replay never completed")


async def assert_replay_ends_on_the_board(b: LocalBackend, sid: str, expected: list[tuple[str, int]]) -> None:
    await settle(b)
    stored = await board(b, sid)
    assert [(row[0], row[1]) for row in stored] == expected
    frame = await last_frame(b, sid)
    assert [tuple(row) for row in frame.Board] == stored


async def test_a_record_stamped_ahead_of_the_clock_waits_for_its_stamp_and_a_close_before_it_drops_it(
        tmp_path, clock):
    b = await started(tmp_path, clock)
    try:
        sid = (await b.open_session("AHEAD", "MULTIPLE_TRIALS", False, None, 10)).session_id
        for name in ("ann", "bob", "cid"):
            await b.allocate(name)
        now = clock.now
        await post(b, "ann", 100, now)
        early = await post(b, "bob", 200, now + 2.0)  # bob's clock runs 2 s ahead
        await post(b, "cid", 300, now + 0.5)
        await settle(b)
        assert await board(b, sid) == [("ann", 100, 0, 1, 3)]  # both wait for their stamps
        assert b.stream.checkpoint == early - 1  # a restart reads them again
        clock.now = now + 1.0  # cid's stamp has passed, bob's not
        await settle(b)
        assert [row[0] for row in await board(b, sid)] == ["cid", "ann"]
        await b.close_session()  # at now + 1: bob's record was stamped after it
        clock.now = now + 3.0
        await assert_replay_ends_on_the_board(b, sid, [("cid", 300), ("ann", 100)])
    finally:
        await b.stop()


async def test_records_a_close_being_written_would_drop_wait_until_it_is_then_go(tmp_path, clock):
    b = await started(tmp_path, clock)
    try:
        sid = (await b.open_session("CLOSING", "SINGLE_TRIAL", False, None, 10)).session_id
        for name in ("ann", "bob"):
            await b.allocate(name)
        now = clock.now
        await post(b, "ann", 100, now - 0.1)
        save = b._save_session
        written = asyncio.Event()

        async def slow_save(session):  # the close's transaction takes its time on the writer
            if session.closing_time is not None:
                await written.wait()
            await save(session)

        b._save_session = slow_save
        closing = asyncio.create_task(b.close_session())  # ClosingTime = now
        await asyncio.sleep(0)
        clock.now = now + 0.5
        await post(b, "bob", 900, now + 0.4)  # taken: the close is not visible yet, but it came after it
        await settle(b)
        assert await board(b, sid) == [("ann", 100, 0, 1, 3)]  # bob's waits for the close
        written.set()
        assert (await closing).closing_time == now
        await assert_replay_ends_on_the_board(b, sid, [("ann", 100)])
    finally:
        await b.stop()


async def test_records_waiting_for_a_close_that_fails_count_once_settled(tmp_path, clock):
    b = await started(tmp_path, clock)
    try:
        sid = (await b.open_session("FAILS", "MULTIPLE_TRIALS", False, None, 10)).session_id
        await b.allocate("bob")
        now = clock.now
        save = b._save_session
        written = asyncio.Event()

        async def failing_save(session):
            if session.closing_time is not None:
                await written.wait()
                raise OSError("disk full")
            await save(session)

        b._save_session = failing_save
        closing = asyncio.create_task(b.close_session())
        await asyncio.sleep(0)
        clock.now = now + 0.5
        await post(b, "bob", 900, now + 0.4)
        await settle(b)
        assert await board(b, sid) == []
        written.set()
        with pytest.raises(OSError):
            await closing
        b._save_session = save
        await settle(b)
        assert await board(b, sid) == [("bob", 900, 0, 1, 3)]  # the session is still open: it counts
        clock.now = now + 1.0
        await b.close_session()
        await assert_replay_ends_on_the_board(b, sid, [("bob", 900)])
    finally:
        await b.stop()


async def test_records_at_and_around_a_deadline(tmp_path, clock):
    b = await started(tmp_path, clock)
    try:
        s = await b.open_session("DEADLINE", "TIME_CONSTRAINED", False, 1, 10)
        sid, deadline = s.session_id, s.deadline
        names = ("ann", "bob", "cid", "dee")
        for name in names:
            await b.allocate(name)
        clock.now = deadline - 0.002  # the last moment the server takes a post
        await post(b, "ann", 100, deadline - 0.001)
        await post(b, "bob", 200, deadline)  # stamped at the deadline: counts
        await post(b, "cid", 300, deadline + 0.001)  # a clock ahead: stamped after it
        await post(b, "dee", 400, deadline - 30)
        await settle(b)  # the deadline is known in advance: cid's is dropped, the others wait for their stamps
        assert await board(b, sid) == [("dee", 400, 0, 1, 3)]
        clock.now = deadline + 0.5
        await b.housekeeping()  # closes it at its deadline
        assert b.session.closing_time == deadline
        await assert_replay_ends_on_the_board(b, sid, [("dee", 400), ("bob", 200), ("ann", 100)])
    finally:
        await b.stop()


async def test_a_record_posted_twice_counts_as_once(tmp_path, clock):
    b = await started(tmp_path, clock)
    try:
        sid = (await b.open_session("TWICE", "SINGLE_TRIAL", False, None, 10)).session_id
        await b.allocate("ann")
        await b.allocate("bob")
        now = clock.now
        await post(b, "ann", 100, now - 2)
        await post(b, "ann", 300, now - 1, lives=0)
        await post(b, "bob", 50, now - 1)
        await post(b, "ann", 300, now - 1, lives=0)  # the client's retry of a post it saw no answer to
        await post(b, "ann", 100, now - 2)  # and an older one again, late
        clock.now = now + 1
        await b.close_session()
        await assert_replay_ends_on_the_board(b, sid, [("ann", 300), ("bob", 50)])
        frame = await last_frame(b, sid)
        assert frame.Finished == ["ann"]
    finally:
        await b.stop()


@pytest.mark.parametrize("crash", [False, True], ids=["stop", "crash"])
async def test_after_a_restart_the_replay_goes_on_and_still_ends_on_the_board(tmp_path, clock, crash):
    """A stop (or a crash) with a record waiting for its stamp and a replay half stored: after the restart
    the records of its open chunk are read and decided again, and nothing is counted twice."""
    b = await started(tmp_path, clock)
    s = await b.open_session("RESTART", "MULTIPLE_TRIALS", False, None, 10)
    sid, t0 = s.session_id, s.opening_time
    names = [f"p{i}" for i in range(6)]
    for name in names:
        await b.allocate(name)
    posted = 0
    for step in range(30):  # 15 s of the session: keyframes every 2 s
        clock.now = t0 + 0.5 * (step + 1)
        for i, name in enumerate(names):
            await post(b, name, 10 * step + i, clock.now - 0.05)
            posted += 1
        if step % 3 == 0:
            await b.stream.tick()
    await post(b, "p0", 5_000, clock.now + 4)  # waits for its stamp
    await b.stream.tick()
    stored = await b.writer.run(database.load_replay, sid)
    assert stored is not None and stored[3] and not stored[1]  # keyframes stored, not complete
    if crash:
        await _crash(b)
    else:
        await b.stop()
    b = await started(tmp_path, clock)
    try:
        await settle(b)
        assert ("p0", 5_000) not in [(row[0], row[1]) for row in await board(b, sid)]  # still waiting
        clock.now += 5
        for name in names[1:]:
            await post(b, name, 1_000, clock.now - 0.1)
        await b.close_session()
        await assert_replay_ends_on_the_board(b, sid, [("p0", 5_000), *[(n, 1_000) for n in names[1:]]])
        frame = await last_frame(b, sid)
        assert frame.Records == posted + 1 + len(names) - 1  # every record counted once in the replay
    finally:
        await b.stop()
