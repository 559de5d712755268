"""Two Linux network namespaces joined by a veth pair: a room's server on one side, its players on the other.

Used by the room test (`test_room_network.py`) and by hand:

    sudo .venv/bin/python tests/network/netns.py up      # prints the two commands to run, one per terminal
    sudo .venv/bin/python tests/network/netns.py down

Traffic stays inside the two namespaces: their only interfaces are their own loopback and the two ends of
the veth pair, with addresses from 10.218.18.0/24 that exist nowhere else. Nothing reaches this machine's
own interfaces, and multicast (mDNS) goes only over the veth.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

SUBNET = "10.218.18"
SERVER_ADDRESS = f"{SUBNET}.1"
CLIENT_ADDRESS = f"{SUBNET}.2"
COMMAND_TIMEOUT = 10.0


class NamespaceUnavailable(Exception):
    """Why network namespaces cannot be made here (not root, no `ip`, a container without the right)."""


@dataclass(frozen=True)
class Room:
    server_ns: str
    client_ns: str
    server_if: str
    client_if: str
    server_address: str = SERVER_ADDRESS
    client_address: str = CLIENT_ADDRESS

    def in_server(self, *command: str) -> list[str]:
        return ["ip", "netns", "exec", self.server_ns, *command]

    def in_client(self, *command: str) -> list[str]:
        return ["ip", "netns", "exec", self.client_ns, *command]


def _ip(*args: str) -> None:
    answer = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=COMMAND_TIMEOUT, check=False)
    if answer.returncode != 0:
        raise NamespaceUnavailable(f"ip {' '.join(args)}: {answer.stderr.strip() or answer.returncode}")


def available() -> str | None:
    """None when namespaces can be made here, else the reason they cannot."""
    if sys.platform != "linux":
        return "network namespaces are Linux's"
    if os.geteuid() != 0:
        return "making network namespaces needs root"
    if shutil.which("ip") is None:
        return "the `ip` command (iproute2) is not installed"
    return None


def names(tag: str) -> Room:
    # Interface names are at most 15 characters.
    tag = tag[-8:]
    return Room(f"si-room-{tag}", f"si-play-{tag}", f"sir{tag}", f"sip{tag}")


def create(room: Room) -> None:
    """Both namespaces, the veth between them, addresses, links up (loopback too)."""
    try:
        _ip("netns", "add", room.server_ns)
        _ip("netns", "add", room.client_ns)
        _ip("link", "add", room.server_if, "netns", room.server_ns, "type", "veth",
            "peer", "name", room.client_if, "netns", room.client_ns)
        for ns, interface, address in ((room.server_ns, room.server_if, room.server_address),
                                       (room.client_ns, room.client_if, room.client_address)):
            _ip("-n", ns, "addr", "add", f"{address}/24", "dev", interface)
            _ip("-n", ns, "link", "set", interface, "up")
            _ip("-n", ns, "link", "set", "lo", "up")
    except BaseException:
        delete(room)
        raise


def delete(room: Room) -> None:
    """Remove both namespaces (the veth pair goes with them); quiet when they are already gone."""
    for ns in (room.server_ns, room.client_ns):
        left = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True, timeout=COMMAND_TIMEOUT,
                              check=False).stdout.split()
        for pid in left:  # processes this run started inside its own namespace, still running
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), 9)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=COMMAND_TIMEOUT, check=False)


@contextlib.contextmanager
def room_namespaces(tag: str) -> Iterator[Room]:
    room = names(tag)
    delete(room)  # left over from a run that was killed
    create(room)
    try:
        yield room
    finally:
        delete(room)


def main(argv: list[str]) -> int:
    room = names("hand")
    if argv[:1] == ["down"]:
        delete(room)
        print("removed", room.server_ns, "and", room.client_ns)
        return 0
    if argv[:1] != ["up"]:
        print(__doc__)
        return 2
    reason = available()
    if reason:
        print(reason, file=sys.stderr)
        return 1
    delete(room)
    create(room)
    bin_dir = os.path.dirname(sys.executable)
    print(f"""Namespaces {room.server_ns} ({room.server_address}) and {room.client_ns} ({room.client_address}) are up.
Terminal 1, the room's server:
  ip netns exec {room.server_ns} {bin_dir}/spaceinvaders-server serve --host 0.0.0.0 --data-dir /tmp/si-room-data
  ip netns exec {room.server_ns} {bin_dir}/spaceinvaders-server create-manager --username boss --data-dir /tmp/si-room-data
Terminal 2, a player (finds the room by itself):
  ip netns exec {room.client_ns} {bin_dir}/spaceinvaders
The manager (another terminal):
  ip netns exec {room.client_ns} {bin_dir}/spaceinvaders-manager --room NAME --username boss
Remove them with: {sys.executable} {__file__} down""")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
