"""What Amazon Cognito does for the template's user pool and moto does not: the pool's triggers run (the
template's `CognitoTriggersFunction` handler, given the events Cognito documents), and a signed-in user may
delete their own account (`DeleteUser`). `tests/aws/test_aws_check.py` checks the refusals.

    with CognitoTriggers(pre_sign_up=True, pre_token_generation=True), SelfDeletion():
        ...   # moto's cognito-idp, in this process

- Pre sign-up runs before a `SignUp` creates the user; `response.autoConfirmUser` confirms the user, and a
  trigger that raises refuses the sign-up with `UserLambdaValidationException`
  (https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-lambda-pre-sign-up.html).
- Pre token generation runs whenever tokens are made; `claimsOverrideDetails.groupOverrideDetails.
  groupsToOverride` replaces `cognito:groups` in the ID and access tokens
  (https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-lambda-pre-token-generation.html).
  Here it runs once per token (twice per sign-in); the handler answers the same each time.
- A pre sign-up answer's `autoVerifyEmail` marks the e-mail address verified (`email_verified`), and needs
  one: "If autoVerifyEmail is set to true, the email attribute must have a valid, non-null value" (same page).
  A user the trigger confirms is sent no code (`SignUp` answers no `CodeDeliveryDetails`).
- `VerifiedRecovery` (entered by every `MotoWorld`): `ForgotPassword` for a user with neither a verified
  e-mail address nor a verified phone number is refused: "If neither a verified phone number nor a verified
  email exists, Amazon Cognito responds with an InvalidParameterException error"
  (https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_ForgotPassword.html);
  moto sends a code anyway. Confirming a sign-up with the code sent to an attribute of the pool's
  `AutoVerifiedAttributes` verifies that attribute
  (https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-settings-email-phone-verification.html);
  moto confirms without verifying.
- `DeleteUser` takes the user's access token and nothing else; an unknown or revoked token, or a user that
  is gone, is `NotAuthorizedException`, and the deleted user's tokens are revoked
  (https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_DeleteUser.html).
"""

from __future__ import annotations

from typing import Any, Self

from aws_gateway import LambdaContext
from moto.cognitoidp import models
from moto.cognitoidp.exceptions import InvalidParameterException, NotAuthorizedError
from moto.cognitoidp.responses import CognitoIdpResponse
from moto.core.exceptions import JsonRESTError
from moto.core.responses import EmptyResult

from spaceinvaders_backend.aws.handlers import cognito_triggers


class UserLambdaValidationException(JsonRESTError):
    def __init__(self, message: str) -> None:
        super().__init__("UserLambdaValidationException", message)


def _event(pool: Any, source: str, username: str, client_id: str, request: dict, response: dict) -> dict:
    return {
        "version": "1", "triggerSource": source, "region": pool.region, "userPoolId": pool.id, "userName": username,
        "callerContext": {"awsSdkVersion": "aws-sdk-unknown-unknown", "clientId": client_id},
        "request": request, "response": response,
    }


class CognitoTriggers:
    """The pool's triggers, run as Cognito runs them; either may be left off (a pool without it)."""

    def __init__(self, pre_sign_up: bool = True, pre_token_generation: bool = True, handler=cognito_triggers.handler):
        self.pre_sign_up = pre_sign_up
        self.pre_token_generation = pre_token_generation
        self.handler = handler
        self._saved: list[tuple[Any, str, Any]] = []

    def __enter__(self) -> Self:
        if self.pre_sign_up:
            self._patch(models.CognitoIdpBackend, "sign_up", self._signing_up)
        if self.pre_token_generation:
            self._patch(models.CognitoIdpUserPool, "create_jwt", self._making_token)
        return self

    def __exit__(self, *exc) -> None:
        for owner, name, original in reversed(self._saved):
            setattr(owner, name, original)
        self._saved.clear()

    def _patch(self, owner: Any, name: str, wrapper: Any) -> None:
        original = getattr(owner, name)
        self._saved.append((owner, name, original))
        setattr(owner, name, lambda this, *args, **kw: wrapper(original, this, *args, **kw))

    def _signing_up(self, original, backend, client_id: str, username: str, password: str, attributes) -> Any:
        pool = next((p for p in backend.user_pools.values() if client_id in p.clients), None)
        if pool is None:
            return original(backend, client_id, username, password, attributes)
        event = _event(pool, "PreSignUp_SignUp", username, client_id,
                       {"userAttributes": {a["Name"]: a["Value"] for a in attributes or []}, "validationData": None},
                       {"autoConfirmUser": False, "autoVerifyEmail": False, "autoVerifyPhone": False})
        try:
            answer = self.handler(event, LambdaContext())
        except Exception as error:  # Cognito turns any failure of the trigger into this refusal
            raise UserLambdaValidationException(f"PreSignUp failed with error {error}.") from error
        response = answer.get("response") or {}
        given = {a["Name"]: a["Value"] for a in attributes or []}
        if response.get("autoVerifyEmail") and not given.get("email"):
            raise UserLambdaValidationException("PreSignUp failed with error autoVerifyEmail without an email.")
        user, details = original(backend, client_id, username, password, attributes)
        if response.get("autoVerifyEmail"):
            user.update_attributes([{"Name": "email_verified", "Value": "true"}])
        if response.get("autoConfirmUser"):
            user.status = models.UserStatus.CONFIRMED
            details = None  # confirmed by the trigger: no code is sent
        return user, details

    def _making_token(self, original, pool, client_id: str, username: str, token_use: str,
                      expires_in: int = 3600, extra_data: dict | None = None) -> Any:
        extra = dict(extra_data or {})
        user = pool._get_user(username)
        groups = [group.group_name for group in user.groups]
        event = _event(pool, "TokenGeneration_Authentication", user.username, client_id,
                       {"userAttributes": {a["Name"]: a["Value"] for a in user.attributes},
                        "groupConfiguration": {"groupsToOverride": groups, "iamRolesToOverride": [],
                                               "preferredRole": None}},
                       {"claimsOverrideDetails": None})
        answer = self.handler(event, LambdaContext())
        override = ((answer.get("response") or {}).get("claimsOverrideDetails") or {}).get("groupOverrideDetails")
        if override is not None:
            extra.pop("cognito:groups", None)
            if override.get("groupsToOverride"):
                extra["cognito:groups"] = list(override["groupsToOverride"])
        return original(pool, client_id, username, token_use, expires_in, extra)


def _verified(user: Any, attribute: str) -> bool:
    return bool(user.attribute_lookup.get(attribute)) and user.attribute_lookup.get(f"{attribute}_verified") == "true"


class VerifiedRecovery:
    """Cognito's rules for verified attributes that moto leaves out (see the module's docstring): a reset
    needs a verified e-mail address or phone number; confirming a sign-up verifies the auto-verified
    attribute its code went to."""

    def __enter__(self) -> Self:
        self._forgot = models.CognitoIdpBackend.forgot_password
        self._confirm = models.CognitoIdpBackend.confirm_sign_up
        forgot, confirm = self._forgot, self._confirm

        def forgot_password(backend, client_id: str, username: str) -> Any:
            pool = next((p for p in backend.user_pools.values() if client_id in p.clients), None)
            user = pool._get_user(username) if pool is not None else None
            if user is not None and not (_verified(user, "email") or _verified(user, "phone_number")):
                raise InvalidParameterException(
                    "Cannot reset password for the user as there is no registered/verified email or phone_number")
            return forgot(backend, client_id, username)

        def confirm_sign_up(backend, client_id: str, username: str) -> Any:
            answer = confirm(backend, client_id, username)
            pool = next(p for p in backend.user_pools.values() if client_id in p.clients)
            user = pool._get_user(username)
            auto_verified = pool.extended_config.get("AutoVerifiedAttributes") or []
            for attribute in ("phone_number", "email"):  # the code goes to the phone number when both are
                if attribute in auto_verified and user.attribute_lookup.get(attribute):
                    user.update_attributes([{"Name": f"{attribute}_verified", "Value": "true"}])
                    break
            return answer

        models.CognitoIdpBackend.forgot_password = forgot_password
        models.CognitoIdpBackend.confirm_sign_up = confirm_sign_up
        return self

    def __exit__(self, *exc) -> None:
        models.CognitoIdpBackend.forgot_password = self._forgot
        models.CognitoIdpBackend.confirm_sign_up = self._confirm


def _delete_user(response: CognitoIdpResponse) -> Any:
    token = response._get_param("AccessToken")
    backend = response._get_region_agnostic_backend()._find_backend_by_access_token(token)
    for pool in backend.user_pools.values():
        if token in pool.access_tokens:
            _, username = pool.access_tokens[token]
            user = pool._get_user(username)
            if user is None:
                raise NotAuthorizedError("Access Token has been revoked")
            backend.admin_delete_user(pool.id, user.username)
            for tokens in (pool.access_tokens, pool.id_tokens):
                for issued, (_, name) in list(tokens.items()):
                    if name == username:
                        del tokens[issued]
            return EmptyResult()
    raise NotAuthorizedError("Invalid Access Token")


class SelfDeletion:
    """`DeleteUser` on moto's cognito-idp (which has no such operation)."""

    def __enter__(self) -> Self:
        CognitoIdpResponse.delete_user = _delete_user  # type: ignore[attr-defined]
        return self

    def __exit__(self, *exc) -> None:
        del CognitoIdpResponse.delete_user  # type: ignore[attr-defined]
