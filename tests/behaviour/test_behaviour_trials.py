"""Trials, the same on every backend: in MULTIPLE_TRIALS a player's best trial stays on the board and a
last life lets them play again; in a single-trial session the last life, or leaving after having played,
ends their play."""

from __future__ import annotations

import pytest


def test_best_trial_stays_on_the_board(game):
    d = game.driver
    sid = d.open("MULTIPLE_TRIALS")
    (p,) = game.seated(1)
    game.play(p, sid, 100)
    game.play(p, sid, 150, lives=0)
    d.settle()
    assert d.seats(sid)["finished"] == {p.name}
    code, body = d.allocate(p)
    assert code == 200, body  # another trial
    game.play(p, sid, 80, lives=2)
    d.settle()
    assert [(e["Score"], e["Lives"]) for e in d.board(sid)] == [(150, 0)]
    game.play(p, sid, 400, lives=1)
    d.settle()
    assert [(e["Score"], e["Lives"]) for e in d.board(sid)] == [(400, 1)]
    assert d.seats(sid)["playing"] == {p.name}


@pytest.mark.parametrize("game_type", ["SINGLE_TRIAL", "TIME_CONSTRAINED"])
def test_single_trial_sessions_give_one_game(game, game_type):
    d = game.driver
    sid = d.open(game_type)
    lost, quitter, shy = game.seated(3)
    game.play(lost, sid, 70, lives=0)
    game.play(quitter, sid, 30)
    d.settle()
    assert d.deallocate(quitter)[0] == 200  # leaves after having played
    assert d.deallocate(shy)[0] == 200  # leaves without having posted
    seats = d.seats(sid)
    assert seats["finished"] == {lost.name, quitter.name}
    assert seats["playing"] == set() and seats["occupied"] == 0
    for p in (lost, quitter):
        code, body = d.allocate(p)
        assert (code, body["errorCode"]) == (422, "GamerCannotPlay")
    assert d.allocate(shy)[0] == 200  # never played: may take a seat again
    assert {e["Nickname"]: e["Score"] for e in d.board(sid)} == {lost.name: 70, quitter.name: 30}
