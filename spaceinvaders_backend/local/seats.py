"""The seats of the current session, in memory: who plays, who finished, and what decides idleness.

The backend changes seats (allocate, deallocate, idle) after persisting the change; the stream processor
tells it when a player's last life went (`trial_ended`). Both are given the same `Seats`. While a seat taken
waits for its commit it is reserved (`reserve`): counted as taken, so that the last seat goes to one player
only, but not yet the player's to post from.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable

from ..core.sessions import FINISHED, PLAYING


def _nothing() -> None:
    pass


class Seats:
    def __init__(self) -> None:
        self.session_id: str | None = None
        self._state: dict[str, str] = {}  # username -> PLAYING or FINISHED
        self._seated_at: dict[str, float] = {}
        self._last_seen: dict[str, float] = {}
        self._posted: set[str] = set()  # posted since taking the seat
        self._last_life: dict[str, int] = {}  # username -> seq of its newest Lives-0 post
        self.on_change: Callable[[], None] = _nothing  # seats taken or freed (the room's advertisement)
        self._reserved: set[str] = set()  # seats taken whose commit is pending

    def reset(self, session_id: str, stored: Iterable[tuple[str, str | None, bool]], now: float) -> None:
        """The seats of a session that just became current, from its stored (username, state, played)."""
        self.session_id = session_id
        self._state, self._seated_at, self._posted, self._reserved = {}, {}, set(), set()
        for username, state, played in stored:
            if state:
                self._state[username] = state
            if state == PLAYING:
                self._seated_at[username] = now
                self._last_seen[username] = now  # a restart gives everyone a fresh idle allowance
            if played:
                self._posted.add(username)
        self.on_change()

    def state(self, username: str) -> str | None:
        return self._state.get(username)

    def occupied(self) -> int:
        # The PLAYING players and the seats reserved for a commit: every waiting player's /session asks.
        return len(self._seated_at) + len(self._reserved)

    def playing(self) -> list[str]:
        return sorted(u for u, s in self._state.items() if s == PLAYING)

    def finished(self) -> list[str]:
        return sorted(u for u, s in self._state.items() if s == FINISHED)

    def last_seen(self) -> dict[str, float]:
        """When each seated player was last seen: took or kept the seat, or posted a status."""
        return {u: self._last_seen.get(u, 0.0) for u, s in self._state.items() if s == PLAYING}

    def spelling(self, username: str) -> str:
        """The name as seated, for a name written in any case (names are one account in any case)."""
        if username in self._state:
            return username
        folded = username.lower()
        return next((u for u in self._state if u.lower() == folded), username)

    def has_posted(self, username: str) -> bool:
        return username in self._posted

    # --- changes --------------------------------------------------------------------------------------

    def posted(self, username: str, now: float, seq: int, last_life: bool) -> None:
        """An accepted status: the player is active; a last life frees the seat once it is processed."""
        self._last_seen[username] = now
        self._posted.add(username)
        if last_life:
            self._last_life[username] = seq

    def pending_last_life(self, username: str) -> int | None:
        """The seq of a last life posted since the previous allocate, if any (forgotten once asked)."""
        return self._last_life.pop(username, None)

    def reserve(self, username: str) -> None:
        """A seat is taken for `username` while its commit is pending: counted in `occupied` only."""
        self._reserved.add(username)

    def unreserve(self, username: str) -> None:
        self._reserved.discard(username)

    def keep(self, username: str, now: float) -> None:
        self._last_seen[username] = now

    def sit(self, username: str, now: float) -> None:
        self._state[username] = PLAYING
        self._seated_at[username] = self._last_seen[username] = now
        self._posted.discard(username)
        self.on_change()

    def leave(self, username: str, state: str | None) -> None:
        """The seat is freed; the player is then FINISHED or nothing (`core.sessions.seat_after_leaving`)."""
        if state is None:
            self._state.pop(username, None)
        else:
            self._state[username] = state
        self._seated_at.pop(username, None)
        self.on_change()

    def trial_ended(self, session_id: str, username: str, received_at: float) -> bool:
        """The processor saw a player's last life (received at `received_at`): free the seat, unless they
        took a new one since. Answers whether the player is now finished (for a past session, always)."""
        if session_id != self.session_id:
            return True
        if self._state.get(username) == PLAYING and self._seated_at.get(username, 0.0) > received_at:
            return False
        self.leave(username, FINISHED)
        return True

    def is_idle(self, username: str, cutoff: float) -> bool:
        return self._state.get(username) == PLAYING and self._last_seen.get(username, 0.0) < cutoff

    def idle(self, cutoff: float) -> list[str]:
        """Seated players not seen since `cutoff`."""
        return [u for u, s in self._state.items() if s == PLAYING and self._last_seen.get(u, 0.0) < cutoff]
