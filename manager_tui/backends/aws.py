"""The AWS deployment's resources, worked on directly with boto3 (`../shared/AWS.md`, `docs/aws.md`).

Every call is a boto3 call run in a worker thread (boto3 clients are thread-safe), with botocore's own
retry mode (adaptive by default) and paginators for every list. What each manager action does:

- open: `TransactWriteItems` putting the new Sessions item (conditioned on its id being new) and, when
  there was a session before, marking that one `NextSessionId` (conditioned on it being CLOSED and having
  no successor yet), so two managers cannot both open; then `PutParameter /<env>/session`.
- start: `UpdateItem` SynchronizeTime (conditioned on OPEN and not started), `PutParameter`, then
  `lambda.invoke` of the start function (InvocationType Event) that pushes it over the WebSocket.
- close: `UpdateItem` Status/ClosingTime (conditioned on OPEN), `PutParameter`.
- watch: `Query` the `Ranking` index and Seats (all pages), `GetItem` the Sessions item.
- free a seat: the `/deallocate` transaction: the seat leaves PLAYING (deleted, or FINISHED in a
  single-trial session once played) and `OccupiedSeats` goes down, both conditioned.
- export: every object under `sessions/<SessionId>/` of the archive bucket (Firehose's output).
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import boto3
import botocore.config
import botocore.exceptions

from api_client import GameType, ScoreEntry, Session

from ..session_clock import iso, session_deadline
from . import BackendError, Board, ExportProgress, OpenRequest, ProgressCallback, Seats, SignInRequired
from .aws_archive import write_export
from .aws_items import item_of, plain, seat_state, session_document, session_id_for
from .aws_replay import ArchiveReplay

T = TypeVar("T")
OPEN, CLOSED, PLAYING, FINISHED = "OPEN", "CLOSED", "PLAYING", "FINISHED"
BOARD_ATTRIBUTES = ("Nickname", "Score", "Shots", "Level", "Lives", "UpdatedAt", "ArrivedAt")
SEAT_ATTRIBUTES = ("Username", "State", "Played", "AllocatedAt", "LastSeen")


def client_config(retry_mode: str = "adaptive") -> botocore.config.Config:
    return botocore.config.Config(retries={"mode": retry_mode, "max_attempts": 5}, connect_timeout=5,
                                  read_timeout=15, max_pool_connections=16)


def describe(error: Exception) -> str:
    if isinstance(error, botocore.exceptions.ClientError):
        info = error.response.get("Error", {})
        return f"{info.get('Message') or 'refused'} ({info.get('Code', 'AWS error')})"
    return str(error) or type(error).__name__


@contextlib.contextmanager
def refused_as(code: str, message: str) -> Iterator[None]:
    """A condition or transaction DynamoDB refused (`code`), as a BackendError the manager can read."""
    try:
        yield
    except botocore.exceptions.ClientError as error:
        if error.response.get("Error", {}).get("Code") == code:
            raise BackendError(message) from error
        raise


def _names(*attributes: str) -> tuple[str, dict[str, str]]:
    """A projection naming every attribute by placeholder (Level, State... are reserved words)."""
    names = {f"#a{i}": a for i, a in enumerate(attributes)}
    return ", ".join(names), names


class AwsBackend:
    def __init__(self, env: str, session: boto3.Session | None = None, *, retry_mode: str = "adaptive",
                 credentials: Any = None) -> None:
        self.env = env
        self._boto = session or boto3.Session()
        self._config = client_config(retry_mode)
        self._credentials = credentials  # CognitoManagerCredentials when signing in through Cognito
        self.label = f"AWS {env} ({self._boto.region_name or 'no region'})"
        self._clients: dict[str, Any] = {}
        self.names: dict[str, str] = {}
        self._records: dict[str, float] = {}
        self._delay: tuple[str, float | None, float] | None = None  # (session, delay, newest UpdatedAt seen)

    # --- plumbing ----------------------------------------------------------------------------------
    def _client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self._boto.client(service, config=self._config)
        return self._clients[service]

    async def _call(self, work: Callable[..., T], *args: Any) -> T:
        if self._credentials is not None and self._credentials.expiring():
            try:
                self._boto = await self._credentials.renew()
            except Exception as error:
                raise SignInRequired(f"sign in again: {describe(error)}") from error
            self._clients.clear()
        try:
            return await asyncio.to_thread(work, *args)
        except botocore.exceptions.ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in ("ExpiredTokenException", "ExpiredToken", "UnrecognizedClientException"):
                raise SignInRequired(f"the AWS credentials expired: {describe(error)}") from error
            raise BackendError(describe(error)) from error
        except (botocore.exceptions.BotoCoreError, OSError) as error:
            raise BackendError(describe(error)) from error

    def _table(self, logical: str) -> str:
        return self.names[logical]

    def _load_names(self) -> None:
        value = self._client("ssm").get_parameter(Name=f"/{self.env}/tables")["Parameter"]["Value"]
        names = json.loads(value)
        missing = {"Sessions", "Seats", "Scoreboard", "ArchiveBucket", "StartFunction"} - set(names)
        if missing:
            raise BackendError(f"/{self.env}/tables does not name {', '.join(sorted(missing))}")
        self.names = names

    async def connect(self) -> None:
        if self._credentials is not None and not self._credentials.signed_in:
            raise SignInRequired("sign in to Cognito as a manager")
        if self._boto.region_name is None:
            raise BackendError("no AWS region: pass --region or set one in your AWS profile")
        try:
            await self._call(self._load_names)
        except BackendError as error:
            raise BackendError(f"cannot read /{self.env}/tables: {error}") from error

    async def sign_in(self, username: str, password: str) -> None:
        if self._credentials is None:
            raise BackendError("this console uses the AWS credentials of your profile or environment")
        try:
            self._boto = await self._credentials.sign_in(username, password)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:
            raise SignInRequired(f"no AWS credentials for the Manager role: {describe(error)}") from error
        self._clients.clear()
        await self.connect()

    # --- sessions ----------------------------------------------------------------------------------
    def _put_current(self, document: dict[str, Any] | None) -> None:
        self._client("ssm").put_parameter(Name=f"/{self.env}/session", Value=json.dumps(document),
                                          Type="String", Overwrite=True)

    def _read_current(self) -> dict[str, Any] | None:
        value = self._client("ssm").get_parameter(Name=f"/{self.env}/session")["Parameter"]["Value"]
        document = json.loads(value)
        return document if isinstance(document, dict) else None

    def _get_session(self, session_id: str) -> dict[str, Any] | None:
        item = self._client("dynamodb").get_item(TableName=self._table("Sessions"), ConsistentRead=True,
                                                 Key={"SessionId": {"S": session_id}}).get("Item")
        return plain(item) if item else None

    async def sessions(self) -> list[Session]:
        def scan() -> list[Session]:
            pages = self._client("dynamodb").get_paginator("scan").paginate(TableName=self._table("Sessions"))
            docs = [session_document(plain(item)) for page in pages for item in page["Items"]]
            return sorted((Session.model_validate(d) for d in docs), key=lambda s: s.OpeningTime, reverse=True)
        return await self._call(scan)

    async def current_session(self) -> Session | None:
        document = await self._call(self._read_current)
        return None if document is None else Session.model_validate(document)

    def _close_if_due(self, item: dict[str, Any], now: float) -> bool:
        """Close a time-constrained session past its deadline (at the deadline); True when closed."""
        deadline = session_deadline(Session.model_validate(session_document(item)))
        if deadline is None or now < deadline:
            return False
        self._update_status(item["SessionId"], CLOSED, {"ClosingTime": iso(deadline)})
        return True

    def _open(self, request: OpenRequest) -> Session:
        now = time.time()
        current = self._read_current()
        previous = self._get_session(current["SessionId"]) if current else None
        if previous is not None and previous["SessionId"] == session_id_for(request.name, now):
            raise BackendError("a session of that name was opened this second; try again in a second")
        if previous is not None and previous.get("Status") == OPEN and not self._close_if_due(previous, now):
            raise BackendError(f"session {previous['SessionId']} is still open; close it first")
        document: dict[str, Any] = {
            "SessionId": session_id_for(request.name, now), "GameType": str(request.game_type),
            "Synchronized": request.synchronized, "TotalSeats": request.total_seats,
            "OpeningTime": iso(now),
        }
        if request.game_type == GameType.TIME_CONSTRAINED:
            document["TimeoutInMinutes"] = request.timeout_minutes
        item = {**document, "Status": OPEN, "OccupiedSeats": 0, "RecordCount": 0}
        writes: list[dict[str, Any]] = [{"Put": {
            "TableName": self._table("Sessions"), "Item": item_of(item),
            "ConditionExpression": "attribute_not_exists(SessionId)"}}]
        if previous is not None:
            writes.append({"Update": {
                "TableName": self._table("Sessions"), "Key": {"SessionId": {"S": previous["SessionId"]}},
                "UpdateExpression": "SET NextSessionId = :next",
                "ConditionExpression": "#st = :closed AND attribute_not_exists(NextSessionId)",
                "ExpressionAttributeNames": {"#st": "Status"},
                "ExpressionAttributeValues": {":next": {"S": document["SessionId"]}, ":closed": {"S": CLOSED}}}})
        with refused_as("TransactionCanceledException",
                        "another session was opened at the same time; look at the sessions list"):
            self._client("dynamodb").transact_write_items(TransactItems=writes)
        self._put_current(document)
        return Session.model_validate(document)

    async def open_session(self, request: OpenRequest) -> Session:
        return await self._call(self._open, request)

    def _update_status(self, session_id: str, status: str, values: dict[str, Any],
                       condition: str = "#st = :open", condition_names: dict[str, str] | None = None,
                       **condition_values: Any) -> dict[str, Any]:
        sets = ", ".join(f"#{k} = :{k}" for k in values)
        answer = self._client("dynamodb").update_item(
            TableName=self._table("Sessions"), Key={"SessionId": {"S": session_id}},
            UpdateExpression=f"SET #st = :status, {sets}", ConditionExpression=condition,
            ExpressionAttributeNames={"#st": "Status", **{f"#{k}": k for k in values}, **(condition_names or {})},
            ExpressionAttributeValues={":status": {"S": status}, ":open": {"S": OPEN},
                                       **{f":{k}": v for k, v in item_of({**values, **condition_values}).items()}},
            ReturnValues="ALL_NEW")
        return plain(answer["Attributes"])

    def _live_session(self) -> dict[str, Any]:
        current = self._read_current()
        item = self._get_session(current["SessionId"]) if current else None
        if item is None or item.get("Status") != OPEN:
            raise BackendError("no session is open")
        if self._close_if_due(item, time.time()):
            self._put_current(session_document(self._get_session(item["SessionId"]) or item))
            raise BackendError(f"session {item['SessionId']} is over: its time is up")
        return item

    def _start(self, countdown_seconds: float) -> Session:
        item = self._live_session()
        if not item.get("Synchronized"):
            raise BackendError("only a synchronized session is started by the manager")
        now = time.time()
        at = iso(now + countdown_seconds)
        with refused_as("ConditionalCheckFailedException", "the session has already started"):
            item = self._update_status(
                item["SessionId"], OPEN, {"SynchronizeTime": at},
                condition="#st = :open AND #sync = :sync AND (attribute_not_exists(#SynchronizeTime) "
                          "OR #SynchronizeTime > :now)",
                condition_names={"#sync": "Synchronized"}, now=iso(now), sync=True)
        document = session_document(item)
        self._put_current(document)
        self._client("lambda").invoke(
            FunctionName=self._table("StartFunction"), InvocationType="Event",
            Payload=json.dumps({"SessionId": item["SessionId"], "SynchronizeTime": at}).encode())
        return Session.model_validate(document)

    async def start_session(self, countdown_seconds: float) -> Session:
        return await self._call(self._start, countdown_seconds)

    def _close(self) -> Session:
        item = self._live_session()
        with refused_as("ConditionalCheckFailedException", "the session was closed meanwhile"):
            item = self._update_status(item["SessionId"], CLOSED, {"ClosingTime": iso(time.time())})
        document = session_document(item)
        self._put_current(document)
        return Session.model_validate(document)

    async def close_session(self) -> Session:
        return await self._call(self._close)

    # --- the board ---------------------------------------------------------------------------------
    def _query_all(self, **kwargs: Any) -> list[dict[str, Any]]:
        pages = self._client("dynamodb").get_paginator("query").paginate(**kwargs)
        return [item for page in pages for item in page["Items"]]

    def _ranking(self, session_id: str) -> list[dict[str, Any]]:
        projection, names = _names(*BOARD_ATTRIBUTES)
        return self._query_all(
            TableName=self._table("Scoreboard"), IndexName="Ranking", KeyConditionExpression="#k = :s",
            ProjectionExpression=projection, ExpressionAttributeNames={**names, "#k": "SessionId"},
            ExpressionAttributeValues={":s": {"S": session_id}})

    def _seats(self, session_id: str) -> list[dict[str, Any]]:
        projection, names = _names(*SEAT_ATTRIBUTES)
        return self._query_all(
            TableName=self._table("Seats"), KeyConditionExpression="#k = :s", ProjectionExpression=projection,
            ExpressionAttributeNames={**names, "#k": "SessionId"}, ExpressionAttributeValues={":s": {"S": session_id}})

    async def board(self, session_id: str) -> Board:
        ranking, seats, item = await asyncio.gather(
            self._call(self._ranking, session_id), self._call(self._seats, session_id),
            self._call(self._get_session, session_id))
        if item is None:
            raise BackendError(f"no session {session_id}")
        now = time.time()
        entries, newest = [], 0.0
        delays = []
        since = self._delay[2] if self._delay and self._delay[0] == session_id else 0.0
        for raw in ranking:
            entries.append(ScoreEntry(Nickname=raw["Nickname"]["S"], Score=int(raw["Score"]["N"]),
                                      Shots=int(raw["Shots"]["N"]), Level=int(raw["Level"]["N"]),
                                      Lives=int(raw["Lives"]["N"])))
            updated = raw.get("UpdatedAt")
            arrived = raw.get("ArrivedAt")
            if updated is not None and arrived is not None:
                at = float(updated["N"])
                newest = max(newest, at)
                if at > since:
                    delays.append(at - float(arrived["N"]))
        delay = max(delays) if delays else (self._delay[1] if since else None)
        self._delay = (session_id, delay, max(newest, since))
        playing, finished, idle = seat_state(seats, now)
        return Board(
            session=Session.model_validate(session_document(item)), entries=entries, fetched_at=now,
            seats=Seats(int(item.get("TotalSeats", 0)), int(item.get("OccupiedSeats", 0)), playing, finished, idle),
            records=int(item.get("RecordCount", 0)), delay=delay)

    def _free(self, session_id: str, username: str) -> None:
        """docs/aws.md "Free a seat": the seat item stays (LeftAt, Played), it only leaves PLAYING."""
        key = {"SessionId": {"S": session_id}, "Username": {"S": username}}
        dynamodb = self._client("dynamodb")
        seat = dynamodb.get_item(TableName=self._table("Seats"), Key=key, ConsistentRead=True).get("Item")
        if seat is None or seat.get("State", {}).get("S") != PLAYING:
            return  # nothing to free: like /deallocate for a player without a seat
        played = seat.get("Played", {}).get("BOOL", False) or "Item" in dynamodb.get_item(
            TableName=self._table("Scoreboard"), Key={"SessionId": {"S": session_id}, "Nickname": {"S": username}},
            ConsistentRead=True, ProjectionExpression="Nickname")
        session = self._get_session(session_id) or {}
        finished = played and session.get("GameType") != GameType.MULTIPLE_TRIALS
        state = "SET LeftAt = :now, Played = :played, #st = :finished" if finished else \
            "SET LeftAt = :now, Played = :played REMOVE #st"
        values = {":now": {"N": str(int(time.time()))}, ":played": {"BOOL": played}, ":playing": {"S": PLAYING}}
        if finished:
            values[":finished"] = {"S": FINISHED}
        with refused_as("TransactionCanceledException", f"{username}'s seat changed meanwhile; look again"):
            dynamodb.transact_write_items(TransactItems=[
                {"Update": {"TableName": self._table("Seats"), "Key": key, "UpdateExpression": state,
                            "ConditionExpression": "#st = :playing", "ExpressionAttributeNames": {"#st": "State"},
                            "ExpressionAttributeValues": values}},
                {"Update": {"TableName": self._table("Sessions"), "Key": {"SessionId": {"S": session_id}},
                            "UpdateExpression": "SET OccupiedSeats = OccupiedSeats + :minus_one",
                            "ConditionExpression": "OccupiedSeats > :zero",
                            "ExpressionAttributeValues": {":minus_one": {"N": "-1"}, ":zero": {"N": "0"}}}}])

    async def free_seat(self, session_id: str, username: str) -> None:
        await self._call(self._free, session_id, username)

    async def export(self, session_id: str, fmt: str, destination: Path, progress: ProgressCallback) -> int:
        loop = asyncio.get_running_loop()
        cancelled = threading.Event()

        def report(done: ExportProgress) -> None:  # in the worker thread: hand a copy to the event loop
            if cancelled.is_set():
                raise BackendError("export cancelled")  # the half-written file is removed
            loop.call_soon_threadsafe(progress, ExportProgress(done.records, done.bytes_done, done.bytes_total))

        try:
            return await self._call(write_export, self._client("s3"), self._table("ArchiveBucket"), session_id,
                                    fmt, destination, report)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async def replay(self, session_id: str) -> ArchiveReplay:
        item = await self._call(self._get_session, session_id)
        if item is None:
            raise BackendError(f"no session {session_id}")
        session = Session.model_validate(session_document(item))
        return ArchiveReplay(self._client("s3"), self._table("ArchiveBucket"), session, describe)

    async def aclose(self) -> None:
        self._clients.clear()
