"""A deployed stack on moto for the AWS tests: the resources (`aws_stack`), the functions' environment,
signed-in users, the REST API (`aws_gateway`), the WebSocket API (`aws_websocket`, started on demand) and
the Kinesis event source mapping (`StreamPump`)."""

from __future__ import annotations

import base64
import json
import os
import threading
import time
import uuid
from typing import Any, Self

import boto3
from aws_cognito import VerifiedRecovery
from aws_gateway import LambdaContext, RestApi
from aws_stack import MOTO_CONFIG, create_stack
from aws_websocket import WebSocketApi
from moto import mock_aws
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.dynamodb.responses import DynamoHandler

from spaceinvaders_backend.aws import config, session_store
from spaceinvaders_backend.aws.handlers import authorizer, scoreboard, seats, sweeper, websocket
from spaceinvaders_backend.aws.items import attrs, plain

PASSWORD = "correct-horse"
FUNCTIONS = {
    "SeatsFunction": seats.handler,
    "ScoreboardFunction": scoreboard.handler,
    "SweeperFunction": sweeper.handler,
    "WebSocketFunction": websocket.handler,
    "WebSocketAuthorizerFunction": authorizer.handler,
}

# DynamoDB applies each request atomically; moto does not when threads call it at once (a transaction
# restores a snapshot of the table when it fails, undoing concurrent writes). One lock per request restores
# the service's guarantee, while our code's read-decide-write sequences still interleave.
_dynamodb_lock = threading.RLock()
_unlocked_call_action = DynamoHandler.call_action


def _atomic_call_action(self, *args, **kwargs):
    with _dynamodb_lock:
        return _unlocked_call_action(self, *args, **kwargs)


# moto runs no Lambda code (no Docker): a direct invocation of the start function (the manager's start)
# runs its handler here, in a thread of its own when the invocation is asynchronous, as Lambda would.
_unpatched_invoke = LambdaSimpleBackend.invoke
_invoked: list[threading.Thread] = []


def _run_start_function(self, function_name, qualifier, body, headers, response_headers):
    if not function_name.rsplit(":", 1)[-1].endswith("-start"):
        return _unpatched_invoke(self, function_name, qualifier, body, headers, response_headers)
    event = json.loads(body or "{}")
    if headers.get("x-amz-invocation-type", "RequestResponse") == "Event":
        thread = threading.Thread(target=websocket.handler, args=(event, LambdaContext()), daemon=True)
        _invoked.append(thread)
        thread.start()
        return b""
    return json.dumps(websocket.handler(event, LambdaContext())).encode()


def unique(prefix: str = "u") -> str:
    return f"{prefix}{uuid.uuid4().hex[:12]}"


class MotoWorld:
    """`with MotoWorld("env") as world:` a fresh stack, the functions' environment set, caches cleared."""

    def __init__(self, env: str) -> None:
        self.env = env
        self._mock = mock_aws(config=MOTO_CONFIG)
        self._saved_environ: dict[str, str | None] = {}
        self._websocket: WebSocketApi | None = None

    def __enter__(self) -> Self:
        self._mock.start()
        self._recovery = VerifiedRecovery().__enter__()  # moto would reset a password without a verified address
        DynamoHandler.call_action = _atomic_call_action
        LambdaSimpleBackend.invoke = _run_start_function
        _clear_caches()
        self.stack = create_stack(env=self.env)
        for key, value in self.stack.function_environment().items():
            self._saved_environ[key] = os.environ.get(key)
            os.environ[key] = value
        self.api = RestApi(self.stack, FUNCTIONS)
        self.idp = boto3.client("cognito-idp", region_name=self.stack.region)
        self.ddb = boto3.client("dynamodb", region_name=self.stack.region)
        self.pump = StreamPump(self.stack)
        return self

    def websocket(self) -> WebSocketApi:
        """The stack's WebSocket API, served on 127.0.0.1 (once per world): the functions push through its
        `@connections` endpoint and `/config` names its URL, as a deployed stack's would."""
        if self._websocket is None:
            self._websocket = WebSocketApi(FUNCTIONS, stage=self.env, region=self.stack.region).__enter__()
            os.environ["WEBSOCKET_ENDPOINT"] = self._websocket.management_endpoint
            name = f"/{self.env}/websocketurl"
            self.stack.parameters[name] = self._websocket.url
            boto3.client("ssm", region_name=self.stack.region).put_parameter(
                Name=name, Value=self._websocket.url, Type="String", Overwrite=True
            )
            self.api = RestApi(self.stack, FUNCTIONS)  # its /config names the emulated API from now on
        return self._websocket

    def __exit__(self, *exc) -> None:
        if self._websocket is not None:
            self._websocket.__exit__(*exc)
            self._websocket = None
        for key, value in self._saved_environ.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        for thread in _invoked:
            thread.join(10)
        _invoked.clear()
        DynamoHandler.call_action = _unlocked_call_action
        LambdaSimpleBackend.invoke = _unpatched_invoke
        _clear_caches()
        self._recovery.__exit__(*exc)
        self._mock.stop()

    def user(self, name: str | None = None, groups: tuple[str, ...] = ("Gamer",)) -> tuple[str, str]:
        """A confirmed user in `groups`, signed in: (username, ID token)."""
        name = name or unique("p")
        pool = self.stack.user_pool_id
        self.idp.admin_create_user(UserPoolId=pool, Username=name, MessageAction="SUPPRESS")
        self.idp.admin_set_user_password(UserPoolId=pool, Username=name, Password=PASSWORD, Permanent=True)
        for group in groups:
            self.idp.admin_add_user_to_group(UserPoolId=pool, Username=name, GroupName=group)
        tokens = self.idp.admin_initiate_auth(
            UserPoolId=pool,
            ClientId=self.stack.client_id,
            AuthFlow="ADMIN_USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": name, "PASSWORD": PASSWORD},
        )["AuthenticationResult"]
        return name, tokens["IdToken"]

    def item(self, table: str, **key: str) -> dict | None:
        return plain(
            self.ddb.get_item(TableName=self.stack.tables[table], Key=attrs(key), ConsistentRead=True).get(
                "Item"
            )
        )


def _clear_caches() -> None:
    config.client.cache_clear()
    session_store.clear_cache()
    authorizer._verifiers.clear()


def kinesis_record(
    data: bytes | dict,
    sequence: int,
    arrived_at: float | None = None,
    key: str = "k",
    shard: str = "shardId-000000000000",
) -> dict:
    """One record of a Kinesis event as Lambda's event source mapping delivers it."""
    raw = json.dumps(data).encode() if isinstance(data, dict) else data
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": key,
            "sequenceNumber": str(sequence),
            "data": base64.b64encode(raw).decode(),
            "approximateArrivalTimestamp": time.time() if arrived_at is None else arrived_at,
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"{shard}:{sequence}",
        "eventName": "aws:kinesis:record",
        "awsRegion": "us-east-1",
        "invokeIdentityArn": "arn:aws:iam::123456789012:role/scoreboard",
        "eventSourceARN": "arn:aws:kinesis:us-east-1:123456789012:stream/status",
    }


def run_scoreboard(records: list[dict]) -> dict:
    return scoreboard.handler({"Records": records}, LambdaContext())


class StreamPump:
    """Lambda's Kinesis event source mapping: reads each shard in order, hands batches to the scoreboard
    function, and resumes after a partial failure from the earliest failed record (it is delivered again)."""

    def __init__(self, stack, batch_size: int = 1000) -> None:
        self.stream = stack.tables["Stream"]
        self.kinesis = boto3.client("kinesis", region_name=stack.region)
        self.batch_size = batch_size
        self.after: dict[str, str | None] = {}  # shard -> sequence number of the last record processed
        self.failures = 0

    def _iterator(self, shard: str) -> str:
        after = self.after.get(shard)
        kw: dict[str, Any] = (
            {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "StartingSequenceNumber": after}
            if after
            else {"ShardIteratorType": "TRIM_HORIZON"}
        )
        return self.kinesis.get_shard_iterator(StreamName=self.stream, ShardId=shard, **kw)["ShardIterator"]

    def pump(self) -> int:
        """Process everything in the stream now; answers the records delivered (retries included)."""
        delivered = 0
        shards = [s["ShardId"] for s in self.kinesis.list_shards(StreamName=self.stream)["Shards"]]
        for shard in shards:
            for _ in range(1000):
                records = self.kinesis.get_records(ShardIterator=self._iterator(shard), Limit=self.batch_size)
                records = records["Records"]
                if not records:
                    break
                batch = [
                    kinesis_record(
                        r["Data"],
                        int(r["SequenceNumber"]),
                        r["ApproximateArrivalTimestamp"].timestamp(),
                        r["PartitionKey"],
                        shard,
                    )
                    for r in records
                ]
                failed = {int(f["itemIdentifier"]) for f in run_scoreboard(batch)["batchItemFailures"]}
                delivered += len(batch)
                done = [
                    r["SequenceNumber"]
                    for r in records
                    if not failed or int(r["SequenceNumber"]) < min(failed)
                ]
                if failed:
                    self.failures += 1
                if done:
                    self.after[shard] = done[-1]
                elif failed:
                    break  # the first record fails: Lambda would retry it later
        return delivered
