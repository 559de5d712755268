"""The core's replay index and cursor: the board at any moment is the board of the records that arrived
by then, applied by the core's SessionBoard (the live board's rules), whatever order the cursor moves in."""
from __future__ import annotations

import random

from spaceinvaders_backend.core.ranking import Entry, ranked
from spaceinvaders_backend.core.replay import ReplayCursor, ReplayIndex, ReplayRecord, frame_of
from spaceinvaders_backend.core.scoreboard import SessionBoard
from spaceinvaders_backend.core.sessions import Session

START = 1_800_000_000.0


def stream(seed: int, count: int = 6_000) -> list[ReplayRecord]:
    """Records in arrival order: scores rising, last lives, Timestamps out of order, records repeated."""
    rng = random.Random(seed)
    names = [f"p{i}" for i in range(25)]
    scores = dict.fromkeys(names, 0)
    out = []
    at = START
    for _ in range(count):
        at += rng.uniform(0, 0.05)
        name = rng.choice(names)
        scores[name] += rng.choice((0, 5, 10))
        lives = 0 if rng.random() < 0.03 else rng.randint(1, 3)
        ts = at - rng.uniform(0, 0.5)  # a client's clock, behind by up to half a second: order varies
        out.append(ReplayRecord(name, scores[name], rng.randint(0, 40), 1, lives, ts, at))
        if lives == 0:
            scores[name] = 0
        if rng.random() < 0.02:
            out.append(out[-1])  # delivered again
    return out


def expected(records: list[ReplayRecord], upto: float, closes_at: float | None) -> list[Entry]:
    board = SessionBoard()
    for r in records:
        if r.received_at <= upto:
            board.apply(r.nickname, Entry(r.nickname, r.score, r.shots, r.level, r.lives), r.ts, r.received_at,
                        closes_at)
    return ranked(b.entry for b in board.players.values() if b.entry is not None)


def test_the_board_at_any_moment_is_the_board_of_the_records_that_arrived_by_then():
    records = stream(1)
    closes_at = records[-300].received_at  # the last records came after the close
    session = Session("S", "MULTIPLE_TRIALS", False, 100, START, closing_time=closes_at)
    index = ReplayIndex(session, keyframe_seconds=3.0)
    for start in range(0, len(records), 700):  # fed in batches, as the server and the archive do
        index.feed(records[start:start + 700])
    index.finish()
    assert len(index.keyframes) > 10
    cursor = ReplayCursor(index)
    rng = random.Random(2)
    moments = [rng.uniform(START, index.end) for _ in range(40)]
    moments += sorted(moments[:10]) + [index.start, index.end]  # small steps forward, the two ends
    for at in moments:
        frame = frame_of(cursor, "S", at)
        assert frame.At == at
        assert [tuple(row) for row in frame.Board] == [tuple(e) for e in expected(records, at, closes_at)], at


def test_a_growing_index_shows_what_is_indexed_and_keeps_it_when_the_session_closes_after():
    records = stream(3, 2_000)
    session = Session("S", "SINGLE_TRIAL", False, 100, START)
    index = ReplayIndex(session)
    index.feed(records[:1_000])
    cursor = ReplayCursor(index)
    frame = frame_of(cursor, "S", 1e12)
    assert not frame.Complete and frame.At == index.indexed_to <= records[999].received_at
    index.feed(records[1_000:])
    later = Session("S", "SINGLE_TRIAL", False, 100, START, closing_time=records[-1].received_at + 1)
    assert index.reclose(later)  # the close drops nothing indexed: the index is kept
    index.finish()
    assert [tuple(r) for r in frame_of(cursor, "S", index.end).Board] == \
        [tuple(e) for e in expected(records, index.end, later.closes_at())]
    earlier = Session("S", "SINGLE_TRIAL", False, 100, START, closing_time=records[500].received_at)
    assert not index.reclose(earlier)  # it would drop records already indexed: index again
