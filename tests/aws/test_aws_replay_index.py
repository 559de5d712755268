"""The replay index function (`handlers/replay_index.py`) on moto: it indexes a session's archive as
Firehose delivers it (gzip and not, newline-separated and not, an object delivered twice, S3's events
twice and out of order, an object whose key sorts before those indexed), completes it once the session is
closed long enough, stores it under `replays/<SessionId>/` only, races another run of itself safely, and is
allowed exactly its calls. The console's side (reading that index) is tests/manager/test_manager_replay_aws.py."""
from __future__ import annotations

import boto3
import pytest
from aws_archive_play import archive_keys, archive_objects, last_frame, play
from aws_calls import record_function_clients
from aws_gateway import LambdaContext, load_template
from test_aws_iam import check, granted

from manager_tui.backends.aws import AwsBackend
from spaceinvaders_backend.aws import replay_indexer, replay_store
from spaceinvaders_backend.aws.handlers import replay_index
from spaceinvaders_backend.core.timeutil import parse_iso, parse_rfc3339


def s3_event(bucket: str, key: str) -> dict:
    """An S3 event notification of one created object (keys URL-encoded, as S3 sends them)."""
    return {"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
                         "s3": {"bucket": {"name": bucket}, "object": {"key": key.replace(" ", "+")}}}]}


def bucket_of(world) -> str:
    return world.stack.tables["ArchiveBucket"]


def closed_at(world, sid: str) -> float:
    return parse_iso(world.item("Sessions", SessionId=sid)["ClosingTime"])


def deliver(world, sid: str, order: list[int], events_in: list[list[int]] | None = None) -> list[dict]:
    """The archive's objects put in `order`; after each group of `events_in` (default: one group each),
    S3's events of that group come, newest first, each twice. Answers the function's answers."""
    s3, bucket = boto3.client("s3", region_name=world.stack.region), bucket_of(world)
    keys, objects = archive_keys(sid), archive_objects(play.bodies[sid])
    answers = []
    for group in events_in or [[i] for i in order]:
        for i in group:
            s3.put_object(Bucket=bucket, Key=keys[i], Body=objects[i])
        for i in reversed(group):
            for _twice in range(2):
                answers.append(replay_index.handler(s3_event(bucket, keys[i]), LambdaContext()))
    return answers


@pytest.fixture
def played(world):
    """A session played through the scoreboard function, its archive not delivered yet."""
    def make(game: str, seed: int) -> str:
        sid, bodies = play(world, game, seed, deliver=False)
        play.bodies = getattr(play, "bodies", {})
        play.bodies[sid] = bodies
        return sid
    return make


def finish(world, sid: str, monkeypatch) -> dict:
    """The schedule's run once the session is closed long enough."""
    monkeypatch.setattr(replay_index, "clock", lambda: closed_at(world, sid) + replay_indexer.FINAL_AFTER_SECONDS + 1)
    return replay_index.handler({"Bucket": bucket_of(world)}, LambdaContext())


def stored_keys(world, sid: str) -> list[str]:
    s3 = boto3.client("s3", region_name=world.stack.region)
    listed = s3.list_objects_v2(Bucket=bucket_of(world), Prefix=replay_store.replay_prefix(sid))
    return sorted(o["Key"] for o in listed.get("Contents", []))


async def test_each_object_is_indexed_once_in_order_whatever_the_events(world, played, monkeypatch):
    sid = played("MULTIPLE_TRIALS", seed=5)
    answers = deliver(world, sid, [0, 1, 2, 4, 3], events_in=[[0, 1], [2], [4], [3]])
    outcomes = [o for a in answers for o in a["sessions"]]
    assert all(o["session_id"] == sid for o in outcomes)
    # the second of each twice-sent event, and the older event of a group, find nothing new
    assert [o["objects_read"] > 0 for o in outcomes] == [True, False, False, False, True, False, True, False,
                                                         True, False]
    # object 3 sorts before object 4, indexed already: the index is made again from the whole archive
    assert outcomes[-2]["note"] == "an object came before those indexed: indexed again"
    assert outcomes[-2]["objects_read"] == 5 and not outcomes[-2]["complete"]
    assert replay_store.unfinished_sessions(boto3.client("s3", region_name=world.stack.region),
                                            bucket_of(world)) == [sid]
    # not yet: the session closed less than FINAL_AFTER_SECONDS ago
    assert replay_index.handler({"Bucket": bucket_of(world)}, LambdaContext())["sessions"][0]["note"] == "nothing new"
    (done,) = finish(world, sid, monkeypatch)["sessions"]
    # complete, its last board the stored board; read again: the objects of its records not in a closed chunk
    assert done["complete"] and done["note"] == "" and 0 < done["objects_read"] < 5
    assert finish(world, sid, monkeypatch)["sessions"] == []  # nothing unfinished any more
    again = replay_index.handler(s3_event(bucket_of(world), archive_keys(sid)[0]), LambdaContext())
    assert again["sessions"][0]["note"] == "complete"
    read = replay_store.read(replay_indexer.StackNames.from_environ(), sid)
    keys = stored_keys(world, sid)
    assert read.manifest in keys and sum("manifest-" in k for k in keys) == 1  # earlier manifests removed
    # the console replays from that index, to the stored board, each record once, reading no archive object
    backend = AwsBackend(world.env, boto3.Session(region_name=world.stack.region))
    await backend.connect()
    stored = [(e.Nickname, e.Score, e.Shots, e.Level, e.Lives) for e in (await backend.board(sid)).entries]
    reads: list[str] = []
    backend._client("s3").meta.events.register("provide-client-params.s3.GetObject",
                                                lambda params, **_kw: reads.append(params["Key"]))
    source = await backend.replay(sid)
    frame = await last_frame(source)
    assert source.indexed and [tuple(row) for row in frame.Board] == stored
    closed = closed_at(world, sid)
    assert frame.Records == sum(max(b["ReceivedAtEpochMs"] / 1000, parse_rfc3339(b["Timestamp"])[0]) <= closed
                                for b in play.bodies[sid])
    assert reads and not [k for k in reads if k.startswith("sessions/")]
    await source.aclose()
    await backend.aclose()


def test_a_run_that_loses_the_race_goes_on_from_the_winners_index(world, played, monkeypatch):
    sid = played("SINGLE_TRIAL", seed=6)
    s3, bucket = boto3.client("s3", region_name=world.stack.region), bucket_of(world)
    keys, objects = archive_keys(sid), archive_objects(play.bodies[sid])
    for key, data in zip(keys[:2], objects[:2], strict=True):
        s3.put_object(Bucket=bucket, Key=key, Body=data)
    names = replay_indexer.StackNames.from_environ()
    real = replay_indexer.list_objects
    rivals = []

    def listing_while_another_run_stores(s3_client, bucket_name, session_id):
        if not rivals:  # another event's run, at the same moment, stores first
            rivals.append(None)
            rivals[0] = replay_indexer.index_session(names, s3_client, bucket_name, session_id, 0.0)
        return real(s3_client, bucket_name, session_id)

    monkeypatch.setattr(replay_indexer, "list_objects", listing_while_another_run_stores)
    outcome = replay_indexer.index_session(names, s3, bucket, sid, 0.0)
    assert rivals[0].version == 1 and rivals[0].objects_read == 2
    assert (outcome.version, outcome.objects_read, outcome.note) == (1, 0, "nothing new")  # it read the winner's
    s3.put_object(Bucket=bucket, Key=keys[2], Body=objects[2])
    monkeypatch.setattr(replay_indexer, "list_objects", real)
    raced = []
    real_save = replay_store.save

    def save_after_another(*args, **kwargs):
        if not raced:  # this time the other run stores between this one's read and its write
            raced.append(None)
            raced[0] = replay_indexer.index_session(names, s3, bucket, sid, 0.0)
        return real_save(*args, **kwargs)

    monkeypatch.setattr(replay_store, "save", save_after_another)
    outcome = replay_indexer.index_session(names, s3, bucket, sid, 0.0)
    assert raced[0].version == 2 and outcome.version == 2 and outcome.note == "nothing new"
    read = replay_store.read(names, sid)
    manifest = replay_store.load_manifest(s3, bucket, read.manifest)
    packs = {k[4] for k in manifest.Keyframes} | {c[2] for c in manifest.Chunks}
    prefix = replay_store.replay_prefix(sid)
    # the loser's pack and manifest are gone: what is stored is the winner's, and what it names
    assert set(stored_keys(world, sid)) == {read.manifest} | {prefix + p for p in packs}


def test_the_function_writes_only_under_replays_which_its_events_never_name(world, played, monkeypatch):
    """Its own writes cannot start it again: S3 notifies it of `sessions/` alone, and it writes elsewhere."""
    events = load_template()["Resources"]["ReplayIndexFunction"]["Properties"]["Events"]
    rules = events["ArchiveDelivered"]["Properties"]["Filter"]["S3Key"]["Rules"]
    assert rules == [{"Name": "prefix", "Value": "sessions/"}]
    assert events["ArchiveDelivered"]["Properties"]["Bucket"] == {"Ref": "ArchiveBucket"}
    sid = played("TIME_CONSTRAINED", seed=7)
    calls = record_function_clients(monkeypatch)
    deliver(world, sid, [0, 1, 2, 3, 4])
    finish(world, sid, monkeypatch)
    written = [c.params["Key"] for c in calls.calls if c.operation in ("PutObject", "DeleteObject")]
    assert written and all(k.startswith(replay_store.REPLAY_PREFIX) for k in written)
    assert replay_index.sessions_of(s3_event(bucket_of(world), written[0])) == (bucket_of(world), [])


def test_the_function_is_allowed_exactly_its_calls(world, played, monkeypatch):
    sid = played("MULTIPLE_TRIALS", seed=8)
    calls = record_function_clients(monkeypatch)
    deliver(world, sid, [0, 1, 2, 3, 4])
    finish(world, sid, monkeypatch)
    resources = load_template()["Resources"]
    statements = [s for p in resources["ReplayIndexRole"]["Properties"]["Policies"]
                  for s in p["PolicyDocument"]["Statement"] if s["Sid"] != "Logs"]  # the Lambda runtime's
    statements += resources["ReplayIndexArchivePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    check("ReplayIndexFunction", granted(statements, world.stack), calls.permissions())
