"""The playfield: one Line-API widget drawing the engine's text frame, coloured by the arcade's overlay.

Each frame `update_frame()` asks the engine for its text lines (`render.draw`), compares them with the
previous frame's and marks only the changed lines dirty, so Textual calls `render_line` for those
alone. Strips are cached by (text, band): the formation's and shields' lines repeat, and the blank
lines are shared. The field is centred in the widget and drawn at scale 2 (every cell 2 x 2
characters) when the widget is big enough; a banner (PAUSED, GAME OVER...) can sit over the middle.
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget

from spaceinvaders_engine import FIELD_HEIGHT, FIELD_WIDTH, Game, render
from spaceinvaders_engine.geometry import BANDS

BAND_CLASSES = {name: f"playfield--{name}" for name, _, _ in BANDS}
GROUND_CLASS = "playfield--ground"
BANNER_CLASS = "playfield--banner"
STRIP_CACHE_SIZE = 1024


def band_of_row(row: int) -> str:
    for name, first, last in BANDS:
        if first <= row <= last:
            return name
    return BANDS[-1][0]


class Playfield(Widget):
    """Draws a `Game`; call `update_frame()` after stepping it."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {*BAND_CLASSES.values(), GROUND_CLASS, BANNER_CLASS}
    DEFAULT_CSS = """
    Playfield { width: 1fr; height: 1fr; background: $background; }
    Playfield > .playfield--mystery { color: $error; }
    Playfield > .playfield--formation { color: $foreground; }
    Playfield > .playfield--defence { color: $success; }
    Playfield > .playfield--ground { color: $success; }
    Playfield > .playfield--banner { color: $warning; text-style: bold reverse; }
    """

    def __init__(self, game: Game, *, style: str = "unicode", on_paint: Callable[[], None] | None = None,
                 id: str | None = None) -> None:
        super().__init__(id=id)
        self.game = game
        self.style_name = style
        self.banner: str | None = None
        self.scale = 1
        self.frames = 0  # frames that changed at least one line
        self.lines_refreshed = 0
        self._lines: list[str] = []  # the text of the last frame, field lines then the ground
        self._spans: dict[int, tuple[int, int]] = {}  # banner columns by line
        self._origin = (0, 0)
        self._strips: OrderedDict[tuple, Strip] = OrderedDict()
        self._styles: dict[str, Style] = {}
        self.on_paint = on_paint  # called when Textual draws a line of a new frame (the frames' log)
        self._painted = 0

    # --- what to draw -----------------------------------------------------------------------------
    def show(self, game: Game) -> None:
        """Draw another game (a new trial)."""
        self.game = game
        self.update_frame()

    def set_banner(self, text: str | None) -> None:
        if text != self.banner:
            self.banner = text
            self.update_frame()

    def field_size(self, scale: int) -> Size:
        return Size(FIELD_WIDTH * scale, FIELD_HEIGHT * scale + 1)  # the field and the ground line

    def _frame_lines(self) -> tuple[list[str], dict[int, tuple[int, int]]]:
        """The frame's text lines (field, then the ground) and where the banner sits on its lines."""
        scale = self.scale
        lines = render.draw(self.game, self.style_name, scale)
        lines.append(("─" if self.style_name == "unicode" else "=") * FIELD_WIDTH * scale)
        spans: dict[int, tuple[int, int]] = {}
        if self.banner:
            parts = self.banner.split("\n")
            top = (FIELD_HEIGHT * scale - len(parts)) // 2
            for i, part in enumerate(parts):
                row, text = top + i, f" {part} "
                line = lines[row]
                left = max(0, (len(line) - len(text)) // 2)
                lines[row] = (line[:left] + text + line[left + len(text):])[:len(line)]
                spans[row] = (left, min(len(line), left + len(text)))
        return lines, spans

    # --- frames -------------------------------------------------------------------------------------
    def on_resize(self) -> None:
        width, height = self.size
        self.scale = 2 if width >= FIELD_WIDTH * 2 and height >= FIELD_HEIGHT * 2 + 1 else 1
        field = self.field_size(self.scale)
        self._origin = (max(0, (width - field.width) // 2), max(0, (height - field.height) // 2))
        self._lines = []
        self._strips.clear()
        self.update_frame()  # a full refresh: the line count changed

    def update_frame(self) -> int:
        """Draw the game's current state; answers how many lines changed."""
        if not self.size.area:
            return 0
        lines, self._spans = self._frame_lines()
        previous = self._lines
        self._lines = lines
        if len(previous) != len(lines):
            self.refresh()
            changed = len(lines)
        else:
            y0 = self._origin[1]
            width = self.size.width
            regions = [Region(0, y0 + y, width, 1) for y, (old, new) in enumerate(zip(previous, lines, strict=True))
                       if old != new]
            changed = len(regions)
            if regions:
                self.refresh(*regions)
        if changed:
            self.frames += 1
            self.lines_refreshed += changed
        return changed

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()
        self._strips.clear()

    def _style(self, component: str) -> Style:
        style = self._styles.get(component)
        if style is None:
            style = self._styles[component] = self.get_component_rich_style(component)
        return style

    def render_line(self, y: int) -> Strip:
        if self.on_paint is not None and self._painted != self.frames:
            self._painted = self.frames
            self.on_paint()
        row = y - self._origin[1]
        width = self.size.width
        if not 0 <= row < len(self._lines):
            return self._strip("", "blank", width, None)
        if row == len(self._lines) - 1:
            component = GROUND_CLASS
        else:
            component = BAND_CLASSES[band_of_row(row // self.scale)]
        return self._strip(self._lines[row], component, width, self._spans.get(row))

    def _strip(self, text: str, component: str, width: int, banner: tuple[int, int] | None) -> Strip:
        key = (text, component, width, banner)
        strip = self._strips.get(key)
        if strip is not None:
            self._strips.move_to_end(key)
            return strip
        base = self.rich_style
        x0 = self._origin[0]
        segments = [Segment(" " * x0, base)] if x0 else []
        if text:
            style = base + self._style(component)
            if banner is None:
                segments.append(Segment(text, style))
            else:
                start, end = banner
                segments += [Segment(text[:start], style), Segment(text[start:end], style + self._style(BANNER_CLASS)),
                             Segment(text[end:], style)]
        strip = Strip(segments).extend_cell_length(width, base).crop(0, width)
        self._strips[key] = strip
        if len(self._strips) > STRIP_CACHE_SIZE:
            self._strips.popitem(last=False)
        return strip
