"""The contract's answers as typed structs: what a server encodes and what its OpenAPI document says.

One definition serves both (msgspec encodes them and emits their JSON Schema), so the document cannot
drift from the answers. Optional fields left at None are omitted from the JSON, as the contract has it.
"""
from __future__ import annotations

from typing import Any, Literal

import msgspec

from .models import GameType


class Answer(msgspec.Struct, omit_defaults=True):
    """Base of every answer: fields left at their default (None) are not written."""


class ErrorBody(Answer):
    errorMessage: str
    errorCode: str
    errorDetails: Any


class SessionDocument(Answer):
    """`GET /session` and the manager's session paths; ServerTime only where the contract adds it."""

    SessionId: str
    GameType: GameType
    Synchronized: bool
    TotalSeats: int
    OpeningTime: str
    TimeoutInMinutes: int | None = None
    SynchronizeTime: str | None = None
    ClosingTime: str | None = None
    ServerTime: str | None = None
    OccupiedSeats: int | None = None  # an addition of the local server's `GET /session`: seats taken now


class Sessions(Answer):
    Sessions: list[SessionDocument]


class Message(Answer):
    successMessage: str


class Receipt(Answer):
    """`POST /updatestatus` (Kinesis `PutRecord` shape)."""

    SequenceNumber: str
    ShardId: str


class ScoreEntry(Answer):
    Nickname: str
    Score: int
    Shots: int
    Level: int
    Lives: int


class CallerEntry(Answer):
    """The caller's own line and 1-based rank among every player, in the top 10 or not."""

    Rank: int
    Nickname: str
    Score: int
    Shots: int
    Level: int
    Lives: int


class BoardStats(Answer):
    """Records of the session processed since the server started, and how many seconds the oldest
    record of the last processing round waited before it reached the board (null before any)."""

    Records: int
    Delay: float | None


class Scoreboard(Answer):
    """`/scoreboard` (top 10, with Caller) and `/manager/scoreboard` (everyone, with SessionId and Stats)."""

    Scoreboard: list[ScoreEntry]
    SessionId: str | None = None
    Caller: CallerEntry | None = None
    Stats: BoardStats | None = None


class Players(Answer):
    """`/manager/players`. LastSeen: when each seated player was last seen (took or kept the seat, or
    posted a status), ISO-8601 on the server's clock, to the second; only for the current session."""

    SessionId: str
    TotalSeats: int
    OccupiedSeats: int
    PlayingGamers: list[str]
    FinishedGamers: list[str]
    LastSeen: dict[str, str] | None = None


class Parameter(Answer):
    Name: str
    Value: str


class Config(Answer):
    """`GET /config`, the shape of SSM `GetParameters`."""

    Parameters: list[Parameter]


class Health(Answer):
    status: Literal["ok", "unavailable"]
    lastSequenceNumber: int | None = None
    processedThrough: int | None = None
    groupCommits: int | None = None
    reason: str | None = None


class SignedUp(Answer):
    UserConfirmed: bool
    UserSub: str
    Username: str


class Tokens(Answer):
    """Cognito's `AuthenticationResult`; a refresh leaves RefreshToken out."""

    IdToken: str
    AccessToken: str
    ExpiresIn: int
    TokenType: Literal["Bearer"]
    RefreshToken: str | None = None


class PublicKey(Answer):
    kty: str
    crv: str
    x: str
    kid: str
    alg: str
    use: str


class Jwks(Answer):
    keys: list[PublicKey]
