"""The client against the real local server in a subprocess (fixtures from tests/conftest.py)."""

from __future__ import annotations

import asyncio
import itertools
import json

import pytest

from api_client import (
    ClientPool,
    ConflictError,
    GameStatus,
    NoSeatsAvailable,
    NoSessionAvailable,
    PermissionDeniedError,
    ScoreboardPoller,
    SessionClosed,
    SessionWatcher,
    SpaceInvadersClient,
    StatusPublisher,
    TokenStore,
)

_names = itertools.count()


def unique(prefix: str) -> str:
    return f"{prefix}{next(_names)}"


@pytest.fixture(scope="module")
def manager_account(local_server_module) -> tuple[str, str]:
    local_server_module.create_manager("boss", "boss-password")
    return "boss", "boss-password"


@pytest.fixture
async def manager(local_server_module, manager_account, tmp_path):
    async with SpaceInvadersClient(local_server_module.base_url, token_store=TokenStore(tmp_path)) as client:
        await client.sign_in(*manager_account)
        for session in await client.sessions():  # each test starts with no open session
            if session.ClosingTime is None:
                await client.close_session()
                break
        yield client


async def eventually(fetch, check, timeout: float = 5.0):
    """The scoreboard is built from the stream after the post is stored, like the original's: poll for it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await fetch()
        if check(value) or loop.time() > deadline:
            return value
        await asyncio.sleep(0.05)


async def player(base_url: str, store: TokenStore | None = None) -> SpaceInvadersClient:
    client = SpaceInvadersClient(base_url, token_store=store)
    name = unique("p")
    await client.sign_up(name, "password1", email=f"{name}@example.com")
    await client.sign_in(name, "password1")
    return client


async def test_full_game_as_player_and_manager(local_server_module, manager):
    base = local_server_module.base_url
    assert (await manager.config()).uses_cognito is False and manager.groups >= {"Manager"}
    alice = await player(base)
    with pytest.raises(PermissionDeniedError):
        await alice.open_session("MULTIPLE_TRIALS")
    opened = await manager.open_session("MULTIPLE_TRIALS", total_seats=1, session_name="ROOM-A")
    assert opened.SessionId.startswith("ROOM-A") and opened.TotalSeats == 1
    with pytest.raises(ConflictError):
        await manager.open_session("MULTIPLE_TRIALS")
    session = await alice.session()
    assert session is not None and session.SessionId == opened.SessionId and session.ServerTime is not None
    assert await alice.allocate()
    bob = await player(base)
    with pytest.raises(NoSeatsAvailable):
        await bob.allocate()
    receipt = await alice.update_status(opened.SessionId, GameStatus(Score=120, Shots=14, Level=2, Lives=3))
    assert receipt.SequenceNumber and receipt.ShardId
    board = await eventually(lambda: alice.scoreboard(opened.SessionId), bool)
    assert [(e.Nickname, e.Score) for e in board] == [(alice.username, 120)]
    players = await manager.players(opened.SessionId)
    assert players.OccupiedSeats == 1 and players.PlayingGamers == [alice.username]
    records = [json.loads(line) for line in (await manager.export(opened.SessionId)).splitlines()]
    assert records[-1]["Score"] == 120 and records[-1]["Nickname"] == alice.username
    assert "Score" in (await manager.export(opened.SessionId, "csv")).splitlines()[0]
    counts: list[int | None] = []
    chunks = [c async for c in manager.export_stream(opened.SessionId, "csv", on_count=counts.append)]
    assert counts == [len(records)] and b"".join(chunks).count(b"\n") == len(records) + 1
    await manager.deallocate_player(alice.username)
    assert await bob.allocate()
    closed = await manager.close_session()
    assert closed.ClosingTime is not None and (await manager.sessions())[0].SessionId == opened.SessionId
    with pytest.raises(SessionClosed):
        await alice.update_status(opened.SessionId, GameStatus(Score=999, Shots=1, Level=1, Lives=3))
    with pytest.raises(SessionClosed):
        await bob.allocate()
    assert await bob.deallocate() is not None
    for client in (alice, bob):
        await client.aclose()


async def test_no_session_and_resumed_tokens(local_server_module, manager, tmp_path):
    # The manager fixture closed any open session: allocating must fail with a typed error.
    store = TokenStore(tmp_path / "player")
    first = await player(local_server_module.base_url, store)
    await first.aclose()
    again = SpaceInvadersClient(local_server_module.base_url, token_store=store)
    assert await again.resume()
    with pytest.raises((NoSessionAvailable, SessionClosed)):
        await again.allocate()
    await again.aclose()


async def test_synchronized_start_and_pollers(local_server_module, manager):
    pool = ClientPool(local_server_module.base_url)
    gamer = pool.client()
    name = unique("s")
    await gamer.sign_up(name, "password1")
    await gamer.sign_in(name, "password1")
    opened = await manager.open_session("MULTIPLE_TRIALS", synchronized=True)
    assert await gamer.allocate()
    watcher = SessionWatcher(gamer, interval=0.2)
    waiting = asyncio.create_task(watcher.wait_for_start())
    await asyncio.sleep(0.3)
    assert not waiting.done()
    started = await manager.start_session(countdown_seconds=1.0)
    session = await asyncio.wait_for(waiting, 5)
    start_at = started.SynchronizeTime.timestamp()
    assert session.SynchronizeTime == started.SynchronizeTime
    assert abs(watcher.server_now() - start_at) < 0.1  # same machine: the offset is ~0
    game = {"Score": 0, "Shots": 0, "Level": 1, "Lives": 3}
    boards: list[list] = []
    poller = ScoreboardPoller(gamer, opened.SessionId, interval=0.1, on_update=boards.append)
    publisher = StatusPublisher(gamer, opened.SessionId, lambda: GameStatus(**game), interval=0.05)

    async def latest() -> list:
        return poller.latest

    async with publisher, poller:
        for score in range(1, 6):
            game["Score"] = score * 10
            await asyncio.sleep(0.12)
        await eventually(latest, lambda board: board and board[0].Score == 50)
    assert publisher.stats.failed == 0 and publisher.last_sent == GameStatus(**game)
    assert [(e.Nickname, e.Score) for e in poller.latest] == [(name, 50)] and poller.errors == 0
    assert boards[-1] == poller.latest  # every change reached on_update, the newest last
    await pool.aclose()


async def test_pollers_carry_the_callers_rank_and_the_boards_figures(local_server_module, manager):
    base = local_server_module.base_url
    opened = await manager.open_session("MULTIPLE_TRIALS")
    players = [await player(base) for _ in range(12)]
    for score, gamer in enumerate(players, start=1):
        await gamer.allocate()
        await gamer.update_status(opened.SessionId, GameStatus(Score=score * 10, Shots=1, Level=1, Lives=3))
    last = players[0]  # the lowest score: 12th, off the top 10
    top = ScoreboardPoller(last, opened.SessionId)
    # The lowest score was posted first: it is 12th only once every record is on the board.
    await eventually(top.poll_once, lambda b: top.caller is not None and top.caller.Rank == 12)
    assert top.caller is not None and top.caller.Rank == 12 and top.caller.Score == 10
    assert [e.Score for e in top.latest] == [120 - 10 * i for i in range(10)]
    wall = ScoreboardPoller(manager, opened.SessionId, full=True)
    await wall.poll_once()
    assert len(wall.latest) == 12 and wall.caller is None
    assert wall.answer is not None and wall.answer.Stats is not None and wall.answer.Stats.Records == 12


async def test_the_players_name_is_the_accounts_not_what_was_typed(local_server_module, manager, tmp_path):
    """Names match in any case: signing in as `alice` to the account `Alice` sends `Alice` everywhere."""
    bodies: list[dict] = []

    async def keep_body(request) -> None:
        if request.url.path.endswith(("/allocate", "/updatestatus", "/deallocate")):
            bodies.append(json.loads(request.content))

    account = unique("Mixed")
    async with SpaceInvadersClient(local_server_module.base_url, token_store=None) as creator:
        await creator.sign_up(account, "password1")
    http = ClientPool(local_server_module.base_url).http
    http.event_hooks["request"] = [keep_body]
    store = TokenStore(tmp_path / "tokens")
    client = SpaceInvadersClient(local_server_module.base_url, http=http, token_store=store)
    await client.sign_in(account.lower(), "password1")
    assert client.username == account
    opened = await manager.open_session("MULTIPLE_TRIALS")
    await client.allocate()
    await client.update_status(opened.SessionId, GameStatus(Score=5, Shots=1, Level=1, Lives=3))
    await client.deallocate()
    assert [b.get("Username", b.get("Nickname")) for b in bodies] == [account] * 3
    again = SpaceInvadersClient(local_server_module.base_url, token_store=store)
    assert await again.resume(account.upper()) and again.username == account  # kept under the account's name
    await http.aclose()
