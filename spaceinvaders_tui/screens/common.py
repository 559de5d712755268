"""What several screens say: client errors in words a player understands, and the keys."""
from __future__ import annotations

from api_client import (
    AuthenticationError,
    ConflictError,
    GamerCannotPlay,
    NoSeatsAvailable,
    NoSessionAvailable,
    NotSeated,
    PermissionDeniedError,
    RateLimitError,
    SessionClosed,
    SessionMismatch,
    SpaceInvadersError,
    TransportError,
)
from api_client.trust import ServerTrustError

KEYS = """\
←  →  or  a  d  or  h  l    move the cannon (hold to keep moving)
space                       fire (one missile at a time)
p                           pause and go on
?                           this help
q                           quit (asks first; your seat is freed)
ctrl+c                      quit at once (your seat is freed)"""

RULES = """\
Shoot the invaders before they land: squids 30, crabs 20,
octopuses 10 points; the mystery ship on top is worth 50 to 300.
The shields crumble under bombs and your own shots. One extra
life at 1,500 points. Each wave comes back lower and faster."""


def describe(error: BaseException) -> str:
    """A sentence for a player about what went wrong."""
    if isinstance(error, GamerCannotPlay):
        return "You have already played this session: it allows one game per player."
    if isinstance(error, SessionClosed):
        return "The session is closed: wait for the manager to open the next one."
    if isinstance(error, NoSeatsAvailable):
        return "All seats of this session are taken: try again when somebody leaves."
    if isinstance(error, NoSessionAvailable):
        return "No session is open: wait for the manager, or play offline."
    if isinstance(error, SessionMismatch):
        return "That session has ended and another one is open."
    if isinstance(error, NotSeated):
        return "The server freed your seat (nothing reached it for a while)."
    if isinstance(error, RateLimitError):
        wait = f" Wait {error.retry_after:.0f} s." if error.retry_after else ""
        return "Too many tries." + wait
    if isinstance(error, AuthenticationError):
        return "Wrong username or password."
    if isinstance(error, PermissionDeniedError):
        return f"Not allowed: {error.message}"
    if isinstance(error, ConflictError):
        return f"Refused: {error.message}"
    if isinstance(error, ServerTrustError):
        return str(error)  # what to check, in the client's own words (api_client/trust.py)
    if isinstance(error, TransportError):
        return "Cannot reach the server (is it running? is the network up?)."
    if isinstance(error, SpaceInvadersError):
        return str(getattr(error, "message", None) or error)
    return f"Unexpected error: {error!r}"
