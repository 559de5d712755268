"""The AWS calls code makes, recorded from botocore's `before-parameter-build` event, and the IAM actions
and resources they need.

    recorder = CallRecorder()
    recorder.attach(boto3_session_or_client)
    ...
    recorder.permissions()   # {("dynamodb:GetItem", "table/spaceinvaders-test-Seats"), ...}

A transaction needs the action of each of its parts on each part's table: "Permissions for Put, Update,
Delete, and Get actions are governed by the permissions used for the underlying PutItem, UpdateItem,
DeleteItem, and GetItem operations" (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

TRANSACTION_PARTS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                     "ConditionCheck": "ConditionCheckItem"}


@dataclass(frozen=True)
class Call:
    service: str
    operation: str
    params: dict[str, Any]


class CallRecorder:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._lock = threading.Lock()

    def attach(self, target: Any) -> None:
        """Record the calls of a boto3 session's future clients, or of one client."""
        events = target.events if hasattr(target, "events") else target.meta.events
        events.register("before-parameter-build.*.*", self._record, unique_id=f"call-recorder-{id(self)}")

    def _record(self, params: dict, model: Any, **_: Any) -> None:
        with self._lock:
            self.calls.append(Call(model.service_model.service_name, model.name, dict(params)))

    def services(self) -> set[str]:
        return {call.service for call in self.calls}

    def permissions(self) -> set[tuple[str, str]]:
        """(IAM action, resource) for every recorded call; resources as `table/<name>`,
        `table/<name>/index/<index>`, `parameter<name>`, `function/<name>`, `bucket/<name>`,
        `object/<bucket>/<key>`, `connections`."""
        needed: set[tuple[str, str]] = set()
        for call in self.calls:
            needed |= set(_permissions(call))
        return needed


def _table(params: dict) -> str:
    index = params.get("IndexName")
    return f"table/{params['TableName']}" + (f"/index/{index}" if index else "")


def _permissions(call: Call) -> list[tuple[str, str]]:
    p = call.params
    if call.service == "dynamodb":
        if call.operation == "TransactWriteItems":
            return [(f"dynamodb:{TRANSACTION_PARTS[kind]}", _table(part))
                    for item in p["TransactItems"] for kind, part in item.items()]
        if call.operation in ("BatchGetItem", "BatchWriteItem"):
            action = "GetItem" if call.operation == "BatchGetItem" else "PutItem"
            return [(f"dynamodb:{call.operation}", f"table/{t}") for t in p["RequestItems"]] + [
                (f"dynamodb:{action}", f"table/{t}") for t in p["RequestItems"]]
        return [(f"dynamodb:{call.operation}", _table(p))]
    if call.service == "ssm":
        names = p.get("Names") or [p["Name"]]
        return [(f"ssm:{call.operation}", f"parameter{name}") for name in names]
    if call.service == "lambda" and call.operation == "Invoke":
        return [("lambda:InvokeFunction", f"function/{p['FunctionName']}")]
    if call.service == "s3":
        if call.operation == "ListObjectsV2":
            return [("s3:ListBucket", f"bucket/{p['Bucket']}")]
        return [(f"s3:{call.operation}", f"object/{p['Bucket']}/{p['Key']}")]
    if call.service == "apigatewaymanagementapi":  # the @connections method each operation is
        method = {"PostToConnection": "POST", "DeleteConnection": "DELETE", "GetConnection": "GET"}[call.operation]
        return [("execute-api:ManageConnections", f"connections/{method}")]
    if call.service == "sqs":
        return [(f"sqs:{call.operation}", "queue")]
    raise AssertionError(f"no IAM mapping for {call.service}:{call.operation}")


def record_function_clients(monkeypatch) -> CallRecorder:
    """Record the calls of the functions' shared clients (`config.client`) for the rest of a test."""
    from spaceinvaders_backend.aws import config

    recorder = CallRecorder()
    real = config.client

    def recording(service: str, endpoint_url: str | None = None) -> Any:
        made = real(service, endpoint_url) if endpoint_url else real(service)
        recorder.attach(made)
        return made

    monkeypatch.setattr(config, "client", recording)
    return recorder
