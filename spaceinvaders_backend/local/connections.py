"""Connections per source address: granian bounds the connections it serves at once (`--max-connections`),
not who holds them, so one address could take every slot (thousands of idle sockets reconnecting at once)
and everybody else's new connections would wait in the kernel's queue.

Twice a second (four times while a source is past its bound), when this process holds more descriptors
than one source may have connections (else no source can be past it), the guard reads the kernel's table
of TCP connections (Linux: /proc/net/tcp and tcp6; ~10 µs of kernel time a socket, off the event loop)
and counts this server's accepted connections by source (`ratelimit.source_key`). Past `per_source`, a
source's newest connections are shut down, through this process's own descriptors of them: their slots
are free for others at once. Elsewhere (macOS, Windows) there is no such table, and only the global bound
holds.
"""
from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import socket
import time
from collections import defaultdict
from pathlib import Path

from .ratelimit import source_key

log = logging.getLogger("spaceinvaders.server")
TABLES = (Path("/proc/net/tcp"), Path("/proc/net/tcp6"))
_NOT_SERVED = {"0A", "06"}  # LISTEN, TIME_WAIT: no connection of granian's
SCAN_SECONDS = 0.5
BUSY_SCAN_SECONDS = 0.25  # while a source is past its bound: it takes the slots freed as soon as it can
LOG_EVERY_SECONDS = 60.0


def _address(hex_address: str) -> str:
    """An address as /proc/net/tcp writes it (32-bit words in the host's order, here little-endian)."""
    raw = bytes.fromhex(hex_address)
    words = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    return str(ipaddress.ip_address(words))


def served_by_source(port: int, tables: tuple[Path, ...] = TABLES) -> dict[str, list[int]]:
    """Source -> socket inodes of the connections accepted on local `port`, oldest first."""
    suffix = f":{port:04X}"
    found: dict[str, list[int]] = defaultdict(list)
    for table in tables:
        try:
            lines = table.read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 10 or not fields[1].endswith(suffix) or fields[3] in _NOT_SERVED:
                continue
            inode = int(fields[9])
            if inode:  # 0: not accepted yet (or orphaned): it holds no slot
                found[source_key(_address(fields[2].split(":")[0]))].append(inode)
    for inodes in found.values():
        inodes.sort()  # inode numbers grow as sockets are made
    return found


def _descriptors(inodes: set[int]) -> dict[int, int]:
    """inode -> this process's descriptor of that socket."""
    found = {}
    for name in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            link = os.readlink(f"/proc/self/fd/{name}")
            if link.startswith("socket:[") and (inode := int(link[8:-1])) in inodes:
                found[inode] = int(name)
    return found


def shut_down(inodes: set[int]) -> int:
    """Shut these connections down (the server then closes them and frees their slots); answers how many."""
    done = 0
    for inode, fd in _descriptors(inodes).items():
        try:
            copy = os.dup(fd)
        except OSError:
            continue  # closed meanwhile
        connection = None
        try:
            if os.fstat(copy).st_ino == inode:  # else the number was reused meanwhile: not that connection
                connection = socket.socket(fileno=copy)  # the copy is the socket object's from here
                connection.shutdown(socket.SHUT_RDWR)
                done += 1
        except OSError:
            pass
        finally:
            if connection is not None:
                connection.close()
            else:
                os.close(copy)
    return done


class ConnectionGuard:
    def __init__(self, port: int, per_source: int, tables: tuple[Path, ...] = TABLES) -> None:
        self.port = port
        self.per_source = per_source
        self.tables = tables
        self.shut = 0  # connections shut down so far
        self._told: dict[str, float] = {}  # source -> when the log last said so

    @property
    def available(self) -> bool:
        return any(t.exists() for t in self.tables) and Path("/proc/self/fd").is_dir()

    def enforce(self) -> int:
        """One pass: shut down each source's connections past its bound, newest first; answers how many."""
        if len(os.listdir("/proc/self/fd")) <= self.per_source:
            return 0  # no source can be past its bound: the kernel's table (costly to read) is left alone
        excess: set[int] = set()
        for source, inodes in served_by_source(self.port, self.tables).items():
            if len(inodes) > self.per_source:
                excess.update(inodes[self.per_source:])
                now = time.monotonic()
                if now - self._told.get(source, -LOG_EVERY_SECONDS) >= LOG_EVERY_SECONDS:
                    self._told[source] = now
                    log.warning("%s holds %d connections; the newest %d are closed (at most %d a source)",
                                source, len(inodes), len(inodes) - self.per_source, self.per_source)
        shut = shut_down(excess) if excess else 0
        self.shut += shut
        return shut

    async def run(self) -> None:
        if not self.available:
            log.info("no table of connections here: only the global connection bound holds")
            return
        while True:
            shut = 0
            try:
                shut = await asyncio.to_thread(self.enforce)
            except Exception:  # the guard must never stop the server
                log.exception("the connection guard failed a pass")
            await asyncio.sleep(BUSY_SCAN_SECONDS if shut else SCAN_SECONDS)
