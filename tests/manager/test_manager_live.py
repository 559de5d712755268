"""What the console derives from boards: rank changes, arrivals, posts per second, the clock, the podium,
the wall's pages, the open form's bounds."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from manager_support import fixed_session

from api_client import GameType, ScoreEntry
from manager_tui.backends import Board, OpenRequest, Seats
from manager_tui.live import (
    MARK_SECONDS,
    BoardTracker,
    LeaderHistory,
    LiveBoard,
    SeatView,
    printable,
    project_podium,
)
from manager_tui.session_clock import SessionPhase, clock_text, seconds_to_start, session_phase, time_left
from manager_tui.widgets.board_view import STATE_STYLES
from manager_tui.widgets.session_bar import PHASE_STYLES
from manager_tui.widgets.wall_view import page_text, pages_of

START = fixed_session().SynchronizeTime.timestamp()


def board(scores: dict[str, int], at: float, records: int | None = None, **seats) -> Board:
    entries = [ScoreEntry(Nickname=n, Score=s) for n, s in sorted(scores.items(), key=lambda kv: -kv[1])]
    return Board(fixed_session(), entries, Seats(10, len(scores), **seats), at, records)


def test_rank_changes_and_arrivals_are_marked_for_a_while():
    tracker = BoardTracker()
    first = tracker.update(board({"a": 30, "b": 20}, START, records=100))
    assert [(r.nickname, r.moved, r.is_new) for r in first] == [("a", 0, False), ("b", 0, False)]
    second = tracker.update(board({"a": 30, "b": 40, "c": 35}, START + 2, records=160))
    assert [(r.nickname, r.moved, r.is_new) for r in second] == [("b", 1, False), ("c", 0, True), ("a", -2, False)]
    assert tracker.figures.posts_per_second == pytest.approx(30.0)
    later = tracker.update(board({"a": 30, "b": 40, "c": 35}, START + 2 + MARK_SECONDS, records=160))
    assert [(r.moved, r.is_new) for r in later] == [(0, False)] * 3
    assert tracker.figures.posts_per_second == 0.0
    restarted = tracker.update(board({"a": 30}, START + 20, records=5))  # the server restarted its counter
    assert restarted and tracker.figures.posts_per_second is None


def test_seat_states_and_counts():
    tracker = BoardTracker()
    rows = tracker.update(board({"a": 3, "b": 2, "c": 1}, START, playing=frozenset("ab"),
                                finished=frozenset("c"), idle=frozenset("b")))
    assert [r.state for r in rows] == [SeatView.PLAYING, SeatView.IDLE, SeatView.FINISHED]
    assert (tracker.figures.playing, tracker.figures.idle, tracker.figures.finished) == (1, 1, 1)


def test_states_and_phases_are_the_enums_and_each_has_its_look():
    """The board's seat states and the session's phases are enums every widget keys on (no bare strings)."""
    rows = BoardTracker().update(board({"a": 3, "z": 1}, START, playing=frozenset("a")))
    assert [r.state for r in rows] == [SeatView.PLAYING, SeatView.NOT_SEATED]
    assert all(type(r.state) is SeatView for r in rows)
    assert set(STATE_STYLES) == set(SeatView) and set(PHASE_STYLES) == set(SessionPhase)
    assert type(session_phase(fixed_session(), START)) is SessionPhase


def test_the_session_clock_on_the_backends_time():
    session = fixed_session()  # synchronized, 5 minutes from START
    before = START - 3.2
    assert session_phase(session, before) == "COUNTDOWN" and clock_text(seconds_to_start(session, before)) == "0:04"
    assert time_left(session, before) == 300
    assert session_phase(session, START + 10) == "RUNNING" and time_left(session, START + 10) == 290
    assert session_phase(session, START + 301) == "TIME UP" and time_left(session, START + 301) == 0
    waiting = session.model_copy(update={"SynchronizeTime": None})
    assert session_phase(waiting, START) == "WAITING" and time_left(waiting, START) is None
    closed = session.model_copy(update={"ClosingTime": datetime.fromtimestamp(START + 60, UTC)})
    assert session_phase(closed, START + 61) == "CLOSED" and time_left(closed, START + 61) == 0
    free = session.model_copy(update={"GameType": "MULTIPLE_TRIALS", "TimeoutInMinutes": None})
    assert time_left(free, START) is None and clock_text(None) == "--:--"


def test_the_projected_podium_follows_recent_scoring_rates():
    history = LeaderHistory()
    sid = fixed_session().SessionId
    # slow starts ahead; fast scores 10/s and overtakes before the deadline; steady stays third.
    for second in range(0, 31, 3):
        history.add(sid, START + second, [ScoreEntry(Nickname="slow", Score=1000 + second),
                                          ScoreEntry(Nickname="fast", Score=500 + 10 * second),
                                          ScoreEntry(Nickname="steady", Score=400 + 2 * second)])
    now = START + 30
    entries = [ScoreEntry(Nickname="slow", Score=1030), ScoreEntry(Nickname="fast", Score=800),
               ScoreEntry(Nickname="steady", Score=460)]
    podium = project_podium(entries, history, now, seconds_left=60)
    assert [p.nickname for p in podium] == ["fast", "slow", "steady"]
    assert podium[0].projected == 800 + 600 and podium[0].rate == pytest.approx(10.0)
    assert podium[1].projected == 1030 + 60


def test_the_podium_is_shown_only_while_a_timed_session_runs():
    live = LiveBoard()
    live.apply(board({"a": 10}, START + 10))
    assert live.podium(START + 10) is not None
    assert live.podium(START - 1) is None  # not started
    live.apply(Board(fixed_session("MULTIPLE_TRIALS").model_copy(update={"TimeoutInMinutes": None}),
                     [ScoreEntry(Nickname="a", Score=1)], Seats(1, 1), START + 12))
    assert live.podium(START + 12) is None


def test_the_wall_shows_every_player_in_turn():
    tracker = BoardTracker()
    rows = tracker.update(board({f"p{i:03d}": 1000 - i for i in range(200)}, START))
    pages = pages_of(rows, 2 * 17)  # 80 x 24: two columns of 17 lines
    assert sum(len(p) for p in pages) == 200 and len(pages) == 6
    text = page_text(pages[1], 2, 17, 80).plain.splitlines()
    assert len(text) == 17 and "p034" in text[0] and "p051" in text[0]  # filled down, then across
    assert all(len(line) <= 80 for line in text)


def test_names_are_drawn_as_text():
    assert printable("[bold]x[/]") == "[bold]x[/]"
    assert printable("a\x1b[31mb") == "a?[31mb"  # an escape sequence cannot reach the terminal


@pytest.mark.parametrize("fields, message", [
    (("", GameType.MULTIPLE_TRIALS, False), "name"),
    (("a b", GameType.MULTIPLE_TRIALS, False), "name"),
    (("ROOM", GameType.MULTIPLE_TRIALS, False, 0), "seats"),
    (("ROOM", GameType.TIME_CONSTRAINED, True, 10, 31), "1 to 30"),
    (("ROOM", GameType.TIME_CONSTRAINED, True, 10, None), "1 to 30"),
    (("ROOM", GameType.SINGLE_TRIAL, True, 10, 5), "only a time-constrained"),
])
def test_the_open_form_refuses_what_the_contract_refuses(fields, message):
    with pytest.raises(ValueError, match=message):
        OpenRequest(*fields)


def test_history_keeps_leaders_over_time():
    history = LeaderHistory()
    sid = fixed_session().SessionId
    history.add(sid, START, [ScoreEntry(Nickname="a", Score=1)])
    history.add(sid, START + 1.5, [ScoreEntry(Nickname="a", Score=1)])  # unchanged, too soon: not kept
    history.add(sid, START + 3, [ScoreEntry(Nickname="a", Score=2)])
    assert list(history.series["a"]) == [(START, 1), (START + 3, 2)]
    history.add("another", START, [])
    assert history.series == {}


def test_the_figures_break_between_groups_on_a_narrow_screen_never_inside_one():
    from types import SimpleNamespace

    from manager_tui.live import Figures
    from manager_tui.widgets.session_bar import figures_text

    figures = Figures(players=200, seats_total=200, seats_taken=200, playing=200, finished=0, idle=0,
                      posts_per_second=667.0, delay=0.25)
    live = SimpleNamespace(tracker=SimpleNamespace(figures=figures))
    wide = figures_text(live, 0.0, width=120).plain
    assert wide == "seats 200/200 playing 200 idle 0 finished 0 board 200 │ 667 posts/s │ delay 0.25 s"
    assert figures_text(live, 0.0).plain == wide  # width unknown: one line
    narrow = figures_text(live, 0.0, width=78).plain  # an 80-column console: one line would be 83
    assert narrow.split("\n") == ["seats 200/200 playing 200 idle 0 finished 0 board 200", "667 posts/s",
                                  "delay 0.25 s"]
