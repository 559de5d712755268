"""Which status records a processor may trust with their own `Timestamp`."""

from __future__ import annotations

# A client's clock may run ahead of the server's, but a record stamped far in the future would outrank
# every later record of that player and could slip past the session's close.
MAX_CLOCK_AHEAD_SECONDS = 300.0


def stamped_too_far_ahead(ts: float, received_at: float) -> bool:
    return ts > received_at + MAX_CLOCK_AHEAD_SECONDS
