"""The sidebar: the session's top 10 with the player's own line highlighted, and their rank below it."""
from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.widget import Widget

from api_client import RankedEntry, ScoreEntry

BOARD_SIZE = 10


def _fit(name: str, width: int) -> str:
    return name if len(name) <= width else name[: max(0, width - 1)] + "~"


class TopTen(Widget):
    COMPONENT_CLASSES: ClassVar[set[str]] = {"top-ten--title", "top-ten--me", "top-ten--dim"}
    DEFAULT_CSS = """
    TopTen { width: 24; height: 1fr; padding: 0 0 0 1; border-left: solid $success 40%;
             background: $background; color: $foreground; }
    TopTen > .top-ten--title { color: $error; text-style: bold; }
    TopTen > .top-ten--me { color: $background; background: $success; text-style: bold; }
    TopTen > .top-ten--dim { color: $foreground 60%; }
    """

    def __init__(self, me: str | None, *, title: str = "", ascii_only: bool = False, id: str | None = None) -> None:
        super().__init__(id=id)
        self.me = me
        self.rule = "-" if ascii_only else "─"
        self.title = title
        self.entries: list[ScoreEntry] = []
        self.caller: RankedEntry | None = None
        self.offline_best: int | None = None  # offline play: show the local best instead of a board

    def show_board(self, entries: list[ScoreEntry], caller: RankedEntry | None) -> None:
        self.entries = entries[:BOARD_SIZE]
        self.caller = caller
        self.refresh()

    def show_offline(self, best: int) -> None:
        self.offline_best = best
        self.refresh()

    @property
    def my_rank(self) -> int | None:
        """The player's rank: their line in the top 10, else the backend's `Caller`, else unknown."""
        for rank, entry in enumerate(self.entries, 1):
            if entry.Nickname == self.me:
                return rank
        return self.caller.Rank if self.caller is not None else None

    def render(self) -> Text:
        width = max(8, self.content_size.width)
        title = self.get_component_rich_style("top-ten--title")
        dim = self.get_component_rich_style("top-ten--dim")
        text = Text(no_wrap=True, overflow="crop")
        if self.offline_best is not None:
            text.append("OFFLINE\n", style=title)
            text.append("Scores stay on this\nmachine.\n\n", style=dim)
            text.append(f"BEST {self.offline_best:06d}")
            return text
        text.append("TOP 10\n", style=title)
        text.append(_fit(self.title, width) + "\n", style=dim)
        me_style = self.get_component_rich_style("top-ten--me")
        name_width = width - 11
        for rank in range(1, BOARD_SIZE + 1):
            if rank <= len(self.entries):
                entry = self.entries[rank - 1]
                line = f"{rank:>2} {_fit(entry.Nickname, name_width):<{name_width}} {entry.Score:>7}"
                text.append(line.ljust(width), style=me_style if entry.Nickname == self.me else None)
            else:
                text.append(f"{rank:>2} " + "." * 3, style=dim)
            text.append("\n")
        text.append(self.rule * width + "\n", style=dim)
        rank = self.my_rank
        if rank is not None and rank <= BOARD_SIZE:
            text.append(f"YOU  #{rank}")
        elif self.caller is not None:
            text.append(f"YOU  #{self.caller.Rank}  {self.caller.Score}", style=me_style)
        else:
            text.append("YOU  not in the top 10", style=dim)
        return text
