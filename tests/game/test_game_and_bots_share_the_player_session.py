"""A player's talk with a session has one home, `spaceinvaders_player`: the game and the bots both go through it.

Fails if the logic splits again: the game and a bot play one synchronized session against the real server,
and both waits and both games must be the player session's; and neither the game, nor the bots, nor the
benchmark of synchronized starts names the client's session parts (publisher, poller, watcher, start
listener, seat calls) or reads a Retry-After itself.
"""
from __future__ import annotations

import ast
import asyncio
import uuid
from pathlib import Path

import pytest
from game_app_support import MANAGER, make_app, screen_named, signed_up, static_text, until

from api_client import SpaceInvadersClient
from spaceinvaders_bots.arena import Arena
from spaceinvaders_bots.autopilot import SKILLS
from spaceinvaders_bots.bot import Bot, BotPlan, BotState
from spaceinvaders_bots.stats import Histogram, RunStats
from spaceinvaders_player import PlayerSession, StartWait, Trial

ROOT = Path(__file__).resolve().parents[2]
# What only spaceinvaders_player may use of api_client, and what it alone may do with the answers.
SESSION_PARTS = {"StatusPublisher", "ScoreboardPoller", "SessionWatcher", "StartListener", "allocate", "deallocate",
                 "update_status", "session_response", "parse_retry_after", "END_OF_TRIAL", "retry-after"}
DRIVERS = [*sorted((ROOT / "spaceinvaders_tui").rglob("*.py")), *sorted((ROOT / "spaceinvaders_bots").rglob("*.py")),
           ROOT / "benchmarks" / "sync_start.py"]


def names_used(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    used = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            used.add(node.id)
        elif isinstance(node, ast.Attribute):
            used.add(node.attr)
        elif isinstance(node, ast.alias):
            used.add(node.name.rsplit(".", 1)[-1])
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            used.add(node.value.lower())  # a header read by hand
    return used


@pytest.mark.parametrize("path", DRIVERS, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_game_the_bots_and_the_benchmark_do_not_talk_to_a_session_themselves(path):
    assert names_used(path) & SESSION_PARTS == set()


async def test_the_game_and_a_bot_play_one_synchronized_session_through_the_one_player_session(
        server, tmp_path, monkeypatch):
    trials: list[Trial] = []
    waits: list[StartWait] = []
    start_trial, until_start = Trial.start, StartWait.until_start

    def counted_trial(self: Trial) -> None:
        trials.append(self)
        start_trial(self)

    async def counted_wait(self: StartWait, session):
        waits.append(self)
        return await until_start(self, session)

    monkeypatch.setattr(Trial, "start", counted_trial)
    monkeypatch.setattr(StartWait, "until_start", counted_wait)

    boss = SpaceInvadersClient(server.base_url, token_store=None)
    await boss.sign_in(*MANAGER)
    current = await boss.session()
    if current is not None and not current.is_closed:
        await boss.close_session()
    opened = await boss.open_session("MULTIPLE_TRIALS", synchronized=True, session_name="SHARED")

    plan = BotPlan(1, f"b{uuid.uuid4().hex[:8]}", "botpassword1", SKILLS["expert"], 7)
    bot = Bot(plan, SpaceInvadersClient(server.base_url, token_store=None), Arena(Histogram()), RunStats(),
              asyncio.Semaphore(1))
    living = asyncio.create_task(bot.live())
    name = await signed_up(server.base_url, tmp_path)
    app = make_app(server.base_url, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: screen_named(app, "LobbyScreen") and app.screen.session is not None,
                    what="the lobby with the session")
        await pilot.press("enter")
        await until(pilot, lambda: screen_named(app, "CountdownScreen"), what="the countdown")
        await until(pilot, lambda: bot.state is BotState.WAITING and bot.seated and len(waits) == 2,
                    what="the bot seated and waiting")
        await boss.start_session(1.0)
        screen = await until(pilot, lambda: screen_named(app, "PlayScreen") and app.screen.field is not None
                             and app.screen, what="the game")
        for _ in range(4):
            await pilot.press("space", "left")
            screen.advance(0.5)
            await pilot.pause(0.2)
        await until(pilot, lambda: bot.state is BotState.PLAYING and bot.posts >= 2, what="the bot's posts")

        async def both_on_board() -> set[str]:
            return {e.Nickname for e in await boss.full_scoreboard(opened.SessionId)}

        for _ in range(100):
            if {name, plan.name} <= await both_on_board():
                break
            await asyncio.sleep(0.1)
        assert {name, plan.name} <= await both_on_board()
        assert "online" in static_text(app, "#status")
        players = {app.link.player, bot.player}
        assert all(isinstance(player, PlayerSession) for player in players)
        assert {trial.player for trial in trials} == players and len(trials) == 2
        assert {wait for wait in waits} == {player.start_wait for player in players}
        assert all(wait.stats.pushed and wait.stats.polls == 0 for wait in waits)  # both started by the push
    living.cancel()
    await asyncio.gather(living, return_exceptions=True)
    assert not bot.seated
    await boss.close_session()
    await boss.aclose()
