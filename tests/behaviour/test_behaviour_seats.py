"""Seats, the same on every backend: a full session refuses, a freed seat is taken again, allocating while
seated keeps the seat, nobody takes or frees a seat or posts for somebody else, and the records of a
player without a seat are not counted."""

from __future__ import annotations


def test_seats_fill_free_and_refill(game):
    d = game.driver
    sid = d.open("MULTIPLE_TRIALS", seats=2)
    a, b = game.seated(2)
    c = d.player()
    code, body = d.allocate(c)
    assert (code, body["errorCode"]) == (422, "NoSeatsAvailable")
    assert d.allocate(a) == (200, {"successMessage": "Keep playing."})
    assert d.seats(sid) == {"playing": {a.name, b.name}, "finished": set(), "occupied": 2}
    assert d.deallocate(a)[0] == 200
    assert d.deallocate(a)[0] == 200  # not seated: still fine
    assert d.allocate(c)[0] == 200
    assert d.seats(sid)["playing"] == {b.name, c.name}


def test_nobody_acts_for_somebody_else(game):
    d = game.driver
    sid = d.open("MULTIPLE_TRIALS")
    a, b = game.seated(2)
    assert d.allocate(a, username=b.name)[0] == 403
    assert game.play(a, sid, 999, nickname=b.name) == 403
    d.settle()
    assert d.board(sid) == []


def test_records_of_players_without_a_seat_do_not_count(game):
    d = game.driver
    sid = d.open("MULTIPLE_TRIALS")
    (seated,) = game.seated(1)
    outsider = d.player()
    assert game.play(outsider, sid, 500) in (200, 409)  # refused at once, or accepted and dropped
    assert game.play(seated, sid, 5) == 200
    d.settle()
    assert [e["Nickname"] for e in d.board(sid)] == [seated.name]
