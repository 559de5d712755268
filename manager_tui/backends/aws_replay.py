"""A session's replay from the AWS archive: Firehose's objects under `sessions/<SessionId>/` in S3.

A thread lists the objects, reads them in key order (Firehose names them by delivery time; a few are
fetched ahead), decodes each (gzip or not, records newline-separated or not) and feeds its records, in
arrival order, to the core's `ReplayIndex`: the first frame is drawn once the first object is read, and
the replay reaches further as the rest arrive. The frames come from the core's `ReplayCursor`, so they
are ranked by the live board's rules.

Records the scoreboard function drops are dropped here too (`aws/board_batch.plan_player`): not of this
session, not the contract's shape (its dead letters), a Timestamp that is no instant, stamped more than
five minutes ahead of their arrival, arrived before the session started, or after it closed. A record
Firehose delivered twice (the same record, the same arrival) counts once. The archive does not say
whether the player held a seat when a record arrived, so posts of a player whose seat was freed while
they kept posting count here where the function dropped them (docs/manager.md, "Replay").
"""
from __future__ import annotations

import asyncio
import gzip
import re
import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import msgspec

from api_client import Session
from spaceinvaders_backend.core.models import StatusUpdate
from spaceinvaders_backend.core.records import stamped_too_far_ahead
from spaceinvaders_backend.core.replay import ReplayCursor, ReplayFrame, ReplayIndex, ReplayRecord, frame_of
from spaceinvaders_backend.core.sessions import Session as CoreSession
from spaceinvaders_backend.core.timeutil import parse_rfc3339

from . import BackendError
from .aws_archive import archive_prefix, records_of

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


def counted_records(statuses: list[ArchivedStatus], session: CoreSession,
                    timestamps: Timestamps | None = None) -> list[ReplayRecord]:
    """The records the scoreboard function would apply, in arrival order."""
    epoch = (timestamps or Timestamps()).epoch
    records = []
    for s in statuses:
        if s.SessionId != session.session_id:
            continue
        try:
            ts = epoch(s.Timestamp)
        except ValueError:
            continue
        arrived = s.ReceivedAtEpochMs / 1000
        if stamped_too_far_ahead(ts, arrived) or not session.has_started(arrived):
            continue
        records.append(ReplayRecord(s.Nickname, s.Score, s.Shots, s.Level, s.Lives, ts, arrived))
    records.sort(key=lambda r: r.received_at)  # stable: records of one millisecond keep their order
    return records


class ArrivalOrder:
    """Objects' records merged into one arrival order: Firehose's objects follow each other in time but
    may overlap a little, so a record is let go only once an object that starts after it has been read.

    A record Firehose delivered again (its retries last up to DEDUPE_SECONDS, docs/aws.md's template)
    counts once: the records let go within that window are remembered by a 64-bit hash of the whole
    record (a chance of about 1e-8 in a window of 400,000 records that two records share one)."""

    def __init__(self) -> None:
        self._held: list[ReplayRecord] = []
        self._seen: set[int] = set()
        self._window: deque[tuple[float, int]] = deque()

    def add(self, records: list[ReplayRecord]) -> list[ReplayRecord]:
        if not records:
            return []
        held = self._held + records
        held.sort(key=lambda r: r.received_at)
        cut = records[0].received_at
        split = next((i for i, r in enumerate(held) if r.received_at >= cut), len(held))
        ready, self._held = held[:split], held[split:]
        return self._once(ready)

    def rest(self) -> list[ReplayRecord]:
        ready, self._held = self._held, []
        return self._once(ready)

    def _once(self, records: list[ReplayRecord]) -> list[ReplayRecord]:
        kept, seen, window = [], self._seen, self._window
        for r in records:
            key = hash(r)
            if key in seen:
                continue
            seen.add(key)
            window.append((r.received_at, key))
            kept.append(r)
        if kept:
            oldest = kept[-1].received_at - DEDUPE_SECONDS
            while window and window[0][0] < oldest:
                seen.discard(window.popleft()[1])
        return kept


class ArchiveReplay:
    """The replay of one session from the archive bucket, indexed in a thread as its objects are read."""

    def __init__(self, s3: Any, bucket: str, session: Session, describe=str) -> None:
        self.session = session
        self._core = core_session(session)
        self.index = ReplayIndex(self._core)
        self.cursor = ReplayCursor(self.index)
        self.error: str | None = None
        self._told = False
        self._stopped = threading.Event()
        self.first_batch = threading.Event()
        self._describe = describe  # a boto3 error as one line
        self._thread = threading.Thread(target=self._build, args=(s3, bucket), daemon=True,
                                        name=f"replay-{session.SessionId}")
        self._thread.start()

    def _objects(self, s3: Any, bucket: str) -> list[str]:
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket,
                                                             Prefix=archive_prefix(self.session.SessionId))
        return sorted(o["Key"] for page in pages for o in page.get("Contents", []))

    def _build(self, s3: Any, bucket: str) -> None:
        order = ArrivalOrder()
        timestamps = Timestamps()
        try:
            keys = self._objects(s3, bucket)
            for data in self._bodies(s3, bucket, keys):
                if self._stopped.is_set():
                    return
                self.index.feed(order.add(counted_records(archived_statuses(data), self._core, timestamps)))
                self.first_batch.set()
            self.index.feed(order.rest())
        except Exception as error:  # noqa: BLE001 - told to the manager; what was read stays playable
            self.error = self._describe(error)
        finally:
            self.index.finish()
            self.first_batch.set()

    def _bodies(self, s3: Any, bucket: str, keys: list[str]) -> Iterator[bytes]:
        def read(key: str) -> bytes:
            return s3.get_object(Bucket=bucket, Key=key)["Body"].read()

        with ThreadPoolExecutor(AHEAD, thread_name_prefix="replay-read") as pool:
            ahead: deque[Future[bytes]] = deque(pool.submit(read, key) for key in keys[:AHEAD])
            following = iter(keys[AHEAD:])
            while ahead:
                data = ahead.popleft().result()
                key = next(following, None)
                if key is not None:
                    ahead.append(pool.submit(read, key))
                yield data

    async def frame(self, at: float | None) -> ReplayFrame:
        if not self.first_batch.is_set():  # the first frame waits for the first object, not for them all
            await asyncio.to_thread(self.first_batch.wait, FIRST_FRAME_WAIT_SECONDS)
        if self.error is not None and not self._told:
            self._told = True
            raise BackendError(f"the archive was read in part: {self.error}")
        return frame_of(self.cursor, self.session.SessionId, at)

    async def aclose(self) -> None:
        self._stopped.set()
