"""Clients trust the right server: a pinned fingerprint, a valid chain, or the user's one yes, remembered;
another certificate later is refused before a byte of the request leaves (api_client/trust.py)."""
from __future__ import annotations

import asyncio
import socket
import stat

import pytest
import uvloop
from network_support import RecordingTlsServer, authority_and_leaf

from api_client import (
    APIConnectionError,
    ClientPool,
    FingerprintChangedError,
    KnownServers,
    SpaceInvadersClient,
    TokenStore,
    UnknownServerError,
    ssl_context_for,
)
from api_client.trust import (
    PinMismatch,
    ServerIdentity,
    ServerTrust,
    normalize_fingerprint,
    origin_of,
    readable_halves,
    split_url,
    with_fingerprint,
)
from spaceinvaders_backend.local import tls as server_tls
from spaceinvaders_backend.local.process import ServerProcess

OTHER = "ab" * 32


def test_fingerprints_are_read_in_the_forms_people_paste():
    fp = "05e081b8e4dae4d2f2c4d689bab96c79b31b57109dee245c9cc5d568b4f351b4"
    readable = server_tls.readable(fp)
    for form in (fp, fp.upper(), readable, f"sha256={fp}", f"SHA256:{readable}", " ".join(readable_halves(fp))):
        assert normalize_fingerprint(form) == fp
    for bad in ("", "abcd", fp[:-1], fp + "00", "zz" * 32):
        with pytest.raises(ValueError, match="SHA-256"):
            normalize_fingerprint(bad)
    assert split_url(f"https://10.0.0.5:8443/v1/#sha256={readable}") == ("https://10.0.0.5:8443/v1", fp)
    assert split_url("http://127.0.0.1:8080/v1") == ("http://127.0.0.1:8080/v1", None)
    assert with_fingerprint(f"https://h:1/v1#sha256={OTHER}", fp) == f"https://h:1/v1#sha256={fp}"
    assert with_fingerprint("https://h:1/v1", None) == "https://h:1/v1"
    with pytest.raises(ValueError, match="https"):
        with_fingerprint("http://h:1/v1", fp)  # a pin on plain HTTP would protect nothing
    assert origin_of("https://10.0.0.5/v1") == "10.0.0.5:443"
    assert origin_of("https://[fd00::5]:8443/v1") == "[fd00::5]:8443"


async def test_a_pinned_client_plays_over_https_on_one_connection(tls_server):
    async with SpaceInvadersClient(tls_server.pinned_url, token_store=None) as client:
        assert client.base_url == tls_server.base_url  # the pin is not part of any request's URL
        assert await client.trust.check() == "pinned"
        await client.sign_up("pinned1", "password1")
        tokens = await client.sign_in("pinned1", "password1")
        assert tokens.username == "pinned1" and client.username == "pinned1"
        assert client.ssl_context is client.trust.context
    async with ClientPool(tls_server.pinned_url) as pool:
        players = [pool.client() for _ in range(3)]
        for number, player in enumerate(players):
            await player.sign_up(f"pooled{number}", "password1")
        for _ in range(20):
            assert await players[0].health()
        # Sign-ups are sequential here: each keep-alive connection was reused, one handshake in all.
        assert pool.trust.context.handshakes == 1


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
@pytest.mark.parametrize("transport", ["httpx", "pool"])
def test_a_wrong_pin_is_refused_before_anything_is_sent(tmp_path, loop, transport):
    certificate = server_tls.server_certificate(tmp_path, "127.0.0.1")

    async def attempt(pin: str) -> tuple[bytes, BaseException | None]:
        async with RecordingTlsServer(certificate.cert_path, certificate.key_path) as listener:
            url = f"https://127.0.0.1:{listener.port}/v1#sha256={pin}"
            maker = ClientPool(url) if transport == "pool" else None
            client = maker.client() if maker else SpaceInvadersClient(url, token_store=None)
            try:
                await client.config()
                error = None
            except Exception as exc:  # noqa: BLE001 - the test looks at it
                error = exc
            finally:
                await client.aclose()
                if maker:
                    await maker.aclose()
            await asyncio.sleep(0.05)
            return bytes(listener.received), error

    run = uvloop.run if loop == "uvloop" else asyncio.run
    sent, error = run(attempt(OTHER))
    assert isinstance(error, FingerprintChangedError)
    assert error.presented == certificate.fingerprint and error.expected == OTHER
    assert "REFUSED" in str(error) and readable_halves(OTHER)[0] in str(error)
    assert sent == b""
    # The same listener with the right pin does see the request: the recording works.
    sent, error = run(attempt(certificate.fingerprint))
    assert sent.startswith(b"GET /v1/config HTTP/1.1")


def test_a_blocking_socket_is_held_to_the_pin_too(tmp_path):
    certificate = server_tls.server_certificate(tmp_path, "127.0.0.1")

    async def main() -> None:
        async with RecordingTlsServer(certificate.cert_path, certificate.key_path) as listener:
            def connect(pin: str) -> None:
                context = ssl_context_for(f"https://127.0.0.1:{listener.port}/v1", pin)
                with socket.create_connection(("127.0.0.1", listener.port), timeout=5) as raw, \
                        context.wrap_socket(raw, server_hostname="127.0.0.1"):
                    pass

            with pytest.raises(PinMismatch):
                await asyncio.to_thread(connect, OTHER)
            await asyncio.to_thread(connect, certificate.fingerprint)
            assert listener.received == b""

    asyncio.run(main())


async def test_an_unvouched_certificate_without_a_pin_is_refused(tls_server):
    async with SpaceInvadersClient(tls_server.base_url, token_store=None) as client:
        with pytest.raises(UnknownServerError) as refused:
            await client.trust.check()
        assert refused.value.presented == tls_server.fingerprint
        assert f"--fingerprint {tls_server.fingerprint}" in str(refused.value)
        with pytest.raises(APIConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
            await client.config()  # the authorities do not vouch for it: no request goes out either


async def test_trust_on_first_use_asks_once_and_remembers(tls_server, tmp_path):
    asked: list[ServerIdentity] = []

    async def yes(identity: ServerIdentity) -> bool:
        asked.append(identity)
        return True

    async def never(identity: ServerIdentity) -> bool:
        raise AssertionError("asked again")

    store = TokenStore(tmp_path / "config")
    async with SpaceInvadersClient(tls_server.base_url, token_store=store) as client:
        assert await client.trust.check(ask=yes) == "trusted"
        assert [a.fingerprint for a in asked] == [tls_server.fingerprint]
        assert asked[0].origin == f"127.0.0.1:{tls_server.port}"
        await client.config()  # the same client now talks to it, held to what was shown
    known = KnownServers(tmp_path / "config")
    assert known.get(f"127.0.0.1:{tls_server.port}").fingerprint == tls_server.fingerprint
    assert stat.S_IMODE(known.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(known.directory.stat().st_mode) == 0o700
    async with SpaceInvadersClient(tls_server.base_url, token_store=store) as again:
        assert await again.trust.check(ask=never) == "pinned"
        assert await again.health()


async def test_saying_no_connects_nothing_and_remembers_nothing(tls_server, tmp_path):
    async def no(identity: ServerIdentity) -> bool:
        return False

    store = TokenStore(tmp_path / "config")
    async with SpaceInvadersClient(tls_server.base_url, token_store=store) as client:
        with pytest.raises(UnknownServerError):
            await client.trust.check(ask=no)
    assert KnownServers(tmp_path / "config").all() == []


async def test_another_certificate_at_the_same_address_is_refused(tmp_path):
    store = TokenStore(tmp_path / "config")
    first = ServerProcess(tmp_path / "first", serve_args=["--tls"]).start()
    try:
        async with SpaceInvadersClient(first.pinned_url, token_store=store) as client:
            assert await client.trust.check() == "pinned"  # remembered with the pin
            await client.sign_up("victim", "victim-password")
    finally:
        first.stop()
    impostor = ServerProcess(tmp_path / "impostor", port=first.port, serve_args=["--tls"]).start()
    try:
        assert impostor.fingerprint != first.fingerprint
        for url in (impostor.base_url, first.pinned_url, impostor.pinned_url):  # remembered, pinned, even a new pin
            async with SpaceInvadersClient(url, token_store=store) as client:
                with pytest.raises(FingerprintChangedError) as refused:
                    await client.trust.check(ask=lambda identity: pytest.fail("a changed certificate is not asked"))
                message = str(refused.value)
                assert readable_halves(impostor.fingerprint)[1] in message
                assert readable_halves(first.fingerprint)[1] in message
                assert f"spaceinvaders forget-server 127.0.0.1:{first.port}" in message
                with pytest.raises(FingerprintChangedError):
                    await client.sign_in("victim", "victim-password")  # refused in the handshake as well
        assert KnownServers(tmp_path / "config").forget(f"127.0.0.1:{first.port}")
        async with SpaceInvadersClient(impostor.pinned_url, token_store=store) as client:
            assert await client.trust.check() == "pinned"
    finally:
        impostor.stop()


async def test_a_certificate_from_an_authority_needs_no_pin(tmp_path, monkeypatch):
    ca, cert, key = authority_and_leaf(tmp_path / "pki")
    server = ServerProcess(tmp_path / "data", serve_args=["--tls-cert", str(cert), "--tls-key", str(key)]).start()
    try:
        async with SpaceInvadersClient(server.base_url, token_store=None) as client:
            with pytest.raises(UnknownServerError):  # an authority this machine does not know
                await client.trust.check()
        monkeypatch.setenv("SSL_CERT_FILE", str(ca))  # as if the room's authority were in the system's store
        store = TokenStore(tmp_path / "config")
        async with SpaceInvadersClient(server.base_url, token_store=store) as client:
            assert await client.trust.check() == "authority"
            assert await client.health()
        assert KnownServers(tmp_path / "config").all() == []  # a valid chain pins nothing
    finally:
        server.stop()


def test_a_pin_and_a_different_remembered_fingerprint_refuse_every_connection(tmp_path):
    known = KnownServers(tmp_path)
    known.remember("10.0.0.5:8443", OTHER, "asked")
    trust = ServerTrust(f"https://10.0.0.5:8443/v1#sha256={'cd' * 32}", known=known)
    context = trust.context
    with pytest.raises(PinMismatch, match="REFUSED"):
        context.check_peer(b"anything")
    assert ServerTrust("http://10.0.0.5:8080/v1", known=known).context is None  # plain HTTP: nothing to hold
