"""A session's replay on AWS: the index the stack's replay index function stored under
`replays/<SessionId>/` first, and Firehose's objects under `sessions/<SessionId>/` for what it has not
indexed yet.

- The index is complete (the session closed a while ago): the replay is that index, its keyframes and
  chunks read from S3 as a cursor needs them; no archive object is read.
- It is not (a session still running, or closed a moment ago): the stored part is shown at once, and a
  thread goes on from its last keyframe with the objects it lacks, judged and indexed as the function does
  (`spaceinvaders_backend/aws/archive_records.py`, the one home of that reading).
- There is none (a stack from before the function, a session with no object yet), or it no longer fits
  the archive's listing: the thread indexes the whole archive, and a closed session's replay so built is
  kept in the console's cache (`replay_cache.py`), so its next replay seeks at once.
The frames come from the core's `ReplayCursor`, so they are ranked by the live board's rules, and the last
frame is the stored board.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import math
import threading
from collections.abc import Callable, Mapping
from typing import Any

from api_client import Session
from spaceinvaders_backend.aws.archive_records import ArchiveFeed, NotCounted, fetched_ahead, list_objects
from spaceinvaders_backend.aws.replay_store import StoredReplay, load_manifest, stored_index
from spaceinvaders_backend.core.replay import FrameView, ReplayCursor, ReplayFrame, ReplayIndex, frame_of
from spaceinvaders_backend.core.sessions import Session as CoreSession

from . import BackendError
from .replay_cache import ReplayCache

FIRST_FRAME_WAIT_SECONDS = 10.0


def core_session(session: Session) -> CoreSession:
    def epoch(value) -> float | None:
        return None if value is None else value.timestamp()
    return CoreSession(session.SessionId, str(session.GameType), session.Synchronized, session.TotalSeats or 0,
                       session.OpeningTime.timestamp(), session.TimeoutInMinutes, epoch(session.SynchronizeTime),
                       epoch(session.ClosingTime))


class ArchiveReplay:
    """The replay of one session: the stack's stored index, gone on with the archive's objects it lacks in
    a thread (or the archive indexed here, or the cache of replays this console built)."""

    def __init__(self, s3: Any, bucket: str, session: Session, verdicts: Callable[[], Mapping[str, NotCounted]],
                 describe=str, cache: ReplayCache | None = None, stored: StoredReplay | None = None) -> None:
        self.session = session
        self._core = core_session(session)
        self._verdicts = verdicts  # read in the thread, before the first object
        self._cache = cache
        self._stored = stored  # the Sessions item as read, naming the stored index's manifest
        self.index = ReplayIndex(self._core.started_at)
        self.cursor = ReplayCursor(self.index)
        self.cached = False  # read from the console's cache, not the archive
        self.indexed = False  # the stack's stored index was read
        self.objects_read = 0  # archive objects read here
        self.error: str | None = None
        self._told = False
        self._stopped = threading.Event()
        self._frames = threading.Lock()  # one frame at a time on the cursor
        self.first_batch = threading.Event()
        self._describe = describe  # a boto3 error as one line
        self._thread = threading.Thread(target=self._build, args=(s3, bucket), daemon=True,
                                        name=f"replay-{session.SessionId}")
        self._thread.start()

    def _fingerprint(self, objects: list[tuple[str, str]], verdicts: Mapping[str, NotCounted]) -> str:
        kept = sorted((name, repr(v)) for name, v in verdicts.items())
        made_of = [self._core.started_at, self._core.closes_at(), objects, kept]
        return hashlib.sha256(json.dumps(made_of).encode()).hexdigest()

    def _use(self, index: ReplayIndex) -> None:
        """Frames come from `index` (before the first frame, or before its thread adds to it)."""
        self.index, self.cursor = index, ReplayCursor(index)

    def _build(self, s3: Any, bucket: str) -> None:
        sid, closed = self.session.SessionId, self._core.closing_time is not None
        fingerprint, built_here = None, True
        try:
            manifest = None if self._stored is None else load_manifest(s3, bucket, self._stored.manifest)
            if manifest is not None and manifest.Complete:
                self._use(stored_index(s3, bucket, sid, manifest))
                self.indexed = True
                return
            verdicts = self._verdicts()
            objects = list_objects(s3, bucket, sid)
            if manifest is not None and objects[:len(manifest.Objects)] != [tuple(o) for o in manifest.Objects]:
                manifest = None  # the archive is not what was indexed: index it here
            first, index_from = 0, -math.inf
            if manifest is not None:
                index = stored_index(s3, bucket, sid, manifest)
                index.resume()
                if index.started_at is None:
                    index.started_at = self._core.started_at
                self._use(index)
                self.indexed, built_here = True, False
                first = manifest.Resume
                index_from = index.keyframe_at[-1] if index.keyframe_at else -math.inf
                self.first_batch.set()  # what is stored can be shown at once
            elif self._cache is not None and closed:
                fingerprint = self._fingerprint(objects, verdicts)
                cached = self._cache.load(sid, fingerprint)
                if cached is not None:  # before the first frame: frames come from it alone
                    self._use(cached)
                    self.cached = True
                    return
            keys = [key for key, _etag in objects[first:]]
            self.objects_read = len(keys)
            ArchiveFeed(self.index, self._core, verdicts, index_from).run(
                fetched_ahead(s3, bucket, keys), first, stopped=self._stopped.is_set, after_each=self.first_batch.set)
            if self._stopped.is_set():
                return
            self.index.finish()
            if fingerprint is not None and built_here:
                self._cache.save(sid, fingerprint, self.index, self.index.take_changes())
        except Exception as error:  # noqa: BLE001 - told to the manager; what was read stays playable
            self.error = self._describe(error)
        finally:
            if not self.cached:
                self.index.finish()
            self.first_batch.set()

    def _frame(self, at: float | None, view: FrameView | None) -> ReplayFrame:
        with self._frames:  # a stored index's segments are read from S3 here, off the event loop
            return frame_of(self.cursor, self.session.SessionId, at, view=view)

    async def frame(self, at: float | None, view: FrameView | None = None) -> ReplayFrame:
        if not self.first_batch.is_set():  # the first frame waits for the first object, not for them all
            await asyncio.to_thread(self.first_batch.wait, FIRST_FRAME_WAIT_SECONDS)
        if self.error is not None and not self._told:
            self._told = True
            raise BackendError(f"the archive was read in part: {self.error}")
        return await asyncio.to_thread(self._frame, at, view)

    async def aclose(self) -> None:
        self._stopped.set()
