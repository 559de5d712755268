"""The local stream processor's board: what the manager's scoreboard shows is what was saved and counted."""
from __future__ import annotations

from spaceinvaders_backend.core.ranking import Entry
from spaceinvaders_backend.local.stream import SessionStream


def test_a_record_applied_but_not_yet_saved_is_not_on_the_ranked_board():
    # The processor applies a round's records, saves them (an await), then counts and places them. A board
    # asked for during the save showed the round's players while the record count was still 0.
    stream = SessionStream()
    stream.board.apply("ann", Entry("ann", 70, 9, 1, 3), 1.0)
    assert stream.board.ranking.top() == [] and stream.records == 0
    stream.records += 1  # after the save, as the processor does
    stream.board.place("ann")
    assert [e.nickname for e in stream.board.ranking.top()] == ["ann"]
