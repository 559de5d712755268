"""Cognito triggers: pre sign-up confirms players at once (when the stack says so), post-confirmation puts
every new user in the Gamer group. Managers are added to Manager by the operator, never here."""

from __future__ import annotations

from aws_lambda_powertools import Logger

from ..config import SERVICE, client

logger = Logger(service=SERVICE)
GAMER = "Gamer"


@logger.inject_lambda_context
def handler(event: dict, context) -> dict:
    source = event.get("triggerSource", "")
    if source == "PreSignUp_SignUp":
        event["response"]["autoConfirmUser"] = True
    elif source == "PostConfirmation_ConfirmSignUp":
        client("cognito-idp").admin_add_user_to_group(
            UserPoolId=event["userPoolId"], Username=event["userName"], GroupName=GAMER
        )
        logger.info("joined the Gamer group", extra={"username": event["userName"]})
    return event
