"""The replay from the AWS archive (moto's S3): the stack's own scoreboard function builds the stored
board from Kinesis batches (one batch delivered twice), and the same records lie in the archive as
Firehose writes them (gzip and not, newline-separated and not, one object delivered twice, a record that
is no status); the replay's last frame equals the stored board exactly."""
from __future__ import annotations

import asyncio
import gzip
import io
import json
import random
import threading
import time
from unittest import mock

import boto3
import pytest
from aws_manager import StoreManager
from aws_world import MotoWorld, kinesis_record, run_scoreboard, unique

from api_client import Session
from manager_tui.backends.aws import AwsBackend
from manager_tui.backends.aws_replay import ArchiveReplay
from manager_tui.backends.replay_cache import ReplayCache
from spaceinvaders_backend.aws import board_batch, board_store, seat_store, session_store
from spaceinvaders_backend.aws.archive_records import Timestamps
from spaceinvaders_backend.aws.config import StackNames
from spaceinvaders_backend.core.timeutil import parse_iso, parse_rfc3339, to_iso

PLAYERS = 8


@pytest.fixture(scope="module")
def world():
    with MotoWorld("replayaws") as w:
        yield w


def archive_objects(bodies: list[dict]) -> list[bytes]:
    """Firehose's objects in delivery order, each shaped another way, then one of them delivered again."""
    quarter = len(bodies) // 4
    parts = [bodies[:quarter], bodies[quarter:2 * quarter], bodies[2 * quarter:3 * quarter], bodies[3 * quarter:]]
    lines = [("\n".join(json.dumps(b) for b in part) + "\n").encode() for part in parts]
    together = ["".join(json.dumps(b) for b in part).encode() for part in parts]
    poison = json.dumps({"SessionId": bodies[0]["SessionId"], "Nickname": "no such name!", "Score": 10**9,
                         "Shots": 0, "Level": 1, "Lives": 3, "Timestamp": bodies[0]["Timestamp"],
                         "ReceivedAtEpochMs": bodies[0]["ReceivedAtEpochMs"]}).encode()
    return [lines[0], gzip.compress(lines[1]), together[2] + poison, gzip.compress(together[3]),
            gzip.compress(lines[1])]


def play(world, game: str, seed: int) -> tuple[str, list[dict]]:
    """A session played record by record through the scoreboard function; answers its id and bodies."""
    manager = StoreManager(world.stack)
    kw = {"timeout_minutes": 1} if game == "TIME_CONSTRAINED" else {}
    session = manager.reopen(unique("R"), game, **kw)
    sid = session["SessionId"]
    names = StackNames.from_environ()
    players = [unique("p") for _ in range(PLAYERS)]
    for p in players:
        assert seat_store.allocate(names, p).startswith("Seat allocated")
    start = parse_iso(world.item("Sessions", SessionId=sid)["OpeningTime"])
    rng = random.Random(seed)
    scores = dict.fromkeys(players, 0)
    done: set[str] = set()
    bodies, batches, batch = [], [], []
    again: list[str] = []  # MULTIPLE_TRIALS players to seat again once their last life is processed
    # The records begin after every seat was taken (a seat's AllocatedAt is the real clock: on a busy
    # machine the seats may come later than a second after the opening, and earlier records count nowhere).
    first = max(start, time.time())
    t = first + 1.0
    # Records after the close: past the deadline of a time-constrained session, after the manager's close
    # of a single-trial one (closed before the records are processed, as a late batch would be). A
    # MULTIPLE_TRIALS player is seated again after a last life, which needs the session open.
    end = first + {"TIME_CONSTRAINED": 70, "SINGLE_TRIAL": 30, "MULTIPLE_TRIALS": 25}[game]
    while t < end:
        t += 0.05
        p = rng.choice(players)
        if p in done:
            continue
        scores[p] += rng.choice((0, 10, 10, 20, 50))
        lives = 0 if rng.random() < 0.02 else 3
        if p in players[:2]:  # two players who tie on everything but their names
            scores[p], lives = 1000, 3
        received = int(t * 1000)
        body = {"SessionId": sid, "Nickname": p, "Score": scores[p], "Shots": scores[p] // 20, "Level": 1,
                "Lives": lives, "Timestamp": to_iso(received / 1000 - 0.03), "ReceivedAtEpochMs": received}
        bodies.append(body)
        batch.append(body)
        if lives == 0:
            scores[p] = 0
            if game == "MULTIPLE_TRIALS":
                again.append(p)
            else:
                done.add(p)  # a single trial: the game stops posting
        if len(batch) >= 40 or again:
            batches.append((batch, again))
            batch, again = [], []
    batches.append((batch, again))
    if game == "SINGLE_TRIAL":  # closed at a moment within the records: later ones must not count
        manager.close(closing_time=first + 25)
    sequence = 10**20
    delivered = []
    for part, seat_again in batches:
        records = []
        for body in part:
            sequence += 1
            records.append(kinesis_record(body, sequence, body["ReceivedAtEpochMs"] / 1000, key=body["Nickname"]))
        # The function runs on the session's timeline: a batch right after its last record arrived.
        at = max((b["ReceivedAtEpochMs"] for b in part), default=0) / 1000 + 0.05
        with mock.patch.object(board_batch, "clock", lambda at=at: at):
            assert run_scoreboard(records) == {"batchItemFailures": []}
        delivered.append(records)
        for p in seat_again:
            seat_store.allocate(names, p)
    with mock.patch.object(board_batch, "clock", lambda: end + 0.5):  # delivered again
        assert run_scoreboard(delivered[len(delivered) // 2]) == {"batchItemFailures": []}
    if game == "TIME_CONSTRAINED":  # the sweeper closes it at its deadline, as the stack does
        assert session_store.close_if_due(names, start + 61) is not None
    elif game != "SINGLE_TRIAL":
        manager.close(closing_time=end + 1)
    bucket = world.stack.tables["ArchiveBucket"]
    s3 = boto3.client("s3", region_name=world.stack.region)
    for i, data in enumerate(archive_objects(bodies)):
        s3.put_object(Bucket=bucket, Key=f"sessions/{sid}/archive-1-2026-12-02-20-{i:02d}-00-{unique('o')}",
                      Body=data)
    return sid, bodies


async def last_frame(source):
    frame = await source.frame(None)
    for _ in range(400):
        if frame.Complete and frame.At == frame.End:
            return frame
        await asyncio.sleep(0.02)
        frame = await source.frame(frame.End if frame.Complete else 1e12)
    raise AssertionError("the archive's replay never ended")


@pytest.mark.parametrize("game", ["MULTIPLE_TRIALS", "SINGLE_TRIAL", "TIME_CONSTRAINED"])
async def test_the_archive_replay_ends_on_the_board_the_scoreboard_function_stored(world, game):
    sid, bodies = play(world, game, seed=len(game))
    backend = AwsBackend(world.env, boto3.Session(region_name=world.stack.region))
    await backend.connect()
    stored = [(e.Nickname, e.Score, e.Shots, e.Level, e.Lives) for e in (await backend.board(sid)).entries]
    assert len(stored) >= PLAYERS - 1
    source = await backend.replay(sid)
    frame = await last_frame(source)
    assert [tuple(row) for row in frame.Board] == stored
    closed = parse_iso(world.item("Sessions", SessionId=sid)["ClosingTime"])
    counted = [b for b in bodies if max(b["ReceivedAtEpochMs"] / 1000, parse_rfc3339(b["Timestamp"])[0]) <= closed]
    assert len(counted) < len(bodies) or game == "MULTIPLE_TRIALS"  # some came after the close
    assert frame.Records == len(counted)  # each record once: the object delivered twice and the poison left out
    await source.aclose()
    await backend.aclose()


def test_archive_timestamps_are_the_core_instants_exactly():
    """The fast path for the common form gives the core's `parse_rfc3339` seconds, float for float."""
    rng = random.Random(1)
    timestamps = Timestamps()
    texts = [to_iso(rng.uniform(0, 4e9)) for _ in range(5_000)]
    texts += ["2026-11-26T22:15:00.5+01:30", "2026-11-26t22:15:00Z", "2026-11-26T22:15:00.123456789Z"]
    for text in texts:
        assert timestamps.epoch(text) == parse_rfc3339(text)[0], text
    for bad in ("2026-02-30T10:00:00.000Z", "2026-11-26T22:15:00.12xZ", "not a time"):
        with pytest.raises(ValueError):
            timestamps.epoch(bad)


async def test_records_racing_the_close_count_in_the_replay_exactly_as_on_the_board(world):
    """The races that made the archive's replay differ from the stored board: a close asked for before
    records the function had already counted (it lands after them), records stamped ahead of the function's
    clock (they wait; the close drops those stamped after it), a player posting without a seat (the
    function keeps that verdict for the replay), all archived in an order of their own."""
    manager = StoreManager(world.stack)
    sid = manager.reopen(unique("RACE"), "MULTIPLE_TRIALS")["SessionId"]
    names = StackNames.from_environ()
    ann, bob, cid, dee = (unique("p") for _ in range(4))
    for p in (ann, bob, cid):
        assert seat_store.allocate(names, p).startswith("Seat allocated")
    base = parse_iso(world.item("Sessions", SessionId=sid)["OpeningTime"]) + 1

    def body(nick: str, score: int, arrived: float, ts: float) -> dict:
        return {"SessionId": sid, "Nickname": nick, "Score": score, "Shots": 0, "Level": 1, "Lives": 3,
                "Timestamp": to_iso(ts), "ReceivedAtEpochMs": round(arrived * 1000)}

    bodies = [
        body(ann, 100, base + 1.0, base + 0.97),
        body(bob, 200, base + 1.3, base + 1.29),  # after the moment the manager closes at: counted before it
        body(cid, 300, base + 1.4, base + 1.45),  # a clock ahead, but its stamp has passed: counts
        body(cid, 900, base + 1.45, base + 1.7),  # stamped after the function's clock: waits, then the close drops it
        body(dee, 500, base + 1.2, base + 1.2),  # no seat: not counted, and kept so
    ]
    records = [kinesis_record(b, 10**20 + i, b["ReceivedAtEpochMs"] / 1000, key=b["Nickname"])
               for i, b in enumerate(bodies)]
    with mock.patch.object(board_batch, "clock", lambda: base + 1.5):
        assert run_scoreboard(records) == {"batchItemFailures": []}
    closed = manager.close(closing_time=base + 1.2)  # asked for at 1.2, arriving after the batch
    assert parse_iso(closed["ClosingTime"]) >= base + 1.5  # never before what was counted
    backend = AwsBackend(world.env, boto3.Session(region_name=world.stack.region))
    await backend.connect()
    stored = [(e.Nickname, e.Score) for e in (await backend.board(sid)).entries]
    assert stored == [(cid, 300), (bob, 200), (ann, 100)]
    shuffled = random.Random(3).sample(bodies, len(bodies))
    s3 = boto3.client("s3", region_name=world.stack.region)
    for i, part in enumerate((shuffled[:2], shuffled[2:])):
        s3.put_object(Bucket=world.stack.tables["ArchiveBucket"], Key=f"sessions/{sid}/archive-{i}-{unique('o')}",
                      Body="\n".join(json.dumps(b) for b in part).encode())
    source = await backend.replay(sid)
    frame = await last_frame(source)
    assert [(row[0], row[1]) for row in frame.Board] == stored
    assert frame.Records == 3
    await source.aclose()
    await backend.aclose()


async def test_a_second_replay_of_a_closed_session_reads_the_cache_and_a_new_object_builds_it_again(world, tmp_path):
    sid, _bodies = play(world, "SINGLE_TRIAL", seed=4)
    cache = ReplayCache(tmp_path / "replays.sqlite3")
    backend = AwsBackend(world.env, boto3.Session(region_name=world.stack.region), replay_cache=cache)
    await backend.connect()
    built = await backend.replay(sid)
    first = await last_frame(built)
    assert not built.cached
    s3 = boto3.client("s3", region_name=world.stack.region)
    reads: list[str] = []
    s3.meta.events.register("provide-client-params.s3.GetObject", lambda params, **_kw: reads.append(params["Key"]))
    again = ArchiveReplay(s3, world.stack.tables["ArchiveBucket"], built.session,
                          lambda: board_store.kept_verdicts(backend.stack, sid), cache=cache)
    frame = await last_frame(again)
    assert again.cached and reads == []  # no object read
    assert (frame.Board, frame.Records, frame.Start, frame.End) == (first.Board, first.Records, first.Start, first.End)
    middle = (first.Start + first.End) / 2
    assert (await again.frame(middle)).Board == (await built.frame(middle)).Board
    s3.put_object(Bucket=world.stack.tables["ArchiveBucket"], Key=f"sessions/{sid}/archive-9-{unique('o')}",
                  Body=b"")  # Firehose delivered another object since: read the archive again
    third = ArchiveReplay(s3, world.stack.tables["ArchiveBucket"], built.session,
                          lambda: board_store.kept_verdicts(backend.stack, sid), cache=cache)
    assert (await last_frame(third)).Board == first.Board and not third.cached and reads
    for source in (built, again, third):
        await source.aclose()
    await backend.aclose()


def test_a_close_after_the_function_counted_past_a_deadline_lands_at_the_deadline(world):
    """The function's clock past a time-constrained session's deadline (its OpenUntil too), the manager's
    not yet: the close lands at the deadline (nothing settled after it counted), not refused for ever."""
    manager = StoreManager(world.stack)
    sid = manager.reopen(unique("DL"), "TIME_CONSTRAINED", timeout_minutes=1)["SessionId"]
    names = StackNames.from_environ()
    player = unique("p")
    assert seat_store.allocate(names, player).startswith("Seat allocated")
    deadline = parse_iso(world.item("Sessions", SessionId=sid)["OpeningTime"]) + 60
    body = {"SessionId": sid, "Nickname": player, "Score": 10, "Shots": 0, "Level": 1, "Lives": 3,
            "Timestamp": to_iso(deadline - 1), "ReceivedAtEpochMs": round((deadline - 1) * 1000)}
    with mock.patch.object(board_batch, "clock", lambda: deadline + 5):
        assert run_scoreboard([kinesis_record(body, 10**20, deadline - 1, key=player)]) == {"batchItemFailures": []}
    closed = manager.close(closing_time=deadline - 0.5)
    assert parse_iso(closed["ClosingTime"]) == deadline


class _SlowArchive:
    """An S3 client of three archive objects whose last one comes only when let go."""

    def __init__(self, objects: list[bytes]) -> None:
        self.objects = objects
        self.let_go = threading.Event()

    def get_paginator(self, _name):
        keys = [{"Key": f"sessions/X/archive-{i}", "ETag": str(i)} for i in range(len(self.objects))]
        return mock.Mock(paginate=lambda **_kw: [{"Contents": keys}])

    def get_object(self, Bucket, Key):
        i = int(Key.rsplit("-", 1)[1])
        if i == len(self.objects) - 1:
            self.let_go.wait(10)
        return {"Body": io.BytesIO(self.objects[i])}


async def test_the_first_frame_shows_the_first_objects_records_before_the_rest_is_read():
    """The first object's records that arrived before the second object's first are shown once those two
    are read: the replay does not wait for the whole archive (nor, for its first frame, for a third)."""
    start = 1_800_000_000.0
    sid = "FIRST261203T000000"
    bodies = [{"SessionId": sid, "Nickname": f"player{i % 3}", "Score": 10 * i, "Shots": 0, "Level": 1, "Lives": 3,
               "Timestamp": to_iso(start + i), "ReceivedAtEpochMs": round((start + i) * 1000)} for i in range(30)]
    objects = [("\n".join(json.dumps(b) for b in part)).encode() for part in (bodies[:10], bodies[10:20], bodies[20:])]
    s3 = _SlowArchive(objects)
    session = Session.model_validate({"SessionId": sid, "GameType": "MULTIPLE_TRIALS", "Synchronized": False,
                                      "TotalSeats": 3, "OpeningTime": to_iso(start - 1),
                                      "ClosingTime": to_iso(start + 40)})
    source = ArchiveReplay(s3, "bucket", session, dict)
    frame = await source.frame(1e12)
    assert not frame.Complete and frame.Start == start - 1 and frame.IndexedTo >= start + 9  # the opening
    assert {row[0]: row[1] for row in frame.Board} == {"player0": 90, "player1": 70, "player2": 80}
    s3.let_go.set()
    frame = await last_frame(source)
    assert frame.Complete and frame.Records == 30
    await source.aclose()
