"""AWS credentials for the Manager role: sign in to the user pool (SRP, pycognito through api_client), then
trade the ID token for the identity pool's temporary credentials. The pool ids come from the API's
`/config` (the same SSM parameters a game reads), so `--api URL` is all a manager needs besides a password.
"""
from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Any

import boto3
import botocore.config
from botocore import UNSIGNED

from api_client import ApiConfig, AuthenticationError, CognitoSignIn, SpaceInvadersError, Tokens

from . import BackendError, SignInRequired

RENEW_MARGIN = 120.0  # seconds before the credentials expire


class CognitoManagerCredentials:
    def __init__(self, config: ApiConfig, *, sign_in_backend: Any = None) -> None:
        self.region = config.region
        self.user_pool_id = config.get("userpoolid") or ""
        self.identity_pool_id = config.get("identitypoolid") or ""
        if not (self.region and self.user_pool_id and config.get("clientid") and self.identity_pool_id):
            raise BackendError("/config names no Cognito user pool, client and identity pool")
        self._cognito = sign_in_backend or CognitoSignIn(self.user_pool_id, config.get("clientid") or "",
                                                         self.region)
        self._tokens: Tokens | None = None
        self._username: str | None = None
        self._expires_at = 0.0

    @property
    def signed_in(self) -> bool:
        return self._tokens is not None

    def expiring(self) -> bool:
        return self._tokens is not None and time.time() >= self._expires_at - RENEW_MARGIN

    async def sign_in(self, username: str, password: str) -> boto3.Session:
        try:
            result = await self._cognito.sign_in(username, password)
        except SpaceInvadersError as error:
            raise SignInRequired(f"sign-in refused: {error}") from error
        tokens = Tokens.from_result(result)
        if "Manager" not in tokens.groups:
            raise SignInRequired(f"{username} is not in the Manager group")
        self._tokens, self._username = tokens, username
        return await asyncio.to_thread(self._session)

    async def renew(self) -> boto3.Session:
        if self._tokens is None or self._username is None or not self._tokens.refresh_token:
            raise SignInRequired("sign in again")
        if self._tokens.needs_refresh():
            try:
                result = await self._cognito.refresh(self._username, self._tokens.refresh_token)
            except AuthenticationError as error:
                raise SignInRequired(f"sign in again: {error}") from error
            self._tokens = Tokens.from_result(result, previous_refresh=self._tokens.refresh_token)
        return await asyncio.to_thread(self._session)

    def _session(self) -> boto3.Session:
        assert self._tokens is not None
        identity = boto3.client("cognito-identity", region_name=self.region,
                                config=botocore.config.Config(signature_version=UNSIGNED,
                                                              retries={"mode": "standard"}))
        logins = {f"cognito-idp.{self.region}.amazonaws.com/{self.user_pool_id}": self._tokens.id_token}
        identity_id = identity.get_id(IdentityPoolId=self.identity_pool_id, Logins=logins)["IdentityId"]
        credentials = identity.get_credentials_for_identity(IdentityId=identity_id, Logins=logins)["Credentials"]
        expiration = credentials.get("Expiration")
        self._expires_at = expiration.timestamp() if isinstance(expiration, datetime) else time.time() + 3600
        return boto3.Session(aws_access_key_id=credentials["AccessKeyId"],
                             aws_secret_access_key=credentials["SecretKey"],
                             aws_session_token=credentials["SessionToken"], region_name=self.region)
