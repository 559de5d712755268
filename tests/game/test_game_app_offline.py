"""Without the server: when it goes, the game goes on with a quiet indicator and its final state reaches
the server when it is back; with no server at all the game says how to start one and offers offline play;
the best score stays on the machine."""
from __future__ import annotations

from game_app_support import (
    MANAGER,
    joined,
    lose_last_life,
    make_app,
    manager,
    player_in_session,
    screen_named,
    static_text,
    until,
    wait_server,
)

from spaceinvaders_backend.local.process import free_port
from spaceinvaders_player import Delivery


async def test_network_lost_and_back_the_game_goes_on_and_the_final_state_arrives(local_server, tmp_path):
    server = local_server
    server.create_manager(*MANAGER)
    boss, session, name, app = await player_in_session(server.base_url, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await joined(pilot, app)
        await until(pilot, lambda: "online" in static_text(app, "#status"))
        server.stop()
        for _ in range(10):
            await pilot.press("space", "right")
            screen.advance(0.3)
            await pilot.pause(0.2)
        await until(pilot, lambda: "network lost" in static_text(app, "#status"), what="the indicator")
        assert screen_named(app, "PlayScreen") and not screen.ended  # the game goes on
        ticks = screen.game.tick
        screen.advance(1.0)
        assert screen.game.tick == ticks + 30
        shots = screen.game.shots
        await lose_last_life(pilot, screen)
        await until(pilot, lambda: screen_named(app, "GameOverScreen"))
        await until(pilot, lambda: "Sending your final score" in static_text(app, "#standing"))
        await pilot.press("l")  # the final state keeps trying beyond the game's screen
        await until(pilot, lambda: screen_named(app, "LobbyScreen"))
        server.start()
        await until(pilot, lambda: app.link.player.ending.done(), timeout=20, what="the final state delivered")
        assert app.link.player.ending.result() is Delivery.SENT and app.link.player.seated_in is None
    boss = await manager(server.base_url)

    async def final_on_board():
        board = await boss.full_scoreboard(session.SessionId)
        return [e for e in board if e.Nickname == name and e.Lives == 0 and e.Shots == shots]

    await wait_server(final_on_board, what="the final state on the board")
    await boss.aclose()


async def test_no_server_says_how_to_start_one_and_offers_offline_play(tmp_path):
    app = make_app(f"http://127.0.0.1:{free_port()}/v1", tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: "spaceinvaders-server serve" in static_text(app, "#message"), timeout=15)
        await pilot.press("o")
        screen = await until(pilot, lambda: screen_named(app, "PlayScreen") and app.screen)
        assert screen.session is None and "OFFLINE" in static_text(app, "TopTen")


async def test_the_best_score_is_kept_between_runs(tmp_path):
    app = make_app(None, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await joined(pilot, app)
        screen.game.score = 1230
        await lose_last_life(pilot, screen)
        over = await until(pilot, lambda: screen_named(app, "GameOverScreen") and app.screen)
        assert over.outcome.new_best
    again = make_app(None, tmp_path)
    async with again.run_test(size=(80, 24)) as pilot:
        (await joined(pilot, again)).advance(1 / 30)
        await until(pilot, lambda: "HI-SCORE 001230" in static_text(again, "Hud"))


async def test_a_game_quit_before_its_end_still_counts_for_the_best_score(tmp_path):
    app = make_app(None, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await joined(pilot, app)
        screen.game.score = 640
        await pilot.press("q")
        await until(pilot, lambda: screen_named(app, "ConfirmScreen"))
        await pilot.press("y")
        await until(pilot, lambda: app.best.best == 640)
    assert make_app(None, tmp_path).best.best == 640
