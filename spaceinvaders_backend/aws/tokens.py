"""Cognito ID tokens checked the way API Gateway's Cognito authorizer checks them, for the WebSocket API
(whose authorizer is ours): RS256 signature by a key of the pool's JWKS, issuer, audience, expiry,
`id` use."""

from __future__ import annotations

import threading
from typing import Any

import jwt
import requests

JWKS_TIMEOUT_SECONDS = 3.0


class InvalidToken(Exception):
    pass


class CognitoTokens:
    def __init__(self, region: str, user_pool_id: str, client_id: str) -> None:
        self.issuer = f"https://cognito-idp.{region}.amazonaws.com/{user_pool_id}"
        self.client_id = client_id
        self._keys: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _fetch_keys(self) -> None:
        try:
            answer = requests.get(f"{self.issuer}/.well-known/jwks.json", timeout=JWKS_TIMEOUT_SECONDS)
            answer.raise_for_status()
            keys = {k["kid"]: jwt.PyJWK(k).key for k in answer.json()["keys"]}
        except (requests.RequestException, ValueError, KeyError, jwt.PyJWKError) as exc:
            raise InvalidToken(f"the pool's keys are unavailable: {exc}") from exc
        with self._lock:
            self._keys = keys

    def _key(self, kid: str) -> Any:
        if kid not in self._keys:
            self._fetch_keys()  # first use, or the pool rotated its keys
        try:
            return self._keys[kid]
        except KeyError:
            raise InvalidToken("signed by an unknown key") from None

    def claims(self, token: str) -> dict[str, Any]:
        token = token.removeprefix("Bearer ").strip()
        try:
            kid = jwt.get_unverified_header(token).get("kid", "")
            claims = jwt.decode(
                token,
                self._key(kid),
                algorithms=["RS256"],
                audience=self.client_id,
                issuer=self.issuer,
                options={"require": ["exp", "iat", "token_use"]},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from exc
        if claims.get("token_use") != "id":
            raise InvalidToken("not an ID token")
        return claims
