"""The game against a local server, driven by keys with the frame clock stepped by hand: sign-up, the
lobby, joining, posts reaching the board, the sidebar's rank, game over and another trial, quitting."""
from __future__ import annotations

import time

from game_app_support import (
    PASSWORD,
    joined,
    make_app,
    manager,
    new_name,
    open_session,
    play_to_game_over,
    player_in_session,
    screen_named,
    screens_of_a_new_run,
    shown,
    signed_up,
    static_text,
    until,
    wait_server,
)
from key_burst import burst
from textual.screen import Screen
from textual.widgets import Input

from spaceinvaders_player import Delivery, Trial


async def test_sign_up_in_the_app_then_a_second_start_goes_straight_to_the_lobby(server, tmp_path):
    name = new_name()
    app = make_app(server.base_url, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: screen_named(app, "SignInScreen") and app.focused is not None,
                    what="the sign-in screen, its first field focused")  # else the first key may be lost
        await pilot.press(*name, "tab", *PASSWORD, "ctrl+n")
        await until(pilot, lambda: screen_named(app, "LobbyScreen") and f"Signed in as {name}"
                    in static_text(app, "#who"), what="the lobby")
    assert "SignInScreen" not in await screens_of_a_new_run(server.base_url, tmp_path, "LobbyScreen")


async def test_keys_sent_in_one_burst_land_in_their_fields(server, tmp_path):
    name = new_name()
    app = make_app(server.base_url, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: screen_named(app, "SignInScreen") and app.focused is not None,
                    what="the sign-in screen, its first field focused")
        await burst(app, pilot, name, "enter", PASSWORD, "tab", "x@example.com")
        expected = {"username": name, "password": PASSWORD, "email": "x@example.com"}

        def fields() -> dict[str, str]:
            return {field: app.screen.query_one(f"#{field}", Input).value for field in expected}

        # A loaded machine may take more than one pause to handle the burst: wait for the last key's field to
        # be whole, then every key must be where it was typed (a key handed to the wrong field never moves).
        try:
            await until(pilot, lambda: fields()["email"] == expected["email"], timeout=5, what="the burst handled")
        except AssertionError:
            pass  # the assertion below says what went where
        assert fields() == expected


async def test_the_sign_in_screen_focuses_the_username_first(server, tmp_path, monkeypatch):
    # The first widget the screen focuses takes the keys typed as it appears: anything before the username
    # (the scrolling form, which the app's default auto-focus picked) lost them, or sent them to a wrong field.
    focused: list[str | None] = []
    set_focus = Screen.set_focus

    def recorded(screen: Screen, widget, *args, **kwargs):
        if type(screen).__name__ == "SignInScreen" and widget is not None:
            focused.append(widget.id)
        return set_focus(screen, widget, *args, **kwargs)

    monkeypatch.setattr(Screen, "set_focus", recorded)
    app = make_app(server.base_url, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: screen_named(app, "SignInScreen") and app.focused is not None)
        await pilot.pause()
        assert focused[:1] == ["username"] and app.focused.id == "username"


async def test_a_wrong_password_is_said_plainly(server, tmp_path):
    name = await signed_up(server.base_url, tmp_path / "other")
    app = make_app(server.base_url, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: screen_named(app, "SignInScreen") and app.focused is not None)
        await pilot.press(*name, "tab", *"wrongpassword", "enter")
        await until(pilot, lambda: "Wrong username or password" in static_text(app, "#message"))


async def test_posts_reach_the_board_the_sidebar_ranks_the_player_and_quitting_frees_the_seat(server, tmp_path):
    boss, session, name, app = await player_in_session(server.base_url, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: screen_named(app, "LobbyScreen") and app.screen.session is not None
                    and session.SessionId in static_text(app, "#session"))
        await pilot.press("enter")
        screen = await until(pilot, lambda: screen_named(app, "PlayScreen") and app.screen)
        assert name in (await boss.players(session.SessionId)).PlayingGamers
        for _ in range(3):
            await pilot.press("right", "space")
            screen.advance(0.5)
            await pilot.pause(0.1)

        async def on_board():
            board = await boss.full_scoreboard(session.SessionId)
            return [e for e in board if e.Nickname == name and e.Shots >= 1]

        (entry,) = await wait_server(on_board, what="the player's posts on the board")
        assert entry.Shots == screen.game.shots or entry.Shots <= screen.game.shots
        await until(pilot, lambda: screen.board.my_rank == 1, what="the sidebar's rank")
        assert "YOU  #1" in shown(screen.board)
        await pilot.press("q")
        await until(pilot, lambda: screen_named(app, "ConfirmScreen"))
        await pilot.press("y")

        async def seat_free():
            return name not in (await boss.players(session.SessionId)).PlayingGamers

        await wait_server(seat_free, what="the seat freed")
    await boss.aclose()


async def test_game_over_posts_the_final_state_frees_the_seat_and_another_trial_follows(server, tmp_path):
    boss, session, name, app = await player_in_session(server.base_url, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen, over = await play_to_game_over(pilot, app)
        assert over.outcome.heading == "GAME OVER" and over.outcome.can_play_again
        await until(pilot, lambda: "RANK #1" in static_text(app, "#standing"), what="the final rank")

        async def finished():
            board = await boss.full_scoreboard(session.SessionId)
            seated = (await boss.players(session.SessionId)).PlayingGamers
            return name not in seated and [e for e in board if e.Nickname == name and e.Lives == 0]

        await wait_server(finished, what="the final state on the board and the seat freed")
        await pilot.press("enter")
        second = await until(pilot, lambda: screen_named(app, "PlayScreen") and app.screen is not screen
                             and app.screen)
        assert second.trial_number == 2 and second.game.lives == 3
        assert second.game.seed != screen.game.seed  # the next trial's invaders' dice differ

        async def seated_again():
            return name in (await boss.players(session.SessionId)).PlayingGamers

        await wait_server(seated_again, what="a seat for the next trial")
    await boss.aclose()


async def test_a_single_trial_session_gives_one_game(server, tmp_path):
    boss, _, _, app = await player_in_session(server.base_url, tmp_path, "SINGLE_TRIAL")
    async with app.run_test(size=(80, 24)) as pilot:
        screen, over = await play_to_game_over(pilot, app)
        assert not over.outcome.can_play_again
        assert "one game per player" in over.outcome.rule
        await until(pilot, lambda: screen.delivery is Delivery.SENT)
        await pilot.press("enter")  # no other game: nothing happens
        assert screen_named(app, "GameOverScreen")
        await pilot.press("l")
        await until(pilot, lambda: screen_named(app, "LobbyScreen"))
        await pilot.press("enter")
        await until(pilot, lambda: "already played" in static_text(app, "#message"), what="GamerCannotPlay")
    await boss.aclose()


async def test_no_seat_left_is_said_plainly(server, tmp_path):
    boss = await manager(server.base_url)
    await open_session(boss, total_seats=1)
    from api_client import SpaceInvadersClient

    other = await signed_up(server.base_url, tmp_path / "other")
    async with SpaceInvadersClient(server.base_url, token_store=None) as rival:
        await rival.sign_in(other, PASSWORD)
        await rival.allocate()
    await signed_up(server.base_url, tmp_path)
    app = make_app(server.base_url, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: screen_named(app, "LobbyScreen") and app.screen.session is not None)
        await pilot.press("enter")
        await until(pilot, lambda: "All seats" in static_text(app, "#message"), what="NoSeatsAvailable")
        assert screen_named(app, "LobbyScreen")
    await boss.aclose()


async def test_a_synchronized_session_starts_at_the_managers_instant(server, tmp_path):
    boss, session, _, app = await player_in_session(server.base_url, tmp_path, synchronized=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: screen_named(app, "LobbyScreen") and app.screen.session is not None)
        await pilot.press("enter")
        await until(pilot, lambda: screen_named(app, "CountdownScreen"))
        await until(pilot, lambda: "Waiting for the manager" in static_text(app, "#state"))
        started = await boss.start_session(1.5)
        await until(pilot, lambda: "Get ready" in static_text(app, "#state"), what="the countdown")
        await until(pilot, lambda: screen_named(app, "PlayScreen"), what="the start")
        began = time.time()
        # Leave only once the game is mounted: ending the app mid-mount was the test's race, not the game's.
        await until(pilot, lambda: app.screen.field is not None, what="the playfield")
    start = started.SynchronizeTime.timestamp()
    assert start - 0.1 <= began <= start + 0.6, (began - start)
    assert app.link is not None and session.SessionId == started.SessionId
    await boss.aclose()


async def test_the_manager_closing_the_session_ends_the_game_with_a_message(server, tmp_path):
    boss, _, _, app = await player_in_session(server.base_url, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await joined(pilot, app)
        await boss.close_session()
        for _ in range(20):
            if screen_named(app, "GameOverScreen"):
                break
            await pilot.press("space")
            screen.advance(0.4)
            await pilot.pause(0.2)
        over = await until(pilot, lambda: screen_named(app, "GameOverScreen") and app.screen)
        assert over.outcome.heading == "SESSION CLOSED"
        assert "manager closed the session" in over.outcome.reason
        assert not over.outcome.can_play_again and app.link.player.seated_in is None
        await pilot.press("l")
        await until(pilot, lambda: screen_named(app, "LobbyScreen"))
        await until(pilot, lambda: "closed" in static_text(app, "#session"))
    await boss.aclose()


async def test_the_sidebar_shows_the_players_rank_outside_the_top_10(server, tmp_path):
    from api_client import SpaceInvadersClient

    boss = await manager(server.base_url)
    session = await open_session(boss)
    for i in range(10):
        rival = await signed_up(server.base_url, tmp_path / f"rival{i}")
        async with SpaceInvadersClient(server.base_url, token_store=None) as client:
            await client.sign_in(rival, PASSWORD)
            await client.allocate()
            await client.update_status(session.SessionId, {"Score": 100 + i, "Shots": 5, "Level": 1, "Lives": 3})
    await signed_up(server.base_url, tmp_path)
    app = make_app(server.base_url, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await joined(pilot, app)
        await pilot.press("space")
        screen.advance(0.5)
        await until(pilot, lambda: "YOU  #11" in shown(screen.board), timeout=15, what="rank 11 in the sidebar")
        assert len(screen.board.entries) == 10
    await boss.aclose()


async def test_a_time_constrained_game_shows_the_time_left_and_ends_when_it_is_up(server, tmp_path):
    boss, _, _, app = await player_in_session(server.base_url, tmp_path, "TIME_CONSTRAINED", timeout_minutes=1)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: screen_named(app, "LobbyScreen") and "Time left" in static_text(app, "#session"))
        await pilot.press("enter")
        screen = await until(pilot, lambda: screen_named(app, "PlayScreen") and app.screen)
        screen.advance(0.1)
        await until(pilot, lambda: "TIME 0:5" in static_text(app, "Hud") or "TIME 1:00" in static_text(app, "Hud"))
        screen.deadline = app.link.player.watcher.server_now() + 1.0  # rather than waiting a minute
        await pilot.press("space")

        def time_up():
            screen.advance(0.1)  # frames go on while the clock runs
            return screen_named(app, "GameOverScreen") and app.screen

        over = await until(pilot, time_up, what="time's up")
        assert over.outcome.heading == "TIME'S UP" and not over.outcome.can_play_again
        await until(pilot, lambda: screen.delivery is Delivery.SENT, what="the final state delivered")
    await boss.aclose()


async def test_an_error_in_the_final_post_is_logged_and_said_not_shown_as_refused(server, tmp_path, monkeypatch,
                                                                                   caplog):
    async def broken(self, final):
        raise RuntimeError("a bug on the final state's way")

    monkeypatch.setattr(Trial, "finish", broken)
    boss, _, _, app = await player_in_session(server.base_url, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen, _ = await play_to_game_over(pilot, app)
        await until(pilot, lambda: "could not be sent" in static_text(app, "#standing"), what="the failure said")
        assert screen.delivery is Delivery.FAILED
    logged = [r for r in caplog.records if "could not be delivered" in r.getMessage()]
    assert logged and logged[0].exc_info is not None and "a bug on the final" in str(logged[0].exc_info[1])
    await boss.aclose()
