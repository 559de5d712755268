"""No files of the manager's console import each other in a circle (issue 16: messages up, attributes
down; a screen never imports the app that shows it). grimp (import-linter's graph) reads every import,
also those under `if TYPE_CHECKING:` and inside functions."""
from __future__ import annotations

import grimp

PACKAGE = "manager_tui"


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


def test_the_console_has_no_import_circles():
    assert import_circles(PACKAGE) == []


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
