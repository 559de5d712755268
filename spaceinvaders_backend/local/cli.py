"""`spaceinvaders-server`: serve the API, make a manager, export a session's records."""
from __future__ import annotations

import argparse
import getpass
import sqlite3
import sys
from pathlib import Path

from . import database, export, startup
from .settings import Settings, default_data_dir


def _data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", type=Path, default=default_data_dir(),
                        help="where the database and signing key live (default: %(default)s)")


def _room_options(serve: argparse.ArgumentParser) -> None:
    room = serve.add_argument_group(
        "the room's network", "Off loopback the server speaks HTTPS, with your certificate or one it makes "
        "on first start in the data directory, and advertises itself on the network (mDNS).")
    room.add_argument("--tls-cert", type=Path, metavar="PEM", help="your certificate (chain), with --tls-key")
    room.add_argument("--tls-key", type=Path, metavar="PEM", help="its unencrypted private key")
    room.add_argument("--tls", action="store_true", help="HTTPS on loopback too (tests, benchmarks)")
    room.add_argument("--insecure-http", action="store_true",
                      help="plain HTTP off loopback: passwords and tokens readable on the network")
    room.add_argument("--no-advertise", action="store_true", help="do not announce the room on the network")
    room.add_argument("--room-name", metavar="NAME", help="the room's name on the network (default: this host's)")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="spaceinvaders-server", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve the API")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback only)")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--idle-timeout", type=float, default=60.0,
                       help="seconds without a status before a player loses the seat")
    serve.add_argument("--stream-interval", type=float, default=0.25,
                       help="seconds between scoreboard updates by the stream processor")
    serve.add_argument("--head-timeout", type=float, default=5.0,
                       help="seconds a request head may take, and a connection may stay idle")
    serve.add_argument("--body-timeout", type=float, default=10.0,
                       help="seconds a request body (at most 16 KiB) may take")
    serve.add_argument("--max-connections", type=int, default=10_000,
                       help="connections served at once; more wait in the accept queue")
    serve.add_argument("--max-connections-per-source", type=int, default=2_500,
                       help="connections one address may hold; its newest past that are closed (Linux)")
    serve.add_argument("--socket-idle-timeout", type=float, default=600.0,
                       help="seconds a start-push WebSocket may stay silent before it is closed (default 600)")
    serve.add_argument("--access-log", action="store_true", help="log every request")
    _data_dir(serve)
    _room_options(serve)

    manager = sub.add_parser("create-manager", help="make a Manager account (the only way to get one)")
    manager.add_argument("--username", required=True)
    manager.add_argument("--password", help="prompted for when omitted")
    _data_dir(manager)

    exp = sub.add_parser("export", help="write every stored status record of a session")
    exp.add_argument("--session", required=True, help="the SessionId")
    exp.add_argument("--format", choices=export.FORMATS, default="jsonl")
    exp.add_argument("--output", type=Path, help="file to write (default: standard output)")
    _data_dir(exp)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "serve":
            return _serve(args)
        if args.command == "create-manager":
            return _create_manager(args)
        return _export(args)
    except (database.DataDirError, startup.CannotStart) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (OSError, sqlite3.Error) as exc:  # opening the server's files: one line, not a traceback
        problem = startup.explain(exc, args.data_dir, Settings(data_dir=args.data_dir).database_path)
        if problem is None:
            raise
        print(f"error: {problem}", file=sys.stderr)
        return 1


def _serve(args) -> int:
    from . import room as network
    from . import server
    from .app import create_app

    if not (0.01 <= args.stream_interval <= 10):
        print("error: --stream-interval is 0.01 to 10 seconds", file=sys.stderr)
        return 2
    if not 1 <= args.socket_idle_timeout <= 7200:
        print("error: --socket-idle-timeout is 1 to 7200 seconds", file=sys.stderr)
        return 2
    if not (0.5 <= args.head_timeout <= 120 and 0.5 <= args.body_timeout <= 120) or \
            min(args.max_connections, args.max_connections_per_source) < 1:
        print("error: --head-timeout and --body-timeout are 0.5 to 120 seconds, --max-connections and "
              "--max-connections-per-source at least 1", file=sys.stderr)
        return 2
    settings = Settings(data_dir=args.data_dir, idle_timeout_seconds=args.idle_timeout,
                        stream_interval_seconds=args.stream_interval, head_timeout_seconds=args.head_timeout,
                        body_timeout_seconds=args.body_timeout, max_connections=args.max_connections,
                        max_connections_per_source=args.max_connections_per_source,
                        start_socket_idle_seconds=args.socket_idle_timeout)
    startup.check_address(args.host, args.port)
    database.prepare_data_dir(settings.data_dir)
    startup.check_room(settings.data_dir)
    try:
        room = network.plan(args.host, args.port, settings.data_dir, tls_on_loopback=args.tls, cert=args.tls_cert,
                            key=args.tls_key, insecure_http=args.insecure_http, advertise=not args.no_advertise,
                            name=args.room_name)
    except network.RoomError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    app = create_app(settings)  # opens the database and the signing key: what fails at start fails here
    print(network.banner(room, settings.data_dir), flush=True)
    server.run(app, args.host, args.port, settings, access_log=args.access_log, tls=room.certificate,
               advertiser=room.advertiser(app.backend))
    return 0


def _create_manager(args) -> int:
    import re

    from ..core.models import NICKNAME_PATTERN
    from .accounts import create_manager

    if not re.match(NICKNAME_PATTERN, args.username):
        print("error: a username is 1 to 32 of A-Z a-z 0-9 _ . -", file=sys.stderr)
        return 2
    password = args.password or getpass.getpass("Password for the manager: ")
    if len(password) < 6:
        print("error: the password needs at least 6 characters", file=sys.stderr)
        return 2
    database.prepare_data_dir(args.data_dir)
    conn = database.connect(Settings(data_dir=args.data_dir).database_path)
    try:
        outcome = create_manager(conn, args.username, password)
    finally:
        conn.close()
    print(f"Manager {args.username} {outcome}.")
    return 0


def _export(args) -> int:
    path = Settings(data_dir=args.data_dir).database_path
    if not path.exists():
        print(f"error: no database in {args.data_dir}", file=sys.stderr)
        return 2
    out = args.output.open("wb") if args.output else sys.stdout.buffer
    try:
        for chunk in export.export_lines(path, args.session, args.format):
            out.write(chunk)
    finally:
        if args.output:
            out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
