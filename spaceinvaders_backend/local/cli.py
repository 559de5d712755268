"""`spaceinvaders-server`: serve the API, make a manager, export a session's records."""
from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from . import database, export
from .settings import Settings, default_data_dir


def _data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", type=Path, default=default_data_dir(),
                        help="where the database and signing key live (default: %(default)s)")


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
    serve.add_argument("--socket-idle-timeout", type=float, default=600.0,
                       help="seconds a start-push WebSocket may stay silent before it is closed (default 600)")
    serve.add_argument("--access-log", action="store_true", help="log every request")
    _data_dir(serve)

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
    except database.DataDirError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _serve(args) -> int:
    from . import server
    from .app import create_app

    if not (0.01 <= args.stream_interval <= 10):
        print("error: --stream-interval is 0.01 to 10 seconds", file=sys.stderr)
        return 2
    if not 1 <= args.socket_idle_timeout <= 7200:
        print("error: --socket-idle-timeout is 1 to 7200 seconds", file=sys.stderr)
        return 2
    if not (0.5 <= args.head_timeout <= 120 and 0.5 <= args.body_timeout <= 120) or args.max_connections < 1:
        print("error: --head-timeout and --body-timeout are 0.5 to 120 seconds, --max-connections at least 1",
              file=sys.stderr)
        return 2
    settings = Settings(data_dir=args.data_dir, idle_timeout_seconds=args.idle_timeout,
                        stream_interval_seconds=args.stream_interval, head_timeout_seconds=args.head_timeout,
                        body_timeout_seconds=args.body_timeout, max_connections=args.max_connections,
                        start_socket_idle_seconds=args.socket_idle_timeout)
    print(f"Space Invaders local server on http://{args.host}:{args.port}/v1 (data in {settings.data_dir})",
          flush=True)
    server.run(create_app(settings), args.host, args.port, settings, access_log=args.access_log)
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
