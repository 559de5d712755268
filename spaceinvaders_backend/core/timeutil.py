"""ISO-8601 instants as the contract writes them: UTC, milliseconds, a trailing Z."""
from __future__ import annotations

import re
from datetime import UTC, datetime

# RFC 3339's date-time: a full date, a full time, a zone (Z or an offset); nothing before or after.
_RFC3339 = re.compile(r"(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})")


def to_iso(epoch: float) -> str:
    dt = datetime.fromtimestamp(epoch, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def parse_iso(text: str) -> float:
    """Epoch seconds of an ISO-8601 instant; a naive one is taken as UTC. Raises ValueError.

    Lenient, for instants this project wrote itself; what a client sends goes through `parse_rfc3339`."""
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def parse_rfc3339(text: str) -> tuple[float, str]:
    """A strict RFC 3339 date-time with a zone: (epoch seconds, normalized UTC text); the text is
    `to_iso`'s form (milliseconds, Z) and the seconds are those of that text.

    Raises ValueError for anything else: a date alone, a time without a zone, trailing characters, an
    instant outside the years 1 to 9999 once moved to UTC."""
    match = _RFC3339.fullmatch(text)
    if match is None:
        raise ValueError("not an RFC 3339 date-time with a zone")
    date, clock, fraction, zone = match.groups()
    fraction = (fraction or "")[:6].ljust(6, "0")  # datetime keeps microseconds
    zone = "+00:00" if zone in ("Z", "z") else zone
    try:
        normalized = to_iso(datetime.fromisoformat(f"{date}T{clock}.{fraction}{zone}").timestamp())
        # The instant of the normalized text, so that reading an export back gives the same order.
        return parse_iso(normalized), normalized
    except (OverflowError, OSError) as exc:
        raise ValueError(str(exc)) from None


def session_suffix(epoch: float) -> str:
    """The time suffix of a SessionId, e.g. `261126T221500`."""
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%y%m%dT%H%M%S")
