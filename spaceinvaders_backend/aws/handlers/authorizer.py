"""The WebSocket API's `$connect` authorizer: only a valid ID token of the user pool may connect.

Its answer passes the username and groups to the routes (`requestContext.authorizer`), where `start`
checks the Manager group.
"""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger

from ..caller import parse_groups
from ..config import SERVICE
from ..tokens import CognitoTokens, InvalidToken

logger = Logger(service=SERVICE)
_verifiers: dict[tuple[str, str, str], CognitoTokens] = {}


def _verifier() -> CognitoTokens:
    key = (os.environ["AWS_REGION"], os.environ["USER_POOL_ID"], os.environ["USER_POOL_CLIENT_ID"])
    if key not in _verifiers:
        _verifiers[key] = CognitoTokens(*key)
    return _verifiers[key]


@logger.inject_lambda_context
def handler(event: dict, context) -> dict:
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    try:
        claims = _verifier().claims(headers.get("authorization", ""))
    except InvalidToken as exc:
        logger.info("connection refused", extra={"reason": str(exc)})
        raise Exception("Unauthorized") from None  # noqa: TRY002 - API Gateway answers 401 for exactly this
    username = claims["cognito:username"]
    return {
        "principalId": username,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": event["methodArn"]}
            ],
        },
        "context": {
            "username": username,
            "groups": ",".join(sorted(parse_groups(claims.get("cognito:groups")))),
        },
    }
