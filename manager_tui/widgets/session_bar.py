"""The session's line at the top of the console: name, game, phase, clock, seats, players and figures."""
from __future__ import annotations

from rich.text import Text

from api_client import GameType, Session

from ..live import LiveBoard, printable
from ..session_clock import SessionPhase, clock_text, seconds_to_start, session_phase, time_left
from .text_panel import TextPanel

PHASE_STYLES = {SessionPhase.RUNNING: "bold black on green", SessionPhase.COUNTDOWN: "bold black on yellow",
                SessionPhase.WAITING: "bold black on cyan", SessionPhase.TIME_UP: "bold white on red",
                SessionPhase.CLOSED: "bold white on grey37"}


GAMES = {GameType.MULTIPLE_TRIALS: "multiple trials", GameType.SINGLE_TRIAL: "single trial",
         GameType.TIME_CONSTRAINED: "timed"}


def game_text(session: Session) -> str:
    game = GAMES.get(session.GameType, session.GameType.lower())
    if session.TimeoutInMinutes:
        game += f" {session.TimeoutInMinutes} min"
    return game + (" · sync" if session.Synchronized else "")


def clock_of(live: LiveBoard, now: float) -> tuple[str, str] | None:
    """("starts in", "0:04") or ("left", "3:12") for the session's clock, None when it has none."""
    if live.board is None:
        return None
    session, at = live.board.session, live.backend_now(now)
    wait = seconds_to_start(session, at)
    if wait is not None:
        return "starts in", clock_text(wait)
    left = time_left(session, at)
    return None if left is None else ("left", clock_text(left))


def figures_text(live: LiveBoard, now: float, width: int = 0) -> Text:
    """Seats and players │ posts/s │ delay on one line; when that is wider than `width` (0: unknown), each
    group on a line of its own, so a narrow screen never breaks a figure from its unit."""
    figures = live.tracker.figures
    if figures is None:
        return Text()
    rate = "–" if figures.posts_per_second is None else f"{figures.posts_per_second:,.0f}"
    delay = "–" if figures.delay is None else f"{figures.delay:.2f} s"
    seats = Text()
    seats.append(f"seats {figures.seats_taken}/{figures.seats_total} ")
    seats.append(f"playing {figures.playing} ", "green")
    seats.append(f"idle {figures.idle} ", "bold yellow" if figures.idle else "")
    seats.append(f"finished {figures.finished} ")
    seats.append(f"board {figures.players}")
    groups = [seats, Text(f"{rate} posts/s", "bold"), Text(f"delay {delay}", "bold")]
    one_line = Text(" │ ").join(groups)
    if not width or one_line.cell_len <= width:
        return one_line
    return Text("\n").join(groups)


class SessionBar(TextPanel):
    DEFAULT_CSS = """
    SessionBar { height: auto; padding: 0 1; background: $panel; }
    """

    def show(self, live: LiveBoard, now: float, stale_after: float = float("inf")) -> None:
        """The session's line at `now`; a board older than `stale_after` seconds (or after a failed
        refresh) says how old it is, counted from the last good board."""
        text = Text(no_wrap=False)
        if live.board is None:
            text.append("no session yet: press o to open one, l for the list", "bold")
            self.show_text(text)
            return
        session = live.board.session
        phase = session_phase(session, live.backend_now(now))
        text.append(printable(session.SessionId), "bold")
        text.append(f"  {game_text(session)}  ")
        text.append(f" {phase} ", PHASE_STYLES.get(phase, "bold"))
        clock = clock_of(live, now)
        if clock is not None:
            text.append(f"  {clock[0]} ")
            text.append(clock[1], "bold reverse")
        text.append("\n")
        text.append_text(figures_text(live, now, self.content_size.width))
        age = max(0.0, now - live.board.fetched_at)
        if live.error:
            text.append(f"\n⚠ {live.error} — showing the board of {age:.0f} s ago", "bold red")
        elif age > stale_after:
            text.append(f"\n⚠ no answer yet — showing the board of {age:.0f} s ago", "bold red")
        self.show_text(text)
