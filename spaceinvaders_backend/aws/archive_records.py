"""The archive's records as the replay needs them: Firehose's objects under `sessions/<SessionId>/` read in
key order, decoded, and judged as the scoreboard function judged them, into the core's `ReplayIndex`.

The one home of this reading: the replay index function (`replay_indexer.py`) runs it as Firehose delivers
a session's objects, and the manager's console runs it on what that function has not indexed yet.

A record counts here exactly when the scoreboard function counted it (`board_batch.plan_player`):
- by the stored facts, judged the same way on both sides: not of this session, not the contract's shape
  (its dead letters), a Timestamp that is no instant, stamped more than five minutes ahead of its arrival,
  arrived before the session started, stamped or arrived after its close (the core's `counts`);
- by what the function read when it processed the record (the player held no seat then, a synchronized
  session not started yet): the function kept those records' keys on the player's Scoreboard item
  (`Uncounted`, items.uncounted_runs), read once (`board_store.kept_verdicts`); so are records still
  waiting for their stamp (`Waiting`): they are on no board.
A record Firehose delivered twice (the same record, the same arrival) counts once.

Firehose's objects follow each other in time but may overlap a little: a record of an object, or of a
later one, arrived no earlier than that object's first record, and settles no earlier. So an object's
records are final up to the next object's first arrival (`ArchiveFeed`).
"""
from __future__ import annotations

import gzip
import json
import math
import re
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol

import msgspec

from ..core.models import StatusUpdate
from ..core.records import settles_at, stamped_too_far_ahead
from ..core.replay import ReplayIndex, ReplayRecord
from ..core.scoreboard import counts
from ..core.sessions import Session
from ..core.timeutil import parse_rfc3339

ARCHIVE_PREFIX = "sessions/"  # Firehose's (its dynamic partitions): read here, never written
AHEAD = 4  # objects fetched ahead of the one being indexed
DEDUPE_SECONDS = 600.0  # twice Firehose's retry duration in the template (300 s)


def archive_prefix(session_id: str) -> str:
    return f"{ARCHIVE_PREFIX}{session_id}/"


def session_of_key(key: str) -> str | None:
    """The session an archive object belongs to (`sessions/<SessionId>/<name>`), None for any other key."""
    parts = key.split("/")
    return parts[1] if len(parts) >= 3 and parts[0] + "/" == ARCHIVE_PREFIX and parts[1] else None


def list_objects(s3: Any, bucket: str, session_id: str) -> list[tuple[str, str]]:
    """(key, ETag) of a session's archive objects, in key order (Firehose names them by delivery time)."""
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=archive_prefix(session_id))
    return sorted((o["Key"], o.get("ETag", "")) for page in pages for o in page.get("Contents", []))


def read_object(s3: Any, bucket: str, key: str) -> bytes:
    data = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def fetched_ahead(s3: Any, bucket: str, keys: list[str], ahead: int = AHEAD) -> Iterator[bytes]:
    """The objects' bodies (decompressed) in order, `ahead` of them fetched at once in threads."""
    with ThreadPoolExecutor(ahead, thread_name_prefix="archive-read") as pool:
        pending: deque[Future[bytes]] = deque(pool.submit(read_object, s3, bucket, key) for key in keys[:ahead])
        following = iter(keys[ahead:])
        while pending:
            data = pending.popleft().result()
            key = next(following, None)
            if key is not None:
                pending.append(pool.submit(read_object, s3, bucket, key))
            yield data


_decoder = json.JSONDecoder()


def records_of(data: bytes) -> Iterator[dict[str, Any]]:
    """Every JSON object in one archive object, whatever separates them; ValueError at one that is not JSON."""
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    text = data.decode("utf-8")
    position, end = 0, len(text)
    while True:
        while position < end and text[position].isspace():
            position += 1
        if position >= end:
            return
        try:
            record, position = _decoder.raw_decode(text, position)
        except ValueError as error:
            raise ValueError(f"the archive holds something that is not a JSON record: {error}") from error
        if isinstance(record, dict):
            yield record


class ArchivedStatus(StatusUpdate, frozen=True):
    """One archived record: the body API Gateway put on the stream, with its arrival (docs/aws.md)."""

    ReceivedAtEpochMs: int


_many = msgspec.json.Decoder(list[ArchivedStatus])
_BETWEEN_RECORDS = re.compile(rb"}\s*{")


def archived_statuses(data: bytes) -> list[ArchivedStatus]:
    """Every record of one archive object that has the contract's shape, whatever separates them.

    Fast path: the records made into one JSON array (no field of a valid record can hold a brace, so
    `}{` only ever sits between two records) and decoded at once; if anything in the object is not a
    valid record, each record is decoded on its own and the invalid ones are left out."""
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    body = data.strip()
    if not body:
        return []
    try:
        return _many.decode(b"[" + _BETWEEN_RECORDS.sub(b"},{", body) + b"]")
    except msgspec.DecodeError:
        pass
    found = []
    try:
        for record in records_of(body):
            try:
                found.append(msgspec.convert(record, ArchivedStatus))
            except msgspec.ValidationError:
                continue  # the scoreboard function sends such a record to its dead letters
    except ValueError:
        pass  # what follows a broken record cannot be told apart: what came before it is kept
    return found


_ARRIVAL = re.compile(rb'"ReceivedAtEpochMs"\s*:\s*(\d+)')


def first_arrival(data: bytes) -> float | None:
    """The earliest arrival written in an object (decompressed), read without decoding its records: any
    record's, valid or not, so never later than the first valid one's."""
    found = _ARRIVAL.findall(data)
    return min(map(int, found)) / 1000 if found else None


class Timestamps:
    """`parse_rfc3339(text)[0]` for millions of records: the common form `2026-11-26T22:15:00.123Z` is
    worked out from its second (parsed by the core once per second) and its milliseconds, exactly as the
    core computes it (`datetime.timestamp()`: microseconds over 10**6); anything else goes to the core."""

    def __init__(self) -> None:
        self._seconds: dict[str, int] = {}

    def epoch(self, text: str) -> float:
        if len(text) == 24 and text[19] == "." and text[23] == "Z" and text[20:23].isdigit():
            second = self._seconds.get(text[:19])
            if second is None:
                whole, _ = parse_rfc3339(text[:19] + "Z")
                second = self._seconds[text[:19]] = int(whole)
                if len(self._seconds) > 100_000:
                    self._seconds.clear()
            return (second * 1_000_000 + int(text[20:23]) * 1000) / 1_000_000
        return parse_rfc3339(text)[0]


class NotCounted(Protocol):
    """What the scoreboard function kept of a player's records it did not count (`board_store.KeptVerdicts`)."""

    def excludes(self, arrived_at: float, ts: float) -> bool: ...


def counted_records(statuses: Iterable[ArchivedStatus], session: Session, verdicts: Mapping[str, NotCounted],
                    timestamps: Timestamps | None = None, seq: int = 0) -> list[ReplayRecord]:
    """The records of one object the scoreboard function counted (see the module's docstring); `seq` is
    given to each (the object's place in the archive, from 1: where to read again to go on)."""
    epoch = (timestamps or Timestamps()).epoch
    sid, closes_at = session.session_id, session.closes_at()
    records = []
    for s in statuses:
        if s.SessionId != sid:
            continue
        try:
            ts = epoch(s.Timestamp)
        except ValueError:
            continue
        arrived = s.ReceivedAtEpochMs / 1000
        if stamped_too_far_ahead(ts, arrived) or not session.has_started(arrived) or not counts(ts, arrived, closes_at):
            continue
        kept = verdicts.get(s.Nickname)
        if kept is not None and kept.excludes(arrived, ts):
            continue
        records.append(ReplayRecord(s.Nickname, s.Score, s.Shots, s.Level, s.Lives, ts, arrived, seq))
    return records


class Once:
    """A record Firehose delivered again (its retries last up to DEDUPE_SECONDS, the template's) counts
    once: the records kept within that window of arrivals are remembered by a 64-bit hash of the whole
    record (a chance of about 1e-8 in a window of 400,000 records that two records share one)."""

    def __init__(self) -> None:
        self._seen: set[int] = set()
        self._window: deque[tuple[float, int]] = deque()

    def keep(self, records: list[ReplayRecord]) -> list[ReplayRecord]:
        kept, seen, window = [], self._seen, self._window
        for r in records:
            key = hash(r[:7])  # the record itself, not where it was read
            if key in seen:
                continue
            seen.add(key)
            window.append((r.received_at, key))
            kept.append(r)
        if kept:
            oldest = max(r.received_at for r in kept) - DEDUPE_SECONDS
            while window and window[0][0] < oldest:
                seen.discard(window.popleft()[1])
        return kept


class ArchiveFeed:
    """Feeds one session's archive objects, in key order, into a `ReplayIndex`.

    Each object's counted records are added with its place (`seq`, from 1); what settled before the next
    object's first arrival is committed. `index_from`: a stored index taken up again from its last
    keyframe (`ReplayIndex.resume`) is fed again from the object of its oldest record not in a closed
    chunk (`ReplayIndex.pending_seq`), and records settled before that keyframe are in it already."""

    def __init__(self, index: ReplayIndex, session: Session, verdicts: Mapping[str, NotCounted],
                 index_from: float = -math.inf) -> None:
        self.index = index
        self.session = session
        self.verdicts = verdicts
        self.index_from = index_from
        self._once = Once()
        self._timestamps = Timestamps()

    def add(self, number: int, data: bytes, following: bytes | None) -> None:
        """Object `number` (from 0) of the listing, and the next one's body when there is one."""
        records = counted_records(archived_statuses(data), self.session, self.verdicts, self._timestamps,
                                  seq=number + 1)
        if self.index_from > -math.inf:
            records = [r for r in records if settles_at(r.ts, r.received_at) >= self.index_from]
        self.index.add(self._once.keep(records))
        first = first_arrival(following) if following is not None else None
        if first is not None:
            self.index.commit(math.nextafter(first, -math.inf))

    def run(self, bodies: Iterator[bytes], first_number: int = 0, stopped=lambda: False,
            after_each=lambda: None) -> None:
        """Every body of `bodies` (objects `first_number`... of the listing), each with the one after it."""
        number, data = first_number, next(bodies, None)
        while data is not None:
            if stopped():
                return
            following = next(bodies, None)  # fetched ahead already
            self.add(number, data, following)
            after_each()
            number, data = number + 1, following
