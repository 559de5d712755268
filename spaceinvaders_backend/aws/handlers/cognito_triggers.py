"""Cognito triggers: pre sign-up confirms players at once (when the stack says so) and verifies the e-mail
address they gave (so a forgotten password can be reset), post-confirmation puts
every new user in the Gamer group, pre token generation puts Gamer in every token.

Why the last one: Cognito documents post-confirmation for a user confirmed by ConfirmSignUp,
AdminConfirmSignUp or a forgotten-password confirmation, not for one the pre sign-up trigger confirms
(`autoConfirmUser`), nor for one an administrator creates
(https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-lambda-post-confirmation.html). So
membership alone could leave a player without Gamer, and every `/updatestatus` refused. Pre token
generation runs for every sign-in and refresh
(https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-lambda-pre-token-generation.html);
its group override replaces `cognito:groups` in the ID and access tokens, so it copies the user's groups,
roles and preferred role and adds Gamer. Managers are added to Manager by the operator, never here.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from ..config import SERVICE, client

logger = Logger(service=SERVICE)
GAMER = "Gamer"


def with_gamer(event: dict) -> dict:
    """The pre token generation answer: the user's own group configuration, with Gamer among the groups."""
    current = event.get("request", {}).get("groupConfiguration") or {}
    if isinstance(current, list):  # the page's syntax block shows a list of one; its text and events, an object
        current = current[0] if current else {}
    groups = list(current.get("groupsToOverride") or [])
    if GAMER not in groups:
        groups.append(GAMER)
    override = {"groupsToOverride": groups, "iamRolesToOverride": list(current.get("iamRolesToOverride") or [])}
    if current.get("preferredRole"):
        override["preferredRole"] = current["preferredRole"]
    response = event.setdefault("response", {})
    details = response.get("claimsOverrideDetails") or {}
    response["claimsOverrideDetails"] = {**details, "groupOverrideDetails": override}
    return event


@logger.inject_lambda_context
def handler(event: dict, context) -> dict:
    source = event.get("triggerSource", "")
    if source == "PreSignUp_SignUp":
        event["response"]["autoConfirmUser"] = True
        # Confirmed here, the player gets no code, so the address given would stay unverified and the pool's
        # recovery (verified_email) would refuse ForgotPassword; verify it with the confirmation. Cognito
        # requires a value when autoVerifyEmail is set
        # (https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-lambda-pre-sign-up.html).
        if ((event.get("request") or {}).get("userAttributes") or {}).get("email"):
            event["response"]["autoVerifyEmail"] = True
    elif source == "PostConfirmation_ConfirmSignUp":
        try:
            client("cognito-idp").admin_add_user_to_group(
                UserPoolId=event["userPoolId"], Username=event["userName"], GroupName=GAMER
            )
        except ClientError as exc:
            # Throttled in a sign-up rush (after botocore's retries): the sign-up still succeeds, and every
            # token carries Gamer anyway (pre token generation, below).
            logger.warning("not added to the Gamer group", extra={"username": event["userName"], "error": str(exc)})
        else:
            logger.info("joined the Gamer group", extra={"username": event["userName"]})
    elif source.startswith("TokenGeneration_"):
        return with_gamer(event)
    return event
