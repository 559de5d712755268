"""`spaceinvaders-aws-check` against the emulated stack (tests/aws_deployed.py): the whole path passes and
reports each step with its time; each planted fault fails the step it should, with its guidance, and a
non-zero exit; the check's account is gone afterwards, and a live session is never touched."""

from __future__ import annotations

import asyncio
import copy
import io
import re
from collections import Counter

import boto3
import botocore.exceptions
import pytest
from aws_calls import CallRecorder
from aws_cognito import CognitoTriggers
from aws_deployed import DeployedStack
from aws_firehose import DeliveryStream
from aws_gateway import RestApi, load_template
from aws_world import FUNCTIONS, unique
from moto.awslambda_simple.models import LambdaSimpleBackend

from api_client import cognito
from spaceinvaders_awscheck.check import PATH, DeployCheck, Options, run
from spaceinvaders_awscheck.cli import main
from spaceinvaders_awscheck.report import Report

STEP = re.compile(r"^(ok|FAIL|skip|later)\s+(\S+(?: account)?)\s+(?:(\d+) ms)?", re.MULTILINE)


@pytest.fixture(scope="module")
def delivery(world) -> DeliveryStream:
    return DeliveryStream(world.stack)


def steps(out: str) -> dict[str, str]:
    return {name: status for status, name, _ in STEP.findall(out)}


def check(stack: DeployedStack, **options) -> tuple[int, str]:
    """The check run in this process (short waits), against the stack served on 127.0.0.1."""
    out = io.StringIO()
    defaults = {"board_within": 1.0, "push_within": 1.0, "countdown": 0.2, "archive_poll": 0.1}
    code = run(Options(api_url=stack.base_url, env=stack.world.env, **{**defaults, **options}), Report(out))
    return code, out.getvalue()


def users(world) -> list[str]:
    return [u["Username"] for u in world.idp.list_users(UserPoolId=world.stack.user_pool_id)["Users"]]


def check_accounts_gone(world) -> None:
    assert not [name for name in users(world) if name.startswith("aws-check-")]


def recording_boto3_sessions(monkeypatch) -> CallRecorder:
    """Every call made through a boto3 session made from now on (the check's manager side)."""
    recorder, real = CallRecorder(), boto3.Session

    def session(*args, **kw):
        made = real(*args, **kw)
        recorder.attach(made)
        return made

    monkeypatch.setattr(boto3, "Session", session)
    return recorder


def test_the_whole_check_passes_and_times_each_step(world, delivery, manager, capsys, monkeypatch):
    cognito_calls = CallRecorder()
    cognito_calls.attach(cognito._boto_session())  # the session api_client's sign-in (pycognito) works with
    manager_calls = recording_boto3_sessions(monkeypatch)
    try:
        with DeployedStack(world, delivery) as stack:
            # Bounds wider than AWS's targets: the emulation shares two loaded cores with the rest of the suite.
            code = main(["--api", stack.base_url, "--env", world.env, "--wait-archive", "10", "--board-within", "5"])
    finally:
        cognito._boto_session().events.unregister("before-parameter-build.*.*",
                                                   unique_id=f"call-recorder-{id(cognito_calls)}")
    out = capsys.readouterr().out
    print(out)
    assert code == 0, out
    assert steps(out) == {name: "ok" for name in (*PATH, "close", "archive", "remove account")}
    for name, ms in re.findall(r"^ok\s+(\S+(?: account)?)\s+(\d+) ms", out, re.MULTILINE):
        assert 0 <= int(ms) < 10_000, name
    assert "PASSED" in out and not stack.errors
    session = manager.current()
    assert session["SessionId"].startswith("aws-check-") and session["Status"] == "CLOSED"
    assert f"the session {session['SessionId']} in the sessions' history" in out
    check_accounts_gone(world)
    # What it costs (docs/aws.md, "Check a deploy"): four Cognito calls, an SRP sign-in being two; a handful
    # of the manager's calls; a few requests of the REST API.
    assert Counter(c.operation for c in cognito_calls.calls if c.service == "cognito-idp") == Counter(
        ["SignUp", "InitiateAuth", "RespondToAuthChallenge", "DeleteUser"])
    made = Counter(f"{c.service}:{c.operation}" for c in manager_calls.calls)
    assert made["ssm:GetParameter"] == 1 and made["ssm:PutParameter"] == 3 and made["lambda:Invoke"] == 1
    assert sum(n for call, n in made.items() if call.startswith("dynamodb:")) <= 12, made
    paths = Counter(path.rsplit("/", 1)[-1] for _, path, _ in stack.stage.requests)
    assert paths["config"] == paths["allocate"] == paths["updatestatus"] == 1 and 1 <= paths["scoreboard"] <= 9


def planted_api(world, edit) -> RestApi:
    """The world's REST API deployed from a template that `edit` changed (a fault planted in the stack)."""
    template = copy.deepcopy(load_template())
    edit(template["Resources"]["Api"]["Properties"]["DefinitionBody"]["paths"])
    return RestApi(world.stack, FUNCTIONS, template)


def config_without_websocket(paths: dict) -> None:
    responses = paths["/v1/config"]["get"]["x-amazon-apigateway-integration"]["responses"]["default"]
    text = responses["responseTemplates"]["application/json"]
    text["Fn::Sub"], found = re.subn(r',\s*\{"Name": "/\$\{Env\}/websocketurl", "Value": "[^"]*"\}', "", text["Fn::Sub"])
    assert found == 1


def claims_as_a_map(paths: dict) -> None:
    """Issue 15's first finding put back: the claims read as a whole map, which API Gateway makes null."""
    templates = paths["/v1/updatestatus"]["post"]["x-amazon-apigateway-integration"]["requestTemplates"]
    text = templates["application/json"]
    text = text if isinstance(text, str) else text["Fn::Sub"]
    planted = text.replace("$!context.authorizer.claims['cognito:username']", "$!claims['cognito:username']")
    planted = "#set($claims = $context.authorizer.claims)\n" + planted
    assert planted != text
    if isinstance(templates["application/json"], str):
        templates["application/json"] = planted
    else:
        templates["application/json"]["Fn::Sub"] = planted


def failure(out: str, step: str) -> str:
    """The failed step's line and its 'look at' lines."""
    match = re.search(rf"^FAIL\s+{step}\s.*?(?=^\S|\Z)", out, re.MULTILINE | re.DOTALL)
    assert match, out
    return match.group(0)


@pytest.mark.parametrize(
    ("fault", "failed", "guidance", "later_steps"),
    [
        ("config without websocketurl", "config", ["names no websocketurl", "mock integration of GET /v1/config"], "skip"),
        ("sign-ups not confirmed", "sign-up", ["UserConfirmed false", "AutoConfirmSignUps"], "skip"),
        ("no Gamer in the token", "sign-in", ["groups are none", "pre token generation trigger",
                                             "/aws/lambda/spaceinvaders-testawscheck-cognito-triggers"], "skip"),
        ("claims read as a map", "post", ["403", "mapping template", "cognito:groups"], "skip"),
        ("no push", "push", ["no start pushed within 1 s", "execute-api:ManageConnections", "$connect authorizer",
                             "spaceinvaders-testawscheck-Connections"], "ok"),
        ("board never updated", "board", ["not on /scoreboard 1 s after", "list-event-source-mappings",
                                          "--stream-name spaceinvaders-testawscheck-status",
                                          "/aws/lambda/spaceinvaders-testawscheck-scoreboard"], "ok"),
    ],
)
def test_a_planted_fault_fails_its_step_with_guidance(world, delivery, manager, monkeypatch, fault, failed, guidance,
                                                      later_steps):
    options = {
        "config without websocketurl": {"api": planted_api(world, config_without_websocket)},
        "sign-ups not confirmed": {"pre_sign_up": False},
        "no Gamer in the token": {"pre_token_generation": False},
        "claims read as a map": {"api": planted_api(world, claims_as_a_map)},
        "board never updated": {"stream_mapping": False},
    }.get(fault, {})
    if fault == "no push":  # the start function is invoked but pushes nothing (e.g. no right to)
        monkeypatch.setattr(LambdaSimpleBackend, "invoke", lambda *a, **kw: b"")
    with DeployedStack(world, delivery, **options) as stack:
        code, out = check(stack)
    print(out)
    assert code == 1
    reported = steps(out)
    assert reported[failed] == "FAIL" and "FAILED:" in out
    block = failure(out, failed)
    for words in guidance:
        assert words in block, (words, block)
    after = [name for name in PATH[PATH.index(failed) + 1:] if name in reported]
    if later_steps == "skip":  # a required step: the path stops there
        assert {reported[name] for name in after} <= {"skip"}
    else:  # the push and the board do not stop the path; the archive, not waited for, says where and when
        assert reported["close"] == "ok"
        line = next(line for line in out.splitlines() if line.startswith("later archive"))
        assert re.search(r"look at s3://spaceinvaders-testawscheck-archive/sessions/aws-check-\d{6}T\d{6}(-\d+)?/ after "
                         r"\d\d:\d\d:\d\d UTC", line), line
    if reported.get("open") == "ok":
        assert reported["close"] == "ok" and manager.current()["Status"] == "CLOSED"
    if reported.get("sign-up") in ("ok", "FAIL"):
        assert reported["remove account"] == "ok"
    check_accounts_gone(world)


def test_a_live_session_is_never_touched(world, delivery, manager):
    live = manager.reopen(unique("EVENT"), "MULTIPLE_TRIALS")["SessionId"]
    before = users(world)
    with DeployedStack(world, delivery) as stack:
        code, out = check(stack)
    print(out)
    assert code == 1
    refusal = failure(out, "stack")
    assert f"session {live} is open" in refusal and "manager console" in refusal
    assert "your AWS credentials" not in refusal  # the one reason, not the step's usual hints
    assert manager.current()["SessionId"] == live and manager.current()["Status"] == "OPEN"
    assert users(world) == before  # nothing was created: no account, no session
    assert "sign-up" in steps(out) and steps(out)["sign-up"] == "skip" and "Left behind" not in out
    manager.close()


# --- the Cognito that moto lacks (tests/aws_cognito.py), as strict as AWS documents it --------------------


def test_delete_user_takes_only_a_live_access_token(world, delivery):
    with DeployedStack(world, delivery):
        name, _ = world.user()
        tokens = world.idp.admin_initiate_auth(
            UserPoolId=world.stack.user_pool_id, ClientId=world.stack.client_id, AuthFlow="ADMIN_USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": name, "PASSWORD": "correct-horse"})["AuthenticationResult"]
        for wrong in ("not-a-token", tokens["IdToken"]):  # an ID token is no access token
            with pytest.raises(world.idp.exceptions.NotAuthorizedException):
                world.idp.delete_user(AccessToken=wrong)
        world.idp.delete_user(AccessToken=tokens["AccessToken"])
        assert name not in users(world)
        with pytest.raises(world.idp.exceptions.NotAuthorizedException):  # revoked with the user
            world.idp.delete_user(AccessToken=tokens["AccessToken"])


def test_a_failing_pre_sign_up_trigger_refuses_the_sign_up_and_creates_nobody(world):
    def broken(event, context):
        raise RuntimeError("boom")

    with CognitoTriggers(handler=broken), pytest.raises(botocore.exceptions.ClientError) as refused:
        world.idp.sign_up(ClientId=world.stack.client_id, Username="nobody1", Password="correct-horse")
    assert refused.value.response["Error"]["Code"] == "UserLambdaValidationException"
    assert "nobody1" not in users(world)
    with CognitoTriggers(pre_sign_up=False, pre_token_generation=False):  # a pool without triggers: moto's own
        assert world.idp.sign_up(ClientId=world.stack.client_id, Username="nobody2",
                                 Password="correct-horse")["UserConfirmed"] is False


@pytest.mark.parametrize("argv", [[], ["--api", "https://x/prod/v1"], ["--api", "u", "--env", "e", "--board-within", "-1"],
                                  ["--api", "u", "--env", "e", "--wait-archive", "901"]])
def test_a_wrong_command_is_refused_with_status_2(argv, capsys):
    with pytest.raises(SystemExit) as refused:
        main(argv)
    assert refused.value.code == 2 and "spaceinvaders-aws-check" in capsys.readouterr().err


async def test_interrupted_it_still_closes_its_session_and_removes_its_account(world, delivery, manager):
    """Ctrl+C cancels the check's task (asyncio.run does): what it made is still cleaned up."""
    with DeployedStack(world, delivery) as stack:
        out = io.StringIO()
        options = Options(api_url=stack.base_url, env=world.env, countdown=0.2, board_within=1.0, push_within=1.0)
        check = DeployCheck(options, Report(out))
        running = asyncio.create_task(check.run())
        for _ in range(400):  # until the seat is taken (bounded: 20 s)
            if "allocate" in steps(out.getvalue()) or running.done():
                break
            await asyncio.sleep(0.05)
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
    reported = steps(out.getvalue())
    assert "interrupted: removing what the check made" in out.getvalue() and "FAILED" in out.getvalue()
    assert reported["allocate"] == "ok" and reported["close"] == "ok" and reported["remove account"] == "ok"
    assert manager.current()["SessionId"] == check.session_id and manager.current()["Status"] == "CLOSED"
    check_accounts_gone(world)
