"""The heads-up line above the field: score, best, level, shots, lives and, in a timed session, time left."""
from __future__ import annotations

from rich.text import Text
from textual.widget import Widget


def clock(seconds: float) -> str:
    seconds = max(0, int(seconds + 0.999))
    return f"{seconds // 60}:{seconds % 60:02d}"


class Hud(Widget):
    DEFAULT_CSS = """
    Hud { height: 1; width: 1fr; background: $background; color: $foreground; }
    """

    def __init__(self, *, ascii_only: bool = False, id: str | None = None) -> None:
        super().__init__(id=id)
        self.ascii_only = ascii_only
        self.values: tuple = ()

    def show(self, score: int, best: int, level: int, shots: int, lives: int, time_left: float | None) -> None:
        values = (score, best, level, shots, lives, None if time_left is None else clock(time_left))
        if values != self.values:
            self.values = values
            self.refresh()

    def render(self) -> Text:
        if not self.values:
            return Text("")
        score, best, level, shots, lives, time_left = self.values
        text = Text(no_wrap=True, overflow="crop")
        marker = "^" if self.ascii_only else "▲"
        fields = [("SCORE", f"{score:06d}"), ("HI-SCORE", f"{max(best, score):06d}"), ("LEVEL", str(level)),
                  ("SHOTS", str(shots)), ("LIVES", f"{lives} {marker * min(lives, 5)}".rstrip())]
        if time_left is not None:
            fields.append(("TIME", time_left))
        for i, (label, value) in enumerate(fields):
            if i:
                text.append("  ")
            text.append(label + " ", style="dim")
            text.append(value, style="bold")
        return text
