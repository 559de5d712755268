"""Every stored status record of a session, as JSON lines or CSV: the archive the original keeps in S3."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import msgspec

from ..core.timeutil import to_iso
from . import database
from .records import StatusRecord

FORMATS = ("jsonl", "csv")
FIELDS = ("SequenceNumber", "SessionId", "Nickname", "Score", "Shots", "Level", "Lives", "Timestamp",
          "ReceivedAt")


# A spreadsheet evaluates a cell that starts with one of these (OWASP, CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _record(r: StatusRecord) -> tuple:
    return (f"{r.seq:020d}", r.session_id, r.nickname, r.score, r.shots, r.level, r.lives, r.timestamp,
            to_iso(r.received_at))


def _cell(value: object) -> object:
    """A CSV cell that a spreadsheet shows as text: a leading quote before what could start a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def export_lines(db_path: Path, session_id: str, fmt: str) -> Iterator[bytes]:
    """Lines of the export, read from a read-only connection so the server keeps writing meanwhile."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    conn = database.connect(db_path, readonly=True)
    try:
        rows = database.iter_session_status(conn, session_id)
        if fmt == "jsonl":
            encode = msgspec.json.encode
            for row in rows:
                yield encode(dict(zip(FIELDS, _record(row)))) + b"\n"
            return
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(FIELDS)
        for row in rows:
            writer.writerow([_cell(v) for v in _record(row)])
            if buf.tell() > 64 * 1024:
                yield buf.getvalue().encode()
                buf.seek(0)
                buf.truncate()
        yield buf.getvalue().encode()
    finally:
        conn.close()
