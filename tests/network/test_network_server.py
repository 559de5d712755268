"""`serve` off loopback: HTTPS unless told otherwise, its certificate made once and kept, the join command;
and the room's advertisement, kept current by the backend's sessions and seats."""
from __future__ import annotations

import asyncio
import ipaddress
import stat
import time

import pytest
from cryptography import x509
from network_support import authority_and_leaf

from api_client.rooms import Room, matching, room_from
from spaceinvaders_backend.core.models import StatusUpdate
from spaceinvaders_backend.core.timeutil import to_iso
from spaceinvaders_backend.local import cli, tls
from spaceinvaders_backend.local import room as network
from spaceinvaders_backend.local.advertise import SERVICE_TYPE, Advertiser, RoomState, room_state, txt_record
from spaceinvaders_backend.local.backend import LocalBackend
from spaceinvaders_backend.local.process import ServerProcess
from spaceinvaders_backend.local.settings import Settings

ROOM_ADDRESS = "10.218.18.1"  # planned, never bound: these tests serve on loopback only


def test_serve_tls_makes_its_certificate_once_and_keeps_it(tmp_path):
    server = ServerProcess(tmp_path / "data", serve_args=["--tls"]).start()
    try:
        first = server.fingerprint
        key = tmp_path / "data" / tls.KEY_FILE
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
        log = server.log_path.read_text()
        assert f"SHA-256 fingerprint {tls.readable(first)}" in log
        assert f"spaceinvaders --api 'https://127.0.0.1:{server.port}/v1#sha256={first}'" in log
        assert "made now" in log
    finally:
        server.stop()
    server.log_path.write_text("")
    server.start()
    try:
        assert server.fingerprint == first  # players' pins survive a restart
        assert "made now" not in server.log_path.read_text()
    finally:
        server.stop()


def test_off_loopback_the_plan_is_https_with_the_host_in_the_certificate(tmp_path):
    room = network.plan(ROOM_ADDRESS, 8443, tmp_path, name="lab")
    assert room.certificate is not None and room.scheme == "https" and room.advertise
    assert room.addresses == [ROOM_ADDRESS]
    leaf = x509.load_pem_x509_certificate(room.certificate.cert_path.read_bytes())
    sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert ipaddress.ip_address(ROOM_ADDRESS) in sans.get_values_for_type(x509.IPAddress)
    assert "localhost" in sans.get_values_for_type(x509.DNSName)
    banner = network.banner(room, tmp_path)
    assert f"spaceinvaders --api 'https://{ROOM_ADDRESS}:8443/v1#sha256={room.certificate.fingerprint}'" in banner
    assert "advertised as 'lab'" in banner
    # Plain HTTP off loopback only when asked, and said loudly.
    plain = network.plan(ROOM_ADDRESS, 8080, tmp_path / "plain", insecure_http=True)
    assert plain.certificate is None and "WARNING: plain HTTP off loopback" in network.banner(plain, tmp_path)
    assert not (tmp_path / "plain").exists()
    with pytest.raises(network.RoomError, match="--insecure-http"):
        network.plan(ROOM_ADDRESS, 8080, tmp_path, insecure_http=True, tls_on_loopback=True)
    # Loopback: plain unless asked, and never advertised.
    assert network.plan("127.0.0.1", 8080, tmp_path / "lo").certificate is None
    looped = network.plan("127.0.0.1", 8080, tmp_path / "lo", tls_on_loopback=True)
    assert looped.certificate is not None and not looped.advertise and looped.advertiser(object()) is None
    assert not network.plan(ROOM_ADDRESS, 8443, tmp_path, advertise=False).advertise


def test_a_bad_operator_certificate_stops_the_start_with_one_line(tmp_path, capsys):
    _, cert, _ = authority_and_leaf(tmp_path / "a")
    _, _, other_key = authority_and_leaf(tmp_path / "b")
    for extra, says in ((["--tls-cert", str(cert)], "go together"),
                        (["--tls-cert", str(cert), "--tls-key", str(other_key)], "not the unencrypted private key"),
                        (["--tls-cert", str(tmp_path / "none.pem"), "--tls-key", str(other_key)], "no such file"),
                        (["--tls", "--insecure-http"], "cannot go with")):
        code = cli.main(["serve", "--data-dir", str(tmp_path / "data"), *extra])
        assert code == 2
        assert says in capsys.readouterr().err


def test_the_advertisement_says_what_a_client_needs_to_join():
    record = txt_record("https", "/v1", "ab" * 32, RoomState("ROOM-A261202T204456", 12, 200))
    room = room_from(f"lab.{SERVICE_TYPE}", ["fe80::1", ROOM_ADDRESS], 8443,
                     {k.encode(): v.encode() for k, v in record.items()}, [ipaddress.ip_network("10.218.18.0/24")])
    assert room == Room("lab", ROOM_ADDRESS, 8443, "https", "/v1", "ab" * 32, "ROOM-A261202T204456", 12, 200)
    assert room.url == f"https://{ROOM_ADDRESS}:8443/v1#sha256={'ab' * 32}"
    assert matching([room], "LAB") is room
    with pytest.raises(LookupError, match="rooms heard: 'lab'"):
        matching([room], "kitchen")
    for bad in ({"scheme": "gopher"}, {"path": "v1"}, {"path": "/v1#x"}):
        assert room_from("x", [ROOM_ADDRESS], 1, {**record, **bad}) is None
    assert room_from("x", [], 1, record) is None


class FakeZeroconf:
    """What the advertiser asks of python-zeroconf, recorded."""

    def __init__(self, **kwargs) -> None:
        self.kwargs = kwargs
        self.registered: list = []
        self.updated: list = []
        self.closed = False

    async def async_register_service(self, info, allow_name_change=False):
        info.name = info.name.replace("lab.", "lab (2).")  # the name was taken on the network
        self.registered.append(info)

    async def async_update_service(self, info):
        self.updated.append(info)

    async def async_unregister_all_services(self):
        self.registered.clear()

    async def async_close(self):
        self.closed = True


async def test_the_advertiser_announces_changes_at_most_once_an_interval():
    state = RoomState("", 0, 0)
    made: list[FakeZeroconf] = []

    def factory(**kwargs):
        made.append(FakeZeroconf(**kwargs))
        return made[-1]

    advertiser = Advertiser("lab", [ROOM_ADDRESS], 8443, "https", "ab" * 32, lambda: state, interval=0.1,
                            zeroconf_factory=factory)
    await advertiser.start()
    zc = made[0]
    assert zc.kwargs["interfaces"] == [ROOM_ADDRESS]  # only the served network
    assert advertiser.registered_name == "lab (2)"
    assert zc.registered[0].properties[b"sha256"] == b"ab" * 32
    assert zc.registered[0].properties[b"session"] == b""
    for players in range(1, 51):  # a room filling up
        state = RoomState("ROOM-A", players, 200)
        advertiser.changed()
    await asyncio.sleep(0.3)
    assert len(zc.updated) == 1
    assert zc.updated[0].properties[b"players"] == b"50" and zc.updated[0].name.startswith("lab (2).")
    advertiser.changed()  # nothing new: nothing announced
    await asyncio.sleep(0.3)
    assert len(zc.updated) == 1
    await advertiser.stop()
    assert zc.closed and zc.registered == []


async def test_the_backend_tells_the_advertisement_of_sessions_and_seats(tmp_path):
    backend = LocalBackend(Settings(data_dir=tmp_path / "data", stream_interval_seconds=0.05,
                                    housekeeping_interval_seconds=3600))
    seen: list[RoomState] = []
    backend.on_change = lambda: seen.append(room_state(backend))
    await backend.start()
    try:
        await backend.open_session("ROOM", "MULTIPLE_TRIALS", False, None, 200)
        session = backend.session.session_id
        await backend.allocate("alice")
        await backend.allocate("bob")
        await backend.deallocate("bob")
        await backend.post_status("alice", StatusUpdate(session, "alice", 10, 1, 1, 0, to_iso(time.time())))
        for _ in range(100):  # the stream processor frees a seat whose last life went
            if seen[-1].players == 0:
                break
            await asyncio.sleep(0.02)
        await backend.close_session()
    finally:
        await backend.stop()
    players = [s.players for s in seen if s.session == session]
    changes = [n for i, n in enumerate(players) if i == 0 or n != players[i - 1]]
    assert changes == [0, 1, 2, 1, 0]  # opened, two seats taken, one freed, the last life frees the other
    assert seen[-1] == RoomState("", 0, 0)  # closed: no open session to advertise
