"""`spaceinvaders`: the game's command line (also `python -m spaceinvaders_tui`)."""
from __future__ import annotations

import argparse
import asyncio
import importlib
import locale
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from .link import DEFAULT_API

if TYPE_CHECKING:
    from .frames import Frames

DESCRIPTION = """\
Space Invaders in the terminal, playing in a live session: sign in, join the session a manager
opened, and play; your status goes to the server every 300 ms and the session's top 10 stays
beside the playfield. Without a server, play offline."""

EPILOG = f"""\
keys while playing:
  left/right, a/d, h/l   move the cannon (hold to keep moving)
  space                  fire
  p                      pause
  ?                      help
  q                      quit (asks first); ctrl+c quits at once. Either frees your seat.

server address:
  --api URL, else $SPACEINVADERS_API. Without either, the game looks for rooms on this network
  (servers started with `spaceinvaders-server serve --host 0.0.0.0` announce themselves) and asks
  {DEFAULT_API} (where a server on this machine listens); it lists what it found. When nothing
  answers, it says how to start a server and offers offline play.

trusting the server (HTTPS):
  A certificate valid under your system's authorities is trusted. Else the fingerprint the server
  printed pins it: in the URL (https://HOST:PORT/v1#sha256=...), with --fingerprint, or from the
  room's announcement. With neither, the game shows the fingerprint once and asks; what you trust
  is remembered per server (known_servers.json beside the tokens), and a server presenting another
  certificate later is refused. `spaceinvaders forget-server HOST:PORT` forgets one.

files:
  sign-in tokens       tokens.json in the user's config directory (a second start goes straight
                       to the lobby; sign out there with s)
  trusted servers      known_servers.json, beside the tokens
  best score           best.json in the user's data directory
  (both in --data-dir DIR instead, when given)

environment:
  SPACEINVADERS_API          the server's address
  NO_COLOR                   no colours"""


# Other programs under `spaceinvaders`: name -> (module with add_arguments(parser) and run(args) -> int, help).
# Imported only when run, so playing never pays for them.
LAZY_COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("spaceinvaders_tui.demo", "everything on one machine"),
    "forget-server": ("spaceinvaders_tui.forget_server", "forget a server's trusted certificate"),
}


def _themes() -> list[str]:
    from textual.theme import BUILTIN_THEMES

    return ["arcade", *sorted(BUILTIN_THEMES)]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="spaceinvaders", description=DESCRIPTION, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--api", metavar="URL", help=f"the server's API (default: $SPACEINVADERS_API, else a room found on this "
                                                    f"network or {DEFAULT_API})")
    parser.add_argument("--room", metavar="NAME", help="join the room of that name on this network")
    parser.add_argument("--fingerprint", metavar="SHA256",
                        help="the server's certificate fingerprint, as it printed it (pins the certificate)")
    parser.add_argument("--offline", action="store_true", help="play without a server")
    parser.add_argument("--ascii", action="store_true",
                        help="ASCII characters only, for terminals without Unicode (the default when the "
                             "locale's encoding is not UTF-8)")
    parser.add_argument("--theme", default="arcade", metavar="NAME",
                        help="colours: arcade (the cabinet's overlay, the default) or one of Textual's themes: "
                             + ", ".join(_themes()[1:]))
    parser.add_argument("--data-dir", type=Path, metavar="DIR",
                        help="keep the sign-in tokens and the best score in DIR")
    if LAZY_COMMANDS:
        commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands (none: play)")
        for name, (_, help_text) in LAZY_COMMANDS.items():
            # add_help=False: the command's own parser (built when it runs) answers its --help.
            commands.add_parser(name, help=help_text, add_help=False)
    return parser


def _unicode_terminal() -> bool:
    encoding = (getattr(sys.stdout, "encoding", None) or locale.getpreferredencoding(False) or "").lower()
    return encoding.replace("-", "").startswith("utf")


def main(argv: list[str] | None = None, *, frames: Frames | None = None) -> int:
    """The command; `frames` replaces the game's frame timer (benchmarks/game_fps.py logs every frame)."""
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    command = getattr(args, "command", None)
    if command:
        return run_command(command, rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if args.theme not in _themes():
        parser.error(f"unknown theme {args.theme!r}; pick one of {', '.join(_themes())}")
    if args.room and (args.api or args.fingerprint):
        parser.error("--room finds the address and the fingerprint: it goes without --api and --fingerprint")
    if args.fingerprint:
        from api_client.trust import with_fingerprint

        try:
            with_fingerprint(args.api or os.environ.get("SPACEINVADERS_API") or DEFAULT_API, args.fingerprint)
        except ValueError as error:
            parser.error(f"--fingerprint: {error}")
    return play(args, frames=frames)


def run_command(name: str, argv: list[str]) -> int:
    module = importlib.import_module(LAZY_COMMANDS[name][0])
    parser = argparse.ArgumentParser(prog=f"spaceinvaders {name}", description=LAZY_COMMANDS[name][1])
    module.add_arguments(parser)
    return module.run(parser.parse_args(argv))


def play(args: argparse.Namespace, *, frames: Frames | None = None) -> int:
    from api_client.trust import with_fingerprint
    from spaceinvaders_player import release_seat

    from .app import SpaceInvadersApp
    from .settings import GameSettings

    given = None if args.room else args.api or os.environ.get("SPACEINVADERS_API")
    settings = GameSettings(
        api_url=with_fingerprint(given or DEFAULT_API, args.fingerprint),
        api_given=bool(given),
        discover=not given and not args.offline,
        room=args.room,
        offline=args.offline,
        ascii_only=args.ascii or not _unicode_terminal(),
        theme=args.theme,
        data_dir=args.data_dir,
    )
    app = SpaceInvadersApp(settings, frames=frames)
    try:
        app.run()
    except KeyboardInterrupt:  # before the app took the terminal
        pass
    link = app.link
    if link is not None and link.player.seated_in is not None and link.username:
        # The app ended holding a seat (it could not free it, or it crashed): one more try.
        store = app.token_store
        if not asyncio.run(release_seat(link.base_url, link.username, store)):
            print(f"Could not free your seat in {link.player.seated_in}: the server did not answer. It frees seats "
                  "after a minute without news.", file=sys.stderr)
            return 1
    return app.return_code or 0
