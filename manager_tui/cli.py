"""`spaceinvaders-manager`: the manager's console against the local server or an AWS deployment."""
from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from .backends import BackendError, ManagerBackend

DEFAULT_API = "http://127.0.0.1:8080/v1"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="spaceinvaders-manager",
        description="The game manager's console: open, start and close sessions, watch the whole scoreboard "
                    "(refreshed every 1.5 s), free seats, export sessions, and put the board on the wall.",
        epilog="Keys: o open, s start, x close, d free the selected player's seat, e export, l sessions "
               "(p replays one), w wall mode, c chart, r refresh, q or Ctrl+C quit.",
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument("--api", metavar="URL",
                       help=f"the local server's API (default {DEFAULT_API})")
    where.add_argument("--room", metavar="NAME",
                       help="the room of that name on this network (its server announces itself; the certificate "
                            "is pinned from the announcement)")
    where.add_argument("--aws", action="store_true",
                       help="work on an AWS deployment's resources directly with boto3")
    p.add_argument("--fingerprint", metavar="SHA256",
                   help="the local server's certificate fingerprint as it printed it (or #sha256=... in --api); "
                        "without one a certificate no authority vouches for is shown once and asked about")
    p.add_argument("--env", default="prod", help="AWS: the stack's environment (SSM names under /<env>/)")
    p.add_argument("--region", help="AWS: the region (default: your profile's)")
    p.add_argument("--profile", help="AWS: a named profile of your AWS configuration")
    p.add_argument("--retry-mode", choices=("adaptive", "standard"), default="adaptive",
                   help="AWS: botocore's retry mode (default adaptive)")
    p.add_argument("--sign-in", metavar="URL", dest="cognito_api",
                   help="AWS: sign in to Cognito as a Manager instead of using the boto3 credential chain; "
                        "URL is the deployment's API (its /config names the user and identity pools)")
    p.add_argument("--username", help="the manager to sign in as (asked for when needed)")
    p.add_argument("--session", metavar="ID", help="watch this session instead of the current one")
    p.add_argument("--wall", action="store_true", help="start in wall mode (with --replay: the replay's)")
    p.add_argument("--replay", metavar="SESSION_ID",
                   help="replay that session from its start (space pause, + - speed, arrows 10 s, home start)")
    p.add_argument("--speed", type=float, default=None, metavar="N",
                   help="the replay's speed, 1 to 120 times (default 30: a 30-minute session in a minute)")
    p.add_argument("--countdown", type=float, default=5.0, metavar="SECONDS",
                   help="seconds between pressing start and the synchronized start (default 5)")
    p.add_argument("--export-dir", type=Path, default=Path.cwd(), metavar="DIR",
                   help="where exports are proposed to go (default: the current directory)")
    return p


async def _cognito_credentials(api: str):
    from api_client import SpaceInvadersClient, SpaceInvadersError

    from .backends.aws_credentials import CognitoManagerCredentials

    async with SpaceInvadersClient(api, token_store=None) as client:
        try:
            config = await client.config()
        except SpaceInvadersError as error:
            raise BackendError(f"cannot read {api}/config: {error}") from error
    return CognitoManagerCredentials(config)


def make_backend(args: argparse.Namespace) -> ManagerBackend:
    if args.aws:
        import boto3
        import botocore.exceptions

        from .backends.aws import AwsBackend

        credentials = asyncio.run(_cognito_credentials(args.cognito_api)) if args.cognito_api else None
        try:
            session = boto3.Session(profile_name=args.profile, region_name=args.region or
                                    (credentials.region if credentials else None))
        except botocore.exceptions.ProfileNotFound as error:
            raise BackendError(str(error)) from error
        return AwsBackend(args.env, session, retry_mode=args.retry_mode, credentials=credentials)
    from api_client import RoomNotFound, find_room, with_fingerprint

    from .backends.api import ApiBackend

    if args.room:
        try:
            room = asyncio.run(find_room(args.room))
        except RoomNotFound as error:
            raise BackendError(str(error)) from error
        except OSError as error:
            raise BackendError(f"cannot listen for rooms on this network: {error}") from error
        backend = ApiBackend(room.url, username=args.username)
        backend.client.trust.how = "room"
        return backend
    try:
        api = with_fingerprint(args.api or DEFAULT_API, args.fingerprint)
    except ValueError as error:
        raise BackendError(str(error)) from error
    return ApiBackend(api, username=args.username)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.countdown < 0 or args.countdown > 600:
        parser().error("--countdown is 0 to 600 seconds")
    if args.fingerprint and (args.aws or args.room):
        parser().error("--fingerprint goes with --api (--room finds the fingerprint itself)")
    if args.speed is not None and not 1 <= args.speed <= 120:
        parser().error("--speed is 1 to 120")
    if args.speed is not None and not args.replay:
        parser().error("--speed goes with --replay")
    if args.cognito_api and not args.aws:
        parser().error("--sign-in goes with --aws (the local server signs in through --api)")
    try:
        backend = make_backend(args)
    except BackendError as error:
        print(f"spaceinvaders-manager: {error}", file=sys.stderr)
        return 1
    from . import heap
    from .app import ManagerApp
    from .replay import DEFAULT_SPEED

    app = ManagerApp(backend, countdown_seconds=args.countdown, export_dir=args.export_dir, wall=args.wall,
                     session_id=args.session, username=args.username, replay=args.replay,
                     replay_speed=args.speed or DEFAULT_SPEED)
    heap.settle()
    app.run()
    return app.return_code or 0


if __name__ == "__main__":
    sys.exit(main())
