"""The replay from the AWS archive (moto's S3): the stack's own scoreboard function builds the stored
board from Kinesis batches (one batch delivered twice), and the same records lie in the archive as
Firehose writes them (gzip and not, newline-separated and not, one object delivered twice, a record that
is no status); the replay's last frame equals the stored board exactly. Read as the console reads it: from
the replay index function's stored index (`replays/`), from that index and the archive's tail, or from
the archive alone."""
from __future__ import annotations

import io
import json
import random
import threading
import time
from unittest import mock

import boto3
import pytest
from aws_archive_play import PLAYERS, archive_keys, archive_objects, last_frame, play
from aws_manager import StoreManager
from aws_world import MotoWorld, kinesis_record, run_scoreboard, unique

from api_client import Session
from manager_tui.backends.aws import AwsBackend
from manager_tui.backends.aws_replay import ArchiveReplay
from manager_tui.backends.replay_cache import ReplayCache
from spaceinvaders_backend.aws import board_batch, board_store, replay_indexer, replay_store, seat_store
from spaceinvaders_backend.aws.archive_records import Timestamps
from spaceinvaders_backend.aws.config import StackNames
from spaceinvaders_backend.core.timeutil import parse_iso, parse_rfc3339, to_iso


@pytest.fixture(scope="module")
def world():
    with MotoWorld("replayaws") as w:
        yield w


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


def counted_records(world, sid: str, bodies: list[dict]) -> int:
    closed = parse_iso(world.item("Sessions", SessionId=sid)["ClosingTime"])
    return sum(max(b["ReceivedAtEpochMs"] / 1000, parse_rfc3339(b["Timestamp"])[0]) <= closed for b in bodies)


def archive_reads(backend: AwsBackend) -> list[str]:
    """The keys the console's S3 client will GET."""
    reads: list[str] = []
    backend._client("s3").meta.events.register("provide-client-params.s3.GetObject",
                                                lambda params, **_kw: reads.append(params["Key"]))
    return reads


@pytest.mark.parametrize("game", ["MULTIPLE_TRIALS", "SINGLE_TRIAL", "TIME_CONSTRAINED"])
async def test_a_cold_replay_of_an_indexed_session_reads_the_index_and_no_archive_object(world, game, tmp_path):
    """The replay index function has indexed the closed session: a console that never replayed it shows the
    first frame, the end at once, and any moment, from `replays/` alone; its frames are those of the replay
    the console builds from the archive itself, and the last one is the stored board."""
    sid, bodies = play(world, game, seed=10 + len(game))
    closed = parse_iso(world.item("Sessions", SessionId=sid)["ClosingTime"])
    s3 = boto3.client("s3", region_name=world.stack.region)
    done = replay_indexer.index_session(StackNames.from_environ(), s3, world.stack.tables["ArchiveBucket"], sid,
                                        closed + replay_indexer.FINAL_AFTER_SECONDS + 1)
    assert done.complete and done.note == ""
    backend = AwsBackend(world.env, boto3.Session(region_name=world.stack.region),
                         replay_cache=ReplayCache(tmp_path / "replays.sqlite3"))
    await backend.connect()
    stored = [(e.Nickname, e.Score, e.Shots, e.Level, e.Lives) for e in (await backend.board(sid)).entries]
    reads = archive_reads(backend)
    source = await backend.replay(sid)
    first = await source.frame(None)
    assert first.Complete and first.At == first.Start
    end = await source.frame(1e12)  # the end at once
    assert end.At == end.End and [tuple(row) for row in end.Board] == stored
    assert end.Records == counted_records(world, sid, bodies)
    rng = random.Random(2)
    moments = [rng.uniform(first.Start, end.End) for _ in range(20)]
    seen = [await source.frame(at) for at in moments]
    assert source.indexed and reads and not [k for k in reads if k.startswith("sessions/")]
    built_here = ArchiveReplay(s3, world.stack.tables["ArchiveBucket"], source.session,
                               lambda: board_store.kept_verdicts(backend.stack, sid))
    await last_frame(built_here)
    for at, frame in zip(moments, seen, strict=True):
        assert frame.Board == (await built_here.frame(at)).Board, at
    for closing in (source, built_here):
        await closing.aclose()
    await backend.aclose()


async def test_a_session_indexed_in_part_is_replayed_from_its_index_and_the_archives_tail_alone(world):
    sid, bodies = play(world, "MULTIPLE_TRIALS", seed=12, deliver=False)
    s3, bucket = boto3.client("s3", region_name=world.stack.region), world.stack.tables["ArchiveBucket"]
    keys, objects = archive_keys(sid), archive_objects(bodies)
    for key, data in zip(keys[:4], objects[:4], strict=True):
        s3.put_object(Bucket=bucket, Key=key, Body=data)
    names = StackNames.from_environ()
    assert replay_indexer.index_session(names, s3, bucket, sid, time.time()).version == 1
    s3.put_object(Bucket=bucket, Key=keys[4], Body=objects[4])  # delivered since: not indexed yet
    manifest = replay_store.load_manifest(s3, bucket, replay_store.read(names, sid).manifest)
    # the index goes on from the object of its oldest record not in a closed chunk (object 2's last
    # seconds: object 3's first arrival is as far as it could commit)
    assert not manifest.Complete and manifest.Resume == 2
    backend = AwsBackend(world.env, boto3.Session(region_name=world.stack.region))
    await backend.connect()
    stored = [(e.Nickname, e.Score, e.Shots, e.Level, e.Lives) for e in (await backend.board(sid)).entries]
    reads = archive_reads(backend)
    source = await backend.replay(sid)
    frame = await last_frame(source)
    assert [tuple(row) for row in frame.Board] == stored
    assert frame.Records == counted_records(world, sid, bodies)
    assert source.indexed and [k for k in reads if k.startswith("sessions/")] == keys[manifest.Resume:]
    await source.aclose()
    await backend.aclose()


async def test_a_stored_index_whose_manifest_was_removed_is_replayed_from_the_archive(world):
    sid, bodies = play(world, "SINGLE_TRIAL", seed=13)
    s3, bucket = boto3.client("s3", region_name=world.stack.region), world.stack.tables["ArchiveBucket"]
    names = StackNames.from_environ()
    closed = parse_iso(world.item("Sessions", SessionId=sid)["ClosingTime"])
    assert replay_indexer.index_session(names, s3, bucket, sid, closed + replay_indexer.FINAL_AFTER_SECONDS + 1).complete
    s3.delete_object(Bucket=bucket, Key=replay_store.read(names, sid).manifest)  # `replays/` emptied by hand
    backend = AwsBackend(world.env, boto3.Session(region_name=world.stack.region))
    await backend.connect()
    stored = [(e.Nickname, e.Score, e.Shots, e.Level, e.Lives) for e in (await backend.board(sid)).entries]
    source = await backend.replay(sid)
    frame = await last_frame(source)
    assert not source.indexed and [tuple(row) for row in frame.Board] == stored
    assert frame.Records == counted_records(world, sid, bodies)
    await source.aclose()
    await backend.aclose()
