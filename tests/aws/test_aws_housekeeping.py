"""The functions around a session on moto: the sweeper (idle seats, time limits), the WebSocket start and
its authorizer (only a Manager starts), the Cognito triggers."""

from __future__ import annotations

import base64
import json
import threading
import time

import pytest
from aws_gateway import LambdaContext
from aws_world import unique
from botocore.stub import ANY, Stubber
from moto.apigatewaymanagementapi.models import apigatewaymanagementapi_backends
from moto.core import DEFAULT_ACCOUNT_ID

from spaceinvaders_backend.aws import config, push, seat_store, session_store
from spaceinvaders_backend.aws.handlers import authorizer, cognito_triggers, sweeper, websocket
from spaceinvaders_backend.core.errors import ApiError
from spaceinvaders_backend.core.timeutil import parse_iso


def set_last_seen(world, sid: str, user: str, when: float) -> None:
    world.ddb.update_item(
        TableName=world.stack.tables["Seats"],
        Key={"SessionId": {"S": sid}, "Username": {"S": user}},
        UpdateExpression="SET LastSeen = :t, Played = :p",
        ExpressionAttributeValues={":t": {"N": str(when)}, ":p": {"BOOL": True}},
    )


# --- the sweeper ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("game_type", "left_state"), [("MULTIPLE_TRIALS", None), ("SINGLE_TRIAL", "FINISHED")]
)
def test_sweeper_frees_only_idle_seats(world, manager, names, game_type, left_state):
    sid = manager.reopen(unique("S"), game_type)["SessionId"]
    idle, active = unique("i"), unique("a")
    for p in (idle, active):
        seat_store.allocate(names, p)
    now = time.time()
    set_last_seen(world, sid, idle, now - 61)
    set_last_seen(world, sid, active, now - 5)
    assert sweeper.sweep(names, now) == {"closed": None, "freed": [idle]}
    assert world.item("Seats", SessionId=sid, Username=idle).get("State") == left_state
    assert manager.seats(sid)["playing"] == {active}
    assert manager.seats(sid)["occupied"] == 1
    assert sweeper.sweep(names, now)["freed"] == []


def test_sweeper_closes_a_time_constrained_session_at_its_deadline(world, manager, names):
    opened = manager.reopen(unique("S"), "TIME_CONSTRAINED", timeout_minutes=1)
    deadline = parse_iso(opened["OpeningTime"]) + 60
    assert sweeper.sweep(names, deadline - 1)["closed"] is None
    assert sweeper.sweep(names, deadline + 30)["closed"] == opened["SessionId"]
    item = world.item("Sessions", SessionId=opened["SessionId"])
    assert item["Status"] == "CLOSED" and parse_iso(item["ClosingTime"]) == pytest.approx(deadline, abs=0.001)
    published = json.loads(
        world.stack.session_client("ssm").get_parameter(Name=f"/{world.stack.env}/session")["Parameter"][
            "Value"
        ]
    )
    assert published["ClosingTime"] == item["ClosingTime"]
    assert sweeper.sweep(names, deadline + 90)["closed"] is None
    assert sweeper.handler({"source": "aws.events"}, LambdaContext()) == {"closed": None, "freed": []}


def test_a_due_session_is_closed_by_the_manager_before_opening_the_next(world, manager):
    """docs/aws.md, Open step 1: the manager closes a time-constrained session past its deadline itself."""
    opened = manager.reopen(unique("S"), "TIME_CONSTRAINED", timeout_minutes=1)
    world.ddb.update_item(
        TableName=world.stack.tables["Sessions"],
        Key={"SessionId": {"S": opened["SessionId"]}},
        UpdateExpression="SET OpeningTime = :t",
        ExpressionAttributeValues={":t": {"S": "2020-01-01T00:00:00.000Z"}},
    )
    following = manager.open(unique("N"), "MULTIPLE_TRIALS")
    assert world.item("Sessions", SessionId=opened["SessionId"])["ClosingTime"] == "2020-01-01T00:01:00.000Z"
    assert world.item("Sessions", SessionId=opened["SessionId"])["NextSessionId"] == following["SessionId"]


def test_only_one_session_opens_after_another(world, manager, monkeypatch):
    manager.reopen(unique("S"), "MULTIPLE_TRIALS")
    with pytest.raises(ApiError, match="close it first"):
        manager.open(unique("X"), "MULTIPLE_TRIALS")
    manager.close()
    # Two managers read the same closed session, then both open: the Current item names only one of the two.
    barrier = threading.Barrier(2, timeout=10)
    read = session_store.read

    def read_then_wait(*args, **kwargs):
        stored = read(*args, **kwargs)
        if threading.current_thread().name.startswith("opener") and not getattr(local, "waited", False):
            local.waited = True
            barrier.wait()
        return stored

    local = threading.local()
    monkeypatch.setattr(session_store, "read", read_then_wait)
    answers: dict[str, object] = {}

    def opener(name: str) -> None:
        try:
            answers[name] = manager.open(name, "MULTIPLE_TRIALS")["SessionId"]
        except ApiError as refusal:
            answers[name] = refusal

    threads = [threading.Thread(target=opener, args=(n,), name=f"opener-{n}") for n in (unique("A"), unique("B"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    opened = [a for a in answers.values() if isinstance(a, str)]
    refused = [a for a in answers.values() if isinstance(a, ApiError)]
    assert len(opened) == 1 and len(refused) == 1, answers
    assert refused[0].code == "SessionAlreadyOpen"  # decided again on the new current session
    assert manager.current()["SessionId"] == opened[0]


def test_the_same_name_opened_twice_in_a_second_gets_the_cores_suffix(world, manager, monkeypatch):
    """core.sessions.new_session_id: `-2` after an id already taken, on AWS as on the local server."""
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now)  # both opens within the same second
    first = manager.reopen("TWICE", "MULTIPLE_TRIALS")["SessionId"]
    manager.close()
    second = manager.open("TWICE", "MULTIPLE_TRIALS")["SessionId"]
    assert second == f"{first}-2"
    manager.close()
    manager.open(unique("OTHER"), "MULTIPLE_TRIALS")
    manager.close()
    # Ids taken by older sessions (not the current one) are skipped too: the transaction finds them.
    assert manager.open("TWICE", "MULTIPLE_TRIALS")["SessionId"] == f"{first}-3"


# --- the WebSocket start ----------------------------------------------------------------------------------


def ws_event(
    route: str,
    connection: str,
    username: str = "",
    groups: str = "",
    body: dict | None = None,
    session_id: str | None = None,
    expires_at: float | None = None,
) -> dict:
    event = {
        "requestContext": {
            "routeKey": route,
            "connectionId": connection,
            "eventType": "MESSAGE",
            "authorizer": {"username": username, "groups": groups, "expiresAt": expires_at or time.time() + 3600},
        },
        "body": json.dumps(body) if body is not None else None,
    }
    if route == "$connect":
        event["queryStringParameters"] = None if session_id is None else {"sessionId": session_id}
    return event


def pushed() -> dict[str, bytes]:
    return {
        cid: c.data
        for cid, c in apigatewaymanagementapi_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].connections.items()
    }


def test_authorizer_lets_only_valid_id_tokens_connect(world):
    name, token = world.user(groups=("Gamer", "Manager"))
    event = {
        "type": "REQUEST",
        "methodArn": "arn:aws:execute-api:us-east-1:1:api/prod/$connect",
        "headers": {"Authorization": token},
    }
    answer = authorizer.handler(event, LambdaContext())
    assert answer["principalId"] == name
    assert answer["policyDocument"]["Statement"][0] == {
        "Action": "execute-api:Invoke",
        "Effect": "Allow",
        "Resource": event["methodArn"],
    }
    expires_at = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))["exp"]
    assert answer["context"] == {"username": name, "groups": "Gamer,Manager", "expiresAt": expires_at}
    assert authorizer.handler({**event, "headers": {"authorization": f"Bearer {token}"}}, LambdaContext())
    header, claims, signature = token.split(".")
    access = world.idp.admin_initiate_auth(
        UserPoolId=world.stack.user_pool_id,
        ClientId=world.stack.client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": name, "PASSWORD": "correct-horse"},
    )["AuthenticationResult"]["AccessToken"]
    for bad in ("", "garbage", f"{header}.{claims}.{signature[:-4]}AAAA", access):
        with pytest.raises(Exception, match="Unauthorized"):
            authorizer.handler({**event, "headers": {"Authorization": bad}}, LambdaContext())


def test_only_a_manager_starts_and_the_sessions_connections_hear_it(world, manager, names):
    opened = manager.reopen(unique("S"), "MULTIPLE_TRIALS", synchronized=True)
    sid = opened["SessionId"]
    gamer, _ = world.user()
    boss, _ = world.user(groups=("Gamer", "Manager"))
    connections = [unique("c") for _ in range(3)]
    elsewhere, nowhere = unique("other"), unique("none")
    for player, cid in zip((gamer, unique("p"), unique("p")), connections, strict=True):
        answer = websocket.handler(ws_event("$connect", cid, player, "Gamer", session_id=sid), LambdaContext())
        assert answer == {"statusCode": 200}
    websocket.handler(ws_event("$connect", elsewhere, gamer, "Gamer", session_id="OLD1"), LambdaContext())
    websocket.handler(ws_event("$connect", nowhere, gamer, "Gamer"), LambdaContext())
    assert world.item("Connections", ConnectionId=connections[0])["Username"] == gamer
    assert world.item("Connections", ConnectionId=connections[0])["SessionId"] == sid
    assert "SessionId" not in world.item("Connections", ConnectionId=nowhere)
    assert sorted(push.connection_ids(names, sid)) == sorted(connections)  # the index, not a Scan

    refused = websocket.handler(
        ws_event("start", connections[0], gamer, "Gamer", {"action": "start"}), LambdaContext()
    )
    assert refused["statusCode"] == 403 and json.loads(refused["body"])["errorCode"] == "Forbidden"
    assert "SynchronizeTime" not in world.item("Sessions", SessionId=sid)
    assert not any(pushed().get(c) for c in connections)

    started = websocket.handler(
        ws_event(
            "start", "boss-connection", boss, "Gamer,Manager", {"action": "start", "CountdownSeconds": 3}
        ),
        LambdaContext(),
    )
    assert started["statusCode"] == 200, started
    answer = json.loads(started["body"])
    synchronize_time = world.item("Sessions", SessionId=sid)["SynchronizeTime"]
    assert answer["Session"]["SynchronizeTime"] == synchronize_time
    assert parse_iso(synchronize_time) == pytest.approx(time.time() + 3, abs=2)
    ssm = world.stack.session_client("ssm")
    published = json.loads(ssm.get_parameter(Name=f"/{world.stack.env}/session")["Parameter"]["Value"])
    assert published["SynchronizeTime"] == synchronize_time
    expected = {"action": "start", "SessionId": sid, "SynchronizeTime": synchronize_time}
    for cid in connections:
        assert json.loads(pushed()[cid]) == expected
    assert elsewhere not in pushed() and nowhere not in pushed()  # only this session's connections
    asked = websocket.handler(ws_event("session", nowhere, gamer, "Gamer", {"action": "session"}), LambdaContext())
    assert json.loads(asked["body"]) == {"action": "session", "Session": published}

    manager.reopen(unique("S"), "MULTIPLE_TRIALS", synchronized=False)
    free = websocket.handler(
        ws_event("start", "boss-connection", boss, "Manager", {"action": "start"}), LambdaContext()
    )
    assert (free["statusCode"], json.loads(free["body"])["errorCode"]) == (409, "SessionNotSynchronized")
    other = websocket.handler(
        ws_event("dance", connections[0], gamer, "Gamer", {"action": "dance"}), LambdaContext()
    )
    assert other["statusCode"] == 400
    for cid in (*connections, elsewhere, nowhere):
        websocket.handler(ws_event("$disconnect", cid), LambdaContext())
    assert world.item("Connections", ConnectionId=connections[0]) is None


def test_a_connection_naming_no_sessions_id_is_refused(world):
    name, _ = world.user()
    for bad in ("", "a b", "x" * 65, "S1;DROP"):
        answer = websocket.handler(ws_event("$connect", unique("c"), name, "Gamer", session_id=bad), LambdaContext())
        assert answer["statusCode"] == 400, bad
        assert json.loads(answer["body"])["errorCode"] == "ValidationError"


def test_the_managers_start_asks_the_start_function_which_pushes_the_stored_start(world, manager, names):
    sid = manager.reopen(unique("S"), "MULTIPLE_TRIALS", synchronized=True)["SessionId"]
    waiting, late = unique("c"), unique("c")
    websocket.handler(ws_event("$connect", waiting, "someone", "Gamer", session_id=sid), LambdaContext())
    started = manager.start(countdown=4)  # the item, SSM, then the function invoked (asynchronously)
    for _ in range(250):
        if pushed().get(waiting):
            break
        time.sleep(0.02)
    expected = {"action": "start", "SessionId": sid, "SynchronizeTime": started["SynchronizeTime"]}
    assert json.loads(pushed()[waiting]) == expected
    # An invocation naming another SynchronizeTime still pushes the one the Sessions item holds.
    websocket.handler(ws_event("$connect", late, "someone-else", "Gamer", session_id=sid), LambdaContext())
    counts = websocket.handler({"SessionId": sid, "SynchronizeTime": "forged"}, LambdaContext())
    assert counts == {"sent": 2, "gone": 0}
    assert json.loads(pushed()[late]) == expected
    assert websocket.handler({"SessionId": "nope", "SynchronizeTime": "x"}, LambdaContext()) == {
        "sent": 0,
        "gone": 0,
    }
    for cid in (waiting, late):
        websocket.handler(ws_event("$disconnect", cid), LambdaContext())


def test_connections_that_are_gone_are_forgotten(world, names):
    cid = unique("gone")
    websocket.handler(ws_event("$connect", cid, "someone", "Gamer", session_id="S1"), LambdaContext())
    assert push.connection_ids(names, "S1") == [cid]
    api = config.client("apigatewaymanagementapi", names.websocket_endpoint)
    with Stubber(
        api
    ) as stub:  # moto's connections never go away: answer as API Gateway does for a closed one
        stub.add_client_error(
            "post_to_connection",
            service_error_code="GoneException",
            http_status_code=410,
            expected_params={"ConnectionId": cid, "Data": ANY},
        )
        assert push.push_start(names, "S1", "2026-01-01T00:00:00.000Z") == {"sent": 0, "gone": 1}
    assert world.item("Connections", ConnectionId=cid) is None


# --- Cognito triggers -------------------------------------------------------------------------------------


def test_new_players_are_confirmed_and_join_the_gamer_group(world):
    name = unique("n")
    pool = world.stack.user_pool_id
    event = {
        "triggerSource": "PreSignUp_SignUp",
        "userPoolId": pool,
        "userName": name,
        "response": {"autoConfirmUser": False},
    }
    assert cognito_triggers.handler(event, LambdaContext())["response"]["autoConfirmUser"] is True
    world.idp.admin_create_user(UserPoolId=pool, Username=name, MessageAction="SUPPRESS")
    cognito_triggers.handler(
        {
            "triggerSource": "PostConfirmation_ConfirmSignUp",
            "userPoolId": pool,
            "userName": name,
            "response": {},
        },
        LambdaContext(),
    )
    groups = world.idp.admin_list_groups_for_user(UserPoolId=pool, Username=name)["Groups"]
    assert [g["GroupName"] for g in groups] == ["Gamer"]
    cognito_triggers.handler(
        {
            "triggerSource": "PostConfirmation_ConfirmForgotPassword",
            "userPoolId": pool,
            "userName": name,
            "response": {},
        },
        LambdaContext(),
    )
    assert len(world.idp.admin_list_groups_for_user(UserPoolId=pool, Username=name)["Groups"]) == 1


def test_a_user_keeps_one_connection_per_session(world, names):
    """One player connecting again and again replaces their connection: the start costs one message a user."""
    sid, flooder, other = unique("S"), unique("p"), unique("p")
    connections = [unique("c") for _ in range(50)]
    for cid in connections:
        answer = websocket.handler(ws_event("$connect", cid, flooder, "Gamer", session_id=sid), LambdaContext())
        assert answer == {"statusCode": 200}
    theirs = unique("c")
    websocket.handler(ws_event("$connect", theirs, other, "Gamer", session_id=sid), LambdaContext())
    websocket.handler(ws_event("$connect", unique("c"), flooder, "Gamer", session_id="ELSEWHERE1"), LambdaContext())
    items = world.ddb.query(TableName=world.stack.tables["Connections"], IndexName="BySession",
                            KeyConditionExpression="SessionId = :s",
                            ExpressionAttributeValues={":s": {"S": sid}})["Items"]
    assert sorted(i["ConnectionId"]["S"] for i in items) == sorted([connections[-1], theirs])  # the newest
    assert sorted(push.connection_ids(names, sid)) == sorted([connections[-1], theirs])
    assert world.item("Connections", ConnectionId=connections[0]) is None


def test_the_push_goes_to_a_users_newest_connection_even_when_connects_raced(world, names):
    """Two connects of one user that each wrote before the other read leave two items: the start still goes to
    the newest only."""
    sid, player = unique("S"), unique("p")
    for cid, at in (("older", 1000.5), ("newer", 1000.75)):
        world.ddb.put_item(TableName=world.stack.tables["Connections"], Item={
            "ConnectionId": {"S": cid}, "Username": {"S": player}, "SessionId": {"S": sid},
            "ConnectedAt": {"N": str(at)}, "ExpiresAt": {"N": "99999"}})
    assert push.connection_ids(names, sid) == ["newer"]


def test_a_start_on_a_connection_whose_token_expired_is_refused(world, manager, names):
    """The groups a connection carries are the token's at $connect: they count until its `exp`, not for the
    connection's 2 hours."""
    sid = manager.reopen(unique("S"), "MULTIPLE_TRIALS", synchronized=True)["SessionId"]
    boss, _ = world.user(groups=("Gamer", "Manager"))
    for expires_at in (time.time() - 1, None):
        event = ws_event("start", "boss-connection", boss, "Manager", {"action": "start"}, expires_at=expires_at)
        if expires_at is None:
            del event["requestContext"]["authorizer"]["expiresAt"]  # no expiry known: refused as well
        refused = websocket.handler(event, LambdaContext())
        assert refused["statusCode"] == 401
        body = json.loads(refused["body"])
        assert body["errorCode"] == "TokenExpired" and "fresh ID token" in body["errorMessage"]
        assert "SynchronizeTime" not in world.item("Sessions", SessionId=sid)
    fresh = ws_event("start", "boss-connection", boss, "Manager", {"action": "start"}, expires_at=str(time.time() + 60))
    assert websocket.handler(fresh, LambdaContext())["statusCode"] == 200  # as a string, as API Gateway may pass it
