"""The apps' import shape (issue 16: messages up, attributes down; one home for each thing).

No package imports itself in a circle: not the game, not the manager's console (a screen never imports the
app that shows it), not the player session, the bots, the engine or the client. grimp (import-linter's
graph) reads every import, also those under `if TYPE_CHECKING:` and inside functions; and no screen or app
module hides an import inside a function, where a circle (lobby <-> sign-in, app <-> board) once hid.
"""
from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grimp
import pytest

from api_client import Session
from manager_tui.session_clock import session_phase, time_left

ROOT = Path(__file__).resolve().parents[1]
APPS = ("spaceinvaders_tui", "manager_tui")
PACKAGES = (*APPS, "spaceinvaders_player", "spaceinvaders_bots", "spaceinvaders_engine", "api_client")
# Command lines import the app only once the arguments are read: `--help` and `--version` stay fast.
LAZY_ON_PURPOSE = {"cli.py"}


def import_circles(package: str) -> list[list[str]]:
    """The strongly connected groups of two or more modules (Tarjan's algorithm), each sorted."""
    graph = grimp.build_graph(package)
    modules = sorted(graph.modules)
    edges = {m: sorted(graph.find_modules_directly_imported_by(m) & graph.modules) for m in modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(module: str) -> None:  # recursion depth: at most the number of modules (a few dozen)
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in edges[module]:
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                circles.append(sorted(group))

    for module in modules:
        if module not in index:
            visit(module)
    return circles


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_circles(package):
    assert import_circles(package) == []


@pytest.mark.parametrize("app", APPS)
def test_no_screen_or_widget_imports_its_app(app):
    graph = grimp.build_graph(app)
    parts = sorted(m for m in graph.modules if m.startswith((f"{app}.screens.", f"{app}.widgets.")))
    assert parts
    assert [m for m in parts if graph.chain_exists(importer=m, imported=f"{app}.app")] == []


def imports_inside_functions(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            found += [f"{path.relative_to(ROOT)}:{inner.lineno} {ast.unparse(inner)}" for inner in ast.walk(node)
                      if isinstance(inner, ast.Import | ast.ImportFrom)]
    return found


@pytest.mark.parametrize("app", APPS)
def test_the_apps_import_at_the_top(app):
    modules = [p for p in sorted((ROOT / app).rglob("*.py")) if p.name not in LAZY_ON_PURPOSE]
    assert modules
    assert [line for path in modules for line in imports_inside_functions(path)] == []


def test_the_check_sees_an_import_inside_a_function(tmp_path, monkeypatch):
    monkeypatch.setattr("test_import_shape.ROOT", tmp_path)
    (tmp_path / "screen.py").write_text("def connect():\n    from .lobby import LobbyScreen\n")
    assert imports_inside_functions(tmp_path / "screen.py") == ["screen.py:2 from .lobby import LobbyScreen"]


def test_the_check_sees_a_circle_hidden_under_type_checking(tmp_path, monkeypatch):
    """The check itself: two modules that import each other, one of them only for type hints."""
    package = tmp_path / "circled"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "app.py").write_text("from .screen import Screen\n")
    (package / "screen.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .app import App\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert import_circles("circled") == [["circled.app", "circled.screen"]]


# --- one home for a session's timing -----------------------------------------------------------------------
CLIENT_SIDE = ("api_client", "spaceinvaders_player", "spaceinvaders_tui", "manager_tui", "spaceinvaders_bots")
TIMING_HOME = ROOT / "api_client" / "models.py"  # `Session.starts_at`, `Session.deadline`


def timing_computed(path: Path) -> list[str]:
    """Places that work out when a session starts or ends from its fields instead of asking the session:
    arithmetic on `TimeoutInMinutes`, or a choice between `SynchronizeTime` and `OpeningTime`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.BinOp):
            names = {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)}
            if "TimeoutInMinutes" in names:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {ast.unparse(node)}")
        elif isinstance(node, ast.IfExp):
            names = {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)}
            if {"SynchronizeTime", "OpeningTime"} <= names:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {ast.unparse(node)}")
    return found


def test_a_sessions_start_and_deadline_are_read_in_one_place():
    """The game, the bots and the manager's console once each had their own (one with another default)."""
    modules = [p for package in CLIENT_SIDE for p in sorted((ROOT / package).rglob("*.py")) if p != TIMING_HOME]
    assert [line for path in modules for line in timing_computed(path)] == []
    assert timing_computed(TIMING_HOME)  # the check sees the one home


def test_the_game_and_the_console_agree_on_a_sessions_timing():
    opened = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    # No TimeoutInMinutes: the default (5 min) for the game and the console alike.
    timed = Session.model_validate({"SessionId": "T", "GameType": "TIME_CONSTRAINED", "OpeningTime": opened})
    assert timed.deadline == (opened + timedelta(minutes=5)).timestamp()
    assert time_left(timed, opened.timestamp() + 60) == 240
    assert session_phase(timed, timed.deadline) == "TIME UP"


# --- one name, one class ----------------------------------------------------------------------------------
PRODUCT = ("api_client", "spaceinvaders_engine", "spaceinvaders_player", "spaceinvaders_tui", "spaceinvaders_bots",
           "manager_tui", "spaceinvaders_backend")
# Names two classes may share, and why. The contract's types exist once on each side of the API: the client
# (`api_client/models.py`, `errors.py`) may not import the server, nor the server the client.
CONTRACT_SIDES = {"ApiError", "BoardStats", "Players", "ScoreEntry", "Scoreboard", "Session", "Sessions", "Tokens"}
SHARED_NAMES = {
    **{name: "the contract's type, once in the client and once in the server" for name in CONTRACT_SIDES},
    "ConfirmScreen": "each app's own yes/no dialog (the apps may not import each other)",
    "SignInScreen": "each app's own sign-in (the apps may not import each other)",
    "Seats": "the manager's view of a board's seats and the local server's seat keeper (never imported together)",
}


def classes_by_name() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for package in PRODUCT:
        for path in sorted((ROOT / package).rglob("*.py")):
            if any(part.startswith(".") for part in path.relative_to(ROOT).parts):
                continue  # not the product's: `sam build`'s .aws-sam holds the dependencies it installed
            for node in ast.parse(path.read_text()).body:
                if isinstance(node, ast.ClassDef):
                    found.setdefault(node.name, []).append(str(path.relative_to(ROOT)))
    return found


def test_two_classes_share_a_name_only_for_a_stated_reason():
    """Issue 16: two `LocalBackend`s (the server's and the manager's), two `StatusRecord`s with other
    fields, two `SpaceInvadersApp`s (the game and the server's ASGI app) misled their readers."""
    shared = {name: places for name, places in classes_by_name().items() if len(places) > 1}
    assert {name: places for name, places in shared.items() if name not in SHARED_NAMES} == {}
    assert all(len(shared.get(name, ())) == 2 for name in SHARED_NAMES)  # a reason for each pair still there
