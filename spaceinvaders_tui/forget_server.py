"""`spaceinvaders forget-server HOST:PORT`: forget the certificate trusted for a server, after its operator
made a new one (the game then refuses the server until its new fingerprint is trusted)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from api_client.trust import KnownServers, origin_of, readable


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("server", nargs="?", metavar="HOST:PORT",
                        help="the server as the refusal named it (or its URL); none: list the servers trusted")
    parser.add_argument("--data-dir", type=Path, metavar="DIR",
                        help="the directory the game was given with --data-dir (default: the user's config)")


def run(args: argparse.Namespace) -> int:
    known = KnownServers(args.data_dir)
    if args.server is None:
        servers = known.all()
        for server in servers:
            print(f"{server.origin:<24} {server.since[:10]}  {server.how:<6}  {readable(server.fingerprint)}")
        if not servers:
            print(f"no server trusted yet ({known.path})")
        return 0
    origin = origin_of(args.server) if "://" in args.server else args.server
    if not known.forget(origin):
        print(f"{origin} is not among the servers trusted in {known.path}", file=sys.stderr)
        return 1
    print(f"Forgot {origin}. The next connection trusts it anew (the join URL, the room, or your yes): compare "
          "the fingerprint with the one the server printed.")
    return 0
