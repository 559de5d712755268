"""The console's replay of a big board (issue 17, "only what is on screen is drawn"): frames carry the rows
in view and each row's rank in the previous frame, and the console's rank-change marks, figures and rows
are those it would draw from the whole board; scrolling fetches the rows come into view."""
from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from test_manager_console import until
from textual.app import App

from api_client import GameType, Session
from manager_tui.backends import Board, Seats
from manager_tui.live import LiveBoard
from manager_tui.replay import FrameEntry, ReplayPlayer
from manager_tui.screens.replay import ReplayScreen
from manager_tui.widgets.board_view import BoardView
from manager_tui.widgets.wall_view import WallView
from spaceinvaders_backend.core.replay import FrameView, ReplayCursor, ReplayIndex, ReplayRecord, frame_of

START = 1_800_000_000.0


def race(players: int, seconds: float, seed: int = 3) -> ReplayIndex:
    """Players posting every 300 ms, scores rising at different rates, a last life now and then."""
    rng = random.Random(seed)
    names = [f"p{i:04d}" for i in range(players)]
    score, lives = [0] * players, [3] * players
    records = []
    for tick in range(int(seconds / 0.3)):
        for p in range(players):
            score[p] += rng.choice((0, 0, 10, 20, 50))
            if rng.random() < 0.003:
                lives[p] -= 1
            at = START + tick * 0.3 + p * 0.3 / players
            records.append(ReplayRecord(names[p], score[p], tick, 1, lives[p], at - 0.01, at))
            if lives[p] == 0:
                score[p], lives[p] = 0, 3
    index = ReplayIndex(START)
    index.feed(records)
    index.finish()
    return index


def session(players: int) -> Session:
    return Session(SessionId="BIG", GameType=GameType.MULTIPLE_TRIALS, Synchronized=False, TotalSeats=players,
                   OpeningTime=datetime.fromtimestamp(START - 1, UTC))


class Source:
    """The replay in this process, as the AWS backend serves it (frames through the core's cursor)."""

    def __init__(self, index: ReplayIndex, players: int) -> None:
        self.session = session(players)
        self.cursor = ReplayCursor(index)
        self.views: list[FrameView | None] = []

    async def frame(self, at, view=None):
        self.views.append(view)
        return frame_of(self.cursor, "BIG", at, view=view)

    async def aclose(self) -> None:
        return None


def whole_board(frame, players: int) -> Board:
    entries = list(map(FrameEntry._make, frame.Board))
    finished = frozenset(frame.Finished)
    names = frozenset(e.Nickname for e in entries)
    return Board(session=session(players), entries=entries, fetched_at=frame.At,
                 seats=Seats(players, len(names - finished), names - finished, finished))


async def test_the_marks_of_the_rows_in_view_are_those_of_the_whole_board():
    """A viewer fed frames of 15 rows (playing at 30x: a keyframe when one is near, else the moment) and one
    fed the whole board at the same moments mark the same rank changes, for the same while, on the rows in
    view; the top rows and the figures are the whole board's."""
    players = 80
    index = race(players, 120.0)
    windowed = ReplayPlayer(Source(index, players), speed=30)
    whole, whole_cursor = LiveBoard(), ReplayCursor(index)
    wall, at, moved, snapped = 1000.0, START + 5.0, 0, 0
    for _step in range(40):
        windowed.target = at
        frame = await windowed.fetch(windowed.view(20, 15))
        windowed.show(frame, wall)
        assert frame.First == 20 and len(frame.Board) == 15 and frame.Players == players
        snapped += frame.At != at
        full = frame_of(whole_cursor, "BIG", frame.At)  # the moment the windowed frame showed, whole
        whole.apply(whole_board(full, players), marked_at=wall)
        rows = windowed.live.rows
        assert len(rows) == players
        assert rows[20:35] == whole.rows[20:35]
        assert [row[:6] + row[8:] for row in rows[:10]] == [row[:6] + row[8:] for row in whole.rows[:10]]
        assert all(row is None for row in rows[35:])
        assert windowed.live.tracker.figures == whole.tracker.figures
        assert [e.Nickname for e in windowed.live.board.entries] == [e.Nickname for e in whole.board.entries[:10]]
        moved += any(row.moved for row in rows[20:35])
        at += 2.7  # 30x, a frame every 90 ms
        wall += 0.09
    assert moved > 30 and 10 < snapped < 40


def test_a_paused_replay_asks_for_the_exact_moment_and_a_playing_one_for_a_keyframe_near_it():
    player = ReplayPlayer(Source(race(5, 10.0), 5), speed=120)
    assert player.view(0, 10).tolerance == 0.0  # no frame yet: the first is the start, exactly
    player.frame = frame_of(ReplayCursor(race(5, 10.0)), "BIG", None)
    assert player.view(0, 10).tolerance == pytest.approx(120 * 0.08)
    assert player.view(0, 10).since == player.frame.At
    player.toggle_pause()
    assert player.view(0, 10).tolerance == 0.0


class ReplayApp(App):
    def __init__(self, source: Source, wall: bool = False) -> None:
        super().__init__()
        self.source = source
        self.wall = wall

    def on_mount(self) -> None:
        self.push_screen(ReplayScreen(self.source, speed=120, wall=self.wall))


@pytest.mark.parametrize("size", [(80, 24), (200, 60)])
async def test_the_console_fetches_the_rows_in_view_and_those_scrolled_to(size):
    players = 2_000
    source = Source(race(players, 30.0), players)
    app = ReplayApp(source)
    async with app.run_test(size=size) as pilot:
        screen = app.screen
        await until(pilot, lambda: isinstance(app.screen, ReplayScreen) and app.screen.player.frame is not None)
        screen = app.screen
        await pilot.press("space", "right")  # paused 10 s in (everybody on the board): frames are exact
        board = screen.query_one(BoardView)
        height = board.scrollable_content_region.height
        await until(pilot, lambda: screen.player.frame.Players == players and len(board.rows) == players)
        assert source.views[-1].count <= 3 * height  # never the whole board
        shown = screen.player.frame
        assert [(r.nickname, r.score) for r in board.rows[:height]] == [(e[0], e[1]) for e in shown.Board[:height]]
        board.scroll_to(y=1_200, animate=False)
        await until(pilot, lambda: board.rows[1_200] is not None and board.rows[1_200 + height - 1] is not None)
        frame = screen.player.frame
        assert frame.First <= 1_200 and frame.First + len(frame.Board) >= 1_200 + height
        rows = board.rows[frame.First:frame.First + len(frame.Board)]
        assert [(r.rank, r.nickname) for r in rows] == [(frame.First + i + 1, e[0]) for i, e in enumerate(frame.Board)]
        lines = [board.render_line(y).text for y in range(height)]
        assert lines[0][:5] == " 1201" and rows[1_200 - frame.First].nickname in lines[0], (lines[0], board.scroll_offset)
        await pilot.press("w")  # the wall: its page's rows
        wall = screen.query_one(WallView)
        await until(pilot, lambda: source.views[-1].first == wall.page_window(players)[0] and screen._asked is not None
                    and screen._asked == wall.page_window(players))
        first, count = wall.page_window(players)
        assert first == 3 and count < players
        wall.page += 1
        await until(pilot, lambda: screen._asked == wall.page_window(players))
        assert screen._asked[0] == 3 + count
        page = str(wall.query_one("#wall-rest").render())
        assert screen.player.live.rows[3 + count].nickname in page


async def test_a_paused_replay_draws_again_only_what_changes():
    """Paused, waiting or at the end, ten ticks a second redraw nothing: the wall's picture stays until
    the banner's state changes, the console's bar until its text does."""
    source = Source(race(40, 20.0), 40)
    app = ReplayApp(source, wall=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, ReplayScreen) and app.screen.player.frame is not None)
        screen = app.screen
        await until(pilot, lambda: screen.player.at_end)  # 20 s at 120x: at the end at once, and stays
        await pilot.pause(0.2)
        drawn = []
        wall = screen.query_one(WallView)
        shown = wall.show
        wall.show = lambda *args, **kwargs: (drawn.append(1), shown(*args, **kwargs))
        await pilot.pause(0.6)
        assert drawn == []
        await pilot.press("minus")  # the banner says the new speed
        await until(pilot, lambda: drawn)
