"""The room across real interfaces: the server in one network namespace, the players in another, joined by a
veth pair (netns.py). Discovery finds the room; players sign up, join and post over HTTPS pinned to the
advertised certificate; bots join by the room's name; a second server with another certificate at the same
address is refused; and a capture of the veth holds no password or token in clear (while the same capture
does hold a password sent over plain HTTP, so the check can fail).

Needs root and iproute2 (CI runs as root); skipped with the reason otherwise. Every process has a time
limit, and the namespaces are removed however the test ends.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import netns
import pytest
from capture import tcp_payloads
from network_support import MANAGER

from spaceinvaders_backend.local import tls

HERE = Path(__file__).resolve().parent
CLI = [sys.executable, "-m", "spaceinvaders_backend.local.cli"]
HTTPS_PORT = 8443
PLAIN_PORT = 8080
DRIVER_TIMEOUT = 90.0
START_TIMEOUT = 20.0

reason = netns.available()
pytestmark = pytest.mark.skipif(reason is not None, reason=f"no network namespaces here: {reason}")


class Processes:
    """Processes this test started (in its namespaces): stopped by their id at the end."""

    def __init__(self) -> None:
        self.running: list[subprocess.Popen] = []

    def start(self, command: list[str], log: Path, **kwargs) -> subprocess.Popen:
        with open(log, "ab") as out:
            proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, **kwargs)
        self.running.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen) -> None:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def stop_all(self) -> None:
        for proc in reversed(self.running):
            self.stop(proc)


@pytest.fixture
def room():
    tag = f"{os.getpid() % 100000}"
    try:
        with netns.room_namespaces(tag) as made:
            yield made
    except netns.NamespaceUnavailable as error:
        pytest.skip(f"cannot make network namespaces here: {error}")


@pytest.fixture
def processes():
    made = Processes()
    yield made
    made.stop_all()


def serve(room: netns.Room, processes: Processes, data_dir: Path, log: Path, port: int, *extra: str):
    proc = processes.start(room.in_server(*CLI, "serve", "--host", "0.0.0.0", "--port", str(port),
                                          "--data-dir", str(data_dir), *extra), log)
    deadline = time.monotonic() + START_TIMEOUT
    while "Listening at" not in log.read_text(errors="replace"):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"the server did not start:\n{log.read_text()[-2000:]}")
        time.sleep(0.1)
    return proc


def drive(room: netns.Room, config: Path, *args: str) -> dict:
    env = {**os.environ, "XDG_CONFIG_HOME": str(config), "PYTHONPATH": os.pathsep.join(sys.path)}
    answer = subprocess.run(room.in_client(sys.executable, str(HERE / "room_driver.py"), *args), env=env,
                            capture_output=True, text=True, timeout=DRIVER_TIMEOUT, check=False)
    assert answer.returncode == 0, answer.stderr[-3000:]
    return json.loads(answer.stdout.strip().splitlines()[-1])


def test_the_room_across_two_namespaces(room, processes, tmp_path):
    name = f"room-{os.getpid() % 100000}"
    config = tmp_path / "players-config"
    first_dir, impostor_dir, plain_dir = tmp_path / "first", tmp_path / "impostor", tmp_path / "plain"
    first = serve(room, processes, first_dir, tmp_path / "first.log", HTTPS_PORT, "--room-name", name)
    subprocess.run([*CLI, "create-manager", "--username", MANAGER[0], "--password", MANAGER[1], "--data-dir",
                    str(first_dir)], check=True, capture_output=True, timeout=30)
    serve(room, processes, plain_dir, tmp_path / "plain.log", PLAIN_PORT, "--insecure-http", "--no-advertise")
    fingerprint = tls.server_certificate(first_dir, "0.0.0.0").fingerprint
    banner = (tmp_path / "first.log").read_text()
    assert f"spaceinvaders --api 'https://{room.server_address}:{HTTPS_PORT}/v1#sha256={fingerprint}'" in banner

    capture_file = tmp_path / "veth.pcap"
    capture = subprocess.Popen(room.in_client(sys.executable, str(HERE / "capture.py"), room.client_if,
                                              str(capture_file), "120"), stdout=subprocess.PIPE, text=True)
    processes.running.append(capture)
    assert capture.stdout is not None and capture.stdout.readline().strip() == "ready"

    played = drive(room, config, "play", name, *MANAGER, f"http://{room.server_address}:{PLAIN_PORT}/v1")

    capture.send_signal(signal.SIGTERM)
    capture.wait(10)
    # Discovery found the room, with the certificate the server made and printed.
    assert played["room"] == name and played["address"] == room.server_address
    assert played["fingerprint"] == fingerprint and played["trust"] == "pinned"
    # The advertisement followed the session the manager opened.
    assert played["advertised_session"] == played["session"]
    # Players signed up, joined and posted over HTTPS; the board has them all.
    assert played["board"] == {f"netns{n}": 10 * 5 * (n + 1) for n in range(3)}
    assert played["bots_exit"] == 0, played["bots_error"]

    # Nothing secret in clear on the veth, while a password sent over plain HTTP is there to see.
    wire = capture_file.read_bytes()
    assert played["canary"].encode() in wire
    assert name.encode() in wire and fingerprint.encode() in wire  # the advertisement is public, and seen
    https_bytes = tcp_payloads(str(capture_file), HTTPS_PORT)
    assert len(https_bytes) > 20_000  # the HTTPS exchanges were captured too
    secrets_sent = [s for s in played["passwords"] + played["tokens"] if s]
    assert len(secrets_sent) == 1 + 3 + 3 * 4
    for secret in secrets_sent:
        for piece in {secret, *secret.split(".")}:  # a JWT's parts, should a segment boundary cut it
            if len(piece) >= 12:
                assert piece.encode() not in wire, "a password or token crossed the veth in clear"
    assert b"Authorization" not in https_bytes and b"/v1/auth" not in https_bytes

    # Another server with another certificate at the same address and name: refused, and sent nothing.
    processes.stop(first)
    serve(room, processes, impostor_dir, tmp_path / "impostor.log", HTTPS_PORT, "--room-name", name,
          "--access-log")
    impostor = tls.server_certificate(impostor_dir, "0.0.0.0").fingerprint
    assert impostor != fingerprint
    refused = drive(room, config, "refuse", name, played["url"])
    assert refused["advertised_fingerprint"] == impostor
    for way in ("room", "pinned", "remembered"):
        assert refused[way] == "refused", refused
        assert refused[f"{way}_sign_in"] == "refused"
    assert f"forget-server {room.server_address}:{HTTPS_PORT}" in refused["room_message"]
    assert "/v1/" not in (tmp_path / "impostor.log").read_text()  # not one request reached it
