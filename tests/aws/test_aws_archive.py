"""The archive's Firehose transform on moto: only records of a real, current session keep a partition, so
players cannot open partitions past Firehose's quota and push real sessions' records to `errors/`.

The events are shaped as Firehose sends them for a Kinesis source (`records[]` with `recordId`, base64
`data`, `approximateArrivalTimestamp` and `kinesisRecordMetadata` in milliseconds; the Firehose event of
https://docs.aws.amazon.com/lambda/latest/dg/services-kinesisfirehose.html)."""

from __future__ import annotations

import base64
import json
import time

import pytest
from aws_gateway import LambdaContext
from aws_world import unique

from spaceinvaders_backend.aws import config
from spaceinvaders_backend.aws.handlers import archive_transform
from spaceinvaders_backend.aws.handlers.archive_transform import (
    CLOSE_GRACE_SECONDS,
    RECHECK_SECONDS,
    SessionCache,
)
from spaceinvaders_backend.core.timeutil import parse_iso, to_iso


def firehose_record(data: bytes | dict, arrived_at: float, n: int = 0) -> dict:
    raw = json.dumps(data).encode() if isinstance(data, dict) else data
    millis = int(arrived_at * 1000)
    return {
        "recordId": f"record{n}",
        "approximateArrivalTimestamp": millis + 50,
        "data": base64.b64encode(raw).decode(),
        "kinesisRecordMetadata": {
            "shardId": "shardId-000000000000",
            "partitionKey": "p",
            "approximateArrivalTimestamp": millis,
            "sequenceNumber": str(10**20 + n),
            "subsequenceNumber": 0,
        },
    }


def status(session_id: str, nickname: str = "alice", score: int = 1) -> dict:
    return {"SessionId": session_id, "Nickname": nickname, "Score": score, "Shots": 0, "Level": 1, "Lives": 3,
            "Timestamp": to_iso(time.time()), "ReceivedAtEpochMs": int(time.time() * 1000)}


def outcome(answer: dict) -> list[tuple[str, str | None]]:
    return [(r["result"], (r.get("metadata") or {}).get("partitionKeys", {}).get("SessionId")) for r in answer["records"]]


@pytest.fixture
def fresh_cache(monkeypatch):
    cache = SessionCache()
    monkeypatch.setattr(archive_transform, "_sessions", cache)
    return cache


def test_records_of_the_open_session_keep_their_partition_and_get_a_newline(manager, fresh_session, fresh_cache):
    sid = fresh_session()
    record = firehose_record(status(sid), time.time())
    answer = archive_transform.handler({"invocationId": "i", "records": [record]}, LambdaContext())
    assert outcome(answer) == [("Ok", sid)]
    (kept,) = answer["records"]
    assert kept["recordId"] == record["recordId"]
    assert base64.b64decode(kept["data"]) == base64.b64decode(record["data"]) + b"\n"


def test_players_cannot_open_partitions(manager, fresh_session, fresh_cache):
    """600 made-up session ids in one buffer (past the 500 active partitions): all dropped, and the real
    session's records keep the only partition."""
    sid = fresh_session()
    now = time.time()
    fake = [firehose_record(status(f"X{i:05d}261126T221500"), now, i) for i in range(600)]
    odd = [
        firehose_record(status("not a session id"), now, 601),
        firehose_record(status(sid + "\n"), now, 602),
        firehose_record(b"\xff not json", now, 603),
        firehose_record({"SessionId": 5}, now, 604),
    ]
    real = [firehose_record(status(sid, score=i), now, 700 + i) for i in range(3)]
    answer = archive_transform.handler({"records": [*fake, *odd, *real]}, LambdaContext())
    results = outcome(answer)
    assert {p for r, p in results if r == "Ok"} == {sid}
    assert results.count(("Ok", sid)) == 3
    assert results.count(("Dropped", None)) == 604
    assert [r["recordId"] for r in answer["records"]] == [r["recordId"] for r in [*fake, *odd, *real]]


def test_a_closed_sessions_records_are_kept_only_until_shortly_after_the_close(manager, fresh_session, fresh_cache):
    sid = fresh_session()
    end = parse_iso(manager.close()["ClosingTime"])
    later = fresh_session()  # the next session is open meanwhile
    records = [
        firehose_record(status(sid), end - 1, 1),
        firehose_record(status(sid), end + CLOSE_GRACE_SECONDS - 1, 2),
        firehose_record(status(sid), end + CLOSE_GRACE_SECONDS + 1, 3),
        firehose_record(status(later), time.time(), 4),
    ]
    answer = archive_transform.handler({"records": records}, LambdaContext())
    assert outcome(answer) == [("Ok", sid), ("Ok", sid), ("Dropped", None), ("Ok", later)]


def test_sessions_are_read_once_and_rechecked_only_while_they_can_change(world, manager, fresh_session, fresh_cache):
    names = config.StackNames.from_environ()
    closed = fresh_session()
    manager.close()
    current = fresh_session()
    missing = unique("M") + "261126T221500"
    reads: list[int] = []

    def count(params, **_kw) -> None:
        reads.append(len(params["RequestItems"][names.sessions]["Keys"]))

    ddb = config.client("dynamodb")
    ddb.meta.events.register("provide-client-params.dynamodb.BatchGetItem", count)
    try:
        now = time.time()
        batch = [firehose_record(status(s), now, i) for i, s in enumerate([closed, current, missing])]
        for _ in range(3):
            archive_transform.transform(names, batch, now)
        assert reads == [3]  # one read for the three, then the cache
        archive_transform.transform(names, batch, now + RECHECK_SECONDS)
        assert reads == [3, 2]  # the closed session is final; the open and the missing one are read again
    finally:
        ddb.meta.events.unregister("provide-client-params.dynamodb.BatchGetItem", count)
