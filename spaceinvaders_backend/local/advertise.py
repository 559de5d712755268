"""The room on its network: the server advertises itself over multicast DNS / DNS-SD (python-zeroconf).

Service `_spaceinvaders._tcp`, instance named after the room (`--room-name`, default the host's name; a
name already taken on the network gets zeroconf's " (2)"). Its TXT record (docs/api.md, "Finding the room"):

    v=1  scheme=https  path=/v1  sha256=<certificate fingerprint, 64 hex>
    session=<the open session's SessionId, empty when none>  players=<seats taken>  seats=<seats in all>

The game lists rooms from these records and pins the certificate they name. The session part changes as
the manager opens and closes sessions and players take and free seats: the backend calls `changed()`, and
the record is announced again at most once a second (a room filling up is one announcement, not 200).
Never started for a server bound to loopback (`cli.py`); off with `--no-advertise`.
"""
from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("spaceinvaders.server")

SERVICE_TYPE = "_spaceinvaders._tcp.local."
TXT_VERSION = "1"
UPDATE_INTERVAL = 1.0  # seconds between two announcements of a changed record


@dataclass(frozen=True)
class RoomState:
    session: str  # the open session's SessionId, "" when none is open
    players: int
    seats: int


def room_state(backend: Any) -> RoomState:
    """What the advertisement tells of the backend's current session (`local.backend.LocalBackend`)."""
    session = backend.session
    if session is None or session.is_closed(backend.clock()):
        return RoomState("", 0, 0)
    return RoomState(session.session_id, backend.seats.occupied(), session.total_seats)


def default_room_name() -> str:
    return socket.gethostname().split(".")[0] or "spaceinvaders"


def txt_record(scheme: str, path: str, fingerprint: str | None, state: RoomState) -> dict[str, str]:
    record = {"v": TXT_VERSION, "scheme": scheme, "path": path, "session": state.session,
              "players": str(state.players), "seats": str(state.seats)}
    if fingerprint:
        record["sha256"] = fingerprint
    return record


class Advertiser:
    """Registers the room on `addresses` and keeps its TXT record current; `start()`, `changed()`, `stop()`."""

    def __init__(self, name: str, addresses: Sequence[str], port: int, scheme: str, fingerprint: str | None,
                 state: Callable[[], RoomState], *, path: str = "/v1", interval: float = UPDATE_INTERVAL,
                 zeroconf_factory: Callable[..., Any] | None = None) -> None:
        self.name = name
        self.addresses = list(addresses)
        self.port = port
        self.scheme = scheme
        self.fingerprint = fingerprint
        self.path = path
        self._state = state
        self._interval = interval
        self._factory = zeroconf_factory
        self._zeroconf: Any = None
        self._info: Any = None
        self._advertised: RoomState | None = None
        self._pending: asyncio.TimerHandle | None = None
        self._updating: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.updates = 0  # TXT records announced after the first

    @property
    def registered_name(self) -> str | None:
        """The instance name on the network (a taken name gets " (2)" from zeroconf)."""
        if self._info is None:
            return None
        return self._info.name.removesuffix("." + SERVICE_TYPE)

    def _service_info(self, state: RoomState) -> Any:
        from zeroconf.asyncio import AsyncServiceInfo

        host = default_room_name()
        return AsyncServiceInfo(
            SERVICE_TYPE, f"{self.name}.{SERVICE_TYPE}", port=self.port,
            parsed_addresses=self.addresses, server=f"{host}.local.",
            properties=txt_record(self.scheme, self.path, self.fingerprint, state),
        )

    async def start(self) -> None:
        from zeroconf import IPVersion
        from zeroconf.asyncio import AsyncZeroconf

        self._loop = asyncio.get_running_loop()
        v6 = any(ipaddress.ip_address(a).version == 6 for a in self.addresses)
        v4 = any(ipaddress.ip_address(a).version == 4 for a in self.addresses)
        version = IPVersion.All if v4 and v6 else IPVersion.V6Only if v6 else IPVersion.V4Only
        factory = self._factory or AsyncZeroconf
        # Only the interfaces that carry the served addresses: never a network the server is not on.
        self._zeroconf = factory(interfaces=self.addresses, ip_version=version)
        state = self._state()
        self._info = self._service_info(state)
        await self._zeroconf.async_register_service(self._info, allow_name_change=True)
        self._advertised = state
        log.info("advertised as %r (%s) on %s", self.registered_name, SERVICE_TYPE, ", ".join(self.addresses))

    def changed(self) -> None:
        """The session or its seats changed: announce the new record within `interval` (coalesced)."""
        loop = self._loop
        if loop is None or self._pending is not None or loop.is_closed():
            return
        self._pending = loop.call_later(self._interval, self._due)

    def _due(self) -> None:
        self._pending = None
        if self._updating is not None and not self._updating.done():
            self.changed()  # still announcing the last one: try again next interval
            return
        self._updating = asyncio.ensure_future(self._update())

    async def _update(self) -> None:
        state = self._state()
        if state == self._advertised or self._zeroconf is None:
            return
        info = self._service_info(state)
        info.name = self._info.name  # keep the name zeroconf settled on
        try:
            await self._zeroconf.async_update_service(info)
        except Exception:  # the network went away: the next change tries again
            log.warning("could not announce the room's new state", exc_info=True)
            return
        self._info, self._advertised = info, state
        self.updates += 1

    async def stop(self) -> None:
        """Say goodbye on the network (the room disappears from lists at once) and close the sockets."""
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        if self._updating is not None:
            with contextlib.suppress(Exception):
                await self._updating
        if self._zeroconf is not None:
            with contextlib.suppress(Exception):
                await self._zeroconf.async_unregister_all_services()
            await self._zeroconf.async_close()
            self._zeroconf = None
