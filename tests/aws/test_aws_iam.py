"""IAM grants exactly the calls made (issue 15, item 12): the Manager role and the seat, sweeper and
WebSocket functions' policies, each compared, action by action and resource by resource, with the calls
the code makes, recorded from botocore while the code does everything it can do.

moto does not enforce IAM, so without this a grant could be missing (the call fails on AWS) or left over
(the role may do more than the code needs) and no other test would notice.
"""

from __future__ import annotations

import asyncio
import fnmatch
import inspect
import json
import re
import time

import boto3
import pytest
from aws_calls import CallRecorder, record_function_clients
from aws_gateway import LambdaContext, load_template
from aws_world import unique
from botocore.stub import ANY, Stubber
from test_aws_template import translate

from manager_tui.backends import ManagerBackend, OpenRequest
from manager_tui.backends.aws import AwsBackend
from spaceinvaders_backend.aws import config, replay_indexer, seat_store, session_store
from spaceinvaders_backend.aws.handlers import sweeper, websocket
from spaceinvaders_backend.aws.items import attrs

ACCOUNT_ARN = r"arn:\$\{AWS::Partition\}:(\w[\w-]*):\$\{AWS::Region\}:\$\{AWS::AccountId\}:"


def resolve(resource, stack) -> str:
    """A policy's resource in the recorder's terms (`table/<name>`, `parameter/<env>/session`...)."""
    tables = stack.tables
    arns = {
        "SessionsTable": f"table/{tables['Sessions']}",
        "SeatsTable": f"table/{tables['Seats']}",
        "ScoreboardTable": f"table/{tables['Scoreboard']}",
        "ConnectionsTable": f"table/{tables['Connections']}",
        "CurrentTable": f"table/{tables['Current']}",
        "WebSocketFunction": f"function/{tables['StartFunction']}",
        "ArchiveBucket": f"bucket/{tables['ArchiveBucket']}",
        "DeadLetterQueue": "queue",
    }
    if isinstance(resource, dict) and "Fn::GetAtt" in resource:
        logical, attribute = resource["Fn::GetAtt"]
        assert attribute == "Arn", resource
        return arns[logical]
    text = resource["Fn::Sub"] if isinstance(resource, dict) else resource
    if text.startswith("${ArchiveBucket.Arn}/"):
        return f"object/{tables['ArchiveBucket']}/" + text.removeprefix("${ArchiveBucket.Arn}/")
    match = re.fullmatch(r"\$\{(\w+)\.Arn\}(/.*)?", text)
    if match:
        return arns[match.group(1)] + (match.group(2) or "")
    match = re.fullmatch(ACCOUNT_ARN + r"(.*)", text)
    assert match, text
    service, rest = match.groups()
    rest = rest.replace("${Env}", stack.env)
    if service == "ssm":
        return rest  # parameter/<env>/...
    if service == "execute-api":  # <api>/<stage>/<METHOD>/@connections/*
        return f"connections/{rest.split('/')[2]}"
    raise AssertionError(f"resource not understood: {text}")


def granted(statements: list[dict], stack) -> set[tuple[str, str]]:
    """(action, resource pattern) of every Allow statement."""
    out = set()
    for statement in statements:
        assert statement["Effect"] == "Allow"
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        out |= {(action, resolve(resource, stack)) for action in actions for resource in resources}
    return out


def check(who: str, allowed: set[tuple[str, str]], used: set[tuple[str, str]]) -> None:
    """Every call allowed, and every grant used by some call."""
    missing = {(a, r) for a, r in used if not any(a == ga and fnmatch.fnmatchcase(r, gr) for ga, gr in allowed)}
    unused = {(ga, gr) for ga, gr in allowed if not any(a == ga and fnmatch.fnmatchcase(r, gr) for a, r in used)}
    assert not missing and not unused, (
        f"{who} lacks {sorted(missing)} (called) and grants {sorted(unused)} (never called)"
    )


def role_statements(function: str, template: dict) -> list[dict]:
    """The statements of the function's own role (`Role: !GetAtt <Role>.Arn`)."""
    resources = template["Resources"]
    role, attribute = resources[function]["Properties"]["Role"]["Fn::GetAtt"]
    assert attribute == "Arn" and resources[role]["Type"] == "AWS::IAM::Role", function
    return [s for p in resources[role]["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"]]


def function_policy(name: str, stack) -> set[tuple[str, str]]:
    """What the function's role grants besides its logs (checked by the test below)."""
    statements = [s for s in role_statements(name, load_template()) if s.get("Sid") != "Logs"]
    return granted(statements, stack)


def _listed(value) -> list:
    return value if isinstance(value, list) else [value]


def test_every_function_writes_only_its_own_log_group():
    """No role may write any log group: AWSLambdaBasicExecutionRole (what SAM gives a function without a
    Role) grants logs:CreateLogGroup, CreateLogStream and PutLogEvents on `*`. Every function's role grants
    the logs calls on the group of its `LoggingConfig` alone, and no managed policy."""
    resources = translate(load_template())["Resources"]  # as CloudFormation gets it: SAM's roles included
    functions = {k: r for k, r in resources.items() if r["Type"] == "AWS::Lambda::Function"}
    assert {"SeatsFunction", "SweeperFunction", "WebSocketFunction", "WebSocketAuthorizerFunction"} <= set(functions)
    for name, function in functions.items():
        role_name, _ = function["Properties"]["Role"]["Fn::GetAtt"]
        role = resources[role_name]["Properties"]
        assert not role.get("ManagedPolicyArns"), (name, role.get("ManagedPolicyArns"))
        group = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        statements = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
        statements += [s for r in resources.values() if r["Type"] == "AWS::IAM::Policy"
                       and {"Ref": role_name} in r["Properties"]["Roles"]
                       for s in r["Properties"]["PolicyDocument"]["Statement"]]
        logs = [s for s in statements if any(a.startswith("logs:") or a == "*" for a in _listed(s["Action"]))]
        assert logs, name
        for statement in logs:
            assert sorted(_listed(statement["Action"])) == ["logs:CreateLogStream", "logs:PutLogEvents"], name
            assert _listed(statement["Resource"]) == [{"Fn::GetAtt": [group, "Arn"]}], name


def manager_role(stack) -> set[tuple[str, str]]:
    role = load_template()["Resources"]["ManagerRole"]["Properties"]
    return granted([s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]], stack)


# --- the manager's console -------------------------------------------------------------------------------

# The Cognito sign-in (sign_in) trades a token for the role's credentials: those calls are not the role's.
NOT_UNDER_THE_ROLE = {"sign_in"}


def test_the_manager_role_allows_exactly_what_the_console_calls(world, tmp_path):
    stack = world.stack
    session = boto3.Session(region_name=stack.region)
    calls = CallRecorder()
    calls.attach(session)
    console = AwsBackend(stack.env, session)
    exercised: set[str] = set()

    def run(method: str, *args):
        exercised.add(method)
        return asyncio.run(getattr(console, method)(*args))

    run("connect")
    run("open_session", OpenRequest("FIRST", "MULTIPLE_TRIALS", True))
    run("start_session", 2)
    run("close_session")
    opened = run("open_session", OpenRequest("SECOND", "SINGLE_TRIAL", False))  # after one: the history link
    sid = opened.SessionId
    player = unique("p")
    seat_store.allocate(console.names, player)  # a player the console frees before they ever posted
    world.ddb.put_item(TableName=stack.tables["Scoreboard"], Item=attrs({
        "SessionId": sid, "Nickname": player, "Score": 1, "Shots": 0, "Level": 1, "Lives": 3,
        "RankKey": "x", "UpdatedAt": time.time(), "ArrivedAt": time.time()}))
    boto3.client("s3", region_name=stack.region).put_object(
        Bucket=stack.tables["ArchiveBucket"], Key=f"sessions/{sid}/part-1", Body=b'{"Score": 1}\n')
    run("board", sid)
    run("free_seat", sid, player)
    run("sessions")
    run("current_session")
    run("export", sid, "jsonl", tmp_path / "export.jsonl", lambda progress: None)

    # the replay index function indexed what was delivered: the replay reads its index, then the archive
    replay_indexer.index_session(config.StackNames.from_environ(), boto3.client("s3", region_name=stack.region),
                                 stack.tables["ArchiveBucket"], sid, time.time())

    async def replay() -> None:  # the replay reads the archive as the export does
        source = await console.replay(sid)
        try:
            await source.frame(None)
        finally:
            await source.aclose()

    exercised.add("replay")
    asyncio.run(replay())
    run("aclose")

    protocol = {name for name, member in inspect.getmembers(ManagerBackend) if inspect.iscoroutinefunction(member)}
    assert exercised == protocol - NOT_UNDER_THE_ROLE  # every call the console can make was made
    check("ManagerRole", manager_role(stack), calls.permissions())


# --- the functions ---------------------------------------------------------------------------------------


def test_the_seat_function_is_allowed_exactly_its_calls(world, manager, monkeypatch):
    sid = manager.reopen(unique("S"), "SINGLE_TRIAL", total_seats=1)["SessionId"]
    session_store.clear_cache()
    calls = record_function_clients(monkeypatch)
    (a, ta), (b, tb) = world.user(), world.user()
    assert world.api.post("/v1/allocate", {"Username": a}, ta).status == 200
    assert world.api.post("/v1/allocate", {"Username": a}, ta).json() == {"successMessage": "Keep playing."}
    assert world.api.post("/v1/allocate", {"Username": b}, tb).status == 422  # full
    assert world.api.post("/v1/deallocate", {"Username": a}, ta).status == 200  # never posted: has_board
    assert world.api.post("/v1/deallocate", {"Username": b}, tb).status == 200  # not seated
    assert manager.seats(sid)["occupied"] == 0
    check("SeatsFunction", function_policy("SeatsFunction", world.stack), calls.permissions())


def test_the_sweeper_is_allowed_exactly_its_calls(world, manager, names, monkeypatch):
    opened = manager.reopen(unique("S"), "TIME_CONSTRAINED", timeout_minutes=1)
    idle = unique("i")
    seat_store.allocate(names, idle)
    session_store.clear_cache()
    calls = record_function_clients(monkeypatch)
    deadline = time.time() + 61
    world.ddb.update_item(  # seen long ago: idle
        TableName=world.stack.tables["Seats"], Key=attrs({"SessionId": opened["SessionId"], "Username": idle}),
        UpdateExpression="SET LastSeen = :t", ExpressionAttributeValues=attrs({":t": deadline - 3600}))
    assert sweeper.sweep(names, time.time())["freed"] == [idle]
    assert sweeper.handler({}, LambdaContext())["closed"] is None
    assert sweeper.sweep(names, deadline)["closed"] == opened["SessionId"]
    check("SweeperFunction", function_policy("SweeperFunction", world.stack), calls.permissions())


def ws(route: str, connection: str, body: dict | None = None, groups: str = "Gamer", query: dict | None = None,
       user: str = "u"):
    return {
        "requestContext": {"routeKey": route, "connectionId": connection, "eventType": "MESSAGE",
                           "authorizer": {"username": user, "groups": groups, "expiresAt": time.time() + 3600}},
        "queryStringParameters": query,
        "body": None if body is None else json.dumps(body),
    }


def test_the_websocket_function_is_allowed_exactly_its_calls(world, manager, names, monkeypatch):
    sid = manager.reopen(unique("S"), "MULTIPLE_TRIALS", synchronized=True)["SessionId"]
    session_store.clear_cache()
    calls = record_function_clients(monkeypatch)
    here, gone, replaced = unique("c"), unique("c"), unique("c")
    for cid, user in ((replaced, "u"), (here, "u"), (gone, "v")):  # here replaces (closes) replaced
        answer = websocket.handler(ws("$connect", cid, query={"sessionId": sid}, user=user), LambdaContext())
        assert answer["statusCode"] == 200
    assert websocket.handler(ws("session", here, {"action": "session"}), LambdaContext())["statusCode"] == 200
    api = config.client("apigatewaymanagementapi", names.websocket_endpoint)
    with Stubber(api) as stub:  # one connection has gone away meanwhile
        stub.add_response("post_to_connection", {}, {"ConnectionId": ANY, "Data": ANY})
        stub.add_client_error("post_to_connection", service_error_code="GoneException", http_status_code=410,
                              expected_params={"ConnectionId": ANY, "Data": ANY})
        started = websocket.handler(ws("start", here, {"action": "start"}, groups="Manager"), LambdaContext())
    assert started["statusCode"] == 200 and json.loads(started["body"])["gone"] == 1
    with Stubber(api) as stub:
        stub.add_response("post_to_connection", {}, {"ConnectionId": ANY, "Data": ANY})
        assert websocket.handler({"SessionId": sid, "SynchronizeTime": "x"}, LambdaContext())["sent"] == 1
    for cid in (here, gone):
        websocket.handler(ws("$disconnect", cid), LambdaContext())
    check("WebSocketFunction", function_policy("WebSocketFunction", world.stack), calls.permissions())


@pytest.mark.parametrize("function", ["SeatsFunction", "SweeperFunction", "WebSocketFunction"])
def test_no_function_reads_ssm(world, function):
    """The current session is DynamoDB's Current item: SSM's 40 reads a second bind nobody."""
    assert not {a for a, _ in function_policy(function, world.stack) if a.startswith("ssm:Get")}
