"""Who listens for which session's start, and what they are pushed when the manager starts or closes it.

The state of the start push (the WebSocket route is `api/start_socket.py`): each open socket is a
`Listener` with a small outbox; `session_saved` is the backend's hook, called after every change of a
session is stored, and queues `{"action": "start", ...}` (again if a restart moved SynchronizeTime) or
`{"action": "closed", ...}` for that session's listeners. Nothing here knows HTTP.

Bounded: sockets per user and in all, and messages waiting per socket (a listener that does not read is
dropped rather than queued for).
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

import msgspec

from ..core.errors import ApiError
from ..core.sessions import Session
from ..core.timeutil import to_iso

log = logging.getLogger("spaceinvaders.server")

PER_USER = 4  # a player's game, a second terminal, a reconnect racing its old socket's close
TOTAL = 10_000  # as many as the server serves connections
OUTBOX = 8  # messages waiting for one socket; a session changes a few times in its life

_encoder = msgspec.json.Encoder()


@dataclass(eq=False)
class Listener:
    username: str
    session_id: str
    outbox: asyncio.Queue[bytes] = field(default_factory=lambda: asyncio.Queue(OUTBOX))
    dropped: asyncio.Event = field(default_factory=asyncio.Event)  # the outbox overflowed: close the socket

    def push(self, message: bytes) -> None:
        try:
            self.outbox.put_nowait(message)
        except asyncio.QueueFull:
            self.dropped.set()


class StartPushes:
    def __init__(self, per_user: int = PER_USER, total: int = TOTAL) -> None:
        self.per_user = per_user
        self.total = total
        self._by_session: dict[str, set[Listener]] = {}
        self._by_user: dict[str, int] = {}  # sockets per username, in lower case (names match in any case)
        self._count = 0
        self._started: dict[str, float] = {}  # SynchronizeTime last pushed, by session
        self._closed: set[str] = set()

    @property
    def count(self) -> int:
        return self._count

    def listen(self, username: str, session_id: str) -> Listener:
        """A new socket's listener; 429 past the bounds (per user, in all)."""
        key = username.lower()
        if self._by_user.get(key, 0) >= self.per_user:
            raise ApiError(429, "TooManyConnections", f"At most {self.per_user} start sockets per player.")
        if self._count >= self.total:
            raise ApiError(429, "TooManyConnections", "The server holds as many start sockets as it can.")
        listener = Listener(username, session_id)
        self._by_session.setdefault(session_id, set()).add(listener)
        self._by_user[key] = self._by_user.get(key, 0) + 1
        self._count += 1
        return listener

    def forget(self, listener: Listener) -> None:
        listeners = self._by_session.get(listener.session_id)
        if listeners is None or listener not in listeners:
            return
        listeners.discard(listener)
        if not listeners:
            del self._by_session[listener.session_id]
        key = listener.username.lower()
        self._by_user[key] -= 1
        if not self._by_user[key]:
            del self._by_user[key]
        self._count -= 1

    def session_saved(self, session: Session) -> None:
        """The backend stored a change of `session`: push its start, or its close, to its listeners."""
        sid = session.session_id
        if session.closing_time is not None:
            if sid not in self._closed:
                self._closed.add(sid)
                self._started.pop(sid, None)
                self._send(sid, {"action": "closed", "SessionId": sid, "ClosingTime": to_iso(session.closing_time)})
            return
        start = session.synchronize_time
        if session.synchronized and start is not None and self._started.get(sid) != start:
            self._started[sid] = start
            self._send(sid, {"action": "start", "SessionId": sid, "SynchronizeTime": to_iso(start)})

    def _send(self, session_id: str, message: dict[str, str]) -> None:
        listeners = self._by_session.get(session_id, ())
        if not listeners:
            return
        data = _encoder.encode(message)
        for listener in listeners:
            listener.push(data)
        log.info("pushed %s of %s to %d sockets", message["action"], session_id, len(listeners))
