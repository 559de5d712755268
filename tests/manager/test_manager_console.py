"""The console driven by keys (Textual's Pilot) against a local server the test starts, players through
api_client; and its failure cases (server gone, unexpected errors, markup in a Nickname)."""
from __future__ import annotations

import asyncio
import time

import pytest
from key_burst import burst
from manager_support import MANAGER, MARKUP_NAME, PASSWORD, FixedBackend, unique
from textual.app import App
from textual.screen import Screen
from textual.widgets import Checkbox, Input, ProgressBar, Select, Static

from api_client import GameStatus, GameType, SpaceInvadersClient, TokenStore
from manager_tui.app import ManagerApp
from manager_tui.backends import BackendError, ExportProgress
from manager_tui.backends.api import ApiBackend
from manager_tui.screens.board import BoardScreen
from manager_tui.screens.dialogs import ConfirmScreen, OpenSessionScreen, SignInScreen
from manager_tui.screens.export import ExportScreen
from manager_tui.screens.wall import LeaderLine, WallScreen
from manager_tui.widgets.board_view import BoardView
from manager_tui.widgets.session_bar import SessionBar


async def until(pilot, test, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not test():
        assert time.monotonic() < deadline, "timed out waiting for the console"
        await pilot.pause(0.05)


async def player(base_url: str, name: str) -> SpaceInvadersClient:
    client = SpaceInvadersClient(base_url, token_store=None)
    await client.sign_up(name, "player-pass")
    await client.sign_in(name, "player-pass")
    await client.allocate()
    return client


def errors(app) -> list[str]:
    return [str(n.message) for n in app._notifications if n.severity == "error"]


@pytest.mark.parametrize("username", [None, "boss"])
async def test_the_sign_in_dialog_focuses_its_first_empty_field_first(username, monkeypatch):
    focused: list[str | None] = []
    set_focus = Screen.set_focus

    def recorded(screen: Screen, widget, *args, **kwargs):
        if isinstance(screen, SignInScreen) and widget is not None:
            focused.append(widget.id)
        return set_focus(screen, widget, *args, **kwargs)

    monkeypatch.setattr(Screen, "set_focus", recorded)

    class Host(App[None]):
        def on_mount(self) -> None:
            self.push_screen(SignInScreen("signed out", "here", username))

    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, SignInScreen) and app.focused is not None)
        await pilot.pause()
        expected = "password" if username else "username"
        assert focused[:1] == [expected] and app.focused.id == expected


async def test_a_whole_session_from_the_keyboard(local_server, tmp_path):
    local_server.create_manager(MANAGER, PASSWORD)
    backend = ApiBackend(local_server.base_url, token_store=TokenStore(tmp_path / "tokens"))
    app = ManagerApp(backend, refresh_seconds=0.3, countdown_seconds=1.0, export_dir=tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, SignInScreen) and app.focused is not None)
        await burst(app, pilot, MANAGER, "enter", PASSWORD, "enter")  # as fast as tmux sends them
        await until(pilot, lambda: app.connected)

        await pilot.press("o")
        await until(pilot, lambda: isinstance(app.screen, OpenSessionScreen))
        form = app.screen
        form.query_one("#name", Input).value = "PILOT"
        form.query_one("#game", Select).value = GameType.TIME_CONSTRAINED
        await pilot.pause()
        form.query_one("#minutes", Input).value = "2"
        await pilot.click("#open")
        await until(pilot, lambda: (app.session_id or "").startswith("PILOT") and app.live.board is not None)
        session = app.live.board.session
        assert session.GameType == "TIME_CONSTRAINED" and session.TimeoutInMinutes == 2 and session.Synchronized

        ace, bud = unique("ace"), unique("bud")
        players = {name: await player(local_server.base_url, name) for name in (ace, bud)}
        await until(pilot, lambda: app.live.board.seats.occupied == 2)

        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await until(pilot, lambda: app.live.board.session.SynchronizeTime is not None)
        await asyncio.sleep(max(0.0, app.live.board.session.SynchronizeTime.timestamp() - time.time()) + 0.05)
        await players[ace].update_status(app.session_id, GameStatus(Score=300, Shots=4, Level=1, Lives=3))
        await players[bud].update_status(app.session_id, GameStatus(Score=100, Shots=2, Level=1, Lives=3))
        board = app.screen.query_one(BoardView)
        await until(pilot, lambda: [r.nickname for r in board.rows] == [ace, bud])
        assert "RUNNING" in str(app.screen.query_one(SessionBar).render())

        await players[bud].update_status(app.session_id, GameStatus(Score=500, Shots=5, Level=1, Lives=3))
        await until(pilot, lambda: [r.nickname for r in board.rows] == [bud, ace])
        assert board.rows[0].moved == 1 and board.rows[1].moved == -1  # rank changes are marked

        await pilot.press("w")
        await until(pilot, lambda: isinstance(app.screen, WallScreen))
        first = app.screen.query(LeaderLine).first()
        await until(pilot, lambda: bud in str(first.query_one(".leader-name").render()))
        await pilot.press("w")
        await until(pilot, lambda: isinstance(app.screen, BoardScreen))

        board.focus()
        await pilot.press("end")  # ace, now second
        assert board.selected.nickname == ace
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await until(pilot, lambda: ace not in app.live.board.seats.playing)
        assert app.live.board.seats.occupied == 1

        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await until(pilot, lambda: app.live.board.session.ClosingTime is not None)

        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, ExportScreen))
        await pilot.click("#csv")
        target = tmp_path / "pilot.csv"
        app.screen.query_one("#path", Input).value = str(target)
        await pilot.click("#export")
        await until(pilot, lambda: isinstance(app.screen, BoardScreen) and target.exists())
        lines = target.read_text().splitlines()
        assert lines[0].startswith("SequenceNumber,SessionId,Nickname")
        assert [line.split(",")[2] for line in lines[1:]] == [ace, bud, bud]
        assert not errors(app)
        await pilot.press("q")
    for client in players.values():
        await client.aclose()


async def test_a_server_gone_is_a_notification_and_the_last_board_stays(local_server, tmp_path):
    local_server.create_manager(MANAGER, PASSWORD)
    backend = ApiBackend(local_server.base_url, token_store=TokenStore(tmp_path / "tokens"))
    await backend.sign_in(MANAGER, PASSWORD)
    app = ManagerApp(backend, refresh_seconds=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.connected)
        await pilot.press("o")
        await until(pilot, lambda: isinstance(app.screen, OpenSessionScreen))
        app.screen.query_one("#synchronized", Checkbox).value = False
        await pilot.click("#open")
        await until(pilot, lambda: app.live.board is not None)
        name = unique("solo")
        client = await player(local_server.base_url, name)
        await client.update_status(app.session_id, GameStatus(Score=42, Shots=1, Level=1, Lives=3))
        await client.aclose()
        await until(pilot, lambda: [r.nickname for r in app.live.rows] == [name])

        local_server.stop()
        await until(pilot, lambda: errors(app))
        assert "does not answer" in errors(app)[0]
        await pilot.pause(0.5)
        assert [r.nickname for r in app.screen.query_one(BoardView).rows] == [name]
        assert "showing the board of" in str(app.screen.query_one(SessionBar).render())
        assert len(errors(app)) == 1  # the same failure again is not a new notification
        assert app.is_running


async def test_names_are_text_never_markup_and_odd_errors_are_notifications():
    backend = FixedBackend()
    app = ManagerApp(backend, refresh_seconds=60)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.live.board is not None)
        board = app.screen.query_one(BoardView)
        await pilot.pause()
        second = board.render_line(1).text
        assert MARKUP_NAME[:20] in second  # the brackets are drawn as they are
        assert "[reverse]carol" in board.render_line(3).text

        await pilot.press("down", "d")  # the markup name's seat
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert MARKUP_NAME in str(app.screen.query_one("#question").render())
        await pilot.press("y")
        await until(pilot, lambda: backend.freed == [MARKUP_NAME])

        await pilot.press("s", "y")  # the backend raises an unexpected error type
        await until(pilot, lambda: errors(app))
        assert "SessionAlreadyStarted" in errors(app)[0]

        backend.fail_with = BackendError("AccessDenied (AccessDeniedException)")
        await pilot.press("r")
        await until(pilot, lambda: len(errors(app)) == 2)
        assert [r.nickname for r in board.rows][:2] == ["alice", MARKUP_NAME]
        assert app.is_running


class CountedExport(FixedBackend):
    """An export whose count the backend knew before the first record (the local server's X-Record-Count)."""

    def __init__(self) -> None:
        super().__init__()
        self.halfway = asyncio.Event()
        self.finish = asyncio.Event()

    async def export(self, session_id, fmt, destination, progress) -> int:
        done = ExportProgress(records_total=2_500)
        progress(done)
        done.records, done.bytes_done = 1_000, 120_000
        await asyncio.sleep(0.15)  # the screen shows at most 10 updates a second
        progress(done)
        self.halfway.set()
        await self.finish.wait()
        destination.write_text("{}\n" * 2_500)
        return 2_500


async def test_the_export_bar_has_the_record_count_as_its_total(tmp_path):
    backend = CountedExport()
    app = ManagerApp(backend, refresh_seconds=60, export_dir=tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.live.board is not None)
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, ExportScreen))
        await pilot.click("#export")
        await until(pilot, backend.halfway.is_set)
        await pilot.pause(0.1)
        bar = app.screen.query_one("#progress", ProgressBar)
        assert (bar.total, bar.progress) == (2_500, 1_000)
        assert "1,000 of 2,500 records" in str(app.screen.query_one("#export-status", Static).render())
        backend.finish.set()
        await until(pilot, lambda: isinstance(app.screen, BoardScreen))


class HangingBackend(FixedBackend):
    """Answers one board, then every refresh hangs (a server that accepts and never answers)."""

    def __init__(self) -> None:
        super().__init__()
        self.answered = 0
        self.never = asyncio.Event()

    async def board(self, session_id: str):
        if self.answered:
            await self.never.wait()
        self.answered += 1
        self.now = time.time()
        return await super().board(session_id)


async def test_the_age_of_the_board_grows_each_second_while_a_refresh_hangs():
    """Issue 19: the age is counted from the last good board, on a timer, not when a refresh ends."""
    backend = HangingBackend()
    app = ManagerApp(backend, refresh_seconds=0.2)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.live.board is not None)
        bar = app.screen.query_one(SessionBar)
        ages = []
        for _ in range(3):
            await pilot.pause(1.0)
            text = str(bar.render())
            ages.append(int(text.split("showing the board of ")[1].split(" s ago")[0]) if "s ago" in text else None)
        assert backend.answered == 1 and app.refreshing  # the second refresh still hangs
        assert None not in ages[1:] and ages[1] < ages[2], ages  # 1.4 s in, the age shows and grows
        assert not errors(app)
        backend.never.set()
