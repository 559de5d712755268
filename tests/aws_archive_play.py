"""A session played through the stack's scoreboard function on moto, and its archive as Firehose writes it
(gzip and not, newline-separated and not, one object delivered twice, a record that is no status): the
replay's tests on the console (tests/manager) and on the replay index function (tests/aws) share it."""
from __future__ import annotations

import asyncio
import gzip
import json
import random
import time
from unittest import mock

import boto3
from aws_manager import StoreManager
from aws_world import kinesis_record, run_scoreboard, unique

from spaceinvaders_backend.aws import board_batch, seat_store, session_store
from spaceinvaders_backend.aws.config import StackNames
from spaceinvaders_backend.core.timeutil import parse_iso, to_iso

PLAYERS = 8


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


def play(world, game: str, seed: int, deliver: bool = True) -> tuple[str, list[dict]]:
    """A session played record by record through the scoreboard function; answers its id and bodies. Its
    archive's objects are in S3 (`archive_keys`) unless `deliver` is false."""
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
    if deliver:
        bucket = world.stack.tables["ArchiveBucket"]
        s3 = boto3.client("s3", region_name=world.stack.region)
        for key, data in zip(archive_keys(sid), archive_objects(bodies), strict=True):
            s3.put_object(Bucket=bucket, Key=key, Body=data)
    return sid, bodies


def archive_keys(sid: str) -> list[str]:
    """Firehose's names of the five objects of `archive_objects`, in delivery order."""
    return [f"sessions/{sid}/archive-1-2026-12-02-20-{i:02d}-00-{unique('o')}" for i in range(5)]


async def last_frame(source):
    frame = await source.frame(None)
    for _ in range(400):
        if frame.Complete and frame.At == frame.End:
            return frame
        await asyncio.sleep(0.02)
        frame = await source.frame(frame.End if frame.Complete else 1e12)
    raise AssertionError("the archive's replay never ended")
