"""Answers of the contract as pydantic models.

Field names are the contract's (`SessionId`, ...); every model keeps unknown fields (`extra="allow"`) so a
newer server does not break an older client.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class GameType(StrEnum):
    MULTIPLE_TRIALS = "MULTIPLE_TRIALS"
    SINGLE_TRIAL = "SINGLE_TRIAL"
    TIME_CONSTRAINED = "TIME_CONSTRAINED"


# A time-constrained session without `TimeoutInMinutes` runs this long (the original's default).
DEFAULT_TIMEOUT_MINUTES = 5


class ApiModel(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


def parse_instant(text: str) -> datetime:
    """An ISO-8601 instant as an aware datetime; a naive one is taken as UTC."""
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def format_instant(value: datetime) -> str:
    """The contract's form: UTC, milliseconds, a trailing Z."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


class Session(ApiModel):
    SessionId: str
    GameType: str  # kept as str: an unknown game type from a newer server must not fail parsing
    Synchronized: bool = False
    TimeoutInMinutes: int | None = None
    TotalSeats: int | None = None
    OpeningTime: datetime
    SynchronizeTime: datetime | None = None
    ClosingTime: datetime | None = None
    ServerTime: datetime | None = None

    @field_validator("OpeningTime", "SynchronizeTime", "ClosingTime", "ServerTime", mode="before")
    @classmethod
    def _instant(cls, value: Any) -> Any:
        return parse_instant(value) if isinstance(value, str) else value

    @property
    def is_closed(self) -> bool:
        return self.ClosingTime is not None

    # The session's timing, read here only: the game, the bots and the manager's console agree on it.
    @property
    def starts_at(self) -> datetime | None:
        """When play begins: the manager's start for a synchronized session (None before it), the opening
        otherwise."""
        return self.SynchronizeTime if self.Synchronized else self.OpeningTime

    @property
    def deadline(self) -> float | None:
        """The end of a time-constrained session (epoch seconds, the server's clock), else None."""
        start = self.starts_at
        if self.GameType != GameType.TIME_CONSTRAINED or start is None:
            return None
        return start.timestamp() + (self.TimeoutInMinutes or DEFAULT_TIMEOUT_MINUTES) * 60


class GameStatus(ApiModel):
    """What the game reports; the publisher adds SessionId, Nickname and Timestamp."""

    model_config = ConfigDict(extra="allow", frozen=True)

    Score: int = 0
    Shots: int = 0
    Level: int = 1
    Lives: int = 3


class StatusReceipt(ApiModel):
    """Kinesis' `PutRecord` answer."""

    SequenceNumber: str
    ShardId: str


class ScoreEntry(ApiModel):
    Nickname: str
    Score: int
    Shots: int = 0
    Level: int = 1
    Lives: int = 0


class RankedEntry(ScoreEntry):
    """The caller's own line with its 1-based rank (a local-server addition to `/scoreboard`)."""

    Rank: int


class BoardStats(ApiModel):
    """Processing figures of a session's board (a local-server addition to `/manager/scoreboard`)."""

    Records: int = 0  # records of the session processed since the server started
    Delay: float | None = None  # seconds the oldest record of the last processing round waited


class Scoreboard(ApiModel):
    Scoreboard: list[ScoreEntry] = Field(default_factory=list)
    Caller: RankedEntry | None = None  # absent from backends that do not rank the caller
    Stats: BoardStats | None = None

    @property
    def entries(self) -> list[ScoreEntry]:
        return self.Scoreboard


class Players(ApiModel):
    TotalSeats: int = 0
    OccupiedSeats: int = 0
    PlayingGamers: list[str] = Field(default_factory=list)
    FinishedGamers: list[str] = Field(default_factory=list)
    # When each seated player was last seen, on the server's clock (a local-server addition; None elsewhere).
    LastSeen: dict[str, datetime] | None = None


class Sessions(ApiModel):
    Sessions: list[Session] = Field(default_factory=list)


class SuccessMessage(ApiModel):
    successMessage: str | None = None


class ConfigParameter(ApiModel):
    Name: str
    Value: str = ""


class ApiConfig(ApiModel):
    """`GET /config`: SSM `GetParameters`. Names are matched by their last path segment."""

    Parameters: list[ConfigParameter] = Field(default_factory=list)

    def get(self, name: str) -> str | None:
        for parameter in self.Parameters:
            if parameter.Name.rsplit("/", 1)[-1].lower() == name.lower():
                return parameter.Value
        return None

    @property
    def websocket_url(self) -> str | None:
        """Where the manager's start is pushed (`/<env>/websocketurl`), when the backend offers it."""
        return self.get("websocketurl") or None

    @property
    def uses_cognito(self) -> bool:
        return bool(self.get("userpoolid") and self.get("clientid"))

    @property
    def region(self) -> str | None:
        region = self.get("region")
        pool = self.get("userpoolid")
        # Pool ids are "<region>_<id>": the original's /config has no region parameter.
        return region or (pool.split("_", 1)[0] if pool and "_" in pool else None)


class AuthenticationResult(ApiModel):
    """Cognito's `AuthenticationResult`, also what the local `/auth/signin` and `/auth/refresh` answer."""

    IdToken: str
    AccessToken: str = ""
    RefreshToken: str | None = None
    ExpiresIn: int = 3600
    TokenType: str = "Bearer"


class SignUpResult(ApiModel):
    """Whether the account can sign in now or first needs the code sent by e-mail."""

    UserConfirmed: bool = True
    CodeDeliveryDetails: dict[str, Any] | None = None
