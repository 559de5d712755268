"""What only the AWS backend does: the start function, Cognito sign-in as a Manager, AWS errors."""
from __future__ import annotations

import ast
import gzip
import json
import subprocess
import sys
import time
from pathlib import Path

import boto3
import botocore.exceptions
import pytest
from manager_support import AwsWorld

from api_client import ApiConfig, GameType
from manager_tui.backends import BackendError, OpenRequest, SignInRequired
from manager_tui.backends.aws import AwsBackend
from manager_tui.backends.aws_archive import records_of
from manager_tui.backends.aws_credentials import CognitoManagerCredentials
from spaceinvaders_backend.aws import session_store
from spaceinvaders_backend.core.sessions import new_session_id
from spaceinvaders_backend.core.timeutil import session_suffix


@pytest.fixture
async def aws():
    world = AwsWorld()
    await world.start()
    yield world
    await world.close()


async def test_start_sets_the_instant_everywhere_and_asks_the_start_function_to_push_it(aws, monkeypatch):
    calls = []
    functions = aws.backend._client("lambda")
    real_invoke = functions.invoke
    monkeypatch.setattr(functions, "invoke", lambda **kw: calls.append(kw) or real_invoke(**kw))
    opened = await aws.backend.open_session(OpenRequest("SYNC", GameType.SINGLE_TRIAL, True))
    started = await aws.backend.start_session(4)

    ssm = boto3.client("ssm", region_name=aws.stack.region)
    published = json.loads(ssm.get_parameter(Name="/test/session")["Parameter"]["Value"])
    item = aws.dynamodb.get_item(TableName=aws.stack.tables["Sessions"], Key={"SessionId": {"S": opened.SessionId}})
    assert published["SynchronizeTime"] == item["Item"]["SynchronizeTime"]["S"]
    assert [c["FunctionName"] for c in calls] == [aws.stack.tables["StartFunction"]]
    assert calls[0]["InvocationType"] == "Event"
    assert json.loads(calls[0]["Payload"]) == {"SessionId": opened.SessionId,
                                               "SynchronizeTime": published["SynchronizeTime"]}
    assert started.SynchronizeTime.isoformat(timespec="milliseconds").replace("+00:00", "Z") == \
        published["SynchronizeTime"]


async def test_two_managers_cannot_both_open_after_the_same_session(aws, monkeypatch):
    first = await aws.backend.open_session(OpenRequest("ONE", GameType.MULTIPLE_TRIALS, False))
    await aws.backend.close_session()
    await aws.backend.open_session(OpenRequest("TWO", GameType.MULTIPLE_TRIALS, False))
    # The other manager read the current session before TWO opened: ONE, closed. Its transaction names ONE
    # as the current session, so it fails, and decided again on TWO it is a refusal, not a second session.
    read_pointer = session_store.current_id
    stale = iter([first.SessionId])
    monkeypatch.setattr(session_store, "current_id", lambda names, fresh=False: next(stale, None) or
                        read_pointer(names, fresh))
    with pytest.raises(BackendError, match="TWO.* is still open; close it first"):
        await aws.backend.open_session(OpenRequest("THREE", GameType.MULTIPLE_TRIALS, False))
    statuses = [item["Status"]["S"] for item in aws.dynamodb.scan(TableName=aws.stack.tables["Sessions"])["Items"]]
    assert statuses.count("OPEN") == 1


async def test_the_same_name_twice_in_a_second_gets_the_cores_suffix(aws, monkeypatch):
    """The core's rule (`new_session_id`), as the local server applies it: `-2`, not a refusal."""
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now)
    first = await aws.backend.open_session(OpenRequest("ROOM", GameType.MULTIPLE_TRIALS, False))
    await aws.backend.close_session()
    second = await aws.backend.open_session(OpenRequest("ROOM", GameType.MULTIPLE_TRIALS, False))
    assert first.SessionId == "ROOM" + session_suffix(now)
    assert second.SessionId == new_session_id("ROOM", now, {first.SessionId}) == f"{first.SessionId}-2"


async def test_access_denied_is_a_backend_error_with_the_code(aws, monkeypatch):
    session = await aws.backend.open_session(OpenRequest("DENIED", GameType.MULTIPLE_TRIALS, False))

    def refuse(**_):
        raise botocore.exceptions.ClientError(
            {"Error": {"Code": "AccessDeniedException", "Message": "not allowed"}}, "Query")

    monkeypatch.setattr(aws.backend._client("dynamodb"), "query", refuse)
    with pytest.raises(BackendError, match="AccessDeniedException"):
        await aws.backend.board(session.SessionId)


async def test_a_cognito_manager_gets_the_manager_role_and_a_gamer_does_not(aws):
    idp = boto3.client("cognito-idp", region_name=aws.stack.region)
    for user, group in (("boss", "Manager"), ("gamer", "Gamer")):
        idp.admin_create_user(UserPoolId=aws.stack.user_pool_id, Username=user, TemporaryPassword="Temp-pass1",
                              MessageAction="SUPPRESS")
        idp.admin_set_user_password(UserPoolId=aws.stack.user_pool_id, Username=user, Password="secret-pw",
                                    Permanent=True)
        idp.admin_add_user_to_group(UserPoolId=aws.stack.user_pool_id, Username=user, GroupName=group)
    config = ApiConfig(Parameters=[{"Name": k, "Value": v} for k, v in aws.stack.parameters.items()])

    backend = AwsBackend("test", boto3.Session(region_name=aws.stack.region),
                         credentials=CognitoManagerCredentials(config))
    with pytest.raises(SignInRequired):
        await backend.connect()
    with pytest.raises(SignInRequired, match="Manager group"):
        await backend.sign_in("gamer", "secret-pw")
    # (moto's SRP does not check the password proof, so a wrong password cannot be tested here)
    await backend.sign_in("boss", "secret-pw")
    assert (await backend.open_session(OpenRequest("COGNITO", GameType.MULTIPLE_TRIALS, False))).SessionId


def test_archive_objects_are_read_whatever_separates_or_compresses_their_records():
    records = [{"Nickname": "a", "Score": 1}, {"Nickname": "b", "Score": 2}, {"Nickname": "c", "Score": 3}]
    concatenated = "".join(json.dumps(r) for r in records).encode()
    lines = "\n".join(json.dumps(r) for r in records).encode() + b"\n"
    assert list(records_of(concatenated)) == records
    assert list(records_of(lines)) == records
    assert list(records_of(gzip.compress(lines))) == records
    with pytest.raises(BackendError):
        list(records_of(b'{"Nickname": "a"} not json'))


async def test_a_freed_seat_stays_as_the_handlers_leave_it(aws):
    session = await aws.backend.open_session(OpenRequest("LEAVE", GameType.MULTIPLE_TRIALS, False))
    await aws.seat("ann")
    await aws.post(session.SessionId, "ann", 10)
    await aws.backend.free_seat(session.SessionId, "ann")
    seat = aws.dynamodb.get_item(TableName=aws.stack.tables["Seats"],
                                 Key={"SessionId": {"S": session.SessionId}, "Username": {"S": "ann"}})["Item"]
    assert "State" not in seat and seat["Played"] == {"BOOL": True} and "LeftAt" in seat  # docs/aws.md
    item = aws.dynamodb.get_item(TableName=aws.stack.tables["Sessions"],
                                 Key={"SessionId": {"S": session.SessionId}})["Item"]
    assert item["OccupiedSeats"] == {"N": "0"}


def test_the_console_needs_no_powertools():
    """The stores the console shares with the functions import boto3 and the core only: Powertools is the
    functions' dependency (the aws extra), not the manager's."""
    code = ("import sys; sys.modules['aws_lambda_powertools'] = None\n"
            "import manager_tui.backends.aws, spaceinvaders_backend.aws.session_store\n"
            "assert 'aws_lambda_powertools' not in {m.split('.')[0] for m in sys.modules if sys.modules[m]}\n")
    finished = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert finished.returncode == 0, finished.stderr


# What a store does on AWS: a DynamoDB read or write, the session parameter, a push to the sockets.
STORE_CALLS = {"transact_write_items", "put_item", "update_item", "delete_item", "get_item", "query", "scan",
               "batch_get_item", "batch_write_item", "put_parameter", "post_to_connection", "invoke"}
ROOT = Path(__file__).resolve().parents[2]


def store_calls_outside_the_stores(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in STORE_CALLS:
            receiver = node.func.value
            if not (isinstance(receiver, ast.Name) and receiver.id == "self"):  # Textual's own `self.query`
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {ast.unparse(node.func)}")
    return found


def test_only_the_aws_stores_talk_to_dynamodb_ssm_and_the_sockets():
    """Issue 16: one implementation of each transaction and session/seat step, the stores', run by the
    functions and the console alike. Neither the console nor a handler calls DynamoDB (or writes the
    session's parameter, or pushes) itself: a second copy of a transaction would show here."""
    places = [*sorted((ROOT / "manager_tui").rglob("*.py")),
              *sorted((ROOT / "spaceinvaders_backend" / "aws" / "handlers").rglob("*.py"))]
    assert [line for path in places for line in store_calls_outside_the_stores(path)] == []
    assert store_calls_outside_the_stores(ROOT / "spaceinvaders_backend" / "aws" / "seat_store.py")  # it sees them
