"""Which status records a processor may trust with their own `Timestamp`, and when a record's fate is settled."""

from __future__ import annotations

# A client's clock may run ahead of the server's, but a record stamped far in the future would outrank
# every later record of that player and could slip past the session's close.
MAX_CLOCK_AHEAD_SECONDS = 300.0


def stamped_too_far_ahead(ts: float, received_at: float) -> bool:
    return ts > received_at + MAX_CLOCK_AHEAD_SECONDS


def settles_at(ts: float, received_at: float) -> float:
    """The moment from which a record's fate cannot change: a close after it drops it by no rule (it was
    received and stamped by then). A record stamped ahead of its arrival settles at its stamp. The replay's
    timeline puts each record at this moment, and the live processors count one no earlier."""
    return max(received_at, ts)


# A record stamped before its session opened is none of that session's games (a seat is taken in an open
# session), given the same allowance for a client's clock. A post delayed or sent again later (a game that
# went offline and posts its final status once back) is stamped within the session however late it comes,
# so it is never refused for its age; after the close, the session itself refuses it.
MAX_CLOCK_BEHIND_SECONDS = 300.0


def stamped_before_session(ts: float, opening_time: float) -> bool:
    return ts < opening_time - MAX_CLOCK_BEHIND_SECONDS
