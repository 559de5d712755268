"""Sign-in: the backends (local `/auth/*` or Amazon Cognito) and the token keeper the client asks for tokens."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from .core import ApiCore
from .errors import AuthenticationError, AuthUnsupportedError
from .models import AuthenticationResult, SignUpResult
from .retry import Safety
from .tokens import Tokens, TokenStore

log = logging.getLogger(__name__)


class SignInBackend(Protocol):
    async def sign_up(self, username: str, password: str, email: str | None) -> SignUpResult: ...
    async def confirm_sign_up(self, username: str, code: str) -> None: ...
    async def sign_in(self, username: str, password: str) -> AuthenticationResult: ...
    async def refresh(self, username: str, refresh_token: str) -> AuthenticationResult: ...
    async def forgot_password(self, username: str) -> None: ...
    async def confirm_forgot_password(self, username: str, code: str, new_password: str) -> None: ...


class LocalSignIn:
    """The local server's `/auth/*` paths."""

    def __init__(self, core: ApiCore) -> None:
        self._core = core

    async def _post(self, path: str, body: dict[str, Any]) -> Any:
        return (await self._core.request("POST", path, json_body=body, safety=Safety.UNSAFE)).data

    async def sign_up(self, username: str, password: str, email: str | None) -> SignUpResult:
        body = {"Username": username, "Password": password}
        if email:
            body["Email"] = email
        answer = await self._post("/auth/signup", body)
        return SignUpResult.model_validate(answer if isinstance(answer, dict) else {})

    async def confirm_sign_up(self, username: str, code: str) -> None:
        return None  # local sign-ups are confirmed at once

    async def sign_in(self, username: str, password: str) -> AuthenticationResult:
        answer = await self._post("/auth/signin", {"Username": username, "Password": password})
        return AuthenticationResult.model_validate(answer)

    async def refresh(self, username: str, refresh_token: str) -> AuthenticationResult:
        return AuthenticationResult.model_validate(
            await self._post("/auth/refresh", {"RefreshToken": refresh_token})
        )

    async def forgot_password(self, username: str) -> None:
        raise AuthUnsupportedError("the local server has no password reset; ask its operator")

    async def confirm_forgot_password(self, username: str, code: str, new_password: str) -> None:
        raise AuthUnsupportedError("the local server has no password reset; ask its operator")


class Auth:
    """Keeps one user's tokens: signs in, refreshes before expiry, re-signs once on a 401, persists them."""

    def __init__(
        self,
        backend: SignInBackend,
        *,
        base_url: str,
        store: TokenStore | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.backend = backend
        self.base_url = base_url
        self.store = store
        self._clock = clock
        self.tokens: Tokens | None = None
        self.username: str | None = None
        self._password: str | None = None  # in memory only, for the one fresh sign-in after a 401
        self._lock = asyncio.Lock()

    @property
    def groups(self) -> frozenset[str]:
        return self.tokens.groups if self.tokens else frozenset()

    def resume(self, username: str | None = None) -> bool:
        """Load tokens kept by an earlier run; True when there were some."""
        if self.store is None:
            return False
        tokens = self.store.load(self.base_url, username)
        if tokens is None:
            return False
        self.tokens = tokens
        self.username = tokens.username or username
        return True

    async def sign_up(self, username: str, password: str, email: str | None = None) -> SignUpResult:
        return await self.backend.sign_up(username, password, email)

    async def confirm_sign_up(self, username: str, code: str) -> None:
        await self.backend.confirm_sign_up(username, code)

    async def forgot_password(self, username: str) -> None:
        await self.backend.forgot_password(username)

    async def confirm_forgot_password(self, username: str, code: str, new_password: str) -> None:
        await self.backend.confirm_forgot_password(username, code, new_password)

    async def sign_in(self, username: str, password: str) -> Tokens:
        async with self._lock:
            result = await self.backend.sign_in(username, password)
            tokens = Tokens.from_result(result, now=self._clock())
            # The account's own name (the token's cognito:username), not the one typed: a pool matches names
            # in any case, and servers compare bodies' names with the token's.
            self.username, self._password = tokens.username or username, password
            return self._keep(tokens)

    def sign_out(self) -> None:
        if self.store is not None and self.username is not None:
            self.store.forget(self.base_url, self.username)
        self.tokens = self.username = self._password = None

    async def token(self) -> str | None:
        tokens = self.tokens
        if tokens is None:
            return None
        if tokens.needs_refresh(self._clock()):
            async with self._lock:
                if self.tokens is tokens:  # nobody refreshed while we waited for the lock
                    await self._renew(tokens)
        return self.tokens.id_token if self.tokens else None

    async def on_unauthorized(self, rejected: str) -> bool:
        async with self._lock:
            if self.tokens is not None and self.tokens.id_token != rejected:
                return True  # another call already got a new token
            if self.tokens is None:
                return False
            try:
                await self._renew(self.tokens, force_password=True)
            except AuthenticationError:
                return False
            return True

    async def _renew(self, tokens: Tokens, *, force_password: bool = False) -> None:
        """Refresh, or sign in again with the remembered password when refreshing is refused."""
        if tokens.refresh_token and self.username and not (force_password and self._password):
            try:
                result = await self.backend.refresh(self.username, tokens.refresh_token)
                self._keep(
                    Tokens.from_result(result, previous_refresh=tokens.refresh_token, now=self._clock())
                )
                return
            except AuthenticationError:
                log.info("refresh refused for %s; signing in again", self.username)
        if self.username and self._password:
            result = await self.backend.sign_in(self.username, self._password)
            self._keep(Tokens.from_result(result, now=self._clock()))
            return
        raise AuthenticationError(401, "TokenExpired", "the session expired; sign in again")

    def _keep(self, tokens: Tokens) -> Tokens:
        self.tokens = tokens
        if self.store is not None and self.username:
            self.store.save(self.base_url, self.username, tokens)
        return tokens
