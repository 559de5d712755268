"""The players' side of the room test, run inside the players' network namespace; prints one JSON line.

    python room_driver.py play   ROOM MANAGER PASSWORD PLAIN_URL   # find the room, play over HTTPS, bots
    python room_driver.py refuse ROOM PINNED_URL                    # an impostor must be refused

Known servers and tokens live under $XDG_CONFIG_HOME (the test's own directory).
"""
from __future__ import annotations

import asyncio
import json
import secrets
import subprocess
import sys
import time
from datetime import UTC, datetime

from api_client import (
    FingerprintChangedError,
    GameStatus,
    ServerTrustError,
    SpaceInvadersClient,
    TokenStore,
    browse,
    find_room,
)

PLAYERS = 3
POSTS = 5
BOTS_TIMEOUT = 40.0


async def advertised_session(name: str, session_id: str, seconds: float = 8.0) -> str:
    """The session the room's advertisement names, once it names `session_id` (or the last one heard)."""
    deadline = time.monotonic() + seconds
    last = ""
    while time.monotonic() < deadline:
        for room in await browse(1.0, until=lambda heard: heard.lower() == name.lower()):
            if room.name.lower() == name.lower():
                last = room.session
        if last == session_id:
            break
    return last


async def play(name: str, manager: str, manager_password: str, plain_url: str) -> dict:
    result: dict = {"passwords": [manager_password], "tokens": []}
    room = await find_room(name)
    result.update(room=room.name, address=room.address, fingerprint=room.fingerprint, url=room.url)
    store = TokenStore()
    async with SpaceInvadersClient(room.url, token_store=store) as boss:
        result["trust"] = await boss.trust.check()
        tokens = await boss.sign_in(manager, manager_password)
        result["tokens"] += [tokens.id_token, tokens.access_token, tokens.refresh_token]
        session = await boss.open_session("MULTIPLE_TRIALS", session_name="NETNS", total_seats=50)
        result["session"] = session.SessionId
        players = []
        for number in range(PLAYERS):
            player = SpaceInvadersClient(room.url, token_store=None)
            password = f"pw-{secrets.token_hex(8)}"
            await player.sign_up(f"netns{number}", password)
            tokens = await player.sign_in(f"netns{number}", password)
            result["passwords"].append(password)
            result["tokens"] += [tokens.id_token, tokens.access_token, tokens.refresh_token]
            await player.allocate()
            players.append(player)
        for post in range(1, POSTS + 1):
            for number, player in enumerate(players):
                await player.update_status(session.SessionId, GameStatus(Score=post * 10 * (number + 1), Shots=post,
                                                                         Level=1, Lives=3),
                                           timestamp=datetime.now(UTC))
        result["advertised_session"] = await advertised_session(name, session.SessionId)
        await asyncio.sleep(0.6)  # the scoreboard follows within the stream interval
        board = await boss.full_scoreboard(session.SessionId)
        result["board"] = {entry.Nickname: entry.Score for entry in board}
        for player in players:
            await player.deallocate()
            await player.aclose()
        bots = await asyncio.to_thread(
            subprocess.run, [sys.executable, "-m", "spaceinvaders_bots", "--room", name, "--count", "2",
                             "--duration", "3", "--state-dir", f"{store.directory}/bots", "-q", "--json"],
            capture_output=True, text=True, timeout=BOTS_TIMEOUT)
        result["bots_exit"] = bots.returncode
        result["bots_error"] = bots.stderr[-1500:]
        await boss.close_session()
    # The control: one sign-up over plain HTTP, which the capture must see in clear.
    canary = f"canary-{secrets.token_hex(8)}"
    async with SpaceInvadersClient(plain_url, token_store=None) as plain:
        await plain.sign_up("canary", canary)
        result["canary"] = canary
    return result


async def refuse(name: str, pinned_url: str) -> dict:
    result: dict = {}
    store = TokenStore()
    room = await find_room(name)
    result["advertised_fingerprint"] = room.fingerprint
    for label, url in (("room", room.url), ("pinned", pinned_url), ("remembered", room.url.split("#")[0])):
        async with SpaceInvadersClient(url, token_store=store) as client:
            try:
                await client.trust.check()
                result[label] = "trusted"
            except FingerprintChangedError as error:
                result[label] = "refused"
                result[f"{label}_message"] = str(error)
            except ServerTrustError as error:
                result[label] = f"other refusal: {error}"
            try:  # whatever check said, a request is refused in the handshake too
                await client.sign_in("netns0", "not-sent")
                result[f"{label}_sign_in"] = "sent"
            except FingerprintChangedError:
                result[f"{label}_sign_in"] = "refused"
    return result


def main(argv: list[str]) -> int:
    if argv[0] == "play":
        result = asyncio.run(play(*argv[1:5]))
    else:
        result = asyncio.run(refuse(*argv[1:3]))
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
