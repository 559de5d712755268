"""One Kinesis batch of status records applied to the players' boards (the scoreboard function's work).

Records are grouped by player; each player's records go through the core's `PlayerBoard` (whose board
depends only on which records count, not on their order or batches) and count when: the session had
started and not closed (`has_started`, the core's `verdict`), the player held a seat when the record
arrived, and it was not applied before. A record's arrival is the one API Gateway wrote into it
(`ReceivedAtEpochMs`), the same the archive keeps.

So that a replay from the archive counts exactly the records counted here (archive_records.py):
- before counting records of an open session, the function moves the session's `OpenUntil` to its clock
  (`session_store.keep_open_until`), and a close never lands before it: no record counted is one the close
  drops. A record stamped ahead of that clock waits on the player's item (`Waiting`) and is decided at the
  player's next batch, once its stamp has passed;
- a verdict that depends on what was read when the record was processed (no seat then, the session not
  started yet) is kept on the player's item (`Uncounted`, items.uncounted_runs): the replay reads it.

"Applied before" is decided per shard. Kinesis orders records, and compares sequence numbers, only
within a shard (a sequence number is unique per partition key within its shard:
https://docs.aws.amazon.com/streams/latest/dev/key-concepts.html); after a reshard, or as an on-demand
stream scales, a player's records come from a child shard whose sequence numbers say nothing about the
parent's. Lambda delivers each batch from one shard, in the shard's order
(https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html). So a player's item keeps, per shard,
the highest sequence number applied from it (`ShardSequences`): a record is new when it is above its own
shard's mark. The order of a player's records is their `Timestamp` (the core's rule), never the sequence.

A player's item is written with a condition on the `Version` that was read, so a re-delivered batch, or a
concurrent one, never counts a record twice: a failed condition means "read again and redo this player".
Seats come first (a finished trial frees the seat), then the board, so a crash between the two is
repaired by the retry.
"""

from __future__ import annotations

import base64
import json
import math
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Annotated, Any

import msgspec
from aws_lambda_powertools import Logger

from ..core.errors import ApiError
from ..core.models import StatusUpdate, decode
from ..core.rank_text import rank_text
from ..core.ranking import Entry
from ..core.records import stamped_too_far_ahead
from ..core.scoreboard import DROPPED, WAITS, verdict
from ..core.sessions import FINISHED, PLAYING
from ..core.timeutil import parse_rfc3339, to_iso
from . import seat_store, session_store
from .config import StackNames, client
from .items import (
    RecordKey,
    Seat,
    StoredSession,
    WaitingRecord,
    attrs,
    board_from_item,
    board_state,
    plain,
    record_key,
    uncounted_runs,
    waiting_records,
)

log = Logger(child=True)
WRITERS = 16  # concurrent DynamoDB writes: one player's work each
BATCH_GET_LIMIT = 100
BOARD_ATTEMPTS = 3
# LastSeen only has to beat the idle timeout (a minute): refresh it every few seconds, not every batch.
SEEN_REFRESH_SECONDS = 10.0


class PoisonRecord(Exception):
    """A record no retry can apply (not JSON, out of the contract's bounds): it goes to the dead letters."""


@dataclass(frozen=True)
class StreamedStatus:
    """A status update as it came off the stream: decoded, with where and when Kinesis put it."""

    update: StatusUpdate
    ts: float  # its Timestamp, epoch seconds
    arrived_at: float  # Kinesis' approximate arrival
    shard: str  # the shard it came from (shardId-...)
    sequence: int  # its sequence number, comparable only with the same shard's
    source: Any = field(compare=False)  # the batch record, for a partial batch failure


def shard_of(event_id: str) -> str:
    """The shard of a record of Lambda's Kinesis event, from its `eventID` (`shardId-...:<sequence>`)."""
    return event_id.rpartition(":")[0]


def decode_record(
    data: bytes, arrived_at: float, shard: str, sequence_number: str, source: Any = None
) -> StreamedStatus:
    try:
        update = decode(data, ArrivedStatus)
        ts, _normalized = parse_rfc3339(update.Timestamp)  # the local server's rule: it would refuse it
    except ApiError as exc:
        raise PoisonRecord(exc.message) from None
    except ValueError as exc:
        raise PoisonRecord(f"Timestamp is not an RFC 3339 date-time with a zone: {exc}") from None
    if update.ReceivedAtEpochMs is not None:  # API Gateway's, in the record: what the archive keeps too
        arrived_at = update.ReceivedAtEpochMs / 1000
    return StreamedStatus(update, ts, arrived_at, shard, int(sequence_number), source)


def clock() -> float:
    """The function's clock (a test of a session's timeline sets it)."""
    return time.time()


class ArrivedStatus(StatusUpdate, frozen=True):
    """A status record as API Gateway puts it on the stream: the body and its arrival (docs/aws.md)."""

    ReceivedAtEpochMs: Annotated[int, msgspec.Meta(ge=0)] | None = None


def batch_get(table: str, keys: list[dict]) -> list[dict]:
    """Every item of `keys` that exists, read strongly consistent (BatchGetItem, 100 keys a call)."""
    ddb = client("dynamodb")
    found: list[dict] = []
    for start in range(0, len(keys), BATCH_GET_LIMIT):
        request = {table: {"Keys": keys[start : start + BATCH_GET_LIMIT], "ConsistentRead": True}}
        while request:
            answer = ddb.batch_get_item(RequestItems=request)
            found.extend(answer["Responses"].get(table, []))
            request = answer.get("UnprocessedKeys") or {}
    return found


def read_sessions(names: StackNames, session_ids: set[str]) -> dict[str, StoredSession]:
    """The Sessions items of these ids that exist."""
    items = batch_get(names.sessions, [attrs({"SessionId": s}) for s in sorted(session_ids)])
    return {s.session.session_id: s for s in map(StoredSession.from_item, items)}


def send_to_dead_letters(
    names: StackNames, reason: str, data: bytes, sequence_number: str, partition_key: str, arrived_at: float
) -> None:
    client("sqs").send_message(
        QueueUrl=names.dead_letters,
        MessageBody=json.dumps(
            {
                "reason": reason,
                "sequenceNumber": sequence_number,
                "partitionKey": partition_key,
                "approximateArrivalTimestamp": arrived_at,
                "data": base64.b64encode(data).decode(),
            }
        ),
    )


class BoardBatch:
    """Collects a batch's decoded records, then applies them player by player."""

    def __init__(self, names: StackNames, now: Callable[[], float] | None = None) -> None:
        self.names = names
        self.now = now if now is not None else clock
        self.records: list[StreamedStatus] = []

    def add(self, record: StreamedStatus) -> None:
        self.records.append(record)

    def apply(self) -> tuple[list[StreamedStatus], dict[str, int]]:
        """Apply every record; answers the records to report as failed and the records counted per session."""
        players: dict[tuple[str, str], list[StreamedStatus]] = defaultdict(list)
        unique = {(r.shard, r.sequence): r for r in self.records}  # Kinesis delivers a record once per batch; be sure
        for r in unique.values():
            players[(r.update.SessionId, r.update.Nickname)].append(r)
        if not players:
            return [], {}
        sessions = read_sessions(self.names, {sid for sid, _ in players})
        now = self.now()
        sessions = self._keep_open(sessions, now)
        live = [key for key in players if sessions.get(key[0]) is not None]
        seats, boards = self._read_players(live)
        failed: list[StreamedStatus] = []
        counted: dict[str, int] = defaultdict(int)
        with ThreadPoolExecutor(WRITERS) as pool:
            futures = {
                key: pool.submit(
                    self._apply_player,
                    sessions[key[0]],
                    key[1],
                    players[key],
                    seats.get(key),
                    boards.get(key),
                    now,
                )
                for key in live
            }
        for key, future in futures.items():
            try:
                counted[key[0]] += future.result()
            except Exception:
                log.exception("board of %s not written; its records are reported as failed", key[1])
                failed.extend(players[key])
        self._count(counted)
        return failed, dict(counted)

    def _keep_open(self, sessions: dict[str, StoredSession], now: float) -> dict[str, StoredSession]:
        """Before any record of an open session is counted, it is kept open until `now` (a close comes no
        earlier); one closed meanwhile is read again, and its close decides its records."""
        closed = {
            sid
            for sid, stored in sessions.items()
            if stored.is_open and stored.open_until < now
            and not session_store.keep_open_until(self.names, sid, now)
        }
        if closed:
            sessions = {**sessions, **read_sessions(self.names, closed)}
        return sessions

    # --- reads ------------------------------------------------------------------------------------------

    def _read_players(self, keys: list[tuple[str, str]]) -> tuple[dict, dict]:
        seat_items = batch_get(
            self.names.seats, [attrs({"SessionId": s, "Username": n}) for s, n in keys]
        )
        board_items = batch_get(
            self.names.scoreboard, [attrs({"SessionId": s, "Nickname": n}) for s, n in keys]
        )
        seats = {(i["SessionId"]["S"], i["Username"]["S"]): Seat.from_item(i) for i in seat_items}
        boards = {(i["SessionId"]["S"], i["Nickname"]["S"]): plain(i) for i in board_items}
        return seats, boards

    def _reread_player(self, session_id: str, nickname: str) -> tuple[Seat | None, dict | None]:
        ddb = client("dynamodb")
        seat = Seat.from_item(
            ddb.get_item(
                TableName=self.names.seats,
                ConsistentRead=True,
                Key=attrs({"SessionId": session_id, "Username": nickname}),
            ).get("Item")
        )
        board = plain(
            ddb.get_item(
                TableName=self.names.scoreboard,
                ConsistentRead=True,
                Key=attrs({"SessionId": session_id, "Nickname": nickname}),
            ).get("Item")
        )
        return seat, board

    # --- one player ---------------------------------------------------------------------------------------

    def _apply_player(
        self,
        stored: StoredSession,
        nickname: str,
        records: list[StreamedStatus],
        seat: Seat | None,
        board_item: dict | None,
        now: float,
    ) -> int:
        ddb = client("dynamodb")
        for attempt in range(BOARD_ATTEMPTS):
            if attempt:
                seat, board_item = self._reread_player(stored.session.session_id, nickname)
            plan = plan_player(stored, nickname, records, seat, board_item, now)
            self._write_seat(stored, nickname, seat, plan)
            if plan.item is None:
                return 0
            plan.item["UpdatedAt"] = self.now()
            version = board_item.get("Version") if board_item else None
            if board_item is None:
                condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(Nickname)"}
            elif version is None:
                condition = {"ConditionExpression": "attribute_not_exists(Version)"}
            else:
                condition = {
                    "ConditionExpression": "Version = :seen",
                    "ExpressionAttributeValues": attrs({":seen": version}),
                }
            plan.item["Version"] = (version or 0) + 1
            try:
                ddb.put_item(TableName=self.names.scoreboard, Item=attrs(plan.item), **condition)
            except ddb.exceptions.ConditionalCheckFailedException:
                continue  # another batch wrote this player since our read
            return plan.counted
        raise RuntimeError(f"the board of {nickname} kept changing under us")

    def _write_seat(self, stored: StoredSession, nickname: str, seat: Seat | None, plan: PlayerPlan) -> None:
        if seat is None:
            return
        session = stored.session
        if plan.finished_at is not None:
            seat_store.finish_trial(self.names, session, nickname, plan.finished_at)
        elif plan.seen_at is not None and (
            not seat.played or seat.state is None or seat.last_seen < plan.seen_at - SEEN_REFRESH_SECONDS
        ):
            seat_store.mark_played(self.names, session, nickname, seat, plan.seen_at)

    def _count(self, counted: dict[str, int]) -> None:
        ddb = client("dynamodb")
        for session_id, n in counted.items():
            if n:
                ddb.update_item(
                    TableName=self.names.sessions,
                    Key=attrs({"SessionId": session_id}),
                    UpdateExpression="ADD RecordCount :n",
                    ExpressionAttributeValues=attrs({":n": n}),
                )


@dataclass
class PlayerPlan:
    """What one player's records do: the item to write (None: nothing changed), the seat to finish."""

    item: dict[str, Any] | None = None
    counted: int = 0
    finished_at: float | None = None  # arrival of the last-life record that frees the seat
    seen_at: float | None = None  # arrival of the newest record that counted


def plan_player(
    stored: StoredSession,
    nickname: str,
    records: Iterable[StreamedStatus],
    seat: Seat | None,
    board_item: dict | None,
    now: float,
) -> PlayerPlan:
    """Decide, without writing, what a player's records and those waiting on their item do to their board
    and seat. `now`: the session, if open, is kept open at least that long (`BoardBatch._keep_open`)."""
    session = stored.session
    closes_at = session.closes_at()
    open_until = math.inf if session.closing_time is not None else now
    board = board_from_item(nickname, board_item)
    applied = {shard: int(seq) for shard, seq in ((board_item or {}).get("ShardSequences") or {}).items()}
    marks = dict(applied)
    was_waiting = waiting_records(board_item)
    # (arrival, Timestamp, entry, seat and start already judged): the records waiting were, when first seen.
    candidates = [(w.arrived_at, w.ts, Entry(nickname, w.score, w.shots, w.level, w.lives), True) for w in was_waiting]
    for r in records:
        if r.sequence <= applied.get(r.shard, -1):
            continue  # applied by an earlier delivery of its shard
        marks[r.shard] = max(marks.get(r.shard, -1), r.sequence)
        u = r.update
        candidates.append((r.arrived_at, r.ts, Entry(nickname, u.Score, u.Shots, u.Level, u.Lives), False))
    candidates.sort(key=lambda c: (c[1], c[0]))  # by Timestamp: a last life frees the seat for what follows
    plan = PlayerPlan()
    waiting: list[WaitingRecord] = []
    uncounted: list[RecordKey] = []
    counted: list[RecordKey] = []
    newest: tuple[float, float] | None = None  # (arrival, Timestamp) of the newest record taken
    for arrived, ts, entry, judged in candidates:
        fate = verdict(ts, arrived, closes_at, open_until)
        if fate == DROPPED or stamped_too_far_ahead(ts, arrived):
            continue  # by the stored facts alone: the replay drops it too
        if not judged and not session.has_started(arrived):
            if session.started_at is None:  # a synchronized session not started when read: kept as said
                uncounted.append(record_key(arrived, ts))
            continue
        if not judged and (seat is None or not seat.held_at(arrived)):
            uncounted.append(record_key(arrived, ts))  # the seat as read now: kept as said
            continue
        if fate == WAITS:
            waiting.append(WaitingRecord(arrived, ts, entry.score, entry.shots, entry.level, entry.lives))
            continue
        taken, ended = board.apply(entry, ts)
        counted.append(record_key(arrived, ts))
        if not taken:
            continue
        plan.counted += 1
        plan.seen_at = max(plan.seen_at or arrived, arrived)
        if newest is None or ts >= newest[1]:
            newest = (arrived, ts)
        # A last life frees the seat, unless (MULTIPLE_TRIALS) the player asked for a seat since: then
        # they are already in their next trial.
        if (
            ended
            and seat is not None
            and seat.state == PLAYING
            and (session.single_trial or seat.last_allocate_at <= arrived)
        ):
            plan.finished_at = arrived
            seat = replace(seat, state=FINISHED, left_at=arrived)
    plan.item = _player_item(session.session_id, nickname, board_item, board, marks, newest, waiting,
                             was_waiting, uncounted, counted)
    return plan


def _player_item(session_id: str, nickname: str, board_item: dict | None, board, marks: dict, newest,
                 waiting: list[WaitingRecord], was_waiting: list[WaitingRecord], uncounted: list[RecordKey],
                 counted: list[RecordKey]) -> dict[str, Any] | None:
    """The player's item after a batch, or None when nothing of it changed."""
    before = board_item or {}
    runs = before.get("Uncounted") or []
    last_counted = tuple(before["LastCounted"]) if before.get("LastCounted") else None
    newest_counted = max(counted, default=None)
    if newest_counted is not None and last_counted is not None:
        newest_counted = max(newest_counted, last_counted)
    if uncounted:
        runs = uncounted_runs(runs, last_counted, uncounted, counted)
    moved_mark = runs and newest_counted is not None and newest_counted != last_counted
    if newest is None and not uncounted and waiting == was_waiting and not moved_mark:
        return None
    item: dict[str, Any] = {"SessionId": session_id, "Nickname": nickname,
                            "ShardSequences": {shard: str(seq) for shard, seq in marks.items()},
                            **board_state(board)}
    entry = board.entry
    if entry is not None:
        item.update({"Score": entry.score, "Shots": entry.shots, "Level": entry.level, "Lives": entry.lives,
                     "RankKey": rank_text(entry)})
        if newest is not None:
            item.update({"Timestamp": to_iso(newest[1]), "ArrivedAt": newest[0]})
        else:
            item.update({k: before[k] for k in ("Timestamp", "ArrivedAt") if k in before})
    if runs:
        item["Uncounted"] = runs
    if newest_counted is not None:
        item["LastCounted"] = list(newest_counted)
    if waiting:
        item["Waiting"] = [list(w) for w in waiting]
    return item
