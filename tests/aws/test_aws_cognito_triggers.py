"""The pre token generation trigger: every token carries Gamer, whatever confirmed the user.

Events are shaped as Cognito documents them for the trigger (V1: `request.groupConfiguration` with
`groupsToOverride`, `iamRolesToOverride`, `preferredRole`; the answer in
`response.claimsOverrideDetails.groupOverrideDetails`, which *replaces* the groups, roles and preferred
role of the tokens: https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-lambda-pre-token-generation.html).
The post-confirmation trigger runs for ConfirmSignUp, AdminConfirmSignUp and a forgotten-password
confirmation (https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-lambda-post-confirmation.html):
the pages list no flow for a user the pre sign-up trigger confirms, nor for one an administrator creates.
"""

from __future__ import annotations

import base64
import json

import pytest
from aws_gateway import LambdaContext, api_definition, render
from botocore.stub import Stubber
from test_aws_mapping import NAMES, status_body

from spaceinvaders_backend.aws import config
from spaceinvaders_backend.aws.handlers import cognito_triggers

MANAGER_ROLE = "arn:aws:iam::123456789012:role/spaceinvaders-ManagerRole"
TOKEN_SOURCES = [
    "TokenGeneration_HostedAuth",
    "TokenGeneration_Authentication",
    "TokenGeneration_NewPasswordChallenge",
    "TokenGeneration_AuthenticateDevice",
    "TokenGeneration_RefreshTokens",
]


def token_event(source: str, groups: list[str], roles: list[str] | None = None, preferred: str | None = None) -> dict:
    return {
        "version": "1",
        "triggerSource": source,
        "region": "us-east-1",
        "userPoolId": "us-east-1_pool",
        "userName": "alice",
        "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": "client1"},
        "request": {
            "userAttributes": {"sub": "s", "cognito:user_status": "CONFIRMED"},
            "groupConfiguration": {
                "groupsToOverride": groups,
                "iamRolesToOverride": roles or [],
                "preferredRole": preferred,
            },
        },
        "response": {"claimsOverrideDetails": None},
    }


@pytest.mark.parametrize("source", TOKEN_SOURCES)
def test_a_user_without_groups_gets_gamer_in_every_token(source):
    answer = cognito_triggers.handler(token_event(source, []), LambdaContext())
    details = answer["response"]["claimsOverrideDetails"]["groupOverrideDetails"]
    assert details == {"groupsToOverride": ["Gamer"], "iamRolesToOverride": []}


def test_a_manager_keeps_the_groups_roles_and_preferred_role_the_override_replaces():
    event = token_event("TokenGeneration_Authentication", ["Manager"], [MANAGER_ROLE], MANAGER_ROLE)
    details = cognito_triggers.handler(event, LambdaContext())["response"]["claimsOverrideDetails"]
    assert details["groupOverrideDetails"] == {
        "groupsToOverride": ["Manager", "Gamer"],
        "iamRolesToOverride": [MANAGER_ROLE],
        "preferredRole": MANAGER_ROLE,
    }


def test_gamer_is_not_added_twice_and_other_overrides_stay():
    event = token_event("TokenGeneration_RefreshTokens", ["Gamer"])
    event["response"]["claimsOverrideDetails"] = {"claimsToSuppress": ["email"]}
    details = cognito_triggers.handler(event, LambdaContext())["response"]["claimsOverrideDetails"]
    assert details["groupOverrideDetails"]["groupsToOverride"] == ["Gamer"]
    assert details["claimsToSuppress"] == ["email"]


def test_the_list_form_of_the_pages_syntax_block_is_read_too():
    event = token_event("TokenGeneration_Authentication", ["Manager"])
    event["request"]["groupConfiguration"] = [event["request"]["groupConfiguration"]]
    details = cognito_triggers.handler(event, LambdaContext())["response"]["claimsOverrideDetails"]
    assert details["groupOverrideDetails"]["groupsToOverride"] == ["Manager", "Gamer"]


def test_an_auto_confirmed_player_without_the_group_can_post_with_the_token_the_trigger_shapes():
    """The chain of finding 6: pre sign-up confirms, post-confirmation may not run, so the user has no
    group; the token's `cognito:groups` is the trigger's answer, and the API takes the post."""
    signup = {"triggerSource": "PreSignUp_SignUp", "userName": "alice", "response": {"autoConfirmUser": False}}
    assert cognito_triggers.handler(signup, LambdaContext())["response"]["autoConfirmUser"] is True
    groups = cognito_triggers.handler(token_event("TokenGeneration_Authentication", []), LambdaContext())
    token_groups = groups["response"]["claimsOverrideDetails"]["groupOverrideDetails"]["groupsToOverride"]

    template = api_definition(NAMES)["paths"]["/v1/updatestatus"]["post"]["x-amazon-apigateway-integration"][
        "requestTemplates"
    ]["application/json"]
    for groups_claim, allowed in ((",".join(token_groups), True), ("", False)):
        context = {"authorizer": {"claims": {"cognito:username": "alice", "cognito:groups": groups_claim}},
                   "requestTimeEpoch": 1}
        request = json.loads(render(template, body=json.dumps(status_body()), context=context))
        assert (request["PartitionKey"] == "alice") is allowed
        if allowed:
            assert json.loads(base64.b64decode(request["Data"]))["Nickname"] == "alice"


def test_a_throttled_group_join_does_not_fail_the_sign_up(world):
    """In a sign-up rush AdminAddUserToGroup can be throttled (after botocore's retries): the trigger logs it
    and the confirmation goes on; the player's tokens carry Gamer all the same."""
    event = {"triggerSource": "PostConfirmation_ConfirmSignUp", "userPoolId": world.stack.user_pool_id,
             "userName": "rush", "response": {}}
    with Stubber(config.client("cognito-idp")) as stub:
        stub.add_client_error("admin_add_user_to_group", "TooManyRequestsException", http_status_code=429)
        assert cognito_triggers.handler(event, LambdaContext()) == event
