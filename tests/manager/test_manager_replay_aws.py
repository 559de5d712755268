"""The replay from the AWS archive (moto's S3): the stack's own scoreboard function builds the stored
board from Kinesis batches (one batch delivered twice), and the same records lie in the archive as
Firehose writes them (gzip and not, newline-separated and not, one object delivered twice, a record that
is no status); the replay's last frame equals the stored board exactly."""
from __future__ import annotations

import asyncio
import gzip
import json
import random

import boto3
import pytest
from aws_manager import StoreManager
from aws_world import MotoWorld, kinesis_record, run_scoreboard, unique

from manager_tui.backends.aws import AwsBackend
from manager_tui.backends.aws_replay import Timestamps
from spaceinvaders_backend.aws import seat_store, session_store
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
    t = start + 1.0
    # Records after the close: past the deadline of a time-constrained session, after the manager's close
    # of a single-trial one (closed before the records are processed, as a late batch would be). A
    # MULTIPLE_TRIALS player is seated again after a last life, which needs the session open.
    end = start + {"TIME_CONSTRAINED": 70, "SINGLE_TRIAL": 30, "MULTIPLE_TRIALS": 25}[game]
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
        manager.close(closing_time=start + 25)
    sequence = 10**20
    delivered = []
    for part, seat_again in batches:
        records = []
        for body in part:
            sequence += 1
            records.append(kinesis_record(body, sequence, body["ReceivedAtEpochMs"] / 1000, key=body["Nickname"]))
        assert run_scoreboard(records) == {"batchItemFailures": []}
        delivered.append(records)
        for p in seat_again:
            seat_store.allocate(names, p)
    assert run_scoreboard(delivered[len(delivered) // 2]) == {"batchItemFailures": []}  # delivered again
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
    assert frame.Records == len(bodies)  # each record once: the object delivered twice and the poison left out
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
