"""One Kinesis batch of status records applied to the players' boards (the scoreboard function's work).

Records are grouped by player and ordered by `Timestamp`; each player's records go through the core's
`PlayerBoard` (newest record of the current trial, best finished trial) and are kept only when they
count: the session had started and not closed (`has_started`, `counts`), the player held a seat when the
record arrived, it is newer than the player's `LastSequenceNumber`. A player's item is written with a
condition on the `LastSequenceNumber` that was read, so a re-delivered batch, or a concurrent one,
never counts a record twice: a failed condition means "read again and redo this player". Seats come
first (a finished trial frees the seat), then the board, so a crash between the two is repaired by the
retry.
"""

from __future__ import annotations

import base64
import json
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from aws_lambda_powertools import Logger

from ..core.errors import ApiError
from ..core.models import StatusUpdate, decode
from ..core.rank_text import rank_text
from ..core.ranking import Entry
from ..core.records import stamped_too_far_ahead
from ..core.scoreboard import counts
from ..core.sessions import FINISHED, PLAYING
from ..core.timeutil import parse_iso, to_iso
from . import seat_store
from .config import StackNames, client
from .items import Seat, StoredSession, attrs, board_from_item, board_state, plain

log = Logger(child=True)
WRITERS = 16  # concurrent DynamoDB writes: one player's work each
BATCH_GET_LIMIT = 100
BOARD_ATTEMPTS = 3
# LastSeen only has to beat the idle timeout (a minute): refresh it every few seconds, not every batch.
SEEN_REFRESH_SECONDS = 10.0


class PoisonRecord(Exception):
    """A record no retry can apply (not JSON, out of the contract's bounds): it goes to the dead letters."""


@dataclass(frozen=True)
class StatusRecord:
    update: StatusUpdate
    ts: float  # its Timestamp, epoch seconds
    arrived_at: float  # Kinesis' approximate arrival
    sequence: int
    source: Any = field(compare=False)  # the batch record, for a partial batch failure


def decode_record(data: bytes, arrived_at: float, sequence_number: str, source: Any = None) -> StatusRecord:
    try:
        update = decode(data, StatusUpdate)
        ts = parse_iso(update.Timestamp)
    except ApiError as exc:
        raise PoisonRecord(exc.message) from None
    except ValueError as exc:
        raise PoisonRecord(f"Timestamp is not an ISO-8601 instant: {exc}") from None
    return StatusRecord(update, ts, arrived_at, int(sequence_number), source)


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

    def __init__(self, names: StackNames, now: Callable[[], float] = time.time) -> None:
        self.names = names
        self.now = now
        self.records: list[StatusRecord] = []

    def add(self, record: StatusRecord) -> None:
        self.records.append(record)

    def apply(self) -> tuple[list[StatusRecord], dict[str, int]]:
        """Apply every record; answers the records to report as failed and the records counted per session."""
        players: dict[tuple[str, str], list[StatusRecord]] = defaultdict(list)
        unique = {r.sequence: r for r in self.records}  # Kinesis delivers a record once per batch; be sure
        for r in unique.values():
            players[(r.update.SessionId, r.update.Nickname)].append(r)
        if not players:
            return [], {}
        sessions = self._read_sessions({sid for sid, _ in players})
        live = [key for key in players if sessions.get(key[0]) is not None]
        seats, boards = self._read_players(live)
        failed: list[StatusRecord] = []
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

    # --- reads ------------------------------------------------------------------------------------------

    def _batch_get(self, table: str, keys: list[dict]) -> list[dict]:
        ddb = client("dynamodb")
        found: list[dict] = []
        for start in range(0, len(keys), BATCH_GET_LIMIT):
            request = {table: {"Keys": keys[start : start + BATCH_GET_LIMIT], "ConsistentRead": True}}
            while request:
                answer = ddb.batch_get_item(RequestItems=request)
                found.extend(answer["Responses"].get(table, []))
                request = answer.get("UnprocessedKeys") or {}
        return found

    def _read_sessions(self, session_ids: set[str]) -> dict[str, StoredSession]:
        items = self._batch_get(self.names.sessions, [attrs({"SessionId": s}) for s in sorted(session_ids)])
        return {s.session.session_id: s for s in map(StoredSession.from_item, items)}

    def _read_players(self, keys: list[tuple[str, str]]) -> tuple[dict, dict]:
        seat_items = self._batch_get(
            self.names.seats, [attrs({"SessionId": s, "Username": n}) for s, n in keys]
        )
        board_items = self._batch_get(
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
        records: list[StatusRecord],
        seat: Seat | None,
        board_item: dict | None,
    ) -> int:
        records = sorted(records, key=lambda r: (r.ts, r.sequence))
        ddb = client("dynamodb")
        for attempt in range(BOARD_ATTEMPTS):
            if attempt:
                seat, board_item = self._reread_player(stored.session.session_id, nickname)
            plan = plan_player(stored, nickname, records, seat, board_item)
            self._write_seat(stored, nickname, seat, plan)
            if plan.item is None:
                return 0
            plan.item["UpdatedAt"] = self.now()
            previous = board_item.get("LastSequenceNumber") if board_item else None
            try:
                if previous is None:
                    ddb.put_item(
                        TableName=self.names.scoreboard,
                        Item=attrs(plan.item),
                        ConditionExpression="attribute_not_exists(Nickname)",
                    )
                else:
                    ddb.put_item(
                        TableName=self.names.scoreboard,
                        Item=attrs(plan.item),
                        ConditionExpression="LastSequenceNumber = :seen",
                        ExpressionAttributeValues=attrs({":seen": previous}),
                    )
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
    records: Iterable[StatusRecord],
    seat: Seat | None,
    board_item: dict | None,
) -> PlayerPlan:
    """Decide, without writing, what a player's records (in Timestamp order) do to their board and seat."""
    session = stored.session
    closes_at = session.closes_at()
    board = board_from_item(nickname, board_item)
    last = int(board_item["LastSequenceNumber"]) if board_item and "LastSequenceNumber" in board_item else -1
    plan = PlayerPlan()
    newest: StatusRecord | None = None
    highest = last
    for r in records:
        if r.sequence <= last:
            continue  # applied by an earlier delivery
        highest = max(highest, r.sequence)
        u = r.update
        if (
            seat is None
            or not seat.held_at(r.arrived_at)
            or not session.has_started(r.arrived_at)
            or not counts(r.ts, r.arrived_at, closes_at)
            or stamped_too_far_ahead(r.ts, r.arrived_at)
        ):
            continue
        taken, ended = board.apply(Entry(nickname, u.Score, u.Shots, u.Level, u.Lives), r.ts)
        if not taken:
            continue
        plan.counted += 1
        plan.seen_at = max(plan.seen_at or r.arrived_at, r.arrived_at)
        if newest is None or r.ts >= newest.ts:
            newest = r
        # A last life frees the seat, unless (MULTIPLE_TRIALS) the player asked for a seat since: then
        # they are already in their next trial.
        if (
            ended
            and seat.state == PLAYING
            and (session.single_trial or seat.last_allocate_at <= r.arrived_at)
        ):
            plan.finished_at = r.arrived_at
            seat = replace(seat, state=FINISHED, left_at=r.arrived_at)
    entry = board.entry
    if newest is None or entry is None:
        return plan
    plan.item = {
        "SessionId": session.session_id,
        "Nickname": nickname,
        "Score": entry.score,
        "Shots": entry.shots,
        "Level": entry.level,
        "Lives": entry.lives,
        "RankKey": rank_text(entry),
        "Timestamp": to_iso(newest.ts),
        "LastSequenceNumber": str(highest),
        "ArrivedAt": newest.arrived_at,
        **board_state(board),
    }
    return plan
