"""The archive's Firehose transform: keeps the records of real sessions and names their partition.

Firehose partitions the archive by session (`sessions/<SessionId>/`) and counts at most 500 active
partitions per delivery stream; past that, records go to the error prefix
(https://docs.aws.amazon.com/firehose/latest/dev/dynamic-partitioning.html). A SessionId comes from the
player, so partitioning on the record's own text would let anyone open partitions and push real sessions'
records to `errors/`. Here a record keeps its partition only when its session exists in the Sessions
table and had not closed more than `CLOSE_GRACE_SECONDS` before the record reached Kinesis; every other
record is `Dropped` (a successful outcome for Firehose, not an error:
https://docs.aws.amazon.com/firehose/latest/dev/data-transformation.html). Sessions open one after the
other, so the archive has one or two partitions at a time. Each kept record gets its newline here.

Sessions are read with one BatchGetItem per invocation for the ids not already known: a closed session is
final and stays known; an open or missing one is read again after `RECHECK_SECONDS`.
"""

from __future__ import annotations

import base64
import json
import re
import time
from dataclasses import dataclass

from aws_lambda_powertools import Logger

from ...core.models import SESSION_ID_PATTERN
from ..board_batch import read_sessions
from ..config import SERVICE, StackNames

logger = Logger(service=SERVICE)
# Records of a session still arrive a little after it closes (the last posts in flight): kept.
CLOSE_GRACE_SECONDS = 60.0
RECHECK_SECONDS = 30.0
KNOWN_LIMIT = 4096  # sessions remembered by a warm container
_SESSION_ID = re.compile(SESSION_ID_PATTERN)


@dataclass(frozen=True)
class KnownSession:
    exists: bool
    closes_at: float | None  # its ClosingTime, or a time-constrained session's deadline
    checked_at: float

    def final(self) -> bool:
        return self.exists and self.closes_at is not None


class SessionCache:
    """What the Sessions table said about each id, for as long as it can change no more (or a recheck)."""

    def __init__(self) -> None:
        self._known: dict[str, KnownSession] = {}

    def lookup(self, names: StackNames, session_ids: set[str], now: float) -> dict[str, KnownSession]:
        stale = {
            sid
            for sid in session_ids
            if sid not in self._known
            or (not self._known[sid].final() and now - self._known[sid].checked_at >= RECHECK_SECONDS)
        }
        if stale:
            found = read_sessions(names, stale)
            if len(self._known) + len(stale) > KNOWN_LIMIT:
                self._known.clear()
            for sid in stale:
                stored = found.get(sid)
                closes_at = None if stored is None else stored.session.closes_at()
                self._known[sid] = KnownSession(stored is not None, closes_at, now)
        return {sid: self._known[sid] for sid in session_ids}


_sessions = SessionCache()


def _session_id(data: bytes) -> str | None:
    try:
        record = json.loads(data)
    except ValueError:
        return None
    sid = record.get("SessionId") if isinstance(record, dict) else None
    return sid if isinstance(sid, str) and _SESSION_ID.match(sid) else None


def _arrival(record: dict) -> float:
    """When Kinesis received it (epoch seconds): the Kinesis metadata Firehose passes on, or Firehose's."""
    metadata = record.get("kinesisRecordMetadata") or {}
    millis = metadata.get("approximateArrivalTimestamp", record.get("approximateArrivalTimestamp", 0))
    return float(millis) / 1000.0


def transform(names: StackNames, records: list[dict], now: float, cache: SessionCache = _sessions) -> list[dict]:
    """Firehose's answer for each record: Ok with its partition and a newline, or Dropped."""
    decoded = [(r, base64.b64decode(r["data"])) for r in records]
    ids = {sid for _, data in decoded if (sid := _session_id(data)) is not None}
    known = cache.lookup(names, ids, now) if ids else {}
    answers = []
    for record, data in decoded:
        sid = _session_id(data)
        session = known.get(sid) if sid is not None else None
        keep = (
            session is not None
            and session.exists
            and (session.closes_at is None or _arrival(record) <= session.closes_at + CLOSE_GRACE_SECONDS)
        )
        if keep:
            answers.append(
                {
                    "recordId": record["recordId"],
                    "result": "Ok",
                    "data": base64.b64encode(data.rstrip(b"\n") + b"\n").decode(),
                    "metadata": {"partitionKeys": {"SessionId": sid}},
                }
            )
        else:
            answers.append({"recordId": record["recordId"], "result": "Dropped", "data": record["data"]})
    dropped = sum(a["result"] == "Dropped" for a in answers)
    if dropped:
        logger.info("records of no current session dropped", extra={"dropped": dropped, "records": len(answers)})
    return answers


@logger.inject_lambda_context
def handler(event: dict, context) -> dict:
    return {"records": transform(StackNames.from_environ(), event.get("records", []), time.time())}
