"""A session's replay from the AWS archive: Firehose's objects under `sessions/<SessionId>/` in S3.

A thread lists the objects, reads them in key order (Firehose names them by delivery time; a few are
fetched ahead), decodes each (gzip or not, records newline-separated or not), judges each record as the
scoreboard function did and adds those that count to the core's `ReplayIndex`, which puts them on the
timeline of their settle moments whatever their order. An object's records are final up to the next
object's first arrival (Firehose's objects follow each other in time, overlapping a little), so the first
frame is drawn once two objects are read, and the replay reaches further as the rest arrive. The frames come from the core's
`ReplayCursor`, so they are ranked by the live board's rules, and the last frame is the stored board.

A record counts here exactly when the scoreboard function counted it (`aws/board_batch.plan_player`):
- by the stored facts, judged the same way on both sides: not of this session, not the contract's shape
  (its dead letters), a Timestamp that is no instant, stamped more than five minutes ahead of its arrival,
  arrived before the session started, stamped or arrived after its close (the core's `counts`);
- by what the function read when it processed the record (the player held no seat then, a synchronized
  session not started yet): the function kept those records' keys on the player's Scoreboard item
  (`Uncounted`, items.uncounted_runs), read here once; so are records still waiting for their stamp when
  the session closed and never decided since (`Waiting`): they are on no board.
A record Firehose delivered twice (the same record, the same arrival) counts once.
"""
from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import math
import re
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol

import msgspec

from api_client import Session
from spaceinvaders_backend.core.models import StatusUpdate
from spaceinvaders_backend.core.records import stamped_too_far_ahead
from spaceinvaders_backend.core.replay import (
    FrameView,
    ReplayCursor,
    ReplayFrame,
    ReplayIndex,
    ReplayRecord,
    frame_of,
)
from spaceinvaders_backend.core.scoreboard import counts
from spaceinvaders_backend.core.sessions import Session as CoreSession
from spaceinvaders_backend.core.timeutil import parse_rfc3339

from . import BackendError
from .aws_archive import archive_prefix, records_of
from .replay_cache import ReplayCache

AHEAD = 4  # objects fetched ahead of the one being indexed
DEDUPE_SECONDS = 600.0  # twice Firehose's retry duration in the template (300 s)
FIRST_FRAME_WAIT_SECONDS = 10.0


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
    except BackendError:
        pass  # what follows a broken record cannot be told apart: what came before it is kept
    return found


_ARRIVAL = re.compile(rb'"ReceivedAtEpochMs"\s*:\s*(\d+)')


def first_arrival(data: bytes) -> float | None:
    """The earliest arrival written in an object (decompressed), read without decoding its records: any
    record's, valid or not, so never later than the first valid one's."""
    found = _ARRIVAL.findall(data)
    return min(map(int, found)) / 1000 if found else None


def core_session(session: Session) -> CoreSession:
    def epoch(value) -> float | None:
        return None if value is None else value.timestamp()
    return CoreSession(session.SessionId, str(session.GameType), session.Synchronized, session.TotalSeats or 0,
                       session.OpeningTime.timestamp(), session.TimeoutInMinutes, epoch(session.SynchronizeTime),
                       epoch(session.ClosingTime))


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
    """What the scoreboard function kept of a player's records it did not count (aws/board_store.py)."""

    def excludes(self, arrived_at: float, ts: float) -> bool: ...


def counted_records(statuses: list[ArchivedStatus], session: CoreSession, verdicts: dict[str, NotCounted],
                    timestamps: Timestamps | None = None) -> list[ReplayRecord]:
    """The records of one object the scoreboard function counted (see the module's docstring)."""
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
        records.append(ReplayRecord(s.Nickname, s.Score, s.Shots, s.Level, s.Lives, ts, arrived))
    return records


class Once:
    """A record Firehose delivered again (its retries last up to DEDUPE_SECONDS, docs/aws.md's template)
    counts once: the records kept within that window of arrivals are remembered by a 64-bit hash of the
    whole record (a chance of about 1e-8 in a window of 400,000 records that two records share one)."""

    def __init__(self) -> None:
        self._seen: set[int] = set()
        self._window: deque[tuple[float, int]] = deque()

    def keep(self, records: list[ReplayRecord]) -> list[ReplayRecord]:
        kept, seen, window = [], self._seen, self._window
        for r in records:
            key = hash(r)
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


class ArchiveReplay:
    """The replay of one session from the archive bucket, indexed in a thread as its objects are read (or
    read from the cache of replays this console built, `replay_cache.py`)."""

    def __init__(self, s3: Any, bucket: str, session: Session, verdicts: Callable[[], dict[str, NotCounted]],
                 describe=str, cache: ReplayCache | None = None) -> None:
        self.session = session
        self._core = core_session(session)
        self._verdicts = verdicts  # read in the thread, before the first object
        self._cache = cache
        self.index = ReplayIndex(self._core.started_at)
        self.cursor = ReplayCursor(self.index)
        self.cached = False  # read from the cache, not the archive
        self.error: str | None = None
        self._told = False
        self._stopped = threading.Event()
        self.first_batch = threading.Event()
        self._describe = describe  # a boto3 error as one line
        self._thread = threading.Thread(target=self._build, args=(s3, bucket), daemon=True,
                                        name=f"replay-{session.SessionId}")
        self._thread.start()

    def _objects(self, s3: Any, bucket: str) -> list[tuple[str, str]]:
        """(key, ETag) of the session's archive objects, in key order."""
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket,
                                                             Prefix=archive_prefix(self.session.SessionId))
        return sorted((o["Key"], o.get("ETag", "")) for page in pages for o in page.get("Contents", []))

    def _fingerprint(self, objects: list[tuple[str, str]], verdicts: dict[str, NotCounted]) -> str:
        kept = sorted((name, repr(v)) for name, v in verdicts.items())
        made_of = [self._core.started_at, self._core.closes_at(), objects, kept]
        return hashlib.sha256(json.dumps(made_of).encode()).hexdigest()

    def _build(self, s3: Any, bucket: str) -> None:
        once, timestamps, index = Once(), Timestamps(), self.index
        sid, closed = self.session.SessionId, self._core.closing_time is not None
        fingerprint = None
        try:
            verdicts = self._verdicts()
            objects = self._objects(s3, bucket)
            if self._cache is not None and closed:
                fingerprint = self._fingerprint(objects, verdicts)
                cached = self._cache.load(sid, fingerprint)
                if cached is not None:  # before the first frame: frames come from it alone
                    self.index, self.cursor, self.cached = cached, ReplayCursor(cached), True
                    return
            bodies = self._bodies(s3, bucket, [key for key, _etag in objects])
            data = next(bodies, None)
            while data is not None:
                if self._stopped.is_set():
                    return
                following = next(bodies, None)  # fetched ahead already
                statuses = archived_statuses(data)
                index.add(once.keep(counted_records(statuses, self._core, verdicts, timestamps)))
                # Firehose's objects follow each other in time but may overlap a little: a record of an
                # object, or of a later one, arrived no earlier than that object's first record, and settles
                # no earlier. So what settled before the next object's first arrival is final.
                first = first_arrival(following) if following is not None else None
                if first is not None:
                    index.commit(math.nextafter(first, -math.inf))
                self.first_batch.set()
                data = following
            index.finish()
            if fingerprint is not None:
                self._cache.save(sid, fingerprint, index, index.take_changes())
        except Exception as error:  # noqa: BLE001 - told to the manager; what was read stays playable
            self.error = self._describe(error)
        finally:
            if not self.cached:
                index.finish()
            self.first_batch.set()

    def _bodies(self, s3: Any, bucket: str, keys: list[str]) -> Iterator[bytes]:
        def read(key: str) -> bytes:
            data = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data  # here: in the readers' threads

        with ThreadPoolExecutor(AHEAD, thread_name_prefix="replay-read") as pool:
            ahead: deque[Future[bytes]] = deque(pool.submit(read, key) for key in keys[:AHEAD])
            following = iter(keys[AHEAD:])
            while ahead:
                data = ahead.popleft().result()
                key = next(following, None)
                if key is not None:
                    ahead.append(pool.submit(read, key))
                yield data

    async def frame(self, at: float | None, view: FrameView | None = None) -> ReplayFrame:
        if not self.first_batch.is_set():  # the first frame waits for the first object, not for them all
            await asyncio.to_thread(self.first_batch.wait, FIRST_FRAME_WAIT_SECONDS)
        if self.error is not None and not self._told:
            self._told = True
            raise BackendError(f"the archive was read in part: {self.error}")
        return frame_of(self.cursor, self.session.SessionId, at, view=view)

    async def aclose(self) -> None:
        self._stopped.set()
