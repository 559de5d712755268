"""A synchronized session, the same on every backend: nothing counts before the manager's start."""

from __future__ import annotations


def test_records_count_from_the_synchronized_start(game):
    d = game.driver
    sid = d.open("MULTIPLE_TRIALS", synchronized=True)
    (p,) = game.seated(1)
    assert game.play(p, sid, 70) in (200, 409)  # refused at once, or accepted and dropped
    d.settle()
    assert d.board(sid) == []
    d.start(countdown=0)
    assert game.play(p, sid, 80) == 200
    d.settle()
    assert [e["Score"] for e in d.board(sid)] == [80]
