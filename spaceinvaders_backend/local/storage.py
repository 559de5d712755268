"""What a storage failure is, the one answer it gets, and the space kept for the manager's session changes.

Every read and write of the database runs on the writer thread (`writer.py`), which turns a storage failure
(a full disk, an I/O error, a read-only file, a database locked by another program) into `503
StorageUnavailable` with `Retry-After`, whatever the path: nothing of that work was stored, so the same call
may be sent again. Anything else (a bug) stays an error of its own.
"""
from __future__ import annotations

import errno
import logging
import os
import sqlite3
from pathlib import Path

from ..core.errors import ApiError

log = logging.getLogger("spaceinvaders.server")
RETRY_AFTER_SECONDS = 2
# SQLite's primary result codes that mean the storage failed, not the statement: BUSY, LOCKED, READONLY,
# IOERR, FULL, CANTOPEN, PROTOCOL (https://www.sqlite.org/rescode.html).
_STORAGE_CODES = frozenset({5, 6, 8, 10, 13, 14, 15})
_SQLITE_FULL = 13
RESERVE_FILE = "space-reserve"
RESERVE_BYTES = 1024 * 1024


def is_storage_failure(exc: BaseException) -> bool:
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        return code is not None and code & 0xFF in _STORAGE_CODES
    return isinstance(exc, OSError)


def is_disk_full(exc: BaseException) -> bool:
    if isinstance(exc, sqlite3.Error):
        return (getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF == _SQLITE_FULL
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


def unavailable(exc: BaseException) -> ApiError:
    """The answer to a call whose storage failed: nothing was stored, send it again later."""
    return ApiError(503, "StorageUnavailable", f"Nothing was stored: the server's storage failed ({exc}); "
                    "send it again later.", headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


class SpaceReserve:
    """A file of RESERVE_BYTES kept in the data directory, given up when the disk is full so that the
    manager's session changes (open, start, close) still land; made again once there is room for it.

    Its methods run on the writer thread."""

    def __init__(self, path: Path, size: int = RESERVE_BYTES) -> None:
        self.path = path
        self.size = size

    @property
    def held(self) -> bool:
        try:
            return self.path.stat().st_size >= self.size
        except OSError:
            return False

    def keep(self) -> bool:
        """Make the reserve when it is missing and the disk has room for it and as much again; answers
        whether it is held."""
        if self.held:
            return True
        try:
            disk = os.statvfs(self.path.parent)
            if disk.f_bavail * disk.f_frsize < 4 * self.size:
                return False
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600)
            try:
                _allocate(fd, self.size)
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            log.warning("cannot keep %s (%s bytes kept for the manager's session changes): %s",
                        self.path, self.size, exc)
            self.release()
            return False
        return True

    def release(self) -> bool:
        """Give the space back to the disk; answers whether there was any to give."""
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            return False
        except OSError as exc:
            log.warning("cannot remove %s: %s", self.path, exc)
            return False
        return True


def _allocate(fd: int, size: int) -> None:
    """Blocks really taken on the disk, not a sparse file."""
    if hasattr(os, "posix_fallocate"):
        os.posix_fallocate(fd, 0, size)
        return
    chunk = bytes(64 * 1024)  # macOS and Windows: no posix_fallocate
    for _ in range(0, size, len(chunk)):
        os.write(fd, chunk)
