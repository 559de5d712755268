"""The leaders' scores over the session, as a line chart (plotext through textual-plotext)."""
from __future__ import annotations

from textual_plotext import PlotextPlot

from ..live import CHART_LEADERS, LiveBoard, printable
from ..session_clock import session_start


class LeadersChart(PlotextPlot):
    DEFAULT_CSS = """
    LeadersChart { min-height: 8; }
    """

    def show(self, live: LiveBoard) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        if live.board is None or not live.board.entries:
            plt.title("Leaders: no scores yet")
            self.refresh()
            return
        start = session_start(live.board.session) or live.board.session.OpeningTime.timestamp()
        minutes = live.board.fetched_at - start >= 180  # seconds on the axis for the first three minutes
        scale = 60 if minutes else 1
        for entry in live.board.entries[:CHART_LEADERS]:
            points = live.history.series.get(entry.Nickname)
            if not points:
                continue
            xs = [(t - start) / scale for t, _ in points]
            ys = [score for _, score in points]
            plt.plot(xs, ys, label=printable(entry.Nickname)[:16], marker="braille")
        plt.title("Leaders' scores")
        plt.xlabel("minutes" if minutes else "seconds")
        self.refresh()
