"""A `Static` for text that changes at every refresh: the screen's layout is re-run only when the text's
height changes. A layout of the whole screen costs far more than redrawing a few lines (measured with
benchmarks/manager_refresh.py: it was most of a refresh's time on a 5,000-player board)."""
from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class TextPanel(Static):
    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__("", id=id, classes=classes)
        self._height: tuple[int, int] | None = None  # (width, lines) of the text shown

    def show_text(self, text: Text) -> None:
        width = self.content_region.width
        height = (width, len(text.wrap(self.app.console, width))) if width > 0 else None
        self.update(text, layout=height is None or height != self._height)
        self._height = height
