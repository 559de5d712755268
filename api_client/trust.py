"""Which server a client trusts over HTTPS, and the one TLS context that holds every connection to it.

A server is trusted in one of three ways (docs/client.md, "Trusting the server"):
- its certificate chain is valid for its name or address under the system's authorities (or certifi's);
- its certificate's SHA-256 fingerprint is pinned: given in the URL (`https://10.0.0.5:8080/v1#sha256=...`,
  as the server prints its join command), as an option, or by the room's advertisement;
- the user was shown the fingerprint once and said yes (trust on first use, as SSH does).
Pinned and accepted fingerprints are remembered per server (`host:port`) in `known_servers.json`, beside
the tokens, and a server that later presents another certificate is refused, never accepted silently.

The check is in the handshake itself: `ssl_context_for` builds a `ServerContext` whose connections verify
the pin (or the chain) before a byte of the request is written, whatever opens them: httpx's transport
(anyio), `Http11Transport` (asyncio or uvloop), a WebSocket library, a blocking socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import re
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import certifi
import httpx
import platformdirs

from .errors import APIConnectionError
from .tokens import write_private_json

FRAGMENT_KEY = "sha256"
_HEX = re.compile(r"[0-9a-f]{64}")
CHECK_TIMEOUT = 5.0


def normalize_fingerprint(text: str) -> str:
    """64 lowercase hex digits from `AB:CD:...`, `abcd...`, `sha256=...` or `SHA256 AB:CD...`; ValueError else."""
    value = text.strip().lower()
    for prefix in ("sha256=", "sha256:", "sha-256:", "sha256 ", "sha-256 "):
        value = value.removeprefix(prefix)
    value = value.replace(":", "").replace(" ", "")
    if not _HEX.fullmatch(value):
        raise ValueError(f"not a SHA-256 fingerprint (64 hex digits, colons allowed): {text!r}")
    return value


def readable(fingerprint: str) -> str:
    """AB:CD:... as the server prints it (and `openssl x509 -fingerprint -sha256`)."""
    return ":".join(fingerprint[i:i + 2] for i in range(0, len(fingerprint), 2)).upper()


def readable_halves(fingerprint: str) -> tuple[str, str]:
    """The readable fingerprint in two lines of 16 pairs, for screens of 80 columns."""
    text = readable(fingerprint)
    return text[:48], text[48:]


def fingerprint_of(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()


def split_url(url: str) -> tuple[str, str | None]:
    """The base URL without its fragment, and the fingerprint the fragment pins (`#sha256=...`), if any."""
    base, _, fragment = url.partition("#")
    pin = None
    for part in filter(None, fragment.split("&")):
        key, _, value = part.partition("=")
        if key.lower() == FRAGMENT_KEY:
            pin = normalize_fingerprint(value)
    return base.rstrip("/"), pin


def with_fingerprint(url: str, fingerprint: str | None) -> str:
    """`url` pinned to `fingerprint` (replacing a pin it carried); unchanged when `fingerprint` is None."""
    if fingerprint is None:
        return url
    base, _ = split_url(url)
    if not base.lower().startswith("https://"):
        raise ValueError(f"a fingerprint pins an https:// server's certificate, not {base}")
    return f"{base}#{FRAGMENT_KEY}={normalize_fingerprint(fingerprint)}"


def origin_of(url: str) -> str:
    """`host:port` of an http(s) URL, the key trust is remembered under (as SSH keys hosts)."""
    parsed = httpx.URL(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    host = parsed.host
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


# --- what the user decided, kept ------------------------------------------------------------------


@dataclass(frozen=True)
class KnownServer:
    origin: str
    fingerprint: str
    since: str  # when it was first trusted (ISO date-time, UTC)
    how: str  # "asked" (trust on first use), "pinned" (URL or option), "room" (the advertisement)


class KnownServers:
    """`known_servers.json` (0600, in a 0700 directory; by default the user's config directory)."""

    def __init__(self, directory: Path | str | None = None) -> None:
        self.directory = Path(directory or platformdirs.user_config_dir("spaceinvaders"))
        self.path = self.directory / "known_servers.json"

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text("utf-8"))
        except FileNotFoundError:
            return {}
        except ValueError as exc:  # unlike lost tokens, lost trust would silently re-ask: say so
            raise ValueError(f"{self.path} is damaged ({exc}); fix or delete it") from None
        return data if isinstance(data, dict) else {}

    def get(self, origin: str) -> KnownServer | None:
        entry = self._read().get(origin)
        if not isinstance(entry, dict) or not _HEX.fullmatch(str(entry.get("sha256", ""))):
            return None
        return KnownServer(origin, entry["sha256"], str(entry.get("since", "")), str(entry.get("how", "")))

    def remember(self, origin: str, fingerprint: str, how: str) -> KnownServer:
        data = self._read()
        since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        data[origin] = {"sha256": fingerprint, "since": since, "how": how}
        self._write(data)
        return KnownServer(origin, fingerprint, since, how)

    def forget(self, origin: str) -> bool:
        data = self._read()
        if data.pop(origin, None) is None:
            return False
        self._write(data)
        return True

    def all(self) -> list[KnownServer]:
        return [known for origin in sorted(self._read()) if (known := self.get(origin)) is not None]

    def _write(self, data: dict[str, Any]) -> None:
        write_private_json(self.path, data)


# --- refusals -------------------------------------------------------------------------------------


class ServerTrustError(APIConnectionError):
    """The server could not be trusted; nothing was sent to it. `.origin`, `.presented` (its fingerprint)."""

    def __init__(self, message: str, *, origin: str, presented: str | None) -> None:
        super().__init__(message, sent=False)
        self.origin = origin
        self.presented = presented


class UnknownServerError(ServerTrustError):
    """No authority vouches for the certificate, nothing pins it, and nobody said yes to it."""


class FingerprintChangedError(ServerTrustError):
    """The server presents another certificate than the one pinned or trusted before."""

    def __init__(self, message: str, *, origin: str, presented: str | None, expected: str) -> None:
        super().__init__(message, origin=origin, presented=presented)
        self.expected = expected


def _shown(fingerprint: str) -> str:
    first, second = readable_halves(fingerprint)
    return f"  {first}\n  {second}"


def forget_command(origin: str) -> str:
    return f"spaceinvaders forget-server {origin}"


def changed_message(origin: str, presented: str, known: KnownServer) -> str:
    return (
        f"REFUSED: the server at {origin} presents a certificate with SHA-256 fingerprint\n"
        f"{_shown(presented)}\n"
        f"but on {known.since[:10] or 'an earlier day'} you trusted this one for that address:\n"
        f"{_shown(known.fingerprint)}\n"
        "Either someone on this network is posing as the server, or its operator made a new certificate "
        "(e.g. a new data directory). Ask the operator for the fingerprint `spaceinvaders-server serve` "
        "printed at its start. Only if it is the new one above, forget the old one and connect again:\n"
        f"  {forget_command(origin)}"
    )


def not_pinned_message(origin: str, presented: str, pin: str) -> str:
    return (
        f"REFUSED: the server at {origin} presents a certificate with SHA-256 fingerprint\n"
        f"{_shown(presented)}\n"
        f"not the one you were given:\n{_shown(pin)}\n"
        "Check the address and the fingerprint against what `spaceinvaders-server serve` printed at its start "
        "(or the room's name); someone on this network may be posing as the server."
    )


def unknown_message(origin: str, presented: str) -> str:
    return (
        f"The server at {origin} has a certificate no authority vouches for (self-signed), with SHA-256 "
        f"fingerprint\n{_shown(presented)}\n"
        "Compare it with the one `spaceinvaders-server serve` printed at its start; if they match, connect "
        f"with it pinned: --fingerprint {presented}  (or the join URL ending in #sha256={presented})"
    )


# --- the context ----------------------------------------------------------------------------------


class PinMismatch(ssl.SSLCertVerificationError):
    """Raised inside the handshake: the connection is closed before anything is sent."""

    def __init__(self, message: str, origin: str, presented: str, expected: str) -> None:
        super().__init__(message)
        self.origin = origin
        self.presented = presented
        self.expected = expected

    def __str__(self) -> str:
        return str(self.args[0])


class _PinnedObject(ssl.SSLObject):
    """asyncio's, uvloop's and anyio's TLS objects call `do_handshake` until it returns: check there."""

    def do_handshake(self) -> None:
        super().do_handshake()
        self.context.check_peer(self.getpeercert(binary_form=True))  # type: ignore[attr-defined]


class _PinnedSocket(ssl.SSLSocket):
    def do_handshake(self, block: bool = False) -> None:
        super().do_handshake(block)
        self.context.check_peer(self.getpeercert(binary_form=True))  # type: ignore[attr-defined]


class ServerContext(ssl.SSLContext):
    """A client context for one server: the system's and certifi's authorities until pinned; once pinned,
    any chain but only the pinned certificate, and, when one was trusted before, only that one too.

    `handshakes` counts completed handshakes (benchmarks show connection reuse with it)."""

    sslobject_class = _PinnedObject
    sslsocket_class = _PinnedSocket

    origin: str
    pin: str | None
    known: KnownServer | None
    handshakes: int

    def pin_to(self, fingerprint: str) -> None:
        self.pin = fingerprint
        self.check_hostname = False  # the fingerprint names the certificate, whatever name it carries
        self.verify_mode = ssl.CERT_NONE

    def check_peer(self, der: bytes | None) -> None:
        self.handshakes += 1
        if self.pin is None:
            return  # the chain was verified by OpenSSL against the authorities
        presented = fingerprint_of(der or b"")
        if self.known is not None and presented != self.known.fingerprint:
            raise PinMismatch(changed_message(self.origin, presented, self.known), self.origin, presented,
                              self.known.fingerprint)
        if presented != self.pin:
            raise PinMismatch(not_pinned_message(self.origin, presented, self.pin), self.origin, presented, self.pin)


def _authorities(context: ssl.SSLContext) -> None:
    context.load_default_certs()  # the system's store (an operator's own authority installed there)
    context.load_verify_locations(cafile=certifi.where())


def ssl_context_for(base_url: str, fingerprint: str | None = None,
                    known: KnownServer | None = None) -> ServerContext:
    """The TLS context for every connection to the server at `base_url` (HTTP, WebSocket, anything).

    Pinned to `fingerprint`, else to the URL's `#sha256=`, else to `known` (what was trusted before);
    with none, it verifies the chain against the system's and certifi's authorities. When both a pin and
    `known` are there and differ, every connection is refused (the server's certificate changed)."""
    base, url_pin = split_url(base_url)
    given = normalize_fingerprint(fingerprint) if fingerprint else url_pin
    context = ServerContext(ssl.PROTOCOL_TLS_CLIENT)
    context.origin, context.known, context.pin, context.handshakes = origin_of(base), known, None, 0
    _authorities(context)
    pin = given or (known.fingerprint if known else None)
    if pin is not None:
        context.pin_to(pin)
    return context


# --- one server's trust, checked before signing in ------------------------------------------------


@dataclass(frozen=True)
class ServerIdentity:
    """What the user is asked to trust."""

    origin: str
    fingerprint: str
    subject: str  # the certificate's subject, as it names itself (anybody can write anything there)

    @property
    def readable(self) -> str:
        return readable(self.fingerprint)


Ask = Callable[[ServerIdentity], Awaitable[bool]]
DEFAULT_KNOWN: Any = object()


class ServerTrust:
    """The trust of one client (or one pool) in its server: `context` for connections, `check()` before
    the first request to settle it (asking the user when nothing else can), `remember` what was settled.

    `known` is where trust is remembered (None: nowhere, and nothing remembered is used)."""

    def __init__(self, url: str, *, fingerprint: str | None = None, known: KnownServers | None = DEFAULT_KNOWN,
                 how: str = "pinned") -> None:
        self.base_url, url_pin = split_url(url)
        self.secure = self.base_url.lower().startswith("https://")
        self.origin = origin_of(self.base_url)
        self.given = normalize_fingerprint(fingerprint) if fingerprint else url_pin
        self.how = how  # how a given pin came: "pinned" (URL or option) or "room" (the advertisement)
        self.known = KnownServers() if known is DEFAULT_KNOWN else known
        self._context: ServerContext | None = None
        self._remembered: KnownServer | None = None
        self._loaded = False

    @property
    def remembered(self) -> KnownServer | None:
        if not self._loaded and self.secure and self.known is not None:
            self._remembered = self.known.get(self.origin)
        self._loaded = True
        return self._remembered

    @property
    def context(self) -> ServerContext | None:
        """The context every connection to this server uses; None for plain HTTP."""
        if self._context is None and self.secure:
            self._context = ssl_context_for(self.base_url, self.given, self.remembered)
        return self._context

    @property
    def pinned(self) -> str | None:
        context = self.context
        return context.pin if context is not None else None

    async def check(self, ask: Ask | None = None, timeout: float = CHECK_TIMEOUT) -> str:
        """Settle the trust with one handshake, before any request: "plain" (HTTP), "authority" (a valid
        chain), "pinned" (the pinned or remembered certificate), "trusted" (the user said yes now).

        Raises `FingerprintChangedError`, `UnknownServerError` (nobody to ask, or the user said no), or
        `APIConnectionError` when the server does not answer. A pin checked here is remembered."""
        context = self.context
        if context is None:
            return "plain"
        host, port = _host_port(self.base_url)
        if context.pin is not None:
            try:
                await _handshake(host, port, context, timeout)
            except PinMismatch as exc:
                raise FingerprintChangedError(str(exc), origin=self.origin, presented=exc.presented,
                                              expected=exc.expected) from None
            if self.remembered is None and self.known is not None:
                self._remembered = context.known = self.known.remember(self.origin, context.pin, self.how)
            return "pinned"
        try:
            await _handshake(host, port, context, timeout)
            return "authority"
        except ssl.SSLCertVerificationError:
            pass
        presented, subject = await _peer_certificate(host, port, timeout)
        identity = ServerIdentity(self.origin, presented, subject)
        if ask is None or not await ask(identity):
            raise UnknownServerError(unknown_message(self.origin, presented), origin=self.origin,
                                     presented=presented)
        self.accept(presented)
        return "trusted"

    def accept(self, fingerprint: str) -> None:
        """The user trusts the certificate they were shown (`UnknownServerError.presented`): from now on
        every connection must present exactly it, and it is remembered."""
        context = self.context
        if context is None:
            return
        fingerprint = normalize_fingerprint(fingerprint)
        if self.known is not None:
            self._remembered = context.known = self.known.remember(self.origin, fingerprint, "asked")
        context.pin_to(fingerprint)


def _host_port(base_url: str) -> tuple[str, int]:
    url = httpx.URL(base_url)
    return url.host, url.port or (443 if url.scheme == "https" else 80)


async def _handshake(host: str, port: int, context: ssl.SSLContext, timeout: float) -> None:
    """Connect and shake hands, then hang up: no request is written."""
    try:
        async with asyncio.timeout(timeout):
            _, writer = await asyncio.open_connection(host, port, ssl=context, server_hostname=host)
    except ssl.SSLCertVerificationError:
        raise
    except (OSError, TimeoutError) as exc:
        raise APIConnectionError(f"cannot reach {host}:{port}: {exc or 'timed out'}", sent=False) from exc
    writer.close()
    with contextlib.suppress(OSError, ssl.SSLError):
        await writer.wait_closed()


async def _peer_certificate(host: str, port: int, timeout: float) -> tuple[str, str]:
    """The fingerprint and subject of the certificate the server presents, trusting nothing (to show them)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        async with asyncio.timeout(timeout):
            _, writer = await asyncio.open_connection(host, port, ssl=context, server_hostname=host)
    except (OSError, TimeoutError) as exc:
        raise APIConnectionError(f"cannot reach {host}:{port}: {exc or 'timed out'}", sent=False) from exc
    try:
        ssl_object = writer.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else b""
    finally:
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await writer.wait_closed()
    return fingerprint_of(der), _subject(der)


def _subject(der: bytes) -> str:
    try:
        from cryptography import x509

        return x509.load_der_x509_certificate(der).subject.rfc4514_string()
    except Exception:  # noqa: BLE001 - only shown to the user
        return ""
