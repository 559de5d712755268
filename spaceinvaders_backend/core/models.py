"""Request bodies of the contract, with their bounds, decoded and checked in one step by msgspec."""
from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from .errors import ApiError
from .timeutil import RFC3339_PATTERN

# `(?![\s\S])` is the end of the string in both Python's and JavaScript's regexes; Python's `$` would
# also match before a final newline, letting "alice\n" pass for a name.
END = r"(?![\s\S])"
NICKNAME_PATTERN = r"^[A-Za-z0-9_.-]{1,32}" + END
SESSION_NAME_PATTERN = r"^[A-Za-z0-9_.-]{1,40}" + END
# What `sessions.new_session_id` makes: a session name, the UTC time `%y%m%dT%H%M%S`, and `-2`, `-3`... when
# the name opened twice in one second. On AWS the id becomes the archive's partition (docs/aws.md), so a
# status record must carry an id of this shape; the template's request model holds the same pattern.
SESSION_ID_PATTERN = r"^[A-Za-z0-9_.-]{1,40}[0-9]{6}T[0-9]{6}(?:-[0-9]{1,6})?" + END
# Loose: one @ between two runs of anything but @, spaces and control characters (spelled out, as the
# two languages' `\s` differ).
EMAIL_PATTERN = r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+" + END
Nickname = Annotated[str, msgspec.Meta(pattern=NICKNAME_PATTERN)]
SessionIdText = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=SESSION_ID_PATTERN)]
Count = Annotated[int, msgspec.Meta(ge=0, le=10**9)]
LevelNumber = Annotated[int, msgspec.Meta(ge=1, le=10**4)]
LivesLeft = Annotated[int, msgspec.Meta(ge=0, le=99)]
TimestampText = Annotated[str, msgspec.Meta(min_length=1, max_length=40, pattern=RFC3339_PATTERN)]

GAME_TYPES = ("MULTIPLE_TRIALS", "SINGLE_TRIAL", "TIME_CONSTRAINED")
GameType = Literal["MULTIPLE_TRIALS", "SINGLE_TRIAL", "TIME_CONSTRAINED"]

STATUS_BODY_LIMIT = 1024  # bytes, from the contract
OTHER_BODY_LIMIT = 16 * 1024


class StatusUpdate(msgspec.Struct, frozen=True):
    """`POST /updatestatus`; unknown fields are ignored."""

    SessionId: SessionIdText
    Nickname: Nickname
    Score: Count
    Shots: Count
    Level: LevelNumber
    Lives: LivesLeft
    Timestamp: TimestampText


class UsernameBody(msgspec.Struct, frozen=True):
    """`POST /allocate`, `/deallocate`, `/manager/deallocate`."""

    Username: Nickname


class OpenSession(msgspec.Struct, frozen=True):
    """`POST /manager/session`."""

    GameType: GameType
    Synchronized: bool = False
    SessionName: Annotated[str, msgspec.Meta(pattern=SESSION_NAME_PATTERN)] = "SESSION"
    TimeoutInMinutes: Annotated[int, msgspec.Meta(ge=1, le=30)] | None = None
    TotalSeats: Annotated[int, msgspec.Meta(ge=1, le=100_000)] = 200


class StartSession(msgspec.Struct, frozen=True):
    """`POST /manager/session/start`."""

    CountdownSeconds: Annotated[float, msgspec.Meta(ge=0, le=600)] = 5


class SignUp(msgspec.Struct, frozen=True):
    Username: Nickname
    Password: Annotated[str, msgspec.Meta(min_length=6, max_length=256)]
    Email: Annotated[str, msgspec.Meta(max_length=254, pattern=EMAIL_PATTERN)] | None = None


class SignIn(msgspec.Struct, frozen=True):
    Username: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    Password: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]


class Refresh(msgspec.Struct, frozen=True):
    RefreshToken: Annotated[str, msgspec.Meta(min_length=1, max_length=512)]


_decoders: dict[type, msgspec.json.Decoder] = {}


def decode(body: bytes, model: type[msgspec.Struct]):
    """Decode and validate a JSON body: 400 when it is not JSON, 422 when it breaks the model."""
    decoder = _decoders.get(model)
    if decoder is None:
        decoder = _decoders[model] = msgspec.json.Decoder(model)
    try:
        return decoder.decode(body)
    except msgspec.ValidationError as exc:
        invalid = exc
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:  # the latter: bad UTF-8 inside a string
        raise ApiError(400, "MalformedJson", f"The body is not valid JSON: {exc}") from None
    except RecursionError:  # arrays or objects nested hundreds deep, e.g. in an unknown field
        raise ApiError(422, "ValidationError", "Invalid request body: nested too deeply.") from None
    # The typed decoder stops at the first wrong type, before it sees the rest: tell malformed apart.
    try:
        msgspec.json.decode(body)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise ApiError(400, "MalformedJson", f"The body is not valid JSON: {exc}") from None
    except RecursionError:
        pass
    raise ApiError(422, "ValidationError", f"Invalid request body: {_explained(invalid)}") from None


# What a pattern asks, in words: msgspec's own message quotes the regular expression.
_PATTERN_WORDS = {
    "Timestamp": "an RFC 3339 instant with a zone, e.g. 2026-11-27T08:00:00.000Z",
    "Nickname": "1 to 32 of A-Z a-z 0-9 _ . -",
    "Username": "1 to 32 of A-Z a-z 0-9 _ . -",
    "SessionName": "1 to 40 of A-Z a-z 0-9 _ . -",
    "SessionId": "a session id: a name and the time it opened, e.g. ROOM-A261126T221500",
    "Email": "an e-mail address",
}


def _explained(error: msgspec.ValidationError) -> str:
    message = str(error)
    if "matching regex" not in message:
        return message
    field = message.rsplit("`$.", 1)[-1].rstrip("`")
    words = _PATTERN_WORDS.get(field)
    return message if words is None else f"{field} must be {words}."

