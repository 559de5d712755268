"""`/v1/start`: the manager's start pushed over a WebSocket, the local twin of the AWS stack's WebSocket API.

The protocol (docs/api.md, docs/client.md): the upgrade carries the raw ID token in `Authorization` and the
session in `?sessionId=`; a missing or bad token, a missing session, or too many sockets get an HTTP error
on the upgrade (401/403/400/429, the contract's error body). Once open, `{"action": "session"}` is answered
`{"action": "session", "Session": <GET /session's document, or null>}`; the server pushes `{"action":
"start", "SessionId", "SynchronizeTime"}` when the manager starts that session (again if a restart moves
it) and `{"action": "closed", "SessionId", "ClosingTime"}` when it closes. Any other message gets
`{"action": "error", ...}` and changes nothing: a player's socket cannot start a session.

Bounded: a message from the client is at most `MAX_MESSAGE` bytes and a few a second (past either, the
socket is closed, 1009 or 1008); a socket silent for `start_socket_idle_seconds` is closed (1001), as
API Gateway closes idle ones after 10 minutes; sockets per player and in all are `StartPushes`' bounds.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from typing import Any

import msgspec
from starlette.websockets import WebSocket, WebSocketDisconnect

from ...core.errors import ApiError
from ..backend import LocalBackend
from ..http import error_response
from ..pushes import Listener, StartPushes
from ..ratelimit import RateLimiter
from ..settings import Settings
from ..tokens import GAMER, MANAGER, TokenService
from .player import session_document

PATH = "/start"
MAX_MESSAGE = 1024
MAX_SESSION_ID = 128
MESSAGES_PER_SECOND, MESSAGE_BURST = 2.0, 10.0

_encoder = msgspec.json.Encoder()


class StartSocket:
    def __init__(self, backend: LocalBackend, tokens: TokenService, pushes: StartPushes, settings: Settings,
                 clock: Callable[[], float] = time.time) -> None:
        self.backend = backend
        self.tokens = tokens
        self.pushes = pushes
        self.idle_seconds = settings.start_socket_idle_seconds
        self.clock = clock
        self.limiter = RateLimiter(MESSAGES_PER_SECOND, MESSAGE_BURST)

    async def serve(self, websocket: WebSocket) -> None:
        try:
            listener = self._admit(websocket)
        except ApiError as err:
            await _refuse(websocket, err)
            return
        try:
            await websocket.accept()
            await self._converse(websocket, listener)
        except WebSocketDisconnect:
            pass
        finally:
            self.pushes.forget(listener)

    def _admit(self, websocket: WebSocket) -> Listener:
        ident = self.tokens.identify(websocket.headers.get("authorization"))
        if not ident.groups & {GAMER, MANAGER}:
            raise ApiError(403, "Forbidden", "The start push is for players and managers.")
        session_id = websocket.query_params.get("sessionId", "")
        if not session_id or len(session_id) > MAX_SESSION_ID:
            raise ApiError(400, "MissingParameter", f"The query parameter sessionId (at most {MAX_SESSION_ID} "
                                                    "characters) is required.")
        return self.pushes.listen(ident.username, session_id)

    async def _converse(self, websocket: WebSocket, listener: Listener) -> None:
        receiving = asyncio.ensure_future(websocket.receive())
        sending = asyncio.ensure_future(listener.outbox.get())
        dropped = asyncio.ensure_future(listener.dropped.wait())
        heard = time.monotonic()
        try:
            while True:
                idle_left = heard + self.idle_seconds - time.monotonic()
                done, _ = await asyncio.wait((receiving, sending, dropped), timeout=max(0.0, idle_left),
                                             return_when=asyncio.FIRST_COMPLETED)
                if not done:
                    await websocket.close(1001, "idle")
                    return
                if dropped in done:
                    await websocket.close(1008, "too slow to read its messages")
                    return
                if sending in done:
                    await websocket.send_text(sending.result().decode())
                    sending = asyncio.ensure_future(listener.outbox.get())
                if receiving in done:
                    message = receiving.result()
                    if message["type"] == "websocket.disconnect":
                        return
                    heard = time.monotonic()
                    reason = await self._answer(websocket, listener, message)
                    if reason is not None:
                        await websocket.close(*reason)
                        return
                    receiving = asyncio.ensure_future(websocket.receive())
        finally:
            for task in (receiving, sending, dropped):
                task.cancel()
            await asyncio.gather(receiving, sending, dropped, return_exceptions=True)

    async def _answer(self, websocket: WebSocket, listener: Listener, message: dict[str, Any]
                      ) -> tuple[int, str] | None:
        """Answer one message; a (code, reason) to close the socket with instead."""
        data = message.get("text")
        if data is None:
            data = (message.get("bytes") or b"").decode("utf-8", "replace")
        if len(data.encode()) > MAX_MESSAGE:
            return 1009, f"messages are at most {MAX_MESSAGE} bytes"
        if self.limiter.take(listener.username.lower(), self.clock()):
            return 1008, f"at most {MESSAGES_PER_SECOND:g} messages a second"
        try:
            action = json.loads(data).get("action")
        except (ValueError, AttributeError):
            action = None
        if action == "session":
            answer: dict[str, Any] = {"action": "session", "Session": session_document(self.backend)}
        else:
            answer = {"action": "error", "errorCode": "UnknownAction",
                      "errorMessage": 'The only action is {"action": "session"}.'}
        await websocket.send_text(_encoder.encode(answer).decode())
        return None


async def _refuse(websocket: WebSocket, err: ApiError) -> None:
    """The upgrade refused with the contract's error answer (or a bare 403 where the server cannot say more)."""
    with contextlib.suppress(RuntimeError, OSError):
        if "websocket.http.response" in websocket.scope.get("extensions", {}):
            await websocket.send_denial_response(error_response(err))
        else:
            await websocket.close(1008)
