"""A forgotten password can be reset: the pool verifies the e-mail address a player gives (by the sign-up code,
or by the pre sign-up trigger when it confirms the player at once), and ForgotPassword needs a verified one.

Cognito refuses ForgotPassword "if neither a verified phone number nor a verified email exists"
(https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_ForgotPassword.html); moto
does not, so `aws_cognito.VerifiedRecovery` (every `MotoWorld`) does. Before this, the pool had no
`AutoVerifiedAttributes` and the trigger set only `autoConfirmUser`: no address was ever verified.
"""

from __future__ import annotations

import pytest
from aws_cognito import CognitoTriggers
from aws_gateway import LambdaContext, load_template
from aws_world import MotoWorld, unique
from botocore.exceptions import ClientError

from spaceinvaders_backend.aws.handlers import cognito_triggers

PASSWORD = "password1"
POLICY = {"PasswordPolicy": {"MinimumLength": 6, "RequireUppercase": False, "RequireLowercase": False,
                             "RequireNumbers": False, "RequireSymbols": False}}


@pytest.fixture(scope="module")
def world():
    with MotoWorld("recovery") as world:
        yield world


def sign_up_event(attributes: dict) -> dict:
    return {
        "version": "1", "triggerSource": "PreSignUp_SignUp", "region": "us-east-1", "userPoolId": "us-east-1_pool",
        "userName": "alice", "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": "client1"},
        "request": {"userAttributes": attributes, "validationData": None},
        "response": {"autoConfirmUser": False, "autoVerifyEmail": False, "autoVerifyPhone": False},
    }


def test_pre_sign_up_verifies_the_address_of_a_player_it_confirms():
    answer = cognito_triggers.handler(sign_up_event({"email": "alice@example.com"}), LambdaContext())
    assert answer["response"]["autoConfirmUser"] is True and answer["response"]["autoVerifyEmail"] is True
    # without an address there is nothing to verify (Cognito refuses autoVerifyEmail without one)
    answer = cognito_triggers.handler(sign_up_event({}), LambdaContext())
    assert answer["response"]["autoConfirmUser"] is True and answer["response"]["autoVerifyEmail"] is False


def test_the_pool_sends_sign_up_codes_to_the_address_and_recovers_by_it():
    pool = load_template()["Resources"]["UserPool"]["Properties"]
    assert pool["AutoVerifiedAttributes"] == ["email"]
    assert pool["AccountRecoverySetting"]["RecoveryMechanisms"] == [{"Name": "verified_email", "Priority": 1}]


def test_the_test_stack_pool_is_the_templates(world):
    described = world.idp.describe_user_pool(UserPoolId=world.stack.user_pool_id)["UserPool"]
    assert described["AutoVerifiedAttributes"] == ["email"]
    assert described["AccountRecoverySetting"]["RecoveryMechanisms"] == [{"Name": "verified_email", "Priority": 1}]


def forgot(world: MotoWorld, name: str) -> dict:
    return world.idp.forgot_password(ClientId=world.stack.client_id, Username=name)


def sign_up(world: MotoWorld, name: str, email: bool = True) -> dict:
    attributes = [{"Name": "email", "Value": f"{name}@example.com"}] if email else []
    return world.idp.sign_up(ClientId=world.stack.client_id, Username=name, Password=PASSWORD,
                             UserAttributes=attributes)


def test_an_auto_confirmed_player_can_reset_a_forgotten_password_and_was_sent_no_code(world):
    name = unique("r")
    with CognitoTriggers(pre_sign_up=True, pre_token_generation=False):
        signed_up = sign_up(world, name)
    assert signed_up["UserConfirmed"] is True and "CodeDeliveryDetails" not in signed_up  # no code mailed
    user = world.idp.admin_get_user(UserPoolId=world.stack.user_pool_id, Username=name)
    assert {"Name": "email_verified", "Value": "true"} in user["UserAttributes"]
    delivery = forgot(world, name)["CodeDeliveryDetails"]
    assert delivery["DeliveryMedium"] == "EMAIL" and delivery["AttributeName"] == "email"
    world.idp.confirm_forgot_password(ClientId=world.stack.client_id, Username=name, ConfirmationCode="123456",
                                      Password="new-password")


def test_a_player_confirmed_by_the_mailed_code_can_reset_too(world):
    """`AutoConfirmSignUps=false`: the code goes to the address (AutoVerifiedAttributes), confirming verifies it."""
    name = unique("r")
    signed_up = sign_up(world, name)
    assert signed_up["UserConfirmed"] is False and signed_up["CodeDeliveryDetails"]["AttributeName"] == "email"
    world.idp.confirm_sign_up(ClientId=world.stack.client_id, Username=name, ConfirmationCode="123456")
    assert forgot(world, name)["CodeDeliveryDetails"]["DeliveryMedium"] == "EMAIL"


def test_a_player_without_an_address_is_refused_as_cognito_refuses(world):
    name = unique("r")
    with CognitoTriggers(pre_sign_up=True, pre_token_generation=False):
        sign_up(world, name, email=False)
    with pytest.raises(ClientError) as refused:
        forgot(world, name)
    assert refused.value.response["Error"]["Code"] == "InvalidParameterException"


def test_the_emulator_refuses_what_moto_allowed_an_unverified_address(world):
    """Main's pool (no AutoVerifiedAttributes) and trigger (autoConfirmUser alone): the address stays unverified,
    and Cognito refuses the reset; moto alone would send a code."""
    def old_trigger(event, context):
        event["response"]["autoConfirmUser"] = True
        return event

    # a second pool in the world's moto, shaped as main's
    idp = world.idp
    pool = idp.create_user_pool(PoolName="main", AutoVerifiedAttributes=[], Policies=POLICY,
                                AccountRecoverySetting={"RecoveryMechanisms": [
                                    {"Name": "verified_email", "Priority": 1}]})["UserPool"]["Id"]
    client = idp.create_user_pool_client(UserPoolId=pool, ClientName="game")["UserPoolClient"]["ClientId"]
    for name, trigger in (("confirmedbycode", None), ("autoconfirmed", old_trigger)):
        attributes = [{"Name": "email", "Value": f"{name}@example.com"}]
        if trigger is None:
            idp.sign_up(ClientId=client, Username=name, Password=PASSWORD, UserAttributes=attributes)
            idp.confirm_sign_up(ClientId=client, Username=name, ConfirmationCode="123456")
        else:
            with CognitoTriggers(pre_sign_up=True, pre_token_generation=False, handler=trigger):
                idp.sign_up(ClientId=client, Username=name, Password=PASSWORD, UserAttributes=attributes)
        with pytest.raises(ClientError) as refused:
            idp.forgot_password(ClientId=client, Username=name)
        assert refused.value.response["Error"]["Code"] == "InvalidParameterException", name
        assert "verified" in refused.value.response["Error"]["Message"]


def test_auto_verify_without_an_address_refuses_the_sign_up_as_cognito_does(world):
    def verify_always(event, context):
        event["response"].update(autoConfirmUser=True, autoVerifyEmail=True)
        return event

    with CognitoTriggers(pre_sign_up=True, pre_token_generation=False, handler=verify_always), \
            pytest.raises(ClientError) as refused:
        sign_up(world, unique("r"), email=False)
    assert refused.value.response["Error"]["Code"] == "UserLambdaValidationException"
