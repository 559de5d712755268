"""The wall's picture: large, high-contrast type; the top three big; everyone else in pages of as many
columns as fit; the session's line and clock; the podium. Drawn by the wall mode (live) and the replay."""
from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Digits

from ..live import BoardRow, LiveBoard, SeatView, printable
from ..session_clock import session_phase
from .board_view import DOWN, NEW, UP
from .leaders_chart import LeadersChart
from .podium import Podium
from .session_bar import PHASE_STYLES, figures_text, game_text
from .text_panel import TextPanel

PAGE_SECONDS = 6.0
COLUMN_WIDTH = 36  # the narrowest column of the paged list: two side by side at 80 columns
WIDE_WALL = 150  # from this many columns the leaders' chart is on the wall too


def big_number(value: int) -> str:
    """A score for `Digits` (which has no comma): thousands split by a space."""
    return f"{value:,}".replace(",", " ")


def page_layout(width: int, height: int) -> tuple[int, int]:
    """(columns, lines) of the paged list in a region of that size."""
    columns = max(1, width // COLUMN_WIDTH)
    return columns, max(1, height)


def pages_of(rows: list[BoardRow | None], per_page: int) -> list[list[BoardRow | None]]:
    return [rows[i:i + per_page] for i in range(0, len(rows), per_page)] or [[]]


def page_text(rows: list[BoardRow | None], columns: int, lines: int, width: int) -> Text:
    """One page as columns of `rank name score`, filled top to bottom then left to right."""
    column_width = max(24, width // columns)
    name_width = column_width - 21  # rank 5, score 11, marker 5
    text = Text(no_wrap=True, overflow="crop")
    for line in range(lines):
        if line:
            text.append("\n")
        for column in range(columns):
            index = column * lines + line
            if index >= len(rows):
                break
            row = rows[index]
            if row is None:  # a row of a replay's board not fetched yet: its place kept
                text.append(" " * column_width)
                continue
            name = printable(row.nickname)
            if len(name) > name_width:
                name = name[: name_width - 1] + "…"
            marker, style = ("new", NEW) if row.is_new else ("▲", UP) if row.moved > 0 else \
                ("▼", DOWN) if row.moved < 0 else ("", None)
            text.append(f"{row.rank:>4} ", "bold cyan")
            text.append(f"{name:<{name_width}}", "bold white" if row.state is not SeatView.FINISHED else "grey62")
            text.append(f"{row.score:>11,}", "bold yellow")
            text.append(f" {marker:<3} ", style)
    return text


class LeaderLine(Horizontal):
    DEFAULT_CSS = """
    LeaderLine { height: 3; }
    LeaderLine > .leader-name { width: 1fr; height: 3; content-align: left middle; text-style: bold; }
    LeaderLine > Digits { width: auto; color: $warning; text-style: bold; }
    """

    def __init__(self, place: int) -> None:
        super().__init__(classes="leader")
        self.place = place

    def compose(self) -> ComposeResult:
        yield TextPanel(classes="leader-name")
        yield Digits("")

    def show(self, row: BoardRow | None) -> None:
        name = Text(f" {self.place} ", "bold black on yellow")
        if row is not None:
            name.append("  ")
            name.append(printable(row.nickname), "bold white")
        self.query_one(".leader-name", TextPanel).update(name, layout=False)
        self.query_one(Digits).update(big_number(row.score) if row else "")


class WallView(Vertical):
    DEFAULT_CSS = """
    WallView { height: 1fr; background: black; color: white; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.page = 0
        self.rows_shown = 0

    def compose(self) -> ComposeResult:
        with Horizontal(id="wall-top"):
            yield TextPanel(id="wall-title")
            yield TextPanel(id="wall-clock-label")
            yield Digits("", id="wall-clock")
        with Horizontal(id="wall-middle"):
            with Vertical(id="wall-leaders"):
                for place in (1, 2, 3):
                    yield LeaderLine(place)
            yield LeadersChart(id="wall-chart")
        yield Podium(id="wall-podium")
        yield TextPanel(id="wall-rest")
        yield TextPanel(id="wall-foot")

    def show_clock(self, clock: tuple[str, str] | None) -> None:
        """("starts in", "0:04"), ("left", "3:12"), ("REPLAY", "12:34"), or None for no clock."""
        self.query_one("#wall-clock-label", TextPanel).show_text(Text(f"{clock[0]} " if clock else "", "bold"))
        self.query_one("#wall-clock", Digits).update(clock[1] if clock else "")

    def show(self, live: LiveBoard, now: float, clock: tuple[str, str] | None, *, banner: Text | None = None,
             keys: str = "w: console   space: next page   q: quit", final: bool = False,
             drawn_at: float | None = None, so_far: bool = False) -> None:
        """The whole picture of `live` at `now` (the backend's moment): `banner` before the session's
        name (the replay's), the final podium instead of the projected one when `final`, the podium so far
        where there is no projected one when `so_far` (the replay's: its line stays)."""
        title = Text(no_wrap=False)
        if banner is not None:
            title.append_text(banner)
        if live.board is None:
            title.append("SPACE INVADERS — waiting for a session", "bold")
        else:
            session = live.board.session
            phase = session_phase(session, live.backend_now(now))
            title.append(printable(session.SessionId), "bold white")
            title.append(f"  {game_text(session)}  ")
            title.append(f" {phase} ", PHASE_STYLES.get(phase, "bold"))
            title.append("\n")
            title.append_text(figures_text(live, now, self.query_one("#wall-title", TextPanel).content_size.width))
        self.query_one("#wall-title", TextPanel).show_text(title)
        self.show_clock(clock)
        rows = live.rows
        for line in self.query(LeaderLine):
            line.show(rows[line.place - 1] if len(rows) >= line.place else None)
        chart = self.query_one("#wall-chart", LeadersChart)
        chart.display = self.app.size.width >= WIDE_WALL
        if chart.display:
            chart.show(live, drawn_at)
        podium = self.query_one("#wall-podium", Podium)
        projected = None if final else live.podium(now)
        if final or (so_far and not projected):
            podium.show_final(rows, "Final podium: " if final else "Podium so far: ", keep=so_far)
        else:
            podium.show(projected)
        self._show_page(rows[3:], len(rows), keys)

    def _page_layout(self) -> tuple[int, int, int]:
        """(columns, lines, width) of the paged list."""
        region = self.query_one("#wall-rest", TextPanel)
        width, height = region.size.width or self.app.size.width, region.size.height
        return *page_layout(width, height), width

    def page_window(self, players: int) -> tuple[int, int]:
        """(first, count) of the rows the page shown holds (the paged list comes after the top three), on a
        board of `players`: what a replay fetches."""
        columns, lines, _ = self._page_layout()
        per_page = columns * lines
        pages = max(1, -(-(players - 3) // per_page))
        return 3 + self.page % pages * per_page, per_page

    def _show_page(self, rest: list[BoardRow | None], players: int, keys: str) -> None:
        columns, lines, width = self._page_layout()
        pages = pages_of(rest, columns * lines)
        self.page %= len(pages)
        self.query_one("#wall-rest", TextPanel).update(page_text(pages[self.page], columns, lines, width), layout=False)
        foot = Text(f" page {self.page + 1}/{len(pages)} · {players} players   {keys}", "bold")
        self.query_one("#wall-foot", TextPanel).update(foot, layout=False)
