"""One HTTP exchange with the API: auth header, timeouts, error mapping, retries, one re-sign-in on 401."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from .errors import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    MalformedResponseError,
    SpaceInvadersError,
    TransportError,
    make_error,
)
from .retry import DEFAULT_RETRY, RetryPolicy, Safety, scoped_policy
from .trust import FingerprintChangedError, PinMismatch, ServerTrust

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
USER_AGENT = "spaceinvaders-api-client/0.1"


class TokenSource(Protocol):
    async def token(self) -> str | None:
        """A token fresh enough to send, or None when signed out."""

    async def on_unauthorized(self, rejected: str) -> bool:
        """After a 401 for `rejected`: get another token once; True when there is one to try."""


@dataclass(frozen=True)
class ApiResponse:
    status: int
    headers: httpx.Headers
    data: Any
    sent_at: float  # wall clock (time.time) just before sending
    received_at: float  # wall clock when the answer was read


def _transport_error(exc: httpx.TransportError) -> TransportError:
    cause: BaseException | None = exc
    while cause is not None:  # the TLS handshake refused the server's certificate (trust.py)
        if isinstance(cause, PinMismatch):
            return FingerprintChangedError(str(cause), origin=cause.origin, presented=cause.presented,
                                           expected=cause.expected)
        cause = cause.__cause__ or cause.__context__
    # Connect and pool failures happen before a byte is sent, so any call may be retried after them.
    unsent = isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))
    kind = APITimeoutError if isinstance(exc, httpx.TimeoutException) else APIConnectionError
    return kind(f"{type(exc).__name__}: {exc}", sent=not unsent)


def _error_from(response: httpx.Response) -> SpaceInvadersError:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        body = {}
    # API Gateway's own errors say {"message": ...} without a code.
    code = str(
        body.get("errorCode") or response.reason_phrase.replace(" ", "") or f"HTTP{response.status_code}"
    )
    message = str(body.get("errorMessage") or body.get("message") or response.text[:200] or code)
    return make_error(response.status_code, code, message, body.get("errorDetails"), response.headers)


class ApiCore:
    """Sends requests to `base_url` through one long-lived `httpx.AsyncClient` (injected or owned)."""

    def __init__(
        self,
        base_url: str,
        *,
        http: httpx.AsyncClient | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy = DEFAULT_RETRY,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        trust: ServerTrust | None = None,
    ) -> None:
        # The URL may pin the server's certificate (`#sha256=...`): every connection it opens is held to it.
        self.trust = trust or ServerTrust(base_url, known=None)
        self.base_url = self.trust.base_url
        self._owns_http = http is None
        verify = self.trust.context or True
        self.http = http or httpx.AsyncClient(timeout=timeout, trust_env=False, verify=verify)
        self.timeout = timeout
        self.retry = retry
        self._sleep = sleep
        self._clock = clock

    async def aclose(self) -> None:
        if self._owns_http:
            await self.http.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        safety: Safety,
        auth: TokenSource | None = None,
        json_body: Any = None,
        params: Mapping[str, str] | None = None,
        retry: RetryPolicy | None = None,
        timeout: httpx.Timeout | float | None = None,
        text: bool = False,
    ) -> ApiResponse:
        policy = retry or scoped_policy() or self.retry
        deadline = policy.give_up_at(self._clock())
        attempt = 0
        reauthenticated = False
        while True:
            attempt += 1
            token = await auth.token() if auth else None
            attempt_timeout = timeout
            if policy.deadline is not None:  # the last attempt ends by the deadline too
                attempt_timeout = _within(timeout if timeout is not None else self.timeout, deadline - self._clock())
            try:
                return await self._send(method, path, token, json_body, params, attempt_timeout, text)
            except AuthenticationError:
                # One fresh sign-in per call, and it does not count as a retry.
                if auth is None or token is None or reauthenticated:
                    raise
                reauthenticated = True
                attempt -= 1
                if not await auth.on_unauthorized(token):
                    raise
            except SpaceInvadersError as error:
                if attempt >= policy.max_attempts or not policy.should_retry(error, safety):
                    raise
                wait = policy.delay(attempt, error)
                if self._clock() + wait > deadline:
                    raise
                await self._sleep(wait)

    @contextlib.asynccontextmanager
    async def stream(
        self,
        method: str,
        path: str,
        *,
        auth: TokenSource | None = None,
        params: Mapping[str, str] | None = None,
        timeout: httpx.Timeout | float | None = None,
    ) -> AsyncIterator[httpx.Response]:
        """One request whose answer body is read as it arrives (a big export); an error answer raises.

        No retries: a body half read cannot be replayed. One fresh sign-in on a 401, as for `request`.
        """
        headers = {"User-Agent": USER_AGENT}
        for attempt in (1, 2):
            token = await auth.token() if auth else None
            if token:
                headers["Authorization"] = token
            try:
                async with self.http.stream(
                    method, self.base_url + path, params=params, headers=headers,
                    timeout=timeout if timeout is not None else self.timeout,
                ) as response:
                    if response.status_code >= 400:
                        await response.aread()
                        error = _error_from(response)
                        if (isinstance(error, AuthenticationError) and attempt == 1 and auth is not None
                                and token is not None and await auth.on_unauthorized(token)):
                            continue
                        raise error
                    yield response
                    return
            except httpx.TransportError as exc:
                raise _transport_error(exc) from exc

    async def _send(
        self,
        method: str,
        path: str,
        token: str | None,
        json_body: Any,
        params: Mapping[str, str] | None,
        timeout: httpx.Timeout | float | None,
        text: bool,
    ) -> ApiResponse:
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if token:
            headers["Authorization"] = token  # raw ID token: the original's authorizer takes no "Bearer"
        content = None if json_body is None else json.dumps(json_body, separators=(",", ":")).encode()
        if content is not None:
            headers["Content-Type"] = "application/json"
        sent_at = time.time()
        try:
            response = await self.http.request(
                method,
                self.base_url + path,
                content=content,
                params=params,
                headers=headers,
                timeout=timeout if timeout is not None else self.timeout,
            )
        except httpx.TransportError as exc:
            raise _transport_error(exc) from exc
        received_at = time.time()
        if response.status_code >= 400:
            raise _error_from(response)
        if text:
            return ApiResponse(response.status_code, response.headers, response.text, sent_at, received_at)
        return ApiResponse(response.status_code, response.headers, _json_of(response), sent_at, received_at)


def _within(timeout: httpx.Timeout | float, seconds: float) -> httpx.Timeout:
    """`timeout` with no phase longer than `seconds` (at least a tenth of a second)."""
    seconds = max(0.1, seconds)
    if not isinstance(timeout, httpx.Timeout):
        return httpx.Timeout(min(timeout, seconds))

    def cut(value: float | None) -> float:
        return seconds if value is None else min(value, seconds)

    return httpx.Timeout(connect=cut(timeout.connect), read=cut(timeout.read), write=cut(timeout.write),
                         pool=cut(timeout.pool))


def _json_of(response: httpx.Response) -> Any:
    raw = response.content
    if not raw.strip():
        return None  # the original's deallocate answers an empty body
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise MalformedResponseError(
            f"{response.status_code} answer is not JSON", status=response.status_code, body=response.text
        ) from exc
