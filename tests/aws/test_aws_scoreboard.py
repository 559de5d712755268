"""The scoreboard function on moto, fed Kinesis-shaped batches: duplicates, re-delivery, records out of
order, a reshard (records of a parent and a child shard), closed sessions, seats, poison records, partial
failures, concurrent batches."""

from __future__ import annotations

import json
import threading
import time

import pytest
from aws_world import kinesis_record, run_scoreboard, unique

from spaceinvaders_backend.aws import board_batch, config, seat_store
from spaceinvaders_backend.aws.config import StackNames
from spaceinvaders_backend.core.rank_text import rank_text
from spaceinvaders_backend.core.ranking import Entry
from spaceinvaders_backend.core.timeutil import parse_iso, to_iso


class Records:
    """Kinesis records with increasing sequence numbers."""

    def __init__(self) -> None:
        self.sequence = 10**20

    def __call__(
        self,
        sid: str,
        nick: str,
        score: int,
        *,
        lives: int = 3,
        shots: int = 0,
        level: int = 1,
        ts: float | None = None,
        arrived_at: float | None = None,
        sequence: int | None = None,
        timestamp: str | None = None,
        shard: str = "shardId-000000000000",
    ) -> dict:
        if sequence is None:
            self.sequence += 1
            sequence = self.sequence
        body = {
            "SessionId": sid,
            "Nickname": nick,
            "Score": score,
            "Shots": shots,
            "Level": level,
            "Lives": lives,
            "Timestamp": timestamp or to_iso(time.time() if ts is None else ts),
        }
        return kinesis_record(body, sequence, arrived_at, key=nick, shard=shard)


# Timestamps the lenient ISO parser took and the core's strict RFC 3339 refuses.
NOT_RFC3339 = ("2026-11-26", "2026-11-26T22:15:00", "2026-11-26T22:15:00Z\n", "2026-11-26T22:15:00Z\u0000x",
               "20261126T221500Z", "2026-11-26T22:15:00+0100")


@pytest.fixture
def record() -> Records:
    return Records()


def seated(names: StackNames, n: int = 1) -> list[str]:
    players = [unique("p") for _ in range(n)]
    for p in players:
        assert seat_store.allocate(names, p).startswith("Seat allocated")
    return players


def board_item(world, sid: str, nick: str) -> dict | None:
    """The player's entry on the board: their Scoreboard item once it ranks them (an item without a RankKey
    only keeps records not counted, for the replay: items.uncounted_runs)."""
    item = world.item("Scoreboard", SessionId=sid, Nickname=nick)
    return item if item is not None and "RankKey" in item else None


def record_count(world, sid: str) -> int:
    return world.item("Sessions", SessionId=sid)["RecordCount"]


def test_posts_through_the_api_reach_the_board_and_the_top_10(world, manager, names, fresh_session):
    sid = fresh_session()
    name, token = world.user()
    assert world.api.post("/v1/allocate", {"Username": name}, token).status == 200
    now = time.time() - 5  # stamped in the past: a record stamped ahead of the function's clock waits
    for i, score in enumerate([10, 50, 30]):
        body = {
            "SessionId": sid,
            "Nickname": name,
            "Score": score,
            "Shots": i,
            "Level": 1,
            "Lives": 3,
            "Timestamp": to_iso(now + i),
        }
        answer = world.api.post("/v1/updatestatus", body, token)
        assert answer.status == 200 and set(answer.json()) == {"SequenceNumber", "ShardId"}
    assert world.pump.pump() == 3
    item = board_item(world, sid, name)
    assert (item["Score"], item["Shots"], item["Lives"]) == (30, 2, 3)  # the newest, not the highest
    assert item["RankKey"] == rank_text(Entry(name, 30, 2, 1, 3))
    assert item["Timestamp"] == to_iso(now + 2)
    seat = world.item("Seats", SessionId=sid, Username=name)
    assert seat["Played"] is True and seat["LastSeen"] >= seat["AllocatedAt"] - 0.001  # arrivals are in ms
    assert record_count(world, sid) == 3
    top = world.api.get("/v1/scoreboard", token, {"sessionId": sid})
    assert top.json() == {"Scoreboard": [{"Nickname": name, "Score": 30, "Shots": 2, "Level": 1, "Lives": 3}]}
    _other, other_token = world.user()
    forged = {
        "SessionId": sid,
        "Nickname": name,
        "Score": 10**9,
        "Shots": 0,
        "Level": 1,
        "Lives": 3,
        "Timestamp": to_iso(now + 9),
    }
    answer = world.api.post("/v1/updatestatus", forged, other_token)
    assert (answer.status, answer.json()["errorCode"]) == (403, "Forbidden")
    assert world.pump.pump() == 0  # nothing was stored


def test_bad_status_bodies_are_refused_before_the_stream(world, manager, fresh_session):
    sid = fresh_session()
    name, token = world.user()
    good = {
        "SessionId": sid,
        "Nickname": name,
        "Score": 1,
        "Shots": 0,
        "Level": 1,
        "Lives": 3,
        "Timestamp": to_iso(time.time()),
    }
    for bad in (
        {**good, "Score": -1},
        {**good, "Lives": 100},
        {**good, "Level": 0},
        {**good, "Score": "1"},
        {k: v for k, v in good.items() if k != "Timestamp"},
        {**good, "SessionId": ""},
        # Not the shape of a session id: it would become the archive's partition (docs/aws.md, "The archive").
        *({**good, "SessionId": text} for text in ("ROOM", "it's", sid + "\n", "x" * 64, "../" + sid, sid + "/x")),
        # The core's strict RFC 3339 (the local server refuses the same): a zone, nothing after it.
        *({**good, "Timestamp": text} for text in NOT_RFC3339),
    ):
        answer = world.api.post("/v1/updatestatus", bad, token)
        assert (answer.status, answer.json()["errorCode"]) == (422, "ValidationError"), bad
    assert world.api.post("/v1/updatestatus", "Score=1", token, content_type="text/plain").status == 415
    assert world.api.post("/v1/updatestatus", good, None).status == 401
    assert world.pump.pump() == 0


def test_timestamps_count_by_the_core_strict_rule_and_are_stored_in_one_utc_form(
    world, manager, names, record, fresh_session
):
    """The function trusts no Timestamp the local server would refuse (the gateway refuses the malformed
    ones; a date that does not exist, or a record put on the stream some other way, gets here)."""
    sid = fresh_session()
    a, b = seated(names, 2)
    t = int(time.time()) - 60
    offset = time.strftime("%Y-%m-%dT%H:%M:%S.25+01:30", time.gmtime(t + 5400))
    refused = ["2026-02-30T10:00:00Z", "0001-01-01T00:00:00+23:59", *NOT_RFC3339]
    batch = [record(sid, b, 500 + i, timestamp=text) for i, text in enumerate(refused)]
    answer = run_scoreboard([*batch, record(sid, a, 42, timestamp=offset)])
    assert answer == {"batchItemFailures": []}
    assert board_item(world, sid, b) is None  # none of them counted
    item = board_item(world, sid, a)
    assert (item["Score"], item["Timestamp"]) == (42, to_iso(t + 0.25))  # its UTC instant, the one form
    assert record_count(world, sid) == 1
    sqs, queue = world.stack.session_client("sqs"), world.stack.tables["DeadLetterQueue"]
    letters = set()
    while messages := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages"):
        for m in messages:  # taken off the queue: the module's other tests read it too
            letters.add(json.loads(m["Body"])["sequenceNumber"])
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
    assert {r["kinesis"]["sequenceNumber"] for r in batch} == letters


def test_redelivered_and_duplicated_records_count_once(world, manager, names, record, fresh_session):
    sid = fresh_session()
    (a,) = seated(names)
    batch = [record(sid, a, 10), record(sid, a, 20)]
    batch.append(batch[-1])  # the same record twice in a batch
    assert run_scoreboard(batch) == {"batchItemFailures": []}
    assert run_scoreboard(batch) == {"batchItemFailures": []}  # the whole batch again
    assert board_item(world, sid, a)["Score"] == 20
    assert record_count(world, sid) == 2
    assert board_item(world, sid, a)["ShardSequences"] == {"shardId-000000000000": batch[-1]["kinesis"]["sequenceNumber"]}


def test_a_reshard_counts_the_child_shards_records_whatever_their_sequence_numbers(
    world, manager, names, record, fresh_session
):
    """Sequence numbers compare only within a shard: a child shard's may be below the parent's. Each shard
    keeps its own mark, so the child's records count, once, and redelivered batches of either count zero."""
    sid = fresh_session()
    (a,) = seated(names)
    t = time.time() - 10  # stamps in the past (a record stamped ahead of the function's clock waits)
    parent, child = "shardId-000000000000", "shardId-000000000002"
    parent_batch = [
        record(sid, a, 10, ts=t, shard=parent, sequence=9 * 10**20),
        record(sid, a, 20, ts=t + 1, shard=parent, sequence=9 * 10**20 + 1),
    ]
    child_batch = [
        record(sid, a, 30, ts=t + 2, shard=child, sequence=5),
        record(sid, a, 40, ts=t + 3, shard=child, sequence=6),
    ]
    assert run_scoreboard(parent_batch) == {"batchItemFailures": []}
    assert run_scoreboard(child_batch) == {"batchItemFailures": []}
    item = board_item(world, sid, a)
    assert (item["Score"], record_count(world, sid)) == (40, 4)
    assert item["ShardSequences"] == {parent: str(9 * 10**20 + 1), child: "6"}
    for again in (child_batch, parent_batch, child_batch[:1]):  # re-deliveries, after the reshard too
        assert run_scoreboard(again) == {"batchItemFailures": []}
    assert (board_item(world, sid, a)["Score"], record_count(world, sid)) == (40, 4)
    # A later child record stamped before the newest one still never moves the player back.
    run_scoreboard([record(sid, a, 35, ts=t + 2.5, shard=child, sequence=7)])
    assert (board_item(world, sid, a)["Score"], record_count(world, sid)) == (40, 4)


def test_records_out_of_order_never_move_a_player_back(world, manager, names, record, fresh_session):
    sid = fresh_session()
    (a,) = seated(names)
    t = time.time() - 10  # stamps in the past (a record stamped ahead of the function's clock waits)
    # one batch, newest first; then an older record arriving in a later batch
    run_scoreboard(
        [record(sid, a, 300, ts=t + 3), record(sid, a, 100, ts=t + 1), record(sid, a, 200, ts=t + 2)]
    )
    assert board_item(world, sid, a)["Score"] == 300
    run_scoreboard([record(sid, a, 250, ts=t + 2.5)])
    assert board_item(world, sid, a)["Score"] == 300


def test_records_of_closed_or_unknown_sessions_and_of_unseated_players_do_not_count(
    world, manager, names, record, fresh_session
):
    sid = fresh_session()
    a, b = seated(names, 2)
    stranger = unique("x")
    t = time.time() - 10
    run_scoreboard([record(sid, a, 10, ts=t), record(sid, stranger, 99, ts=t), record("NOPE261126T221500", a, 99, ts=t)])
    assert board_item(world, sid, stranger) is None and board_item(world, "NOPE261126T221500", a) is None
    kept = world.item("Scoreboard", SessionId=sid, Nickname=stranger)  # no seat then: kept for the replay
    (run,) = kept["Uncounted"]
    assert run[:2] == run[2:] and abs(run[1] - t * 1000) <= 1  # one record: (arrival, Timestamp) in ms
    closed = manager.close()
    end = parse_iso(closed["ClosingTime"])
    run_scoreboard(
        [
            record(sid, a, 20, ts=end - 1, arrived_at=end - 0.5),  # before the close: counts
            record(sid, b, 30, ts=end + 1, arrived_at=end + 1),  # stamped and received after: not
            record(sid, b, 40, ts=end - 1, arrived_at=end + 2),  # received after: not
        ]
    )
    assert board_item(world, sid, a)["Score"] == 20
    assert world.item("Scoreboard", SessionId=sid, Nickname=b) is None  # dropped by the close: nothing kept
    assert manager.board(sid) == [{"Nickname": a, "Score": 20, "Shots": 0, "Level": 1, "Lives": 3}]


def test_records_from_before_the_seat_or_far_in_the_future_do_not_count(
    world, manager, names, record, fresh_session
):
    sid = fresh_session()
    (a,) = seated(names)
    allocated = world.item("Seats", SessionId=sid, Username=a)["AllocatedAt"]
    run_scoreboard([record(sid, a, 50, arrived_at=allocated - 30), record(sid, a, 60, ts=time.time() + 3600)])
    assert board_item(world, sid, a) is None
    run_scoreboard([record(sid, a, 70)])
    assert board_item(world, sid, a)["Score"] == 70


def test_poison_records_go_to_the_dead_letters_and_do_not_block(world, manager, names, record, fresh_session):
    sid = fresh_session()
    (a,) = seated(names)
    poison = [
        kinesis_record(b"\xff not json", 5, key="x"),
        kinesis_record(
            {
                "SessionId": sid,
                "Nickname": a,
                "Score": -5,
                "Shots": 0,
                "Level": 1,
                "Lives": 3,
                "Timestamp": to_iso(time.time()),
            },
            6,
            key=a,
        ),
        kinesis_record(
            {
                **json.loads(
                    '{"SessionId": "s", "Nickname": "n", "Score": 1, "Shots": 0, "Level": 1, "Lives": 3}'
                ),
                "Timestamp": "yesterday",
            },
            7,
            key="n",
        ),
    ]
    answer = run_scoreboard([*poison, record(sid, a, 42)])
    assert answer == {"batchItemFailures": []}
    assert board_item(world, sid, a)["Score"] == 42
    sqs = world.stack.session_client("sqs")
    messages = sqs.receive_message(QueueUrl=world.stack.tables["DeadLetterQueue"], MaxNumberOfMessages=10)[
        "Messages"
    ]
    dead = [json.loads(m["Body"]) for m in messages]
    assert sorted(d["sequenceNumber"] for d in dead) == ["5", "6", "7"]
    assert all(d["reason"] and d["data"] for d in dead)


def test_a_failed_write_is_reported_and_the_retry_counts_it_once(
    world, manager, names, record, monkeypatch, fresh_session
):
    sid = fresh_session()
    a, b = seated(names, 2)
    batch = [record(sid, a, 10), record(sid, b, 20), record(sid, a, 11)]
    failing = {b}
    plan_player = board_batch.plan_player

    def plan_or_fail(stored, nickname, *args):
        if nickname in failing:
            raise ConnectionError("DynamoDB unreachable")
        return plan_player(stored, nickname, *args)

    monkeypatch.setattr(board_batch, "plan_player", plan_or_fail)
    answer = run_scoreboard(batch)
    assert answer["batchItemFailures"] == [{"itemIdentifier": batch[1]["kinesis"]["sequenceNumber"]}]
    assert board_item(world, sid, a)["Score"] == 11 and board_item(world, sid, b) is None
    failing.clear()
    # Lambda resumes from the failed record: b's record and everything after it come again
    assert run_scoreboard(batch[1:]) == {"batchItemFailures": []}
    assert board_item(world, sid, b)["Score"] == 20 and board_item(world, sid, a)["Score"] == 11
    assert record_count(world, sid) == 3


def test_one_batch_applied_twice_at_once_counts_once(
    world, manager, names, record, monkeypatch, fresh_session
):
    """Two invocations with the same records read the player's item at once (an invocation timing out while
    its retry runs): the conditional writes let one count them, and the seat is freed once."""
    sid = fresh_session()
    (a,) = seated(names)
    t = time.time() - 10  # stamps in the past (a record stamped ahead of the function's clock waits)
    batch = [record(sid, a, 10, ts=t), record(sid, a, 30, ts=t + 1, lives=0)]
    barrier = threading.Barrier(2, timeout=10)
    read_players = board_batch.BoardBatch._read_players

    def read_then_wait(self, keys):
        found = read_players(self, keys)
        barrier.wait()
        return found

    monkeypatch.setattr(board_batch.BoardBatch, "_read_players", read_then_wait)
    answers = []
    threads = [threading.Thread(target=lambda: answers.append(run_scoreboard(batch))) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert answers == [{"batchItemFailures": []}] * 2
    item = board_item(world, sid, a)
    assert (item["Score"], item["BestTrial"]) == (30, [30, 0, 1, 0])
    assert record_count(world, sid) == 2
    assert manager.seats(sid) == {"playing": set(), "finished": {a}, "occupied": 0}


def test_last_life_frees_the_seat_and_the_best_trial_stays(world, manager, names, record, fresh_session):
    sid = fresh_session()
    (a,) = seated(names)
    t = time.time() - 10  # stamps in the past (a record stamped ahead of the function's clock waits)
    run_scoreboard([record(sid, a, 100, ts=t), record(sid, a, 150, lives=0, ts=t + 1)])
    assert manager.seats(sid) == {"playing": set(), "finished": {a}, "occupied": 0}
    assert seat_store.allocate(names, a).startswith("Seat allocated")  # MULTIPLE_TRIALS: another trial
    run_scoreboard([record(sid, a, 80, ts=t + 5)])
    assert board_item(world, sid, a)["Score"] == 150
    run_scoreboard([record(sid, a, 400, lives=1, ts=t + 6)])
    assert (board_item(world, sid, a)["Score"], board_item(world, sid, a)["Lives"]) == (400, 1)


def test_a_new_trial_asked_for_before_the_last_life_was_processed_keeps_its_seat(
    world, manager, names, record, fresh_session
):
    sid = fresh_session()
    (a,) = seated(names)
    t = time.time() - 10  # stamps in the past (a record stamped ahead of the function's clock waits)
    last_life = record(sid, a, 90, lives=0, ts=t, arrived_at=time.time())
    time.sleep(0.01)
    assert seat_store.allocate(names, a) == "Keep playing."  # the game restarted at once
    run_scoreboard([last_life, record(sid, a, 5, ts=t + 2)])
    assert manager.seats(sid)["playing"] == {a}
    item = board_item(world, sid, a)
    assert (item["Score"], item["BestTrial"]) == (90, [90, 0, 1, 0])


def test_single_trial_ends_with_the_last_life(world, manager, names, record, fresh_session):
    sid = fresh_session("SINGLE_TRIAL")
    (a,) = seated(names)
    t = time.time() - 10  # stamps in the past (a record stamped ahead of the function's clock waits)
    last_life = record(sid, a, 90, lives=0, ts=t)
    time.sleep(0.01)
    assert seat_store.allocate(names, a) == "Keep playing."
    run_scoreboard([last_life, record(sid, a, 500, ts=t + 2)])  # a second game is not counted
    assert manager.seats(sid)["finished"] == {a}
    assert board_item(world, sid, a)["Score"] == 90
    with pytest.raises(Exception, match="already played"):
        seat_store.allocate(names, a)


def test_requests_per_batch_stay_within_the_cost_model(world, manager, names, record, fresh_session):
    """docs/aws.md prices a batch as: 3 batch reads, one write per player that moved, one seat refresh per
    player every 10 s, one counter update per session, and one `OpenUntil` update per open session (a close
    never lands before what was counted: the replay's exactness)."""
    sid = fresh_session()
    players = seated(names, 50)
    calls: dict[str, int] = {}

    def count(event_name: str, **_kw) -> None:
        operation = event_name.rsplit(".", 1)[-1]
        calls[operation] = calls.get(operation, 0) + 1

    ddb = config.client("dynamodb")
    ddb.meta.events.register("before-call.dynamodb.*", count)
    try:
        t = time.time() - 10  # stamps in the past (a record stamped ahead of the function's clock waits)
        for round_ in range(2):
            calls.clear()
            run_scoreboard(
                [record(sid, p, 10 * round_ + i, ts=t + round_ + i / 10) for p in players for i in range(3)]
            )
            expected_updates = len(players) + 2 if round_ == 0 else 2  # first sight marks the seat Played
            assert calls == {"BatchGetItem": 3, "PutItem": len(players), "UpdateItem": expected_updates}, (
                calls
            )
    finally:
        ddb.meta.events.unregister("before-call.dynamodb.*", count)
    assert record_count(world, sid) == 2 * 3 * len(players)


def test_records_before_a_synchronized_start_do_not_count(world, manager, names, record):
    manager.reopen(unique("S"), "MULTIPLE_TRIALS", synchronized=True)
    sid = manager.current()["SessionId"]
    (a,) = seated(names)
    run_scoreboard([record(sid, a, 10)])  # waiting for the start
    assert board_item(world, sid, a) is None
    started = parse_iso(manager.start(countdown=0)["SynchronizeTime"])
    time.sleep(max(0.0, started + 0.15 - time.time()))  # a record arrived ahead of the function's clock waits
    run_scoreboard([record(sid, a, 20, arrived_at=started + 0.1)])
    assert board_item(world, sid, a)["Score"] == 20


def test_the_scoreboard_role_grants_exactly_the_calls_the_function_makes(
    world, manager, names, record, monkeypatch, fresh_session
):
    """Every DynamoDB and SQS call of a batch that seats, finishes a trial, rereads after a conflicting
    write and dead-letters a poison record is granted by ScoreboardRole, and the role grants no other."""
    from aws_gateway import load_template

    calls: set[tuple[str, str]] = set()
    transact_actions = {"Update": "UpdateItem", "ConditionCheck": "ConditionCheckItem", "Put": "PutItem",
                        "Delete": "DeleteItem"}

    def record_call(params, model, **_kw) -> None:
        service = model.service_model.endpoint_prefix
        if model.name == "TransactWriteItems":
            for item in params["TransactItems"]:
                ((action, body),) = item.items()
                calls.add((f"dynamodb:{transact_actions[action]}", body["TableName"]))
        elif model.name == "BatchGetItem":
            calls.update((f"dynamodb:{model.name}", table) for table in params["RequestItems"])
        elif service == "dynamodb":
            calls.add((f"dynamodb:{model.name}", params["TableName"]))
        elif service == "sqs":
            calls.add((f"sqs:{model.name}", "DeadLetterQueue"))

    sid = fresh_session()
    a, b = seated(names, 2)
    t = time.time() - 10  # stamps in the past (a record stamped ahead of the function's clock waits)
    clients = [config.client("dynamodb"), config.client("sqs")]
    for c in clients:
        c.meta.events.register("provide-client-params.*.*", record_call)
    put_item = board_batch.client("dynamodb").put_item
    conflicts = [True]

    def put_once_conflicting(**kw):
        if conflicts and kw["Item"]["Nickname"]["S"] == b:
            conflicts.clear()  # another batch wrote this player since our read: reread and redo
            raise board_batch.client("dynamodb").exceptions.ConditionalCheckFailedException(
                {"Error": {"Code": "ConditionalCheckFailedException", "Message": "changed"}}, "PutItem"
            )
        return put_item(**kw)

    try:
        monkeypatch.setattr(board_batch.client("dynamodb"), "put_item", put_once_conflicting)
        run_scoreboard([record(sid, a, 10, ts=t), record(sid, a, 20, lives=0, ts=t + 1), record(sid, b, 5, ts=t),
                        kinesis_record(b"not json", 1)])
    finally:
        for c in clients:
            c.meta.events.unregister("provide-client-params.*.*", record_call)
    assert not conflicts  # the reread path ran

    logical = {world.stack.tables[t]: f"{t}Table" for t in ("Sessions", "Seats", "Scoreboard")}
    made = {(action, logical.get(target, target)) for action, target in calls}
    role = load_template()["Resources"]["ScoreboardRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    granted = set()
    for statement in role["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        for action in actions:
            if action.startswith(("dynamodb:", "sqs:")):
                granted.update((action, r["Fn::GetAtt"][0]) for r in resources)
    assert made == granted
