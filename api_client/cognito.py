"""Sign-in against an Amazon Cognito user pool through pycognito (SRP), off the event loop.

pycognito is synchronous (boto3, requests), so every call runs in a worker thread. Whatever it raises
becomes the client's own errors, so callers handle one hierarchy whatever the backend: Cognito's error
codes map to statuses, an unreachable Cognito or key set to `APIConnectionError`, a token that fails
verification to `AuthenticationError`.

pycognito checks every token it receives against the pool's key set, fetched from
`https://cognito-idp.<region>.amazonaws.com/<pool id>/.well-known/jwks.json`, or read from the
`COGNITO_JWKS` environment variable (the key set's JSON) when that is set: tests give it moto's.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable
from typing import Any

from .core import DEFAULT_TIMEOUT
from .errors import (
    APIConnectionError,
    APITimeoutError,
    SpaceInvadersError,
    make_error,
)
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


@functools.cache
def _cognito_class() -> type:
    # Imported late: boto3 costs ~0.3 s to import and local runs never need it.
    from pycognito import Cognito
    from pycognito.exceptions import TokenVerificationException

    class VerifyingCognito(Cognito):
        def get_key(self, kid: str) -> dict[str, Any]:
            # pycognito's own raises IndexError for a key that the pool's key set does not hold.
            for key in self.get_keys().get("keys") or []:
                if key.get("kid") == kid:
                    return key
            raise TokenVerificationException(f"the user pool's key set holds no key {kid!r}")

    return VerifyingCognito


@functools.cache
def _boto_session() -> Any:
    import boto3

    return boto3.session.Session()  # our own: other code's use of boto3's default session stays apart


# A boto3 session is not thread-safe, and sign-ins run in worker threads (200 bots sign in at once):
# clients are made one at a time; the calls they then make may overlap.
_MAKING_CLIENTS = threading.Lock()


def _cognito_factory(user_pool_id: str, client_id: str, region: str | None, username: str | None) -> Any:
    from botocore.config import Config

    # The API's own timeouts; retries as botocore's configuration says (standard mode: 3 attempts).
    timeouts = Config(connect_timeout=DEFAULT_TIMEOUT.connect, read_timeout=DEFAULT_TIMEOUT.read)
    with _MAKING_CLIENTS:
        return _cognito_class()(
            user_pool_id,
            client_id,
            user_pool_region=region,
            username=username,
            botocore_config=timeouts,
            session=_boto_session(),
        )


def _as_api_error(exc: Exception) -> SpaceInvadersError | None:
    """The client's error for what pycognito, botocore, requests or PyJWT raised; None for anything else."""
    import jwt
    import requests
    from botocore import exceptions as boto
    from pycognito.exceptions import WarrantException

    message = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, boto.ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "CognitoError"))
        status = _STATUS_OF.get(code) or int(
            exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400)
        )
        return make_error(status, code, str(error.get("Message", code)))
    # Cognito unreachable: before anything was sent, any call may be tried again.
    if isinstance(exc, boto.ConnectTimeoutError):
        return APITimeoutError(message, sent=False)
    if isinstance(exc, boto.ConnectionError):  # EndpointConnectionError, SSL and proxy failures
        return APIConnectionError(message, sent=False)
    if isinstance(exc, boto.ReadTimeoutError):
        return APITimeoutError(message)
    if isinstance(exc, boto.HTTPClientError):
        return APIConnectionError(message)
    if isinstance(exc, boto.ParamValidationError):  # e.g. an empty username, refused before sending
        return make_error(400, "InvalidParameterException", str(exc))
    # The pool's key set could not be fetched.
    if isinstance(exc, requests.Timeout):
        return APITimeoutError(message)
    if isinstance(exc, requests.RequestException):
        return APIConnectionError(message)
    # A token that fails verification, or a challenge this client does not answer (MFA, new password).
    if isinstance(exc, (WarrantException, jwt.PyJWTError)):
        return make_error(401, type(exc).__name__, str(exc))
    return None


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

    async def delete_account(self, username: str, access_token: str) -> None:
        """The signed-in user deletes their own account: Cognito's `DeleteUser`, authorized by the user's
        access token alone (no administrator's right)."""

        def work(user: Any) -> None:
            user.access_token = access_token
            user.delete_user()

        await self._call(username, work)

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
