"""The app's parts on their own: the playfield's line refreshes, the sidebar's rank lines, the best score
file, what the lobby derives from a session document, and the command line."""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from game_app_support import shown
from textual.app import App

from api_client import RankedEntry, ScoreEntry, Session
from spaceinvaders_engine import FIRE, Game
from spaceinvaders_player import free_seats, waits_for_start
from spaceinvaders_tui.best_score import BestScore
from spaceinvaders_tui.cli import build_parser, main
from spaceinvaders_tui.widgets.playfield import Playfield
from spaceinvaders_tui.widgets.top_ten import TopTen


class One(App[None]):
    def __init__(self, widget) -> None:
        super().__init__()
        self.widget = widget

    def compose(self):
        yield self.widget


async def test_the_playfield_refreshes_only_the_lines_that_changed_and_reuses_its_strips():
    game = Game(3)
    game.bomb_ticks = game.mystery_ticks = game.beat_ticks = 10**9  # nothing moves but what we do
    field = Playfield(game)
    async with One(field).run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert field.scale == 1
        assert field.update_frame() == 0  # drawn on mount; nothing moved since
        game.step(1 / 30, FIRE)
        assert field.update_frame() == 1  # the missile's line
        game.step(1 / 30)
        changed = field.update_frame()
        assert 1 <= changed <= 2  # the missile moves up a line (or stays in it)
        await pilot.pause()
        text = shown(field)
        assert "│" in text and "▗▀▖" in text  # missile, squids
        field.banner = "PAUSED"
        assert field.update_frame() == 1
        await pilot.pause()
        assert "PAUSED" in shown(field)


async def test_a_big_terminal_draws_every_cell_two_by_two():
    field = Playfield(Game(3))
    async with One(field).run_test(size=(132, 44)) as pilot:
        await pilot.pause()
        assert field.scale == 2
        lines = shown(field).splitlines()
        assert sum(1 for line in lines if line.strip()) == 5 * 2 + 3 * 2 + 2 + 1  # invaders, shields, cannon, ground


async def test_the_sidebar_highlights_the_player_and_tells_the_rank_outside_the_top_10():
    board = TopTen("me", title="ROOM")
    async with One(board).run_test(size=(30, 20)) as pilot:
        entries = [ScoreEntry(Nickname=f"p{i}", Score=1000 - i) for i in range(10)]
        board.show_board(entries, RankedEntry(Nickname="me", Score=5, Rank=14))
        await pilot.pause()
        assert "YOU  #14  5" in shown(board) and board.my_rank == 14
        board.show_board(entries, None)  # a backend without Caller (the original)
        await pilot.pause()
        assert "not in the top 10" in shown(board) and board.my_rank is None
        board.show_board([*entries[:3], ScoreEntry(Nickname="me", Score=999)], None)
        await pilot.pause()
        assert board.my_rank == 4 and "YOU  #4" in shown(board)


def test_the_best_score_survives_a_damaged_file_and_keeps_only_better_scores(tmp_path):
    (tmp_path / "best.json").write_text("{not json")
    best = BestScore(tmp_path)
    assert best.best == 0
    assert best.record(120) and not best.record(90)
    assert json.loads((tmp_path / "best.json").read_text()) == {"best": 120}
    assert BestScore(tmp_path).best == 120


def _session(**fields) -> Session:
    opened = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    return Session.model_validate({"SessionId": "S", "GameType": "MULTIPLE_TRIALS", "OpeningTime": opened,
                                   "TotalSeats": 200, **fields})


def test_what_the_lobby_reads_from_a_session():
    opened = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    timed = _session(GameType="TIME_CONSTRAINED", TimeoutInMinutes=5)
    assert timed.deadline == (opened + timedelta(minutes=5)).timestamp()
    assert _session().deadline is None
    synced = _session(Synchronized=True, GameType="TIME_CONSTRAINED", TimeoutInMinutes=2)
    assert synced.deadline is None and waits_for_start(synced, opened.timestamp())
    started = _session(Synchronized=True, SynchronizeTime=opened + timedelta(seconds=5))
    assert waits_for_start(started, opened.timestamp()) and not waits_for_start(started, opened.timestamp() + 6)
    assert free_seats(_session()) is None  # the player API does not say how many are taken ...
    assert free_seats(_session(OccupiedSeats=12)) == 188  # ... unless the backend adds it


def test_the_command_line_lists_everything_and_refuses_what_it_does_not_know(capsys):
    help_text = build_parser().format_help()
    for word in ("--api", "SPACEINVADERS_API", "--offline", "--ascii", "--theme", "--data-dir", "NO_COLOR",
                 "spaceinvaders-server serve", "space", "ctrl+c"):
        assert word in help_text
    with pytest.raises(SystemExit):
        main(["--theme", "no-such-theme"])
    assert "unknown theme" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--bogus"])


def test_python_dash_m_runs_the_same_command():
    answer = subprocess.run([sys.executable, "-m", "spaceinvaders_tui", "--help"], capture_output=True, text=True,
                            check=False, timeout=60)
    assert answer.returncode == 0 and answer.stdout.startswith("usage: spaceinvaders")


def test_a_lazy_command_gets_its_own_arguments_and_is_imported_only_when_run(monkeypatch, capsys):
    import types

    from spaceinvaders_tui import cli

    command = types.ModuleType("fake_demo")
    command.add_arguments = lambda parser: parser.add_argument("--bots", type=int, default=1)
    command.run = lambda args: args.bots * 10
    monkeypatch.setitem(sys.modules, "fake_demo", command)
    monkeypatch.setattr(cli, "LAZY_COMMANDS", {"demo": ("fake_demo", "bots play on a local server")})
    assert "bots play on a local server" in build_parser().format_help()
    assert main(["demo", "--bots", "4"]) == 40
    with pytest.raises(SystemExit):
        main(["demo", "--help"])
    assert "--bots" in capsys.readouterr().out


def test_no_module_of_the_game_imports_one_that_imports_it_back():
    """Import circles (lobby and sign-in importing each other, hidden in functions) are gone: screens say
    what comes next with messages to the app or by what they dismiss with."""
    import ast
    from pathlib import Path

    import spaceinvaders_tui

    root = Path(spaceinvaders_tui.__file__).parent
    modules = {".".join(("spaceinvaders_tui", *p.relative_to(root).with_suffix("").parts)): p
               for p in root.rglob("*.py")}
    edges: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text())):  # imports inside functions count too
            if isinstance(node, ast.ImportFrom):
                base = package.rsplit(".", node.level - 1)[0] if node.level else ""
                target = ".".join(filter(None, (base, node.module or "")))
                candidates = [f"{target}.{alias.name}" for alias in node.names] + [target]
                edges.setdefault(name, set()).update(c for c in candidates if c in modules and c != name)

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for nxt in edges.get(start, ()):
            if nxt == goal or (nxt not in seen and (seen.add(nxt) or reaches(nxt, goal, seen))):
                return True
        return False

    circles = sorted(name for name in modules if reaches(name, name, set()))
    assert circles == []
