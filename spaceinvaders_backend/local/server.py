"""Serve the ASGI app with granian (hyper underneath), in this process, with the limits a room's network needs.

A room's server is reachable by everyone on its network, so the HTTP layer itself refuses what a hostile
client could hold or send: a request head must arrive whole within `head_timeout_seconds` (a silent or
byte-a-second socket is closed, and so is a keep-alive connection idle that long), a head larger than
`max_head_bytes` gets a 431 and is never buffered, and at most `max_connections` connections are served
at once (more wait in the kernel's accept queue). The app bounds the time a body may take (`http.py`).
HTTP/1.1 only: in automatic mode the server waits for the protocol preface with no timeout at all.
With a certificate (`tls.py`) granian speaks HTTPS itself (TLS 1.3 at least); with an `Advertiser`
(`advertise.py`) the room is announced on its network while the server runs.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from typing import TYPE_CHECKING, Any

from granian.constants import HTTPModes, Interfaces
from granian.http import HTTP1Settings
from granian.log import LogLevels
from granian.server.embed import Server

from .connections import ConnectionGuard
from .settings import Settings

if TYPE_CHECKING:
    from .advertise import Advertiser
    from .tls import ServerCertificate

log = logging.getLogger("spaceinvaders.server")
# Descriptors kept for the database, the signing key, the log and the listening socket.
SPARE_DESCRIPTORS = 64


def connection_bound(requested: int) -> int:
    """`requested`, lowered to what the process may open (after raising its soft descriptor limit)."""
    try:
        import resource
    except ImportError:  # Windows: no such limit to read
        return requested
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    if soft == resource.RLIM_INFINITY:
        return requested
    return max(1, min(requested, soft - SPARE_DESCRIPTORS))


def _not_experimental(record: logging.LogRecord) -> bool:
    # granian warns at every start that its embedded mode is experimental: the pin (granian<3) and the
    # hostile-client tests are our answer to that, and an operator can do nothing about the line.
    return "is experimental" not in record.getMessage()


def build(app: Any, host: str, port: int, settings: Settings, access_log: bool = False,
          tls: ServerCertificate | None = None) -> Server:
    bound = connection_bound(settings.max_connections)
    if bound < settings.max_connections:
        log.warning("serving at most %d connections (the process's descriptor limit)", bound)
    server = Server(
        app, address=host, port=port, interface=Interfaces.ASGI, http=HTTPModes.http1, websockets=True,
        backlog=min(bound, 4096), backpressure=bound,
        http1_settings=HTTP1Settings(header_read_timeout=int(settings.head_timeout_seconds * 1000),
                                     keep_alive=True, max_buffer_size=settings.max_head_bytes),
        log_level=LogLevels.info, log_access=access_log,
        ssl_cert=tls.cert_path if tls else None, ssl_key=tls.key_path if tls else None,
    )
    logging.getLogger("_granian").addFilter(_not_experimental)  # after the server set up its logging
    return server


def run(app: Any, host: str, port: int, settings: Settings, access_log: bool = False,
        tls: ServerCertificate | None = None, advertiser: Advertiser | None = None) -> None:
    """Serve until SIGINT or SIGTERM, then stop cleanly (the app's lifespan shutdown runs)."""
    server = build(app, host, port, settings, access_log, tls)
    # Connections per source address: the app's guard, since granian bounds only the total.
    guard = ConnectionGuard(port, min(settings.max_connections_per_source, connection_bound(settings.max_connections)))

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):  # Windows: Ctrl-C interrupts the loop instead
                loop.add_signal_handler(sig, server.stop)
        announcing = loop.create_task(_advertise(advertiser)) if advertiser else None
        guarding = loop.create_task(guard.run())
        try:
            await server.serve()
        finally:
            guarding.cancel()
            if announcing is not None and advertiser is not None:
                announcing.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await announcing
                await advertiser.stop()

    try:
        import uvloop
    except ImportError:  # not on Windows: the standard loop does
        asyncio.run(main())
    else:
        uvloop.run(main())


async def _advertise(advertiser: Advertiser) -> None:
    """Announce the room beside serving (probing the name takes a second); serving goes on without it."""
    try:
        await advertiser.start()
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001 - no multicast here, say: players can still type the join command
        log.warning("could not advertise the room on the network (%s); players use the join command", exc)
