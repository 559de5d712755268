"""The manager's operations on the AWS stack, for synchronous tests: the stores the manager's console and
the functions share (`spaceinvaders_backend.aws`), with the test's boto3 clients.

Answers are the session documents of the contract (`Session.document()`), with `Status` and
`OccupiedSeats` where the test reads the stored item; refusals are the core's `ApiError`.
"""

from __future__ import annotations

import time

import boto3

from spaceinvaders_backend.aws import board_store, push, seat_store, session_store
from spaceinvaders_backend.aws.config import StackNames
from spaceinvaders_backend.core.sessions import FINISHED, PLAYING


class StoreManager:
    def __init__(self, stack) -> None:
        self.stack = stack
        clients: dict[str, object] = {}

        def client(service: str, endpoint_url: str | None = None):
            if (service, endpoint_url) not in clients:
                clients[(service, endpoint_url)] = boto3.client(
                    service, region_name=stack.region, endpoint_url=endpoint_url
                )
            return clients[(service, endpoint_url)]

        self.names = StackNames.from_tables(stack.env, stack.tables, client)

    def current(self) -> dict | None:
        stored = session_store.current(self.names, fresh=True)
        if stored is None:
            return None
        return {**stored.session.document(), "Status": stored.status, "OccupiedSeats": stored.occupied}

    def open(
        self,
        name: str,
        game_type: str,
        synchronized: bool = False,
        timeout_minutes: int | None = None,
        total_seats: int = 200,
    ) -> dict:
        opened = session_store.open_session(
            self.names, name, game_type, synchronized, time.time(), timeout_minutes, total_seats
        )
        return opened.document()

    def reopen(self, name: str, game_type: str, **kw) -> dict:
        """Close whatever is open, then open a new session (tests start each from a clean slate)."""
        current = self.current()
        if current is not None and current["Status"] == "OPEN":
            self.close()
        return self.open(name, game_type, **kw)

    def start(self, countdown: float = 5.0) -> dict:
        return push.start_and_announce(self.names, countdown, time.time()).document()

    def close(self, closing_time: float | None = None) -> dict:
        """Close the current session, now or at `closing_time` (a test's moment in the session's past)."""
        return session_store.close(self.names, time.time() if closing_time is None else closing_time).document()

    def board(self, session_id: str) -> list[dict]:
        return [line.entry() for line in board_store.ranking(self.names, session_id)]

    def seats(self, session_id: str) -> dict:
        seats = seat_store.seats(self.names, session_id)
        stored = session_store.read(self.names, session_id)
        return {
            "playing": {seat.username for seat in seats if seat.state == PLAYING},
            "finished": {seat.username for seat in seats if seat.state == FINISHED},
            "occupied": stored.occupied,
        }
