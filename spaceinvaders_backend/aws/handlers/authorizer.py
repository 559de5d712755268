"""The WebSocket API's `$connect` authorizer: only a valid ID token of the user pool may connect.

The raw ID token travels in the upgrade request's `Authorization` header, the authorizer's identity source
(`route.request.header.Authorization`): API Gateway answers 401 without calling this function when the
header is missing or empty. Not in a query string (API Gateway's access logs and proxies record the URL,
so a token there would be written down for an hour of use), nor in `Sec-WebSocket-Protocol` (a browser
work-around our clients do not need, which would have to be echoed by the `$connect` integration).

The answer passes the token's `cognito:username`, groups and expiry (`exp`, epoch seconds) to the routes
(`requestContext.authorizer`), where `$connect` records the username and `start` checks the Manager group
only while the token has not expired (a connection outlives its token: 2 hours against 60 minutes).
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
            "expiresAt": int(claims["exp"]),
        },
    }
