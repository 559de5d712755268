"""The manager's boto3 operations exactly as docs/aws.md ("What the manager does, exactly") writes them.

The tests drive sessions with these, so the documented recipe is itself under test; the manager's own
backend (manager_tui) follows the same page.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import boto3

from spaceinvaders_backend.core.timeutil import to_iso


class Refused(Exception):
    pass


class DocsManager:
    def __init__(self, stack) -> None:
        self.stack = stack
        self.ddb = boto3.client("dynamodb", region_name=stack.region)
        self.ssm = boto3.client("ssm", region_name=stack.region)
        self.awslambda = boto3.client("lambda", region_name=stack.region)
        self.sessions = stack.tables["Sessions"]

    def _publish(self, document: dict) -> None:
        self.ssm.put_parameter(
            Name=f"/{self.stack.env}/session", Value=json.dumps(document), Type="String", Overwrite=True
        )

    def _item(self, session_id: str) -> dict | None:
        item = self.ddb.get_item(
            TableName=self.sessions, Key={"SessionId": {"S": session_id}}, ConsistentRead=True
        ).get("Item")
        return None if item is None else _document(item, keep_status=True)

    def current(self) -> dict | None:
        value = json.loads(self.ssm.get_parameter(Name=f"/{self.stack.env}/session")["Parameter"]["Value"])
        return None if value is None else self._item(value["SessionId"])

    def open(
        self,
        name: str,
        game_type: str,
        synchronized: bool = False,
        timeout_minutes: int | None = None,
        total_seats: int = 200,
    ) -> dict:
        now = time.time()
        current = self.current()
        if current is not None and current["Status"] == "OPEN":
            deadline = _deadline(current)
            if deadline is None or deadline > now:
                raise Refused(f"{current['SessionId']} is open; close it first")
            self.close(closing_time=deadline)
            current = self.current()
        session_id = name + datetime.fromtimestamp(now, tz=UTC).strftime("%y%m%dT%H%M%S")
        if current is not None and current["SessionId"] == session_id:
            raise Refused("opened this second; try again")
        document = {
            "SessionId": session_id,
            "GameType": game_type,
            "Synchronized": synchronized,
            "TotalSeats": total_seats,
            "OpeningTime": to_iso(now),
        }
        if game_type == "TIME_CONSTRAINED":
            document["TimeoutInMinutes"] = timeout_minutes or 5
        item = {k: _typed(v) for k, v in document.items()}
        item.update({"Status": {"S": "OPEN"}, "OccupiedSeats": {"N": "0"}, "RecordCount": {"N": "0"}})
        actions = [
            {
                "Put": {
                    "TableName": self.sessions,
                    "Item": item,
                    "ConditionExpression": "attribute_not_exists(SessionId)",
                }
            }
        ]
        if current is not None:
            actions.append(
                {
                    "Update": {
                        "TableName": self.sessions,
                        "Key": {"SessionId": {"S": current["SessionId"]}},
                        "UpdateExpression": "SET NextSessionId = :new",
                        "ConditionExpression": "#s = :closed AND attribute_not_exists(NextSessionId)",
                        "ExpressionAttributeNames": {"#s": "Status"},
                        "ExpressionAttributeValues": {":new": {"S": session_id}, ":closed": {"S": "CLOSED"}},
                    }
                }
            )
        try:
            self.ddb.transact_write_items(TransactItems=actions)
        except self.ddb.exceptions.TransactionCanceledException as exc:
            raise Refused("another session opened, or the current one is open") from exc
        self._publish(document)
        return document

    def reopen(self, name: str, game_type: str, **kw) -> dict:
        """Close whatever is open, then open a new session (tests start each from a clean slate)."""
        current = self.current()
        if current is not None and current["Status"] == "OPEN":
            self.close()
        return self.open(name, game_type, **kw)

    def start(self, countdown: float = 5.0) -> dict:
        now = time.time()
        current = self.current()
        if current is None:
            raise Refused("no session")
        synchronize_time = to_iso(now + countdown)
        try:
            self.ddb.update_item(
                TableName=self.sessions,
                Key={"SessionId": {"S": current["SessionId"]}},
                UpdateExpression="SET SynchronizeTime = :t",
                ConditionExpression="#s = :open AND Synchronized = :true AND "
                "(attribute_not_exists(SynchronizeTime) OR SynchronizeTime > :now)",
                ExpressionAttributeNames={"#s": "Status"},
                ExpressionAttributeValues={
                    ":t": {"S": synchronize_time},
                    ":open": {"S": "OPEN"},
                    ":true": {"BOOL": True},
                    ":now": {"S": to_iso(now)},
                },
            )
        except self.ddb.exceptions.ConditionalCheckFailedException as exc:
            raise Refused("closed, not synchronized, or already started") from exc
        document = {**_without_status(current), "SynchronizeTime": synchronize_time}
        self._publish(document)
        self.awslambda.invoke(
            FunctionName=self.stack.tables["StartFunction"],
            InvocationType="Event",
            Payload=json.dumps(
                {"SessionId": current["SessionId"], "SynchronizeTime": synchronize_time}
            ).encode(),
        )
        return document

    def close(self, closing_time: float | None = None) -> dict:
        current = self.current()
        if current is None:
            raise Refused("no session")
        try:
            item = self.ddb.update_item(
                TableName=self.sessions,
                Key={"SessionId": {"S": current["SessionId"]}},
                UpdateExpression="SET #s = :closed, ClosingTime = :t",
                ConditionExpression="#s = :open",
                ExpressionAttributeNames={"#s": "Status"},
                ExpressionAttributeValues={
                    ":closed": {"S": "CLOSED"},
                    ":open": {"S": "OPEN"},
                    ":t": {"S": to_iso(time.time() if closing_time is None else closing_time)},
                },
                ReturnValues="ALL_NEW",
            )["Attributes"]
        except self.ddb.exceptions.ConditionalCheckFailedException as exc:
            raise Refused("not open") from exc
        document = _document(item)
        self._publish(document)
        return document

    def board(self, session_id: str) -> list[dict]:
        pages = self.ddb.get_paginator("query").paginate(
            TableName=self.stack.tables["Scoreboard"],
            IndexName="Ranking",
            KeyConditionExpression="SessionId = :s",
            ExpressionAttributeValues={":s": {"S": session_id}},
        )
        return [
            {
                k: (item[k]["S"] if k == "Nickname" else int(item[k]["N"]))
                for k in ("Nickname", "Score", "Shots", "Level", "Lives")
            }
            for page in pages
            for item in page["Items"]
        ]

    def seats(self, session_id: str) -> dict:
        pages = self.ddb.get_paginator("query").paginate(
            TableName=self.stack.tables["Seats"],
            KeyConditionExpression="SessionId = :s",
            ExpressionAttributeValues={":s": {"S": session_id}},
            ConsistentRead=True,
        )
        states = {i["Username"]["S"]: i.get("State", {}).get("S") for p in pages for i in p["Items"]}
        item = self._item(session_id)
        return {
            "playing": {u for u, s in states.items() if s == "PLAYING"},
            "finished": {u for u, s in states.items() if s == "FINISHED"},
            "occupied": item["OccupiedSeats"],
        }


def _typed(value) -> dict:
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int):
        return {"N": str(value)}
    return {"S": value}


DOCUMENT_FIELDS = (
    "SessionId",
    "GameType",
    "Synchronized",
    "TimeoutInMinutes",
    "TotalSeats",
    "OpeningTime",
    "SynchronizeTime",
    "ClosingTime",
)


def _document(item: dict, keep_status: bool = False) -> dict:
    fields = DOCUMENT_FIELDS + (("Status", "OccupiedSeats") if keep_status else ())
    out = {}
    for name in fields:
        if name in item:
            ((kind, value),) = item[name].items()
            out[name] = int(value) if kind == "N" else value
    return out


def _without_status(document: dict) -> dict:
    return {k: v for k, v in document.items() if k in DOCUMENT_FIELDS}


def _deadline(document: dict) -> float | None:
    if document["GameType"] != "TIME_CONSTRAINED":
        return None
    start = document.get("SynchronizeTime") if document["Synchronized"] else document["OpeningTime"]
    if start is None:
        return None
    begun = datetime.fromisoformat(start)
    return (begun + timedelta(minutes=document["TimeoutInMinutes"])).timestamp()
