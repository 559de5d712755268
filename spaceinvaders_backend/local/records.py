"""The status record: one accepted `POST /updatestatus`, as stored in the `status` table and streamed."""
from __future__ import annotations

from typing import NamedTuple


class StatusRecord(NamedTuple):
    """A tuple (SQLite takes it as the row's parameters) with a name for each column of `status`."""

    seq: int  # its place in the stream: the SequenceNumber
    session_id: str
    nickname: str
    score: int
    shots: int
    level: int
    lives: int
    timestamp: str  # as the player stamped it, normalized to UTC (`core.timeutil.to_iso`)
    ts: float  # the same instant in epoch seconds
    received_at: float  # the server's clock when it was accepted
