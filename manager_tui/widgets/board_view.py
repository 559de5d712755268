"""The whole scoreboard as one Line-API widget: only the visible rows are drawn, from cached strips.

A refresh replaces the rows and keeps the scroll offset and the selected player (by name), so the wall
does not jump while the board reorders. Nicknames become plain `Segment`s: never parsed as markup.
"""
from __future__ import annotations

from typing import ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding, BindingType
from textual.geometry import Offset, Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ..live import BoardRow, SeatView, printable

NAME_WIDTH = 24
COLUMNS = (("#", 5), ("", 4), ("Player", NAME_WIDTH), ("Score", 11), ("Shots", 8), ("Lvl", 5), ("Lives", 6),
           ("State", 9))
STATE_STYLES = {
    SeatView.PLAYING: Style(color="green"),
    SeatView.IDLE: Style(color="yellow", bold=True),
    SeatView.FINISHED: Style(dim=True),
    SeatView.NOT_SEATED: Style(dim=True),
}
UP, DOWN, NEW = Style(color="bright_green", bold=True), Style(color="bright_red", bold=True), \
    Style(color="black", bgcolor="bright_green", bold=True)
CURSOR = Style(reverse=True)
DIM = Style(dim=True)
PLAIN = Style()
_CACHE_LIMIT = 2000


def header_text() -> str:
    return "".join(f"{title:>{width}}" if title not in ("Player", "State", "") else f" {title:<{width - 1}}"
                   for title, width in COLUMNS)


def _move_text(row: BoardRow) -> tuple[str, Style]:
    if row.is_new:
        return " new", NEW
    if row.moved > 0:
        return f"▲{min(row.moved, 99):>2} ", UP
    if row.moved < 0:
        return f"▼{min(-row.moved, 99):>2} ", DOWN
    return "    ", PLAIN


def row_segments(row: BoardRow) -> list[Segment]:
    move, move_style = _move_text(row)
    name = printable(row.nickname)
    if len(name) > NAME_WIDTH - 2:
        name = name[: NAME_WIDTH - 3] + "…"
    return [
        Segment(f"{row.rank:>5}"),
        Segment(move, move_style),
        Segment(f" {name:<{NAME_WIDTH - 1}}", Style(bold=row.rank <= 3)),
        Segment(f"{row.score:>11,}", Style(bold=True)),
        Segment(f"{row.shots:>8,}{row.level:>5}{row.lives:>6}"),
        Segment(f" {row.state:<8}", STATE_STYLES.get(row.state, PLAIN)),
    ]


class BoardView(ScrollView, can_focus=True):
    """Every player of the board, scrollable, with a cursor to pick one (to free their seat)."""

    DEFAULT_CSS = """
    BoardView { height: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "jump(0)", "Top", show=False),
        Binding("end", "jump(-1)", "Bottom", show=False),
    ]
    cursor = reactive(0, repaint=False)

    class Selected(Message):
        def __init__(self, row: BoardRow | None) -> None:
            super().__init__()
            self.row = row

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows: list[BoardRow | None] = []
        self._cache: dict[tuple[BoardRow | int, bool, int], Strip] = {}
        self._drawing: tuple[Offset, int, bool] | None = None  # while drawing: scroll offset, width, focus
        self.width_needed = sum(width for _, width in COLUMNS)

    @property
    def selected(self) -> BoardRow | None:
        return self.rows[self.cursor] if 0 <= self.cursor < len(self.rows) else None

    @property
    def rows_in_view(self) -> tuple[int, int]:
        """(first, count) of the rows the board shows at its scroll offset."""
        return round(self.scroll_y), self.scrollable_content_region.height

    def set_rows(self, rows: list[BoardRow | None], height: int = 0) -> None:
        """Show a new board; the scroll offset stays, the cursor stays on the same player. A row not known
        (None: a part of a replay's board not fetched) is drawn as its rank alone. `height`: the rows the
        board scrolls over if more than it has (a replay's: the largest board it showed, so that the board
        growing from the session's start does not lay the screen out again at each start)."""
        chosen = self.selected
        self.rows = rows
        cursor = self.cursor
        if chosen is not None and (cursor >= len(rows) or getattr(rows[cursor], "nickname", None) != chosen.nickname):
            cursor = next((i for i, r in enumerate(rows) if r is not None and r.nickname == chosen.nickname),
                          min(cursor, len(rows) - 1))
        self.set_reactive(BoardView.cursor, max(0, min(cursor, len(rows) - 1)))
        self.virtual_size = Size(self.width_needed, max(len(rows), height))
        if len(self._cache) > _CACHE_LIMIT:
            self._cache.clear()
        self.refresh()

    def render_lines(self, crop: Region) -> list[Strip]:
        # Read once for all the lines drawn (each read goes through Textual's styles): a replay redraws
        # every line of the board ten times a second.
        self._drawing = (self.scroll_offset, self.scrollable_content_region.width, self.has_focus)
        try:
            return super().render_lines(crop)
        finally:
            self._drawing = None

    def render_line(self, y: int) -> Strip:
        drawing = self._drawing
        if drawing is None:
            drawing = (self.scroll_offset, self.scrollable_content_region.width, self.has_focus)
        (scroll_x, scroll_y), width, focused = drawing
        index = scroll_y + y
        if index >= len(self.rows):
            return Strip.blank(width)
        row = self.rows[index]
        selected = index == self.cursor and focused
        key = (row if row is not None else index, selected, width)
        strip = self._cache.get(key)
        if strip is None:
            segments = row_segments(row) if row is not None else [Segment(f"{index + 1:>5}"), Segment("     …", DIM)]
            # Every column but the name is ASCII or one-cell symbols: only the name is measured.
            length = sum(len(segment.text) for segment in segments)
            if row is not None:
                length += cell_len(segments[2].text) - len(segments[2].text)
            strip = Strip(segments, length)
            if selected:
                strip = strip.apply_style(CURSOR)  # the row, not the padding after it
            wanted = max(width, self.width_needed)
            if length < wanted:
                strip = Strip([*strip, Segment(" " * (wanted - length))], wanted)
            self._cache[key] = strip
        return strip.crop(scroll_x, scroll_x + width)

    def watch_cursor(self, old: int, new: int) -> None:
        self.scroll_to_region_if_needed(new)
        self._refresh_row(old)
        self._refresh_row(new)
        self.post_message(self.Selected(self.selected))

    def scroll_to_region_if_needed(self, index: int) -> None:
        top = round(self.scroll_y)
        height = self.scrollable_content_region.height
        if index < top:
            self.scroll_to(y=index, animate=False)
        elif index >= top + height:
            self.scroll_to(y=index - height + 1, animate=False)

    def _refresh_row(self, index: int) -> None:
        y = index - round(self.scroll_y)
        if 0 <= y < self.size.height:
            self.refresh_lines(y)

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def action_cursor(self, step: int) -> None:
        if self.rows:
            self.cursor = max(0, min(len(self.rows) - 1, self.cursor + step))

    def action_page(self, direction: int) -> None:
        self.action_cursor(direction * max(1, self.scrollable_content_region.height - 1))

    def action_jump(self, index: int) -> None:
        if self.rows:
            self.cursor = index % len(self.rows)

    def on_click(self, event) -> None:
        index = round(self.scroll_y) + event.y
        if 0 <= index < len(self.rows):
            self.cursor = index
