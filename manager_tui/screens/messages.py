"""Messages between the app and its screens."""
from __future__ import annotations

from textual.message import Message


class BoardRefreshed(Message, bubble=False):
    """A refresh ended (a new board, or a failure kept the last one): redraw from `app.live`.

    `started`/`fetched` (perf_counter) time a successful refresh: the screen hands them back to
    `app.record_refresh` once it has drawn the new board.
    """

    def __init__(self, started: float | None = None, fetched: float | None = None) -> None:
        super().__init__()
        self.started = started
        self.fetched = fetched

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, BoardRefreshed)  # only the newest matters
