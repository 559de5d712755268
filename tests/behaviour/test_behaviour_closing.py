"""Closing, the same on every backend: a closed session takes no seats and counts no more records, and its
board stays as it was."""

from __future__ import annotations


def test_a_closed_session_keeps_its_board_and_takes_nothing_more(game):
    d = game.driver
    sid = d.open("MULTIPLE_TRIALS")
    a, b = game.seated(2)
    game.play(a, sid, 40)
    d.settle()
    d.close()
    late = d.player()
    code, body = d.allocate(late)
    assert (code, body["errorCode"]) == (422, "SessionClosed")
    assert game.play(a, sid, 4000) in (200, 409)
    assert game.play(b, sid, 50) in (200, 409)
    d.settle()
    assert d.board(sid) == [{"Nickname": a.name, "Score": 40, "Shots": 0, "Level": 1, "Lives": 3}]
    assert d.top(a, sid) == d.board(sid)
    following = d.open("MULTIPLE_TRIALS")
    assert following != sid and d.allocate(late)[0] == 200
