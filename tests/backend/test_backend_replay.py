"""The core's replay index and cursor: the board at any moment is the board of the counted records settled by
then (`settles_at`), applied by the core's SessionBoard (the live board's rules), whatever order the records
are fed in, whatever order the cursor moves in, from memory or from stored segments."""
from __future__ import annotations

import math
import random
import zlib

import msgspec

from spaceinvaders_backend.core.ranking import Entry, ranked
from spaceinvaders_backend.core.records import settles_at
from spaceinvaders_backend.core.replay import (
    CHART_TOP,
    Chunk,
    FrameView,
    Keyframe,
    ReplayCursor,
    ReplayIndex,
    ReplayRecord,
    frame_of,
)
from spaceinvaders_backend.core.scoreboard import SessionBoard, counts

START = 1_800_000_000.0


def stream(seed: int, count: int = 6_000) -> list[ReplayRecord]:
    """Records in arrival order: scores rising, last lives, Timestamps out of order and some ahead of their
    arrival (a clock running ahead), records repeated."""
    rng = random.Random(seed)
    names = [f"p{i}" for i in range(25)]
    scores = dict.fromkeys(names, 0)
    out = []
    at = START
    for seq in range(1, count + 1):
        at += rng.uniform(0, 0.05)
        name = rng.choice(names)
        scores[name] += rng.choice((0, 5, 10))
        lives = 0 if rng.random() < 0.03 else rng.randint(1, 3)
        ahead = rng.uniform(0, 3) if name == "p7" else 0.0  # p7's clock runs up to 3 s ahead
        ts = at - rng.uniform(0, 0.5) + ahead
        out.append(ReplayRecord(name, scores[name], rng.randint(0, 40), 1, lives, ts, at, seq))
        if lives == 0:
            scores[name] = 0
        if rng.random() < 0.02:
            out.append(out[-1])  # delivered again
    return out


def expected(records: list[ReplayRecord], upto: float) -> list[Entry]:
    board = SessionBoard()
    for r in records:
        if settles_at(r.ts, r.received_at) <= upto:
            board.apply(r.nickname, Entry(r.nickname, r.score, r.shots, r.level, r.lives), r.ts)
    return ranked(b.entry for b in board.players.values() if b.entry is not None)


def rows(frame) -> list[tuple]:
    return [tuple(row) for row in frame.Board]


def check_frames(index: ReplayIndex, counted: list[ReplayRecord], seed: int) -> None:
    cursor = ReplayCursor(index)
    rng = random.Random(seed)
    moments = [rng.uniform(START, index.end) for _ in range(40)]
    moments += sorted(moments[:10]) + [index.start, index.end]  # small steps forward, the two ends
    for at in moments:
        frame = frame_of(cursor, "S", at)
        assert frame.At == at
        assert rows(frame) == [tuple(e) for e in expected(counted, at)], at


def test_the_board_at_any_moment_is_the_board_of_the_records_settled_by_then():
    records = stream(1)
    closes_at = records[-300].received_at  # the last records came after the close
    counted = [r for r in records if counts(r.ts, r.received_at, closes_at)]
    index = ReplayIndex(START, keyframe_seconds=3.0)
    for start in range(0, len(counted), 700):  # fed in batches in arrival order, as a reader of the log does
        index.feed(counted[start:start + 700])
    index.finish()
    assert len(index.keyframe_at) > 10
    check_frames(index, counted, 2)


class Store:
    """Segments as a database keeps them."""

    def __init__(self) -> None:
        self.keyframes: dict[int, Keyframe] = {}
        self.chunks: dict[int, Chunk] = {}

    def keep(self, changes) -> None:
        for change in changes:
            (self.keyframes if isinstance(change, Keyframe) else self.chunks)[change.number] = change

    def keyframe_states(self, number: int) -> bytes:
        return self.keyframes[number].states

    def chunk_records(self, number: int) -> bytes:
        return self.chunks[number].records

    def index(self, index: ReplayIndex) -> ReplayIndex:
        stored = ReplayIndex.stored([(k.number, k.at, k.records, k.leaders) for k in self.keyframes.values()],
                                    [self.chunks[n].names for n in sorted(self.chunks)], self,
                                    started_at=START, end=index.end, complete=index.complete)
        return stored


def test_fed_out_of_order_up_to_watermarks_stored_and_read_back_it_shows_the_same_boards():
    """As the stream processor feeds it: each round the records it counted (in its order, the waiting ones
    later) and a watermark no later record settles before; the segments go to storage as they are made."""
    counted = stream(3, 3_000)
    rng = random.Random(4)
    index, store = ReplayIndex(START), Store()
    index.source = store
    position = 0
    waiting: list[ReplayRecord] = []
    while position < len(counted):
        batch = counted[position:position + rng.randint(1, 200)]
        position += len(batch)
        clock = batch[-1].received_at + 0.05
        ready = [r for r in [*waiting, *batch] if settles_at(r.ts, r.received_at) <= clock]
        waiting = [r for r in [*waiting, *batch] if settles_at(r.ts, r.received_at) > clock]
        rng.shuffle(ready)
        index.add(ready)
        later = [settles_at(r.ts, r.received_at) for r in waiting] + [batch[-1].received_at]
        index.commit(math.nextafter(min(later), -math.inf))
        store.keep(index.take_changes())
        index.release()
        assert index.pending_seq() is None or index.pending_seq() > 0
    index.add(waiting)
    index.finish()
    store.keep(index.take_changes())
    check_frames(index, counted, 5)
    check_frames(store.index(index), counted, 6)  # from storage alone


def test_an_incomplete_stored_index_goes_on_from_its_last_keyframe_after_a_restart():
    counted = stream(7, 3_000)
    index, store = ReplayIndex(START), Store()
    index.feed(counted[:1_700])
    store.keep(index.take_changes())
    resume_seq = index.pending_seq()  # what the processor reads again after the restart
    assert resume_seq is not None
    # The restart: the stored segments, the open chunk lost.
    again = ReplayIndex.stored([(k.number, k.at, k.records, k.leaders) for k in store.keyframes.values()],
                               [store.chunks[n].names for n in sorted(store.chunks)], store,
                               started_at=START, end=index.stored_end, complete=False)
    again.resume()
    stored_to = again.keyframe_at[-1]
    lost_to = index.end  # the open chunk's records, lost with it, reach this far
    assert lost_to > stored_to + 0.5
    again.feed([r for r in counted if r.seq >= resume_seq and settles_at(r.ts, r.received_at) >= stored_to])
    again.finish()
    store.keep(again.take_changes())
    check_frames(again, counted, 8)
    check_frames(store.index(again), counted, 9)
    cursor = ReplayCursor(again)  # the stretch read again after the restart, shown at its own moments
    for step in range(1, 20):
        at = stored_to + (lost_to - stored_to) * step / 20
        assert rows(frame_of(cursor, "S", at)) == [tuple(e) for e in expected(counted, at)], at


def test_a_growing_index_shows_what_is_indexed():
    counted = stream(3, 2_000)
    index = ReplayIndex(START)
    index.feed(counted[:1_000])
    cursor = ReplayCursor(index)
    frame = frame_of(cursor, "S", 1e12)
    assert not frame.Complete and frame.At == index.indexed_to <= counted[999].received_at
    assert rows(frame) == [tuple(e) for e in expected(counted[:1_000], frame.At)]
    index.feed(counted[1_000:])
    index.finish()
    assert frame_of(cursor, "S", 1e12).Complete
    assert rows(frame_of(cursor, "S", index.end)) == [tuple(e) for e in expected(counted, index.end)]


def test_a_cursor_on_a_growing_index_sees_every_record_added_since_its_last_seek():
    """A cursor that played part of the open chunk, then the index grew (and closed that chunk): the next
    frame holds every record settled by its moment. (It once played its own stale copy of the open chunk
    and showed a board without the records added since, the last frame of a bots' session too.)"""
    counted = stream(11, 3_000)
    index = ReplayIndex(START, keyframe_seconds=1e6)  # one chunk: every record in the open one
    index.feed(counted[:1_000])
    cursor = ReplayCursor(index)
    middle = counted[500].received_at
    assert rows(frame_of(cursor, "S", middle)) == [tuple(e) for e in expected(counted, middle)]
    index.feed(counted[1_000:2_000])
    at = counted[1_999].received_at
    assert rows(frame_of(cursor, "S", at)) == [tuple(e) for e in expected(counted, at)]
    index.feed(counted[2_000:])
    index.finish()  # the chunk closes
    frame = frame_of(cursor, "S", index.end)
    assert frame.Complete and rows(frame) == [tuple(e) for e in expected(counted, index.end)]


def test_a_cursor_reads_an_index_another_thread_builds():
    """The archive's reader builds the index in a thread while the console's cursor reads it: a keyframe
    becomes visible only once its boards and its open chunk are in place (a cursor once found a keyframe
    without its boards, and then the open chunk of the next one)."""
    import threading

    counted = stream(13, 8_000)
    index = ReplayIndex(START, keyframe_seconds=0.05)  # a keyframe every few records: many chances to race
    cursor = ReplayCursor(index)
    errors: list[BaseException] = []

    def build() -> None:
        for start in range(0, len(counted), 50):
            index.feed(counted[start:start + 50])
        index.finish()

    builder = threading.Thread(target=build)
    builder.start()
    seen = 0
    while builder.is_alive() or seen == 0:
        try:
            frame = frame_of(cursor, "S", 1e12)
        except Exception as error:  # noqa: BLE001 - collected, asserted below
            errors.append(error)
            break
        seen += 1
        if frame.At < 1e12 and seen % 7 == 0:  # 1e12: nothing indexed yet when it was asked
            assert rows(frame) == [tuple(e) for e in expected(counted, frame.At)]
    builder.join()
    assert errors == []
    assert rows(frame_of(cursor, "S", index.end)) == [tuple(e) for e in expected(counted, index.end)]


def finished_at(records: list[ReplayRecord], upto: float) -> set[str]:
    board = SessionBoard()
    for r in records:
        if settles_at(r.ts, r.received_at) <= upto:
            board.apply(r.nickname, Entry(r.nickname, r.score, r.shots, r.level, r.lives), r.ts)
    return {name for name, b in board.players.items() if b.current is None and b.best_finished}


def built(seed: int, count: int = 6_000, keyframe_seconds: float = 3.0) -> tuple[ReplayIndex, list[ReplayRecord], Store]:
    counted = stream(seed, count)
    index, store = ReplayIndex(START, keyframe_seconds=keyframe_seconds), Store()
    for start in range(0, len(counted), 500):
        index.feed(counted[start:start + 500])
    index.finish()
    store.keep(index.take_changes())
    return index, counted, store


def test_keyframes_keep_their_players_in_rank_order_with_the_top_for_the_chart():
    _index, counted, store = built(11)
    for keyframe in store.keyframes.values():
        ranked_count, names, finished, states = msgspec.msgpack.decode(zlib.decompress(keyframe.states))
        before = math.nextafter(keyframe.at, -math.inf)
        board = expected(counted, before)
        assert [state[0] for state in states[:ranked_count]] == [e.nickname for e in board] == names[:ranked_count]
        assert names == [state[0] for state in states]
        assert {names[place] for place in finished} == finished_at(counted, before)
        assert keyframe.leaders == [[e.nickname, e.score] for e in board[:CHART_TOP]]


def test_frames_at_speed_show_a_keyframe_exactly_and_the_end_exactly():
    """Within the tolerance a frame shows the keyframe before the moment asked (the board just before the
    keyframe's moment: no board built), never later than asked; paused (no tolerance), the moment itself."""
    index, counted, store = built(12)
    for source in (index, store.index(index)):
        cursor = ReplayCursor(source)
        snapped = 0
        rng = random.Random(13)
        for at in [*sorted(rng.uniform(START, index.end) for _ in range(40)), index.end]:
            tolerance = rng.choice((0.5, 4.0, 10.0))
            frame = frame_of(cursor, "S", at, view=FrameView(tolerance=tolerance))
            assert at - tolerance <= frame.At <= at
            assert rows(frame) == [tuple(e) for e in expected(counted, frame.At)], at
            assert set(frame.Finished) == finished_at(counted, frame.At)
            snapped += frame.At != at
            exact = frame_of(cursor, "S", at)  # paused: the moment asked
            assert exact.At == at and rows(exact) == [tuple(e) for e in expected(counted, at)]
        assert snapped > 10
        end = frame_of(cursor, "S", index.end, view=FrameView(tolerance=10.0))
        assert end.At == index.end and rows(end) == [tuple(e) for e in expected(counted, math.inf)]


def test_a_frame_of_the_rows_in_view_tells_their_ranks_in_the_previous_frame():
    index, counted, _ = built(14)
    cursor = ReplayCursor(index)
    previous = None
    for at in [START + 20.0 + 7.3 * step for step in range(12)] + [START + 30.0]:  # forward, then back
        view = FrameView(first=5, count=8, since=previous.At if previous else None, tolerance=3.0)
        frame = frame_of(cursor, "S", at, view=view)
        board = expected(counted, frame.At)
        assert rows(frame) == [tuple(e) for e in board[5:13]]
        assert frame.First == 5 and frame.Players == len(board)
        assert frame.Top == [tuple(e) for e in board[:CHART_TOP]]
        finished = finished_at(counted, frame.At)
        assert frame.FinishedCount == len(finished)
        assert set(frame.Finished) == finished & {e.nickname for e in board[:13]}
        assert set(frame.Leaders) == {e.nickname for e in board[:5]}
        if previous is None:
            assert frame.Before is None  # nothing to compare with
        else:
            before = {e.nickname: rank for rank, e in enumerate(expected(counted, previous.At), 1)}
            assert frame.Before == [before.get(e.nickname, 0) for e in board[5:13]]
        previous = frame
    other = ReplayCursor(index)  # a moment it never showed: no ranks before, rather than wrong ones
    assert frame_of(other, "S", START + 50.0, view=FrameView(count=5, since=START + 49.0)).Before is None


def test_keyframes_stored_before_they_were_ranked_are_still_read():
    """Their states were stored in no order, without the count of ranked ones."""
    index, counted, store = built(15)
    old = Store()
    rng = random.Random(16)
    for number, keyframe in store.keyframes.items():
        _ranked, _names, _finished, states = msgspec.msgpack.decode(zlib.decompress(keyframe.states))
        rng.shuffle(states)
        old.keyframes[number] = keyframe._replace(states=zlib.compress(msgspec.msgpack.encode(states)))
    old.chunks = store.chunks
    stored = old.index(index)
    check_frames(stored, counted, 17)
    cursor = ReplayCursor(stored)
    for at in (START + 10.0, START + 40.0, index.end):
        frame = frame_of(cursor, "S", at, view=FrameView(count=6, tolerance=5.0))
        assert rows(frame) == [tuple(e) for e in expected(counted, frame.At)[:6]]
