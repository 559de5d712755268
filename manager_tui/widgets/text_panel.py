"""A `Static` for text that changes at every refresh: the screen's layout is re-run only when the text's
height changes. A layout of the whole screen costs far more than redrawing a few lines (measured with
benchmarks/manager_refresh.py: it was most of a refresh's time on a 5,000-player board)."""
from __future__ import annotations

from rich.cells import cell_len
from rich.console import Console
from rich.text import Text
from textual.widgets import Static


class TextPanel(Static):
    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__("", id=id, classes=classes)
        self._height: tuple[int, int] | None = None  # (width, lines) of the text shown

    def show_text(self, text: Text) -> None:
        width = self.content_region.width
        height = (width, lines_of(text, width, self.app.console)) if width > 0 else None
        self.update(text, layout=height is None or height != self._height)
        self._height = height


def lines_of(text: Text, width: int, console: Console) -> int:
    """The lines `text` takes at `width`: its own lines when each fits (the common case, counted without
    wrapping: a replay shows a new text ten times a second), else as wrapped."""
    lines = text.plain.split("\n")
    if all(cell_len(line) <= width for line in lines):
        return len(lines)
    return len(text.wrap(console, width))
