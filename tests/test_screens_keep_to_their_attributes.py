"""The game's screens and widgets keep to what they were given (issue 16: messages up, attributes down).

A screen gets what it uses from the app that builds it (constructor arguments, reactives the app binds) and
tells the app what changed by posting a message; it never reads or writes the app's own attributes (the link,
the best score, the frames, the settings...). Of the app it may use only Textual's own App API, listed here:
showing screens and notifications, and the theme.
"""
from __future__ import annotations

import ast
from pathlib import Path

from textual.app import App

from spaceinvaders_tui.app import SpaceInvadersApp

ROOT = Path(__file__).resolve().parents[1]
PARTS = (ROOT / "spaceinvaders_tui" / "screens", ROOT / "spaceinvaders_tui" / "widgets")
TEXTUAL_APP_API = {
    "push_screen": "show a screen over this one",
    "push_screen_wait": "show a screen and wait for what it dismisses with (a worker)",
    "switch_screen": "show a screen in place of this one",
    "notify": "a notification",
    "current_theme": "the theme's colours",
}


def reaches_into_the_app(path: Path) -> list[str]:
    """Each use of `<something>.app` that is not `<something>.app.<Textual's App API>`: an attribute of ours
    read, written or called, or the app itself handed on (`app = self.app`, `f(self.app)`)."""
    tree = ast.parse(path.read_text())
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "app":
            parent = parents.get(node)
            if isinstance(parent, ast.Attribute) and parent.attr in TEXTUAL_APP_API:
                continue
            used = parent if isinstance(parent, ast.Attribute) else node
            found.append((node.lineno, node.col_offset, f"{path.relative_to(ROOT)}:{node.lineno} {ast.unparse(used)}"))
    return [line for *_, line in sorted(found)]


def test_no_screen_or_widget_reads_or_writes_the_apps_attributes():
    modules = [path for part in PARTS for path in sorted(part.rglob("*.py"))]
    assert len(modules) > 5
    assert [line for path in modules for line in reaches_into_the_app(path)] == []


def test_what_they_may_use_is_textuals_and_not_overridden_by_the_game():
    assert all(hasattr(App, name) for name in TEXTUAL_APP_API)
    ours = {name for name in TEXTUAL_APP_API if name in vars(SpaceInvadersApp)}
    assert ours == set()


def test_the_check_sees_an_attribute_read_written_called_or_the_app_handed_on(tmp_path, monkeypatch):
    monkeypatch.setattr("test_screens_keep_to_their_attributes.ROOT", tmp_path)
    (tmp_path / "screen.py").write_text(
        "class S:\n"
        "    def on_mount(self):\n"
        "        self.app.push_screen(Help())\n"  # Textual's: allowed
        "        link = self.app.link\n"
        "        self.app.best.record(3)\n"
        "        self.app.hung_up = True\n"
        "        self.app.leave()\n"
        "        app = self.app\n"
        "        self.screen.app.frames.now()\n"
    )
    assert reaches_into_the_app(tmp_path / "screen.py") == [
        "screen.py:4 self.app.link",
        "screen.py:5 self.app.best",
        "screen.py:6 self.app.hung_up",
        "screen.py:7 self.app.leave",
        "screen.py:8 self.app",
        "screen.py:9 self.screen.app.frames",
    ]
