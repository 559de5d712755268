"""What stops the server from starting, said in one line: the file, what is wrong with it and what to do
(as PostgreSQL says it), for the command line to print instead of a traceback."""
from __future__ import annotations

import errno
import os
import socket
import sqlite3
from pathlib import Path

from .storage import RESERVE_BYTES, is_disk_full


class CannotStart(Exception):
    """The server cannot start; the message says which file or address, what is wrong and what to do."""


# The room the server needs on its disk to start: its space reserve and as much again for the first writes.
ROOM_TO_START = 4 * RESERVE_BYTES


def _free_bytes(path: Path) -> int | None:
    try:
        disk = os.statvfs(path)
    except OSError:
        return None
    return disk.f_bavail * disk.f_frsize


def check_room(data_dir: Path) -> None:
    """Refuse to start on a disk too full to take the first writes."""
    free = _free_bytes(data_dir)
    if free is not None and free < ROOM_TO_START:
        raise CannotStart(f"{data_dir}: the disk is full ({free // 1024} KiB free, {ROOM_TO_START // 2**20} MiB "
                           "needed to start); free some space on it, or choose another --data-dir")


def check_address(host: str, port: int) -> None:
    """Refuse to start when the address cannot be listened on (another server has it)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds: TIME_WAIT is fine
        try:
            probe.bind((host, port))
        except OSError as exc:
            what = ("is in use (another server, or this one already running?); stop it or choose another --port"
                    if exc.errno == errno.EADDRINUSE else f"cannot be listened on ({exc.strerror}); check --host")
            raise CannotStart(f"{host}:{port} {what}") from None


def explain(exc: BaseException, data_dir: Path, database: Path) -> str | None:
    """One line for a failure to open the server's files; None when it is not one of those."""
    if isinstance(exc, OSError):
        path = Path(exc.filename) if exc.filename else data_dir
        code, reason = exc.errno, exc.strerror or str(exc)
    elif isinstance(exc, sqlite3.Error) and getattr(exc, "sqlite_errorcode", None) is not None:
        path, code, reason = database, None, str(exc)
        primary = exc.sqlite_errorcode & 0xFF
        if primary in (11, 26):  # CORRUPT, NOTADB
            return (f"{database}: not a database of this server, or damaged ({reason}); restore it from a "
                    "backup, or move it away to start with an empty one")
        if primary in (8, 14):  # READONLY, CANTOPEN
            code = errno.EROFS if primary == 8 else errno.EACCES
    else:
        return None
    free = _free_bytes(path if path.exists() else data_dir)
    if is_disk_full(exc) or code in (errno.ENOSPC, errno.EDQUOT) or (free is not None and free < ROOM_TO_START):
        return f"{path}: the disk is full ({reason}); free some space on it, or choose another --data-dir"
    if code in (errno.EROFS, errno.EACCES, errno.EPERM):
        return (f"{path}: cannot write there ({reason}); make {data_dir} writable by this user (is the disk "
                "mounted read-only?), or choose another --data-dir")
    return f"{path}: {reason}; check the disk (e.g. dmesg), or choose another --data-dir"
