"""The contract's error: a status, a code and a message, never a bare 500."""
from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error answer of the contract: `{"errorMessage", "errorCode", "errorDetails"}`."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"errorMessage": self.message, "errorCode": self.code, "errorDetails": self.details}


# Codes used by the original design.
NO_SESSION_AVAILABLE = "NoSessionAvailable"
SESSION_CLOSED = "SessionClosed"
NO_SEATS_AVAILABLE = "NoSeatsAvailable"
GAMER_CANNOT_PLAY = "GamerCannotPlay"
# Codes this project adds.
SESSION_NOT_STARTED = "SessionNotStarted"
SESSION_MISMATCH = "SessionMismatch"
NOT_SEATED = "NotSeated"
SESSION_OPEN = "SessionAlreadyOpen"
