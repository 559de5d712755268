"""The contract's ranking, the same on every backend: Score desc, Lives desc, Shots asc, Nickname asc;
the top 10 for players, everyone for the manager; a player's newest record counts, older ones never
move them back."""

from __future__ import annotations

from behaviour_drivers import unique

from spaceinvaders_backend.core.ranking import Entry, ranked


def test_board_and_top_10_follow_the_contracts_order(game):
    d = game.driver
    sid = d.open("MULTIPLE_TRIALS")
    players = game.seated(12)
    # ties on score, then lives, then shots, then only the name
    stats = [
        (200, 3, 10),
        (200, 3, 5),
        (200, 2, 1),
        (300, 1, 50),
        (200, 3, 5),
        (10, 3, 0),
        (0, 3, 0),
        (200, 1, 0),
        (150, 3, 7),
        (150, 3, 7),
        (90, 2, 2),
        (1000, 0, 99),
    ]
    for p, (score, lives, shots) in zip(players, stats, strict=True):
        assert game.play(p, sid, score, lives=lives, shots=shots) == 200
    d.settle()
    expected = [
        e.as_dict() for e in ranked(Entry(p.name, s, sh, 1, lv) for p, (s, lv, sh) in zip(players, stats))
    ]
    assert d.board(sid) == expected
    assert d.top(players[0], sid) == expected[:10]


def test_newest_record_of_a_trial_counts_not_the_highest(game):
    d = game.driver
    sid = d.open("MULTIPLE_TRIALS")
    (p,) = game.seated(1)
    t = game.tick()
    game.play(p, sid, 300, ts=t + 3)
    game.play(p, sid, 100, ts=t + 1)  # arrives late, stamped earlier: ignored
    game.play(p, sid, 200, ts=t + 2)
    d.settle()
    assert [e["Score"] for e in d.board(sid)] == [300]
    game.play(p, sid, 250, ts=t + 4)  # newer and lower: the current trial moved on
    d.settle()
    assert [e["Score"] for e in d.board(sid)] == [250]


def test_a_session_with_no_records_has_an_empty_board(game):
    d = game.driver
    sid = d.open("SINGLE_TRIAL")
    (p,) = game.seated(1)
    assert d.board(sid) == [] and d.top(p, sid) == []
    assert unique("x") not in {e["Nickname"] for e in d.board(sid)}
