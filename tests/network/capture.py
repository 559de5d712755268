"""Record every frame on one interface with a raw AF_PACKET socket (no tshark needed), run inside a network
namespace: `python capture.py IFACE OUT [SECONDS]`. Prints "ready" once listening; stops on SIGTERM or after
SECONDS. OUT holds the frames, each prefixed by its length (4 bytes, big-endian)."""
from __future__ import annotations

import signal
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003


def main(interface: str, out: str, seconds: float) -> int:
    stop = False

    def stopping(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, stopping)
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.bind((interface, 0))
    sock.settimeout(0.2)
    deadline = time.monotonic() + seconds
    with open(out, "wb") as handle:
        print("ready", flush=True)
        while not stop and time.monotonic() < deadline:
            try:
                frame = sock.recv(65535)
            except TimeoutError:
                continue
            handle.write(struct.pack(">I", len(frame)) + frame)
            handle.flush()
    return 0


def frames(path: str) -> list[bytes]:
    with open(path, "rb") as handle:
        data = handle.read()
    found, at = [], 0
    while at + 4 <= len(data):
        (length,) = struct.unpack(">I", data[at:at + 4])
        found.append(data[at + 4:at + 4 + length])
        at += 4 + length
    return found


def tcp_payloads(path: str, port: int) -> bytes:
    """The TCP payload bytes to or from `port` (IPv4 over Ethernet), in capture order."""
    payload = bytearray()
    for frame in frames(path):
        if len(frame) < 34 or frame[12:14] != b"\x08\x00" or frame[23] != 6:
            continue
        ip_header = (frame[14] & 0x0F) * 4
        tcp = frame[14 + ip_header:]
        if len(tcp) < 20:
            continue
        source, destination = struct.unpack(">HH", tcp[:4])
        if port in (source, destination):
            total = struct.unpack(">H", frame[16:18])[0]
            payload += tcp[(tcp[12] >> 4) * 4:total - ip_header]
    return bytes(payload)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], float(sys.argv[3]) if len(sys.argv) > 3 else 120.0))
