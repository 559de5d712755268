"""The start listener: the manager's start pushed over the backend's WebSocket, instead of polls of `/session`.

The protocol, the same on both backends (docs/client.md):
- `/config` names the socket (`/<env>/websocketurl`); the client opens `<url>?sessionId=<SessionId>` with the
  raw ID token in the upgrade's `Authorization` header (a missing or bad token: HTTP 401/403).
- The client asks `{"action": "session"}`; the server answers `{"action": "session", "Session": <the document
  as GET /session answers it, or null>}`. Asked after connecting, this closes the race of a start made
  before the socket was up; answers that carry `ServerTime` are clock samples, as `/session` answers are.
- Pushed: `{"action": "start", "SessionId", "SynchronizeTime"}`, and from some backends `{"action": "closed",
  "SessionId", "ClosingTime"}`. The bare text `start` (the original's message) means "ask for the session
  now" (`StartSignal`). Anything else is ignored.

`StartListener` is one connection: it raises `PushUnavailable` when the backend offers no push, when the
socket cannot be opened, and when it drops; what to do then (poll, reconnect later) is the caller's choice.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Self
from urllib.parse import quote, urlsplit

from pydantic import ValidationError
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus, WebSocketException

from .client import SpaceInvadersClient
from .clock import ClockOffset
from .core import USER_AGENT
from .errors import PushUnavailable
from .models import Session, parse_instant

log = logging.getLogger(__name__)

OPEN_TIMEOUT = 5.0
MAX_MESSAGE = 64 * 1024  # a session document is a few hundred bytes


@dataclass(frozen=True)
class SessionAnswer:
    """The server's answer to `{"action": "session"}`: the current session (None: none is open)."""

    session: Session | None
    sent_at: float  # wall clock when the question left
    received_at: float  # wall clock when the answer came


@dataclass(frozen=True)
class StartPushed:
    session_id: str
    synchronize_time: datetime


@dataclass(frozen=True)
class ClosedPushed:
    session_id: str
    closing_time: datetime | None


@dataclass(frozen=True)
class StartSignal:
    """The bare text `start` (the original deployment's push): the session changed, ask for it."""


PushEvent = SessionAnswer | StartPushed | ClosedPushed | StartSignal


class StartListener:
    """One WebSocket connection to the start push of one session: `async with StartListener(...)`."""

    def __init__(
        self,
        client: SpaceInvadersClient,
        session_id: str,
        *,
        open_timeout: float = OPEN_TIMEOUT,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.client = client
        self.session_id = session_id
        self.open_timeout = open_timeout
        self.ssl_context = ssl_context  # wss: None picks `_tls_for`'s
        self._socket: ClientConnection | None = None
        self._asked: deque[float] = deque()  # when each unanswered question left (answers come in order)

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def url(self) -> str | None:
        """The socket's address for this session, or None when the backend offers no push."""
        base = (await self.client.config()).websocket_url
        if not base:
            return None
        return f"{base}{'&' if '?' in base else '?'}sessionId={quote(self.session_id, safe='')}"

    def _tls_for(self, url: str) -> ssl.SSLContext | None:
        """A socket to the client's own server is held to the client's TLS context (a room's pinned or
        remembered certificate); one elsewhere (AWS's WebSocket API) to the system's certificates."""
        if not url.startswith("wss:"):
            return None
        if self.ssl_context is not None:
            return self.ssl_context
        socket, api = urlsplit(url), urlsplit(self.client.base_url)
        if (socket.hostname, socket.port or 443) == (api.hostname, api.port or 443):
            return self.client.ssl_context
        return None

    async def open(self, clock: ClockOffset | None = None) -> None:
        """Connect and authenticate; the upgrade answer's `Date` feeds `clock` when given."""
        url = await self.url()
        if url is None:
            raise PushUnavailable("the backend offers no start push", sent=False, offered=False)
        auth = await self.client.auth()
        for attempt in (1, 2):
            token = await auth.token()
            if not token:
                raise PushUnavailable("not signed in", sent=False)
            sent_at = time.time()
            try:
                self._socket = await connect(
                    url, additional_headers={"Authorization": token}, user_agent_header=USER_AGENT, proxy=None,
                    compression=None, open_timeout=self.open_timeout, max_size=MAX_MESSAGE,
                    ssl=self._tls_for(url),
                )  # fmt: skip
            except InvalidStatus as exc:
                status = exc.response.status_code
                if status == 401 and attempt == 1 and await auth.on_unauthorized(token):
                    continue  # an expired token, renewed: once, as for HTTP calls
                raise PushUnavailable(f"the start push refused the connection: HTTP {status}", sent=True,
                                      status=status) from exc
            except (OSError, TimeoutError, WebSocketException) as exc:
                raise PushUnavailable(f"the start push is unreachable: {exc!r}", sent=False) from exc
            if clock is not None:  # the upgrade answer's Date header: a clock sample (whole seconds)
                clock.add_answer(None, self._socket.response.headers, sent_at, time.time())
            return

    async def ask(self) -> None:
        """Ask for the current session; its answer comes as a `SessionAnswer`."""
        self._asked.append(time.time())
        await self._send('{"action":"session"}')

    @property
    def asked_at(self) -> float | None:
        """When the oldest question still unanswered was asked (wall clock), if one is."""
        return self._asked[0] if self._asked else None

    def forget_questions(self) -> None:
        """Stop waiting for answers (a backend whose socket pushes but does not answer)."""
        self._asked.clear()

    async def receive(self) -> PushEvent:
        """The next message of the protocol (unknown ones are skipped)."""
        while True:
            try:
                text = await self._connected().recv()
            except WebSocketException as exc:
                raise PushUnavailable(f"the start push dropped: {exc}") from exc
            received_at = time.time()
            if isinstance(text, bytes):
                text = text.decode("utf-8", "replace")
            if text.strip() == "start":  # the original's message: the session changed, ask for it
                return StartSignal()
            event = self._event(text, received_at)
            if event is not None:
                return event

    def _event(self, text: str, received_at: float) -> PushEvent | None:
        try:
            message = json.loads(text)
            action = message.get("action") if isinstance(message, dict) else None
            if action == "session":
                sent_at = self._asked.popleft() if self._asked else received_at
                document = message.get("Session")
                session = None if document is None else Session.model_validate(document)
                return SessionAnswer(session, sent_at, received_at)
            if action == "start":
                return StartPushed(str(message["SessionId"]), parse_instant(str(message["SynchronizeTime"])))
            if action == "closed":
                closing = message.get("ClosingTime")
                return ClosedPushed(str(message["SessionId"]), parse_instant(closing) if closing else None)
        except (ValueError, KeyError, TypeError, ValidationError) as exc:
            log.warning("start push: a message not in the protocol was ignored: %s", exc)
        return None

    async def _send(self, text: str) -> None:
        try:
            await self._connected().send(text)
        except WebSocketException as exc:
            raise PushUnavailable(f"the start push dropped: {exc}") from exc

    def _connected(self) -> ClientConnection:
        if self._socket is None:
            raise PushUnavailable("the start push is not connected", sent=False)
        return self._socket

    async def aclose(self) -> None:
        socket, self._socket = self._socket, None
        if socket is not None:
            try:
                await asyncio.wait_for(socket.close(), 1.0)
            except (TimeoutError, OSError, WebSocketException):
                pass

