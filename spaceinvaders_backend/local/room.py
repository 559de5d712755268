"""How `serve` opens the room to its network: HTTPS off loopback, the join command, the advertisement.

Bound to loopback the server speaks plain HTTP (nothing leaves the machine) unless `--tls` asks for HTTPS
(tests, benchmarks). Bound to anything else it speaks HTTPS with the operator's certificate or the data
directory's own (`tls.py`); plain HTTP there needs `--insecure-http` and gets a warning. Off loopback the
room is also advertised on the network (`advertise.py`) unless `--no-advertise`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import database, tls
from .advertise import Advertiser, default_room_name, room_state

API_PATH = "/v1"


class RoomError(Exception):
    """Options that do not fit together, or a certificate the server cannot use."""


@dataclass(frozen=True)
class RoomPlan:
    host: str
    port: int
    certificate: tls.ServerCertificate | None
    advertise: bool
    name: str
    addresses: list[str] = field(default_factory=list)  # where players reach the server

    @property
    def scheme(self) -> str:
        return "https" if self.certificate else "http"

    def url(self, address: str, pinned: bool = True) -> str:
        host = f"[{address}]" if ":" in address else address
        url = f"{self.scheme}://{host}:{self.port}{API_PATH}"
        if pinned and self.certificate is not None:
            url += f"#sha256={self.certificate.fingerprint}"
        return url

    def advertiser(self, backend: Any) -> Advertiser | None:
        """The room's advertisement, told of the backend's session and seat changes; None when off."""
        if not self.advertise or not self.addresses:
            return None
        advertiser = Advertiser(self.name, self.addresses, self.port, self.scheme,
                                self.certificate.fingerprint if self.certificate else None,
                                lambda: room_state(backend), path=API_PATH)
        backend.on_change = advertiser.changed
        return advertiser


def plan(host: str, port: int, data_dir: Path, *, tls_on_loopback: bool = False, cert: Path | None = None,
         key: Path | None = None, insecure_http: bool = False, advertise: bool = True,
         name: str | None = None) -> RoomPlan:
    loopback = tls.is_loopback(host)
    wants_tls = tls_on_loopback or cert is not None or key is not None
    if insecure_http and wants_tls:
        raise RoomError("--insecure-http cannot go with --tls, --tls-cert or --tls-key")
    certificate = None
    if wants_tls or not (loopback or insecure_http):
        database.prepare_data_dir(data_dir)  # a certificate made on first start is kept there
        try:
            certificate = tls.server_certificate(data_dir, host, cert, key)
        except tls.TlsError as exc:
            raise RoomError(str(exc)) from None
    addresses = [] if loopback else tls.host_addresses(host)
    return RoomPlan(host, port, certificate, advertise and not loopback, name or default_room_name(), addresses)


def banner(room: RoomPlan, data_dir: Path) -> str:
    """What `serve` prints: where it listens and, for a room, how players join and what to compare."""
    lines = [f"Space Invaders local server on {room.url(room.host, pinned=False)} (data in {data_dir})"]
    if room.certificate is None:
        if not tls.is_loopback(room.host):
            lines.append("WARNING: plain HTTP off loopback (--insecure-http): anyone on this network can read "
                         "the passwords and tokens, and play as anybody, the manager included.")
        return "\n".join(lines)
    cert = room.certificate
    whose = ("self-signed certificate " + ("made now, " if cert.created else "") + f"kept in {cert.cert_path}"
             if cert.made_here else f"certificate {cert.cert_path}")
    lines += [f"HTTPS with the {whose}", f"  SHA-256 fingerprint {tls.readable(cert.fingerprint)}"]
    where = room.addresses or [room.host]
    lines.append("Players join with" + (" (one of)" if len(where) > 1 else "") + ":")
    lines += [f"  spaceinvaders --api '{room.url(address)}'" for address in where]
    if room.advertise:
        lines.append(f"or, on this network, plain `spaceinvaders`: the room is advertised as {room.name!r}.")
    if not cert.made_here:
        lines.append("(players whose system trusts your certificate's authority may leave out the #sha256=... part)")
    return "\n".join(lines)
