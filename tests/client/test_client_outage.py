"""Fault: the local server goes away for 10 s in the middle of a game and comes back."""

from __future__ import annotations

import asyncio

from api_client import GameStatus, ScoreboardPoller, SpaceInvadersClient, StatusPublisher

OUTAGE_SECONDS = 10.0


async def test_publisher_rides_out_a_10_second_outage(local_server, tmp_path):
    local_server.create_manager("boss", "boss-password")
    base = local_server.base_url
    manager = SpaceInvadersClient(base, token_store=None)
    await manager.sign_in("boss", "boss-password")
    opened = await manager.open_session("MULTIPLE_TRIALS")
    gamer = SpaceInvadersClient(base, token_store=None)
    await gamer.sign_up("outage", "password1")
    await gamer.sign_in("outage", "password1")
    await gamer.allocate()

    game = {"Score": 0, "Shots": 0, "Level": 1, "Lives": 3}
    publisher = StatusPublisher(gamer, opened.SessionId, lambda: GameStatus(**game), max_backoff=1.0)
    poller = ScoreboardPoller(gamer, opened.SessionId, interval=0.5)
    publisher.start()
    poller.start()

    async def play(seconds: float) -> None:
        for _ in range(int(seconds / 0.1)):
            game["Score"] += 1
            game["Shots"] += 2
            await asyncio.sleep(0.1)

    await play(1.5)
    sent_before = publisher.stats.sent
    local_server.stop()
    await play(OUTAGE_SECONDS)  # the game goes on; nothing may raise into it
    failed_during = publisher.stats.failed
    local_server.start()
    await play(1.5)
    game["Lives"] = 0  # the last life lost just before stopping: only the final post carries it
    await publisher.stop()
    final = dict(game)

    assert sent_before >= 3 and failed_during >= 5
    assert publisher.stats.sent > sent_before and publisher.last_sent == GameStatus(**final)
    assert publisher.stats.rejected == 0 and publisher.stats.coalesced > 0
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    while loop.time() < deadline:
        # Wait for the final record itself: the one before it may carry the same score.
        if poller.latest and (poller.latest[0].Score, poller.latest[0].Lives) == (final["Score"], 0):
            break
        await asyncio.sleep(0.1)
    await poller.stop()
    assert poller.errors >= 5  # it kept polling through the outage without raising
    entry = poller.latest[0]
    assert (entry.Nickname, entry.Score, entry.Shots, entry.Lives) == (
        "outage",
        final["Score"],
        final["Shots"],
        0,
    )
    await gamer.aclose()
    await manager.aclose()
