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

    def show_final(self, rows: list[BoardRow]) -> None:
        """The final podium: the top three of the last board."""
        self.display = bool(rows)
        if rows:
            self.show_text(final_podium_text(rows[:3]))


def final_podium_text(rows: list[BoardRow]) -> Text:
    text = Text("Final podium: ", "bold")
    for place, row in enumerate(rows):
        text.append(f"{MEDALS[place]} ", "bold yellow")
        text.append(printable(row.nickname), "bold")
        text.append(f" {row.score:,}  ")
    return text
