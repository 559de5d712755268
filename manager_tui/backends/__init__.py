"""The manager's backends: one small interface, two implementations (local server, AWS with boto3).

The console (`manager_tui.app`) only knows `ManagerBackend`. Nothing here imports Textual, so the backends
can be driven by tests and benchmarks without a terminal.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from api_client import GameType, ScoreEntry, Session
from spaceinvaders_backend.core.replay import FrameView, ReplayFrame

EXPORT_FORMATS = ("jsonl", "csv")
SESSION_NAME = re.compile(r"[A-Za-z0-9_.-]{1,40}")  # the contract's SessionName
# A seated player with no visible activity for this long is shown as idle (the servers free a seat after 60 s).
IDLE_AFTER_SECONDS = 20.0


class BackendError(Exception):
    """A backend call failed; the message is for the manager to read (no traceback)."""


class SignInRequired(BackendError):
    """The backend needs the manager's username and password before it can do anything."""


class TrustRequired(BackendError):
    """The server's certificate is vouched for by no authority and pinned by nothing: the manager is asked
    (trust on first use); `trust_certificate(fingerprint)` on the backend, then connect again."""

    def __init__(self, message: str, origin: str, fingerprint: str) -> None:
        super().__init__(message)
        self.origin = origin
        self.fingerprint = fingerprint


@dataclass(frozen=True)
class OpenRequest:
    """What the manager fills in to open a session."""

    name: str
    game_type: GameType
    synchronized: bool
    total_seats: int = 200
    timeout_minutes: int | None = None  # TIME_CONSTRAINED only, 1 to 30

    def __post_init__(self) -> None:
        if not SESSION_NAME.fullmatch(self.name):
            raise ValueError("the name is 1 to 40 letters, digits, '-', '_' or '.'")
        if not 1 <= self.total_seats <= 100_000:
            raise ValueError("seats are 1 to 100,000")
        if self.game_type == GameType.TIME_CONSTRAINED:
            if self.timeout_minutes is None or not 1 <= self.timeout_minutes <= 30:
                raise ValueError("a time-constrained session lasts 1 to 30 minutes")
        elif self.timeout_minutes is not None:
            raise ValueError("only a time-constrained session has a duration")


@dataclass(frozen=True)
class Seats:
    total: int
    occupied: int
    playing: frozenset[str] = frozenset()
    finished: frozenset[str] = frozenset()
    idle: frozenset[str] = frozenset()  # playing, but no activity for IDLE_AFTER_SECONDS


def idle_players(last_seen: Mapping[str, float], now: float) -> frozenset[str]:
    """Seated players last seen IDLE_AFTER_SECONDS or more before `now` (epoch seconds, the backend's clock)."""
    return frozenset(name for name, seen in last_seen.items() if now - seen >= IDLE_AFTER_SECONDS)


@dataclass(frozen=True)
class Board:
    """One refresh of a session: its document, every player in the contract's order, seats and figures."""

    session: Session
    entries: list[ScoreEntry]
    seats: Seats
    fetched_at: float  # wall clock (epoch seconds) when the answers arrived
    records: int | None = None  # status records processed for the session so far (a counter: rate = delta)
    delay: float | None = None  # seconds between a post and the board, as the backend measures it
    clock_offset: float = 0.0  # backend clock minus ours, where the backend tells its time


@dataclass
class ExportProgress:
    records: int = 0
    bytes_done: int = 0
    bytes_total: int | None = None  # None when the backend cannot tell the size in advance
    records_total: int | None = None  # None when the backend cannot tell the count in advance


ProgressCallback = Callable[[ExportProgress], None]


class ReplaySource(Protocol):
    """A session's replay on a backend: the board at any moment, ranked by the core (`core/replay.py`)."""

    session: Session

    async def frame(self, at: float | None, view: FrameView | None = None) -> ReplayFrame:
        """The board at `at` (epoch seconds, the backend's clock; None: the start), clamped to what is
        indexed so far (`IndexedTo`); `view`: the rows wanted, the previous frame's moment, the tolerance
        (`core/replay.py`); raises BackendError."""

    async def aclose(self) -> None: ...


class ManagerBackend(Protocol):
    label: str  # where the console works, shown in its title: "local http://...", "AWS prod (us-east-1)"

    async def connect(self) -> None:
        """Get ready (resume kept tokens, read the resource names); raises SignInRequired or BackendError."""

    async def sign_in(self, username: str, password: str) -> None: ...

    def trust_certificate(self, fingerprint: str) -> None:
        """Trust the server's certificate with this fingerprint from now on: the manager's yes to the
        `TrustRequired` that `connect` raised (only a backend that raises it is asked)."""

    async def sessions(self) -> list[Session]:
        """Every session, newest first."""

    async def current_session(self) -> Session | None: ...

    async def open_session(self, request: OpenRequest) -> Session: ...

    async def start_session(self, countdown_seconds: float) -> Session: ...

    async def close_session(self) -> Session: ...

    async def board(self, session_id: str) -> Board: ...

    async def free_seat(self, session_id: str, username: str) -> None: ...

    async def export(self, session_id: str, fmt: str, destination: Path, progress: ProgressCallback) -> int:
        """Write every stored status record of the session to `destination`; answers the record count."""

    async def replay(self, session_id: str) -> ReplaySource:
        """The session's replay, from what the backend stored (local: its log; AWS: the S3 archive)."""

    async def aclose(self) -> None: ...
