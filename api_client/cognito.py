"""Sign-in against an Amazon Cognito user pool through pycognito (SRP), off the event loop.

pycognito is synchronous (boto3), so every call runs in a worker thread. Cognito's error codes become
the client's own errors so callers handle one hierarchy whatever the backend.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from .errors import ApiError, make_error
from .models import AuthenticationResult, SignUpResult

# Cognito error code -> HTTP-like status of the client's hierarchy.
_STATUS_OF = {
    "NotAuthorizedException": 401,
    "UserNotFoundException": 401,
    "UserNotConfirmedException": 403,
    "PasswordResetRequiredException": 403,
    "UsernameExistsException": 409,
    "AliasExistsException": 409,
    "CodeMismatchException": 422,
    "ExpiredCodeException": 422,
    "InvalidPasswordException": 422,
    "InvalidParameterException": 400,
    "TooManyRequestsException": 429,
    "TooManyFailedAttemptsException": 429,
    "LimitExceededException": 429,
    "CodeDeliveryFailureException": 503,
}


def _cognito_factory(user_pool_id: str, client_id: str, region: str | None, username: str | None) -> Any:
    from pycognito import Cognito  # imported late: boto3 costs ~0.3 s to import and local runs never need it

    return Cognito(user_pool_id, client_id, user_pool_region=region, username=username)


def _as_api_error(exc: Exception) -> ApiError | None:
    response = getattr(exc, "response", None)  # botocore.exceptions.ClientError
    if not isinstance(response, dict) or "Error" not in response:
        return None
    code = str(response["Error"].get("Code", "CognitoError"))
    message = str(response["Error"].get("Message", code))
    status = _STATUS_OF.get(code) or int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400))
    return make_error(status, code, message)


class CognitoSignIn:
    def __init__(
        self,
        user_pool_id: str,
        client_id: str,
        region: str | None = None,
        *,
        factory: Callable[[str, str, str | None, str | None], Any] = _cognito_factory,
    ) -> None:
        self.user_pool_id = user_pool_id
        self.client_id = client_id
        self.region = region
        self._factory = factory

    async def _call(self, username: str, work: Callable[[Any], Any]) -> Any:
        def run() -> Any:
            user = self._factory(self.user_pool_id, self.client_id, self.region, username)
            try:
                return work(user)
            except Exception as exc:
                error = _as_api_error(exc)
                if error is None:
                    raise
                raise error from exc

        return await asyncio.to_thread(run)

    async def sign_up(self, username: str, password: str, email: str | None) -> SignUpResult:
        def work(user: Any) -> Any:
            if email:
                user.set_base_attributes(email=email)
            return user.register(username, password)

        answer = await self._call(username, work)
        return SignUpResult.model_validate(answer if isinstance(answer, dict) else {})

    async def confirm_sign_up(self, username: str, code: str) -> None:
        await self._call(username, lambda user: user.confirm_sign_up(code, username=username))

    async def sign_in(self, username: str, password: str) -> AuthenticationResult:
        def work(user: Any) -> AuthenticationResult:
            user.authenticate(password=password)
            return _result_of(user)

        return await self._call(username, work)

    async def refresh(self, username: str, refresh_token: str) -> AuthenticationResult:
        def work(user: Any) -> AuthenticationResult:
            user.refresh_token = refresh_token
            user.renew_access_token()
            return _result_of(user)

        return await self._call(username, work)

    async def forgot_password(self, username: str) -> None:
        await self._call(username, lambda user: user.initiate_forgot_password())

    async def confirm_forgot_password(self, username: str, code: str, new_password: str) -> None:
        await self._call(username, lambda user: user.confirm_forgot_password(code, new_password))


def _result_of(user: Any) -> AuthenticationResult:
    return AuthenticationResult(
        IdToken=user.id_token,
        AccessToken=user.access_token or "",
        RefreshToken=user.refresh_token,
        TokenType=user.token_type or "Bearer",
    )
