"""The leaders' scores over the session, as a line chart (plotext through textual-plotext).

Plotext draws the whole canvas in Python (tens of ms for a large one), so the chart is redrawn at most
every CHART_SECONDS and its drawing is kept for repaints that change nothing (a layout of the screen,
another widget's update).
"""
from __future__ import annotations

from textual.app import RenderResult
from textual_plotext import PlotextPlot

from ..live import CHART_LEADERS, LiveBoard, printable
from ..session_clock import session_start

CHART_SECONDS = 3.0
SOON_SECONDS = 1.0  # after `redraw_next`: soon, but a replay started again and again is not redrawn at each start
MAX_POINTS = 240  # per line: more than a chart's width in braille dots adds nothing visible


class LeadersChart(PlotextPlot):
    DEFAULT_CSS = """
    LeadersChart { min-height: 8; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._version = 0
        self._drawn: tuple[str, float] | None = None  # (session, board time) of the data drawn
        self._gap = CHART_SECONDS  # the least time between two drawings (shorter after `redraw_next`)
        self._rendered: tuple[object, RenderResult] | None = None

    def show(self, live: LiveBoard, drawn_at: float | None = None) -> None:
        """Draw the leaders' history; at most every CHART_SECONDS of `drawn_at` (default: the board's
        time; a replay, whose boards' time runs fast, gives the wall clock)."""
        board = live.board
        when = board.fetched_at if board is not None and drawn_at is None else drawn_at
        if board is not None and self._drawn is not None and self._drawn[0] == board.session.SessionId \
                and when is not None and 0 <= when - self._drawn[1] < self._gap:
            return
        self._gap = CHART_SECONDS
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        self._version += 1
        if board is None or not board.entries:
            self._drawn = None
            plt.title("Leaders: no scores yet")
            self.refresh()
            return
        self._drawn = (board.session.SessionId, board.fetched_at if drawn_at is None else drawn_at)
        start = session_start(board.session) or board.session.OpeningTime.timestamp()
        minutes = board.fetched_at - start >= 180  # seconds on the axis for the first three minutes
        scale = 60 if minutes else 1
        for entry in board.entries[:CHART_LEADERS]:
            points = list(live.history.series.get(entry.Nickname, ()))
            if not points:
                continue
            points = points[:: max(1, len(points) // MAX_POINTS)] + points[-1:]
            plt.plot([(t - start) / scale for t, _ in points], [score for _, score in points],
                     label=printable(entry.Nickname)[:16], marker="braille")
        plt.title("Leaders' scores")
        plt.xlabel("minutes" if minutes else "seconds")
        self.refresh()

    def redraw_next(self) -> None:
        """A `show` draws soon: the next one at least SOON_SECONDS after the last drawing (a replay moved to
        another moment)."""
        self._gap = SOON_SECONDS

    def render(self) -> RenderResult:
        key = (self.size, self._version, self.app.theme)
        if self._rendered is None or self._rendered[0] != key:
            self._rendered = (key, super().render())
        return self._rendered[1]
