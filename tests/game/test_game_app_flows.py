"""The flows that go through the app (issue 16: messages up, attributes down): a game's score reaches the app,
which keeps the best and hands it down to the lobby and the next game; leaving a game, signing out, playing
offline from the first screens are asked of the app by message, and the app answers."""
from __future__ import annotations

from game_app_support import (
    joined,
    lose_last_life,
    make_app,
    player_in_session,
    screen_named,
    screens_of_a_new_run,
    signed_up,
    static_text,
    until,
    wait_server,
)

from spaceinvaders_backend.local.process import free_port


async def game_over_with(pilot, app, score: int):
    screen = await joined(pilot, app)
    screen.game.score = score
    await lose_last_life(pilot, screen)
    return screen, await until(pilot, lambda: screen_named(app, "GameOverScreen") and app.screen, what="game over")


async def test_a_new_best_score_reaches_the_offline_lobby_after_a_game(tmp_path):
    app = make_app(None, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: "Best score on this machine: 0" in static_text(app, "#session"), what="the lobby")
        _, over = await game_over_with(pilot, app, 880)
        assert over.outcome.new_best and over.outcome.best == 880
        await pilot.press("l")
        await until(pilot, lambda: screen_named(app, "LobbyScreen"), what="back in the lobby")
        await until(pilot, lambda: "Best score on this machine: 880" in static_text(app, "#session"),
                    what="the new best in the lobby")
        assert app.best.best == 880


async def test_a_lower_score_keeps_the_best_and_the_next_game_shows_it(tmp_path):
    app = make_app(None, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        first, _ = await game_over_with(pilot, app, 500)
        await pilot.press("enter")  # offline: another game at once, in place of this one
        second = await until(pilot, lambda: screen_named(app, "PlayScreen") and app.screen is not first
                             and app.screen.field is not None and app.screen, what="the second game")
        second.advance(1 / 30)
        await until(pilot, lambda: "HI-SCORE 000500" in static_text(app, "Hud"), what="the best in the HUD")
        second.game.score = 300
        await lose_last_life(pilot, second)
        over = await until(pilot, lambda: screen_named(app, "GameOverScreen") and app.screen)
        assert not over.outcome.new_best and over.outcome.best == 500
        assert app.best.best == 500
        await pilot.press("q")  # quit from the game over of a game that replaced another
    assert app.return_code == 0 and make_app(None, tmp_path).best.best == 500


async def test_a_hang_up_reaches_the_game_which_draws_nothing_more(tmp_path):
    app = make_app(None, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await joined(pilot, app)
        frames = []
        screen._frame = frames.append  # each frame the timer would step
        screen._on_timer()
        assert len(frames) == 1 and not screen.hung_up
        app.hung_up = True  # as the SIGHUP handler sets it, outside any handler of the app
        assert screen.hung_up
        screen._on_timer()
        assert len(frames) == 1


async def test_quitting_from_game_over_frees_the_seat_and_ends_the_app(server, tmp_path):
    boss, session, name, app = await player_in_session(server.base_url, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await game_over_with(pilot, app, 120)
        await pilot.press("q")
        await until(pilot, lambda: app.return_code is not None, what="the app ended")
    assert app.return_code == 0

    async def seat_free():
        return name not in (await boss.players(session.SessionId)).PlayingGamers

    await wait_server(seat_free, what="the seat freed")
    await boss.aclose()


async def test_signing_out_shows_the_sign_in_screen_and_forgets_the_kept_sign_in(server, tmp_path):
    await signed_up(server.base_url, tmp_path)
    app = make_app(server.base_url, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: screen_named(app, "LobbyScreen") and app.screen.seen, what="the lobby")
        await pilot.press("s")
        await until(pilot, lambda: screen_named(app, "SignInScreen"), what="the sign-in screen")
        assert app.link.username is None
        await until(pilot, lambda: server.base_url in static_text(app, "#where"), what="the server named")
    assert "LobbyScreen" not in await screens_of_a_new_run(server.base_url, tmp_path, "SignInScreen")


async def test_offline_play_from_the_sign_in_screen(server, tmp_path):
    app = make_app(server.base_url, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: screen_named(app, "SignInScreen") and app.focused is not None)
        await pilot.press("ctrl+o")
        screen = await until(pilot, lambda: screen_named(app, "PlayScreen") and app.screen.field is not None
                             and app.screen, what="an offline game")
        assert screen.session is None and "OFFLINE" in static_text(app, "TopTen")


async def test_offline_play_when_no_server_answers_then_back(tmp_path):
    app = make_app(f"http://127.0.0.1:{free_port()}/v1", tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: "spaceinvaders-server serve" in static_text(app, "#message"), timeout=15)
        await pilot.press("o")
        screen = await until(pilot, lambda: screen_named(app, "PlayScreen") and app.screen.field is not None
                             and app.screen, what="an offline game")
        screen.game.score = 70
        await lose_last_life(pilot, screen)
        await until(pilot, lambda: screen_named(app, "GameOverScreen"))
        await pilot.press("l")
        await until(pilot, lambda: screen_named(app, "ConnectScreen"), what="back where the game was asked for")
        assert app.best.best == 70
