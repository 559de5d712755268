"""The REST API's mapping templates (Velocity), rendered with airspeed against sample requests and answers:
the records `/updatestatus` puts in Kinesis, the Nickname check (by named claims, without case), the
requests to DynamoDB, Kinesis and SSM in their JSON protocol, the answers of `/config`, `/session` and
`/scoreboard`, the errors in the contract's shape."""

from __future__ import annotations

import base64
import json

import pytest
from aws_gateway import (
    api_definition,
    gateway_response,
    integration_response,
    json_protocol_operation,
    load_template,
    mock_call,
    render,
)

STREAM = "spaceinvaders-t-status"
NAMES = {
    "Env": "t",
    "AWS::Region": "us-east-1",
    "AWS::Partition": "aws",
    "StatusStream": STREAM,
    "ScoreboardTable": "spaceinvaders-t-Scoreboard",
    "ApiIntegrationRole.Arn": "arn:role",
    "UserPool": "us-east-1_pool",
    "UserPool.Arn": "arn:pool",
    "UserPool.ProviderName": "cognito-idp.us-east-1.amazonaws.com/us-east-1_pool",
    "UserPoolClient": "client1",
    "IdentityPool": "us-east-1:identities",
    "WebSocketApi": "ws123",
    "SeatsFunction.Arn": "arn:function",
}
ERROR_KEYS = {"errorMessage", "errorCode", "errorDetails"}


@pytest.fixture(scope="module")
def paths() -> dict:
    return api_definition(NAMES)["paths"]


def integration(paths, path: str, method: str) -> dict:
    return paths[path][method]["x-amazon-apigateway-integration"]


def status_body(**overrides) -> dict:
    return {
        "SessionId": "ROOM-A261126T221500",
        "Nickname": "alice",
        "Score": 120,
        "Shots": 7,
        "Level": 2,
        "Lives": 3,
        "Timestamp": "2026-11-26T22:15:03.250Z",
        **overrides,
    }


def put_record(paths, body: dict, username: str = "alice", groups: str = "Gamer") -> dict:
    template = integration(paths, "/v1/updatestatus", "post")["requestTemplates"]["application/json"]
    claims = {"cognito:username": username, "cognito:groups": groups}
    context = {"authorizer": {"claims": claims}, "requestTimeEpoch": 1_795_000_000_123}
    return json.loads(render(template, body=json.dumps(body), context=context))


def test_status_record_is_rebuilt_from_the_validated_fields(paths):
    request = put_record(paths, status_body(Extra="x" * 500, Nested={"a": [1, 2]}))
    assert request["StreamName"] == STREAM
    assert request["PartitionKey"] == "alice"
    record = json.loads(base64.b64decode(request["Data"]))
    assert record == {**status_body(), "ReceivedAtEpochMs": 1_795_000_000_123}  # unknown fields dropped


@pytest.mark.parametrize("session_id", ['quote"d', "back\\slash", "it's", "tab\there", "ünï✓", "</script>"])
def test_any_session_id_makes_a_valid_record(paths, session_id):
    """The request model refuses such ids first (test_aws_scoreboard, test_bad_status_bodies_are_refused_before_the_stream); the record stays valid JSON
    whatever reaches the template."""
    record = json.loads(base64.b64decode(put_record(paths, status_body(SessionId=session_id))["Data"]))
    assert record["SessionId"] == session_id


@pytest.mark.parametrize(
    ("username", "groups", "allowed"),
    [
        ("alice", "Gamer", True),
        ("alice", "Gamer,Manager", True),
        ("alice", "[Gamer Manager]", True),
        ("alice", "Players", True),
        ("Alice", "Gamer", True),  # the pool compares usernames without case: so does the template
        ("ALICE", "Gamer", True),
        ("bob", "Gamer", False),  # posting for somebody else
        ("alicea", "Gamer", False),
        ("alice", "Manager", False),  # not a player
        ("alice", "", False),
        (None, "Gamer", False),  # no username claim at all
    ],
)
def test_nickname_must_be_the_callers_own(paths, username, groups, allowed):
    """Someone else's Nickname gets an empty partition key: Kinesis refuses to store such a record. The
    record and its key carry the token's username, the name seats and boards are keyed by."""
    request = put_record(paths, status_body(Nickname="alice"), username=username, groups=groups)
    record = json.loads(base64.b64decode(request["Data"]))
    if allowed:
        assert request["PartitionKey"] == record["Nickname"] == username
    else:
        assert request["PartitionKey"] == ""


def test_the_services_are_called_in_their_json_protocol(paths):
    """POST / with X-Amz-Target and the protocol's Content-Type (what the emulator accepts, as AWS does)."""
    calls = {
        ("/v1/session", "get"): ("ssm", "GetParameter"),
        ("/v1/scoreboard", "get"): ("dynamodb", "Query"),
        ("/v1/updatestatus", "post"): ("kinesis", "PutRecord"),
    }
    for (path, method), expected in calls.items():
        spec = integration(paths, path, method)
        assert spec["uri"].endswith(":path//"), path
        service, operation, refusal = json_protocol_operation(spec)
        assert (service, operation, refusal) == (*expected, None), path


def test_kinesis_answers_become_the_contracts(paths):
    spec = integration(paths, "/v1/updatestatus", "post")
    ok = integration_response(
        spec, 200, {"SequenceNumber": "4960", "ShardId": "shardId-000000000001", "EncryptionType": "KMS"}, {}
    )
    assert (ok.status, ok.json()) == (200, {"SequenceNumber": "4960", "ShardId": "shardId-000000000001"})

    refused = integration_response(
        spec, 400, {"__type": "ValidationException", "message": "partitionKey"}, {}
    )
    assert refused.status == 403
    assert refused.json()["errorCode"] == "Forbidden" and set(refused.json()) == ERROR_KEYS

    full = integration_response(spec, 400, {"__type": "ProvisionedThroughputExceededException"}, {})
    assert (full.status, full.json()["errorCode"], full.headers["Retry-After"]) == (
        429,
        "TooManyRequests",
        "1",
    )

    missing = integration_response(spec, 400, {"__type": "ResourceNotFoundException"}, {})
    assert (missing.status, missing.json()["errorCode"]) == (503, "Unavailable")

    down = integration_response(spec, 500, {"__type": "InternalFailure"}, {})
    assert (down.status, set(down.json())) == (503, ERROR_KEYS)


def test_scoreboard_query_is_the_ranking_index_top_10(paths):
    spec = integration(paths, "/v1/scoreboard", "get")
    assert json_protocol_operation(spec) == ("dynamodb", "Query", None)
    query = json.loads(
        render(
            spec["requestTemplates"]["application/json"], params={"querystring": {"sessionId": 'ROOM"\\x'}}
        )
    )
    assert query["TableName"] == NAMES["ScoreboardTable"]
    assert (query["IndexName"], query["Limit"]) == ("Ranking", 10)
    assert query["ExpressionAttributeValues"] == {":s": {"S": 'ROOM"\\x'}}


def test_scoreboard_answer_lists_entries_in_index_order(paths):
    spec = integration(paths, "/v1/scoreboard", "get")
    items = [
        {
            "Nickname": {"S": n},
            "Score": {"N": str(s)},
            "Shots": {"N": "3"},
            "Level": {"N": "1"},
            "Lives": {"N": str(lives)},
        }
        for n, s, lives in [("b", 200, 2), ("a", 100, 3)]
    ]
    answer = integration_response(spec, 200, {"Items": items, "Count": 2, "ScannedCount": 2}, {})
    assert answer.json() == {
        "Scoreboard": [
            {"Nickname": "b", "Score": 200, "Shots": 3, "Level": 1, "Lives": 2},
            {"Nickname": "a", "Score": 100, "Shots": 3, "Level": 1, "Lives": 3},
        ]
    }
    assert integration_response(spec, 200, {"Items": [], "Count": 0}, {}).json() == {"Scoreboard": []}
    throttled = integration_response(
        spec, 400, {"__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException"}, {}
    )
    assert (throttled.status, throttled.headers["Retry-After"]) == (429, "1")
    malformed = integration_response(spec, 400, {"__type": "com.amazonaws.dynamodb.v20120810#ValidationException"}, {})
    assert (malformed.status, malformed.json()["errorCode"]) == (400, "InvalidParameter")
    down = integration_response(spec, 500, {"__type": "InternalServerError"}, {})
    assert (down.status, down.json()["errorCode"]) == (503, "Unavailable")


def test_session_answer_is_the_document_itself(paths):
    spec = integration(paths, "/v1/session", "get")
    assert json.loads(render(spec["requestTemplates"]["application/json"])) == {"Name": "/t/session"}
    document = {
        "SessionId": "S1",
        "GameType": "SINGLE_TRIAL",
        "Synchronized": True,
        "TotalSeats": 200,
        "OpeningTime": "2026-11-26T22:15:00.000Z",
    }
    answer = integration_response(
        spec, 200, {"Parameter": {"Name": "/t/session", "Value": json.dumps(document)}}, {}
    )
    assert answer.json() == document
    none = integration_response(spec, 200, {"Parameter": {"Name": "/t/session", "Value": "null"}}, {})
    assert none.json() is None


def test_config_is_answered_by_api_gateway_with_the_ssm_parameters_values(paths):
    """A mock integration: no SSM read per request. Its values are the stack's SSM parameters', the names
    the contract lists (test_aws_template checks them against the parameters the stack creates)."""
    spec = integration(paths, "/v1/config", "get")
    assert spec["type"] == "mock" and "credentials" not in spec
    status, answer = mock_call(render(spec["requestTemplates"]["application/json"]))
    assert status == 200
    parameters = integration_response(spec, status, answer, {}).json()["Parameters"]
    assert parameters == sorted(parameters, key=lambda p: p["Name"])  # GetParameters' order: by name
    assert {p["Name"]: p["Value"] for p in parameters} == {
        "/t/auth": "cognito",
        "/t/clientid": "client1",
        "/t/identitypoolid": "us-east-1:identities",
        "/t/region": "us-east-1",
        "/t/userpoolid": "us-east-1_pool",
        "/t/userpoolurl": "cognito-idp.us-east-1.amazonaws.com/us-east-1_pool",
        "/t/websocketurl": "wss://ws123.execute-api.us-east-1.amazonaws.com/t",
    }


@pytest.mark.parametrize(
    "kind", sorted(load_template()["Resources"]["Api"]["Properties"]["GatewayResponses"])
)
def test_gateway_responses_have_the_contracts_error_shape(kind):
    answer = gateway_response(kind, 'Invalid request body: "Score" too "big"')
    body = answer.json()
    assert set(body) == ERROR_KEYS and body["errorCode"]
    expected = {
        "UNAUTHORIZED": 401,
        "ACCESS_DENIED": 403,
        "BAD_REQUEST_BODY": 422,
        "THROTTLED": 429,
        "UNSUPPORTED_MEDIA_TYPE": 415,
        "MISSING_AUTHENTICATION_TOKEN": 404,
    }
    if kind in expected:
        assert answer.status == expected[kind]
    if kind == "THROTTLED":
        assert answer.headers["Retry-After"] == "1"
