"""Rooms on the local network: the servers that advertise `_spaceinvaders._tcp` over multicast DNS.

`spaceinvaders-server serve` off loopback announces its room (docs/api.md, "Finding the room"): the
address and port, and in the TXT record the API path, the certificate's SHA-256 fingerprint and the open
session. `browse()` listens for a moment and answers the rooms heard; a `Room`'s `url` pins the advertised
fingerprint, so connecting to it trusts exactly that certificate (and `ServerTrust` still refuses one that
changed since the last time). IPv4 only: the server advertises its IPv4 addresses.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .trust import FRAGMENT_KEY, normalize_fingerprint

SERVICE_TYPE = "_spaceinvaders._tcp.local."
BROWSE_SECONDS = 1.5  # a responder answers a query within about 120 ms; the rest is for slow Wi-Fi
FIND_SECONDS = 4.0  # looking for one room by name stops as soon as it is heard
RESOLVE_SECONDS = 1.0


class RoomNotFound(LookupError):
    pass


@dataclass(frozen=True)
class Room:
    name: str
    address: str
    port: int
    scheme: str = "https"
    path: str = "/v1"
    fingerprint: str | None = None
    session: str = ""  # the open session's SessionId, "" when none is open
    players: int | None = None
    seats: int | None = None

    @property
    def where(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{host}:{self.port}"

    @property
    def url(self) -> str:
        """The API's base URL, pinned to the advertised certificate."""
        url = f"{self.scheme}://{self.where}{self.path}"
        return f"{url}#{FRAGMENT_KEY}={self.fingerprint}" if self.fingerprint else url

    @property
    def secure(self) -> bool:
        return self.scheme == "https"


def _text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _count(value: str) -> int | None:
    return int(value) if value.isascii() and value.isdigit() and len(value) < 10 else None


def room_from(instance: str, addresses: Iterable[str], port: int | None,
              properties: Mapping[bytes | str, bytes | str | None], local_networks: Iterable[Any] = ()) -> Room | None:
    """A room from one service instance's records, or None when they do not describe one we can join."""
    txt = {_text(key).lower(): _text(value) for key, value in properties.items()}
    scheme = txt.get("scheme", "https")
    if scheme not in ("http", "https") or not port:
        return None
    path = txt.get("path", "/v1")
    if not path.startswith("/") or any(c in path for c in "#?\r\n "):
        return None
    fingerprint = None
    if scheme == "https":
        try:
            fingerprint = normalize_fingerprint(txt.get("sha256", ""))
        except ValueError:
            fingerprint = None  # an operator's certificate checked by the authorities alone
    address = _pick_address(addresses, local_networks)
    if address is None:
        return None
    name = instance.removesuffix("." + SERVICE_TYPE)
    return Room(name, address, port, scheme, path.rstrip("/") or "/v1", fingerprint, txt.get("session", ""),
                _count(txt.get("players", "")), _count(txt.get("seats", "")))


def _pick_address(addresses: Iterable[str], local_networks: Iterable[Any]) -> str | None:
    """The advertised address on one of our own networks, else the first one (IPv4 first)."""
    parsed = []
    for text in addresses:
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            continue
        if not (address.is_unspecified or address.is_multicast):
            parsed.append(address)
    if not parsed:
        return None
    parsed.sort(key=lambda a: a.version)
    networks = list(local_networks)
    for address in parsed:
        if any(address.version == n.version and address in n for n in networks):
            return str(address)
    return str(parsed[0])


def local_networks() -> list[Any]:
    import ifaddr

    found = []
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            if isinstance(ip.ip, str):
                with contextlib.suppress(ValueError):
                    found.append(ipaddress.ip_network(f"{ip.ip}/{ip.network_prefix}", strict=False))
    return found


async def browse(seconds: float = BROWSE_SECONDS, *, until: Callable[[str], bool] | None = None,
                 zeroconf_factory: Callable[..., Any] | None = None) -> list[Room]:
    """The rooms heard within `seconds` (sooner once a room's instance name satisfies `until`), by name."""
    from zeroconf import IPVersion, ServiceStateChange
    from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

    heard: dict[str, None] = {}
    wanted = asyncio.Event()

    def on_change(zeroconf: Any, service_type: str, name: str, state_change: ServiceStateChange) -> None:
        if state_change is ServiceStateChange.Removed:
            heard.pop(name, None)
            return
        heard[name] = None
        if until is not None and until(name.removesuffix("." + SERVICE_TYPE)):
            wanted.set()

    zeroconf = (zeroconf_factory or AsyncZeroconf)(ip_version=IPVersion.V4Only)
    try:
        browser = AsyncServiceBrowser(zeroconf.zeroconf, [SERVICE_TYPE], handlers=[on_change])
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wanted.wait(), seconds)
        infos = [AsyncServiceInfo(SERVICE_TYPE, name) for name in heard]
        await asyncio.gather(*(info.async_request(zeroconf.zeroconf, RESOLVE_SECONDS * 1000) for info in infos))
        await browser.async_cancel()
    finally:
        await zeroconf.async_close()
    networks = local_networks()
    rooms = [room_from(info.name, info.parsed_addresses(), info.port, info.properties or {}, networks)
             for info in infos]
    return sorted((room for room in rooms if room is not None), key=lambda room: room.name.lower())


def matching(rooms: Iterable[Room], name: str) -> Room:
    """The room called `name` (any case); RoomNotFound names the rooms heard instead."""
    rooms = list(rooms)
    for room in rooms:
        if room.name.lower() == name.lower():
            return room
    heard = ", ".join(repr(room.name) for room in rooms) or "none"
    raise RoomNotFound(f"no room named {name!r} on this network (rooms heard: {heard}); is the server running "
                       "on this network, without --no-advertise? Or join with the command it printed (--api URL).")


async def find_room(name: str, seconds: float = FIND_SECONDS, **kwargs: Any) -> Room:
    """The room called `name`, heard within `seconds`; RoomNotFound otherwise."""
    rooms = await browse(seconds, until=lambda heard: heard.lower() == name.lower(), **kwargs)
    return matching(rooms, name)
