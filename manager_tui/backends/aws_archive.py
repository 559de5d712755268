"""A session's export from the archive bucket: Firehose's objects under `sessions/<SessionId>/`.

Firehose writes the stream's records one after another (newline-delimited or not, gzip or not), in
objects whose keys sort by arrival. The export is every record, in that order, as JSON lines or CSV with
the columns of the local server's export.
"""
from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from spaceinvaders_backend.aws import archive_records
from spaceinvaders_backend.aws.archive_records import archive_prefix

from . import EXPORT_FORMATS, BackendError, ExportProgress, ProgressCallback
from .files import written_atomically

CSV_FIELDS = ("SequenceNumber", "SessionId", "Nickname", "Score", "Shots", "Level", "Lives", "Timestamp",
              "ReceivedAt")


def records_of(data: bytes) -> Iterator[dict[str, Any]]:
    """Every JSON object in one archive object, whatever separates them (the archive's one reader)."""
    try:
        yield from archive_records.records_of(data)
    except ValueError as error:
        raise BackendError(str(error)) from error


def _write(out: IO[str], fmt: str, records: Iterator[dict[str, Any]], writer: Any) -> int:
    count = 0
    for record in records:
        if fmt == "jsonl":
            out.write(json.dumps(record, separators=(",", ":")) + "\n")
        else:
            writer.writerow([record.get(name, "") for name in CSV_FIELDS])
        count += 1
    return count


def write_export(s3: Any, bucket: str, session_id: str, fmt: str, destination: Path,
                 progress: ProgressCallback) -> int:
    if fmt not in EXPORT_FORMATS:
        raise BackendError(f"format is one of {', '.join(EXPORT_FORMATS)}")
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=archive_prefix(session_id))
    objects = sorted((o["Key"], o["Size"]) for page in pages for o in page.get("Contents", []))
    done = ExportProgress(bytes_total=sum(size for _, size in objects))
    progress(done)
    with written_atomically(destination, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        if fmt == "csv":
            writer.writerow(CSV_FIELDS)
        for key, _size in objects:
            body = s3.get_object(Bucket=bucket, Key=key)["Body"]
            chunks = []
            for chunk in body.iter_chunks(1 << 20):
                chunks.append(chunk)
                done.bytes_done += len(chunk)
                progress(done)
            done.records += _write(out, fmt, records_of(b"".join(chunks)), writer)
            progress(done)
    return done.records
