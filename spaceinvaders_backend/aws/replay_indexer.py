"""The replay index of a session on AWS, made as Firehose delivers its archive (the replay index function,
`handlers/replay_index.py`), as the local server makes its replay as it counts (`local/stream.py`).

One run for one session: read the stored index (`replay_store`), list the archive's objects, feed the new
ones in key order (`archive_records.ArchiveFeed`, with the records the scoreboard function kept as not
counted), and store the new keyframes and chunks. Whatever the run was started by (an S3 event, twice or
out of order, or the schedule), it works from the listing and from what is stored, so each object is
indexed once and in order; two runs at once are settled by the marker's condition (`ReplayChanged`: the
loser goes on from the winner's index).

An object's records are final up to the next object's first arrival: the last object's wait for the next
one, or for the end. The end: the session closed `FINAL_AFTER_SECONDS` ago, when Firehose can deliver no
record that counts any more. Then the index is finished, and checked: its last board must be the stored
board (the Scoreboard table's `Ranking`). A verdict the scoreboard function changed after a run read it
(a record stamped ahead, decided at the player's next batch) would show there: the index is then made
again from the whole archive with the verdicts as they are now.
"""
from __future__ import annotations

import math
from typing import Any, NamedTuple

from ..core.replay import ReplayCursor, ReplayIndex
from . import board_store, replay_store
from .archive_records import ArchiveFeed, fetched_ahead, list_objects
from .config import StackNames
from .replay_store import Manifest, ReplayChanged, StoredReplay

# Firehose holds a record at most the transform's buffer (60 s) and the delivery's (60 s), and retries a
# failed delivery for 300 s (template.yaml, Archive): after a session's close and this, none still comes.
FINAL_AFTER_SECONDS = 900.0
ATTEMPTS = 3  # runs that lost the race to another, gone on from its index


class IndexRun(NamedTuple):
    """What one run did for one session."""

    session_id: str
    objects_read: int
    version: int  # of the index stored (0: none)
    complete: bool
    note: str


def index_session(names: StackNames, s3: Any, bucket: str, session_id: str, now: float) -> IndexRun:
    for _attempt in range(ATTEMPTS - 1):
        try:
            return _run(names, s3, bucket, session_id, now)
        except ReplayChanged:
            continue  # another run stored the index meanwhile: go on from it
    return _run(names, s3, bucket, session_id, now)


def _run(names: StackNames, s3: Any, bucket: str, session_id: str, now: float) -> IndexRun:
    read = replay_store.read(names, session_id)
    if read is None:
        return IndexRun(session_id, 0, 0, False, "no such session")
    manifest = replay_store.load_manifest(s3, bucket, read.manifest)
    objects = list_objects(s3, bucket, session_id)
    note = ""
    if manifest is not None and objects[:len(manifest.Objects)] != [tuple(o) for o in manifest.Objects]:
        manifest, note = None, "an object came before those indexed: indexed again"
    if manifest is not None and manifest.Complete:
        if len(objects) == len(manifest.Objects):
            return IndexRun(session_id, 0, read.version, True, "complete")
        manifest, note = None, "an object came after the index was complete: indexed again"
    session = read.stored.session
    closes_at = session.closes_at()
    final = session.closing_time is not None and closes_at is not None and now >= closes_at + FINAL_AFTER_SECONDS
    if manifest is not None and len(objects) == len(manifest.Objects) and not final:
        return IndexRun(session_id, 0, read.version, False, "nothing new")
    index, read_count = _feed(names, s3, bucket, read, manifest, objects)
    if final:
        index.finish()
        if not _ends_on_stored_board(names, session_id, index) and manifest is not None:
            manifest, note = None, "its last board was not the stored board: indexed again"
            index, read_count = _feed(names, s3, bucket, read, None, objects)
            index.finish()
        if not _ends_on_stored_board(names, session_id, index):
            note = "its last board is not the stored board"
    pending = index.pending_seq()
    resume = len(objects) if index.complete or pending is None else pending - 1
    stored = replay_store.save(names, s3, bucket, session_id, read, manifest, index, index.take_changes(),
                               objects, resume)
    return IndexRun(session_id, read_count, stored.Version, stored.Complete, note)


def _feed(names: StackNames, s3: Any, bucket: str, read: StoredReplay, manifest: Manifest | None,
          objects: list[tuple[str, str]]) -> tuple[ReplayIndex, int]:
    """The index went on from `manifest` (or made from nothing) with the archive's objects it lacks."""
    session = read.stored.session
    verdicts = board_store.kept_verdicts(names, session.session_id)
    if manifest is None:
        index, first, index_from = ReplayIndex(session.started_at), 0, -math.inf
    else:
        index = replay_store.stored_index(s3, bucket, session.session_id, manifest)
        index.resume()
        first = manifest.Resume
        index_from = index.keyframe_at[-1] if index.keyframe_at else -math.inf
        if index.started_at is None:
            index.started_at = session.started_at  # a synchronized start made since: where the replay begins
    keys = [key for key, _etag in objects[first:]]
    ArchiveFeed(index, session, verdicts, index_from).run(fetched_ahead(s3, bucket, keys), first)
    return index, len(keys)


def _ends_on_stored_board(names: StackNames, session_id: str, index: ReplayIndex) -> bool:
    cursor = ReplayCursor(index)
    cursor.seek(math.inf)
    replayed = [(e.nickname, e.score, e.shots, e.level, e.lives) for e in cursor.entries()]
    return replayed == [tuple(line[:5]) for line in board_store.ranking(names, session_id)]
