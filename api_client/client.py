"""`SpaceInvadersClient`: every path of the contract as a typed async method."""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Self, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from .auth import Auth, LocalSignIn, SignInBackend
from .cognito import CognitoSignIn
from .core import DEFAULT_TIMEOUT, ApiCore, ApiResponse
from .errors import MalformedResponseError
from .models import (
    ApiConfig,
    GameStatus,
    Players,
    Scoreboard,
    ScoreEntry,
    Session,
    Sessions,
    SignUpResult,
    StatusReceipt,
    SuccessMessage,
    format_instant,
)
from .retry import DEFAULT_RETRY, NO_RETRY, RetryPolicy, Safety
from .tokens import Tokens, TokenStore
from .trust import KnownServers, ServerTrust

M = TypeVar("M", bound=BaseModel)
_DEFAULT_STORE: Any = object()


def _parse(model: type[M], response: ApiResponse) -> M:
    try:
        return model.model_validate(response.data)
    except ValidationError as exc:
        raise MalformedResponseError(
            f"answer does not fit {model.__name__}: {exc.error_count()} errors",
            status=response.status,
            body=json.dumps(response.data)[:500],
        ) from exc


def session_of(response: ApiResponse) -> Session | None:
    """The session in a `/session` answer: an object, `null`, or (the original) either one JSON-encoded."""
    data = response.data
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError as exc:
            raise MalformedResponseError(
                "/session string is not JSON", status=response.status, body=data
            ) from exc
    if data is None:
        return None
    return _parse(
        Session, ApiResponse(response.status, response.headers, data, response.sent_at, response.received_at)
    )


def _empty_ok(response: ApiResponse) -> ApiResponse:
    # The original's deallocate answers `null`: an empty success.
    if response.data is None:
        return ApiResponse(response.status, response.headers, {}, response.sent_at, response.received_at)
    return response


class SpaceInvadersClient:
    """An async client of the Space Invaders API.

    Pass `http` to share one `httpx.AsyncClient` between clients (see `ClientPool` for many players in one
    process); the client then leaves it open on `aclose()`. Tokens are kept in `token_store` (the user's
    config directory by default; None keeps them in memory only). An https server is trusted as `trust`
    says (default: the URL's `#sha256=` pin, else what was trusted before beside the tokens, else the
    authorities; see `trust.py`); `await client.trust.check(ask)` settles it before signing in.
    """

    def __init__(
        self,
        base_url: str,
        *,
        http: httpx.AsyncClient | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy = DEFAULT_RETRY,
        token_store: TokenStore | None = _DEFAULT_STORE,
        sign_in_backend: SignInBackend | None = None,
        cognito_factory: Callable[..., Any] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        trust: ServerTrust | None = None,
    ) -> None:
        self._store = TokenStore() if token_store is _DEFAULT_STORE else token_store
        # Trust is remembered where tokens are: a client that keeps no tokens on disk remembers no servers.
        if trust is None:
            known = KnownServers(self._store.directory) if self._store is not None else None
            trust = ServerTrust(base_url, known=known)
        self.core = ApiCore(base_url, http=http, timeout=timeout, retry=retry, sleep=sleep, trust=trust)
        self.base_url = self.core.base_url
        self._backend = sign_in_backend
        self._cognito_factory = cognito_factory
        self._config: ApiConfig | None = None
        self._auth: Auth | None = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.core.aclose()

    @property
    def trust(self) -> ServerTrust:
        return self.core.trust

    @property
    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context of every connection to this server (None for http://): a WebSocket to the same
        server uses it too, so it is held to the same certificate."""
        return self.core.trust.context

    # --- sign-in -----------------------------------------------------------------------------------
    async def config(self) -> ApiConfig:
        if self._config is None:
            self._config = _parse(
                ApiConfig, await self.core.request("GET", "/config", safety=Safety.IDEMPOTENT)
            )
        return self._config

    async def health(self) -> bool:
        try:
            await self.core.request("GET", "/health", safety=Safety.IDEMPOTENT, retry=NO_RETRY)
        except Exception:  # noqa: BLE001 - a health probe answers yes or no
            return False
        return True

    async def auth(self) -> Auth:
        """The token keeper, with the sign-in backend `/config` asks for (Cognito or local)."""
        if self._auth is None:
            backend = self._backend or await self._pick_backend()
            self._auth = Auth(backend, base_url=self.base_url, store=self._store)
        return self._auth

    async def _pick_backend(self) -> SignInBackend:
        config = await self.config()
        if config.uses_cognito:
            kwargs = {"factory": self._cognito_factory} if self._cognito_factory else {}
            return CognitoSignIn(
                config.get("userpoolid") or "", config.get("clientid") or "", config.region, **kwargs
            )
        return LocalSignIn(self.core)

    async def sign_up(self, username: str, password: str, email: str | None = None) -> SignUpResult:
        return await (await self.auth()).sign_up(username, password, email)

    async def confirm_sign_up(self, username: str, code: str) -> None:
        await (await self.auth()).confirm_sign_up(username, code)

    async def sign_in(self, username: str, password: str) -> Tokens:
        return await (await self.auth()).sign_in(username, password)

    async def resume(self, username: str | None = None) -> bool:
        """Use tokens kept by an earlier run (refreshed on first use if needed); True when found."""
        return (await self.auth()).resume(username)

    async def forgot_password(self, username: str) -> None:
        await (await self.auth()).forgot_password(username)

    async def confirm_forgot_password(self, username: str, code: str, new_password: str) -> None:
        await (await self.auth()).confirm_forgot_password(username, code, new_password)

    def sign_out(self) -> None:
        if self._auth is not None:
            self._auth.sign_out()

    @property
    def username(self) -> str | None:
        return self._auth.username if self._auth else None

    @property
    def groups(self) -> frozenset[str]:
        return self._auth.groups if self._auth else frozenset()

    async def _call(self, method: str, path: str, safety: Safety, **kwargs: Any) -> ApiResponse:
        return await self.core.request(method, path, safety=safety, auth=await self.auth(), **kwargs)

    def _me(self, username: str | None) -> str:
        name = username or self.username
        if not name:
            raise ValueError("no username: sign in first or pass one")
        return name

    # --- player paths ------------------------------------------------------------------------------
    async def session_response(self) -> tuple[Session | None, ApiResponse]:
        """The current session and the raw answer (its `Date` header and timing serve clock estimates)."""
        response = await self._call("GET", "/session", Safety.IDEMPOTENT)
        return session_of(response), response

    async def session(self) -> Session | None:
        return (await self.session_response())[0]

    async def allocate(self, username: str | None = None, *, retry: RetryPolicy | None = None) -> str | None:
        body = {"Username": self._me(username)}
        response = await self._call("POST", "/allocate", Safety.IDEMPOTENT, json_body=body, retry=retry)
        return _parse(SuccessMessage, _empty_ok(response)).successMessage

    async def deallocate(self, username: str | None = None, *, retry: RetryPolicy | None = None) -> str | None:
        """Free the seat. At the end of a game pass `retry=RetryPolicy.until(deadline)`: retried (it is
        idempotent) through 503s, 429s and dropped connections until it lands or the deadline passes."""
        body = {"Username": self._me(username)}
        response = await self._call("POST", "/deallocate", Safety.IDEMPOTENT, json_body=body, retry=retry)
        return _parse(SuccessMessage, _empty_ok(response)).successMessage

    async def update_status(
        self,
        session_id: str,
        status: GameStatus | Mapping[str, int],
        *,
        nickname: str | None = None,
        timestamp: datetime | None = None,
        retry: RetryPolicy | None = None,
        timeout: httpx.Timeout | float | None = None,
    ) -> StatusReceipt:
        # Attribute reads, not model_dump: this is the hot path of 200 publishers in one process.
        values = status.__dict__ if isinstance(status, GameStatus) else status
        body = {
            "SessionId": session_id,
            "Nickname": self._me(nickname),
            "Score": values["Score"],
            "Shots": values["Shots"],
            "Level": values["Level"],
            "Lives": values["Lives"],
            "Timestamp": format_instant(timestamp or datetime.now(UTC)),
        }
        response = await self._call(
            "POST", "/updatestatus", Safety.SNAPSHOT, json_body=body, retry=retry, timeout=timeout
        )
        return _parse(StatusReceipt, response)

    async def scoreboard(self, session_id: str) -> list[ScoreEntry]:
        return (await self.scoreboard_answer(session_id)).entries

    async def scoreboard_answer(self, session_id: str) -> Scoreboard:
        """The top 10 with, where the backend tells it, the caller's own rank (`.Caller`)."""
        response = await self._call("GET", "/scoreboard", Safety.IDEMPOTENT, params={"sessionId": session_id})
        return _parse(Scoreboard, response)

    # --- manager paths -----------------------------------------------------------------------------
    async def open_session(
        self,
        game_type: str,
        *,
        synchronized: bool = False,
        session_name: str | None = None,
        timeout_minutes: int | None = None,
        total_seats: int | None = None,
    ) -> Session:
        body: dict[str, Any] = {"GameType": str(game_type), "Synchronized": synchronized}
        optional = {
            "SessionName": session_name,
            "TimeoutInMinutes": timeout_minutes,
            "TotalSeats": total_seats,
        }
        body.update({key: value for key, value in optional.items() if value is not None})
        return _parse(Session, await self._call("POST", "/manager/session", Safety.UNSAFE, json_body=body))

    async def start_session(self, countdown_seconds: float | None = None) -> Session:
        body = {} if countdown_seconds is None else {"CountdownSeconds": countdown_seconds}
        return _parse(
            Session, await self._call("POST", "/manager/session/start", Safety.UNSAFE, json_body=body)
        )

    async def close_session(self) -> Session:
        return _parse(
            Session, await self._call("POST", "/manager/session/close", Safety.UNSAFE, json_body={})
        )

    async def sessions(self) -> list[Session]:
        return _parse(Sessions, await self._call("GET", "/manager/sessions", Safety.IDEMPOTENT)).Sessions

    async def full_scoreboard(self, session_id: str) -> list[ScoreEntry]:
        return (await self.full_scoreboard_answer(session_id)).entries

    async def full_scoreboard_answer(self, session_id: str) -> Scoreboard:
        """Every player in rank order with, where the backend tells them, processing figures (`.Stats`)."""
        params = {"sessionId": session_id}
        return _parse(
            Scoreboard, await self._call("GET", "/manager/scoreboard", Safety.IDEMPOTENT, params=params)
        )

    async def players(self, session_id: str) -> Players:
        params = {"sessionId": session_id}
        return _parse(Players, await self._call("GET", "/manager/players", Safety.IDEMPOTENT, params=params))

    async def deallocate_player(self, username: str) -> None:
        body = {"Username": username}
        await self._call("POST", "/manager/deallocate", Safety.IDEMPOTENT, json_body=body)

    async def replay_frame(self, session_id: str, at: float | None = None, *, first: int = 0,
                           count: int | None = None, since: float | None = None, tolerance: float = 0.0) -> str:
        """`GET /manager/replay`: the session's board at the moment `at` of its replay (its start for None),
        as the server's JSON text: the manager decodes it into the core's `ReplayFrame`, the shape's one home.
        `first`, `count`: the rows wanted (all by default); `since`: the moment of the previous frame (each
        row then says its rank at it); `tolerance`: seconds the frame may show earlier than `at`."""
        params: dict[str, str] = {"sessionId": session_id}
        if at is not None:
            params["at"] = repr(float(at))
        if first:
            params["first"] = str(int(first))
        if count is not None:
            params["count"] = str(int(count))
        if since is not None:
            params["since"] = repr(float(since))
        if tolerance:
            params["tolerance"] = repr(float(tolerance))
        return (await self._call("GET", "/manager/replay", Safety.IDEMPOTENT, params=params, text=True)).data

    async def export(self, session_id: str, format: str = "jsonl") -> str:
        if format not in ("jsonl", "csv"):
            raise ValueError("format is 'jsonl' or 'csv'")
        params = {"sessionId": session_id, "format": format}
        return (await self._call("GET", "/manager/export", Safety.IDEMPOTENT, params=params, text=True)).data

    async def export_stream(
        self, session_id: str, format: str = "jsonl", *, timeout: httpx.Timeout | float | None = None,
        on_count: Callable[[int | None], None] | None = None,
    ) -> AsyncIterator[bytes]:
        """The export as it arrives, chunk by chunk, so a big one can be written to disk with a progress bar.

        `on_count` is called once, before the first chunk, with the number of records the answer holds
        (its `X-Record-Count`; CSV's header line not counted), or None when the server does not tell it."""
        if format not in ("jsonl", "csv"):
            raise ValueError("format is 'jsonl' or 'csv'")
        params = {"sessionId": session_id, "format": format}
        async with self.core.stream("GET", "/manager/export", auth=await self.auth(), params=params,
                                    timeout=timeout) as response:
            if on_count is not None:
                count = response.headers.get("x-record-count", "")
                on_count(int(count) if count.isascii() and count.isdigit() else None)
            async for chunk in response.aiter_bytes():
                yield chunk
