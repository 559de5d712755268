"""The projected final podium of a time-constrained session: each leader's recent scoring rate, kept up."""
from __future__ import annotations

from rich.text import Text

from ..live import BoardRow, Projection, printable
from .text_panel import TextPanel

MEDALS = ("1st", "2nd", "3rd")


def podium_text(podium: list[Projection]) -> Text:
    text = Text("Projected podium: ", "bold")
    for place, projection in enumerate(podium):
        text.append(f"{MEDALS[place]} ", "bold yellow")
        text.append(printable(projection.nickname), "bold")
        rate = "" if projection.rate is None else f" {projection.rate:,.1f}/s"
        text.append(f" {projection.projected:,} (now {projection.score:,}{rate})  ")
    return text


class Podium(TextPanel):
    DEFAULT_CSS = """
    Podium { height: auto; padding: 0 1; }
    """

    def show(self, podium: list[Projection] | None) -> None:
        self.display = bool(podium)
        if podium:
            self.show_text(podium_text(podium))

    def show_final(self, rows: list[BoardRow | None], title: str = "Final podium: ", keep: bool = False) -> None:
        """The final podium: the top three of the last board (a replay's podium so far: of the board shown).
        `keep`: the line stays, also with nobody on the board (a replay's, see screens/replay.py)."""
        self.display = bool(rows) or keep
        if rows or keep:
            self.show_text(final_podium_text(rows[:3], title))


def final_podium_text(rows: list[BoardRow | None], title: str = "Final podium: ") -> Text:
    text = Text(title, "bold")
    for place, row in enumerate(rows):
        if row is None:
            continue
        text.append(f"{MEDALS[place]} ", "bold yellow")
        text.append(printable(row.nickname), "bold")
        text.append(f" {row.score:,}  ")
    return text
