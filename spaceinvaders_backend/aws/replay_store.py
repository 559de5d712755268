"""A session's replay index as stored on AWS: the core's keyframes and chunks (`core/replay.py`) in S3
under `replays/<SessionId>/`, and on the session's Sessions item the name of the newest manifest.

The replay index function (`replay_indexer.py`) writes it as Firehose delivers the session's objects; the
manager's console reads it (`manager_tui/backends/aws_replay.py`). Under the prefix:
- `pack-<version>-<token>`: the segments one run made, their bytes one after another (a keyframe's
  states, then its chunk's records once closed, so a seek reads both in one ranged GET);
- `manifest-<version>-<token>` (JSON, gzip): everything an index needs besides those bytes: each keyframe's
  moment, records and leaders and each chunk's new names, where their bytes are, the archive objects
  indexed, and the first object to read again to go on (`Resume`: the oldest record not in a closed chunk).
- `replays/unfinished/<SessionId>` (empty) while a session's index is not complete: the function's schedule
  looks there for the sessions to complete.

Exactly once: the Sessions item's `ReplayVersion` and `ReplayManifest` are written in one `UpdateItem`
conditioned on the version read. A run that lost the race to another (two S3 events at once) removes what
it wrote and goes on from the winner's manifest (`ReplayChanged`). Nothing here writes under `sessions/`
(Firehose's, whose S3 events start the function): the function's writes cannot start it again.
"""
from __future__ import annotations

import gzip
import secrets
import threading
from dataclasses import dataclass
from typing import Any

import botocore.exceptions
import msgspec

from ..core.replay import Chunk, Keyframe, ReplayIndex
from .config import StackNames
from .items import StoredSession, attrs, plain

REPLAY_PREFIX = "replays/"
UNFINISHED_PREFIX = f"{REPLAY_PREFIX}unfinished/"  # no session id is `unfinished` (core.models.SESSION_ID_PATTERN)


def replay_prefix(session_id: str) -> str:
    return f"{REPLAY_PREFIX}{session_id}/"


class Manifest(msgspec.Struct, kw_only=True):
    Version: int
    Objects: list[tuple[str, str]]  # the archive objects indexed, (key, ETag), in key order
    Resume: int  # the first of them to read again to go on (len(Objects): none)
    StartedAt: float | None
    End: float | None  # complete: the last record's moment; else the last keyframe's (where it goes on)
    Complete: bool
    Keyframes: list[tuple[int, float, int, list, str, int, int]]  # number, at, records, leaders, pack, offset, size
    Chunks: list[tuple[int, list[str], str, int, int]]  # number, names first seen, pack, offset, size


_encode_manifest = msgspec.json.Encoder().encode
_decode_manifest = msgspec.json.Decoder(Manifest).decode


@dataclass(frozen=True)
class StoredReplay:
    """A Sessions item with the replay index's marker."""

    stored: StoredSession
    version: int  # manifests written (0: none)
    manifest: str | None  # the newest one's key


class ReplayChanged(Exception):
    """Another run stored the session's index since this one read it."""


def read(names: StackNames, session_id: str) -> StoredReplay | None:
    item = names.client("dynamodb").get_item(TableName=names.sessions, Key=attrs({"SessionId": session_id}),
                                             ConsistentRead=True).get("Item")
    if item is None:
        return None
    values = plain(item)
    return StoredReplay(StoredSession.from_item(item), int(values.get("ReplayVersion", 0)),
                        values.get("ReplayManifest"))


def load_manifest(s3: Any, bucket: str, key: str | None) -> Manifest | None:
    """The manifest the marker names; None when there is none (never indexed, or its `replays/` removed)."""
    if not key:
        return None
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except botocore.exceptions.ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return None
        raise
    return _decode_manifest(gzip.decompress(body))


class S3Segments:
    """A stored index's segments, read from their packs by ranged GETs as a cursor needs them (the core's
    `SegmentSource`); a keyframe and its chunk side by side in one pack come in one GET."""

    def __init__(self, s3: Any, bucket: str, session_id: str, manifest: Manifest) -> None:
        self._s3, self._bucket, self._prefix = s3, bucket, replay_prefix(session_id)
        self._keyframes = {k[0]: k[4:] for k in manifest.Keyframes}
        self._chunks = {c[0]: c[2:] for c in manifest.Chunks}
        self._read_with: tuple[int, bytes] | None = None  # (chunk number, its bytes) read with its keyframe
        self._lock = threading.Lock()
        self.gets = 0

    def _range(self, pack: str, offset: int, size: int) -> bytes:
        self.gets += 1
        return self._s3.get_object(Bucket=self._bucket, Key=self._prefix + pack,
                                   Range=f"bytes={offset}-{offset + size - 1}")["Body"].read()

    def keyframe_states(self, number: int) -> bytes:
        pack, offset, size = self._keyframes[number]
        chunk = self._chunks.get(number)
        with self._lock:
            if chunk is not None and chunk[0] == pack and chunk[1] == offset + size:
                both = self._range(pack, offset, size + chunk[2])
                self._read_with = (number, both[size:])
                return both[:size]
            return self._range(pack, offset, size)

    def chunk_records(self, number: int) -> bytes:
        with self._lock:
            if self._read_with is not None and self._read_with[0] == number:
                return self._read_with[1]
            return self._range(*self._chunks[number])


def stored_index(s3: Any, bucket: str, session_id: str, manifest: Manifest) -> ReplayIndex:
    """The index a manifest describes (its bytes read when needed). A complete one is read as it is; an
    incomplete one goes on (`ReplayIndex.resume`) with the archive's objects from `manifest.Resume`."""
    return ReplayIndex.stored([k[:4] for k in manifest.Keyframes], [c[1] for c in manifest.Chunks],
                              S3Segments(s3, bucket, session_id, manifest), started_at=manifest.StartedAt,
                              end=manifest.End, complete=manifest.Complete)


def save(names: StackNames, s3: Any, bucket: str, session_id: str, read_as: StoredReplay,
         before: Manifest | None, index: ReplayIndex, segments: list[Keyframe | Chunk],
         objects: list[tuple[str, str]], resume: int) -> Manifest:
    """Store what one run made: `segments` (new since `before`, the manifest it went on from; None: made
    from nothing) in a pack, a manifest of the whole index, then the marker, conditioned on the version
    `read_as`. Raises ReplayChanged, having removed its pack and manifest, when another run stored first."""
    version = read_as.version + 1
    token = secrets.token_hex(4)
    prefix = replay_prefix(session_id)
    pack = f"pack-{version:08d}-{token}"
    keyframes = list(before.Keyframes) if before is not None else []
    chunks = list(before.Chunks) if before is not None else []
    body, offset = [], 0
    for segment in segments:
        if isinstance(segment, Keyframe):
            data = segment.states
            keyframes.append((segment.number, segment.at, segment.records, segment.leaders, pack, offset, len(data)))
        else:
            data = segment.records
            chunks.append((segment.number, segment.names, pack, offset, len(data)))
        body.append(data)
        offset += len(data)
    assert len(keyframes) == len(index.keyframe_at), "every keyframe stored once, in order"
    assert len(chunks) == (len(keyframes) if index.complete else max(0, len(keyframes) - 1)), "and every closed chunk"
    manifest = Manifest(Version=version, Objects=objects, Resume=resume, StartedAt=index.started_at,
                        End=index.stored_end,
                        Complete=index.complete, Keyframes=keyframes, Chunks=chunks)
    manifest_key = f"{prefix}manifest-{version:08d}-{token}"
    written = [manifest_key]
    if body:
        s3.put_object(Bucket=bucket, Key=prefix + pack, Body=b"".join(body))
        written.append(prefix + pack)
    s3.put_object(Bucket=bucket, Key=manifest_key, Body=gzip.compress(_encode_manifest(manifest), 6))
    if not index.complete:
        s3.put_object(Bucket=bucket, Key=UNFINISHED_PREFIX + session_id, Body=b"")
    try:
        condition = ("attribute_exists(SessionId) AND attribute_not_exists(ReplayVersion)" if read_as.version == 0
                     else "ReplayVersion = :read")
        values = {":v": version, ":m": manifest_key, **({":read": read_as.version} if read_as.version else {})}
        names.client("dynamodb").update_item(
            TableName=names.sessions, Key=attrs({"SessionId": session_id}),
            UpdateExpression="SET ReplayVersion = :v, ReplayManifest = :m", ConditionExpression=condition,
            ExpressionAttributeValues=attrs(values))
    except botocore.exceptions.ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise
        for key in written:
            s3.delete_object(Bucket=bucket, Key=key)
        raise ReplayChanged(session_id) from None
    if read_as.manifest is not None:
        s3.delete_object(Bucket=bucket, Key=read_as.manifest)  # packs stay: the new manifest names them
    if index.complete:
        s3.delete_object(Bucket=bucket, Key=UNFINISHED_PREFIX + session_id)
    return manifest


def unfinished_sessions(s3: Any, bucket: str) -> list[str]:
    """The sessions whose index is not complete yet."""
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=UNFINISHED_PREFIX)
    return [o["Key"].removeprefix(UNFINISHED_PREFIX) for page in pages for o in page.get("Contents", [])]
