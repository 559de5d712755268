"""Player paths and the game rules, through HTTP on a real server shared by the module.

Every test opens its own session (closing whatever the previous test left open) with fresh players.
"""
from __future__ import annotations

import time

from backend_support import assert_error, status_body, unique, wait_until

from spaceinvaders_backend.core.timeutil import parse_iso


def _names(board):
    return [e["Nickname"] for e in board]


def _barrier(manager, api, sid):
    """Once a new player's record is on the board, every record posted before it was processed."""
    b = api.gamer(unique("zz"))
    b.seat()
    b.ok_status(sid, 1)
    manager.wait_entry(sid, b.name, Score=1)


def test_session_document_with_server_time(api, manager):
    opened = manager.open_session("MULTIPLE_TRIALS", TotalSeats=50)
    g = api.gamer()
    for header in (g.token, f"Bearer {g.token}"):
        r = api.http.get("/session", headers={"Authorization": header})
        assert r.status_code == 200, r.text
        doc = r.json()
        assert isinstance(doc, dict)
        server_time = doc.pop("ServerTime")
        assert abs(parse_iso(server_time) - time.time()) < 2
        assert doc.pop("OccupiedSeats") == 0
        assert doc == opened
    assert opened["GameType"] == "MULTIPLE_TRIALS" and opened["Synchronized"] is False
    assert opened["TotalSeats"] == 50 and "ClosingTime" not in opened and "SynchronizeTime" not in opened
    assert abs(parse_iso(opened["OpeningTime"]) - time.time()) < 2
    g.seat()  # the lobby shows the seats still free
    assert g.session()["OccupiedSeats"] == 1
    assert g.deallocate().status_code == 200 and g.session()["OccupiedSeats"] == 0


def test_allocate_and_deallocate(api, manager):
    sid = manager.open_session()["SessionId"]
    a, b = api.gamers(2)
    r = a.allocate()
    assert r.status_code == 200 and set(r.json()) == {"successMessage"} and r.json()["successMessage"]
    assert a.allocate().json() == {"successMessage": "Keep playing."}
    assert_error(a.allocate(b.name), 403, "Forbidden")
    assert_error(a.deallocate(b.name), 403, "Forbidden")
    assert manager.players(sid)["PlayingGamers"] == [a.name]
    assert b.deallocate().status_code == 200  # not seated: still a 200
    assert a.deallocate().status_code == 200
    assert a.deallocate().status_code == 200
    players = manager.players(sid)
    assert players["PlayingGamers"] == [] and players["OccupiedSeats"] == 0
    # MULTIPLE_TRIALS: leaving is no obstacle to coming back, played or not.
    a.seat()
    a.ok_status(sid, 10)
    assert a.deallocate().status_code == 200
    assert a.allocate().json()["successMessage"] != "Keep playing."
    assert manager.players(sid)["PlayingGamers"] == [a.name]


def test_no_seats_available(api, manager):
    sid = manager.open_session("MULTIPLE_TRIALS", TotalSeats=1)["SessionId"]
    a, b = api.gamers(2)
    a.seat()
    assert_error(b.allocate(), 422, "NoSeatsAvailable")
    assert a.allocate().json()["successMessage"] == "Keep playing."  # a full session keeps its own
    a.deallocate()
    b.seat()
    assert_error(a.allocate(), 422, "NoSeatsAvailable")
    players = manager.players(sid)
    assert (players["TotalSeats"], players["OccupiedSeats"], players["PlayingGamers"]) == (1, 1, [b.name])


def test_session_closed(api, manager):
    sid = manager.open_session()["SessionId"]
    a, b = api.gamers(2)
    a.seat()
    a.ok_status(sid, 40)
    manager.wait_entry(sid, a.name, Score=40)
    closed = manager.close_session()
    assert closed["SessionId"] == sid and "ClosingTime" in closed
    assert_error(b.allocate(), 422, "SessionClosed")
    assert_error(a.allocate(), 422, "SessionClosed")
    assert_error(a.status(sid, 50), 409, "SessionClosed")  # records after closing are refused
    assert a.deallocate().status_code == 200
    assert a.session()["ClosingTime"] == closed["ClosingTime"]
    time.sleep(0.3)
    assert [(e["Nickname"], e["Score"]) for e in a.scoreboard(sid)] == [(a.name, 40)]


def test_updatestatus_answer_and_scoreboard(api, manager):
    sid = manager.open_session()["SessionId"]
    a, other = api.gamers(2)
    assert_error(a.status(sid, 1), 409, "NotSeated")
    a.seat()
    seqs = []
    for score in (10, 20):
        body = a.ok_status(sid, score, shots=3, level=2, lives=2)
        assert set(body) == {"SequenceNumber", "ShardId"}
        assert isinstance(body["SequenceNumber"], str) and body["SequenceNumber"].isdigit()
        assert isinstance(body["ShardId"], str) and body["ShardId"]
        seqs.append(int(body["SequenceNumber"]))
    assert seqs[1] > seqs[0]
    start = time.monotonic()
    wait_until(lambda: a.scoreboard(sid) == [{"Nickname": a.name, "Score": 20, "Shots": 3, "Level": 2,
                                              "Lives": 2}], timeout=1.0, what="the record on /scoreboard")
    assert time.monotonic() - start < 1.0
    # Unknown fields are ignored.
    r = a.post("/updatestatus", status_body(sid, a.name, 30, Color="red", Extra={"x": [1, 2]}, Level2=5))
    assert r.status_code == 200, r.text
    manager.wait_entry(sid, a.name, Score=30)
    # Posting for somebody else, or to another session.
    assert_error(a.post("/updatestatus", status_body(sid, other.name, 99)), 403, "Forbidden")
    assert_error(a.status(sid + "-9", 99), 409, "SessionMismatch")
    assert_error(other.status(sid, 99), 409, "NotSeated")
    assert_error(a.status(sid, 5, ts=None, Timestamp="not a time"), 422, "ValidationError")
    assert a.status(sid, 31).status_code == 200  # and the player goes on


def test_scoreboard_top10_in_rank_order(api, manager):
    sid = manager.open_session()["SessionId"]
    tag = unique("r")[:12]
    # (suffix, score, lives, shots): ties on score, then lives, then shots, then nickname.
    plan = [
        ("k", 500, 1, 50),
        ("j", 400, 3, 90),   # 400: more lives first
        ("i", 400, 2, 10),
        ("h", 300, 2, 10),   # 300 and 2 lives: fewer shots first
        ("g", 300, 2, 20),
        ("a", 200, 1, 5),    # full tie: nickname ascending
        ("b", 200, 1, 5),
        ("c", 200, 1, 5),
        ("f", 150, 3, 0),
        ("e", 100, 3, 0),
        ("d", 50, 3, 0),     # 11th and 12th are off the top 10
        ("l", 0, 3, 0),
    ]
    players = {}
    for suffix, score, lives, shots in plan:
        p = api.gamer(tag + suffix)
        p.seat()
        p.ok_status(sid, score, lives=lives, shots=shots, level=7)
        players[suffix] = p
    expected = [tag + s for s in "kjihgabcfedl"]
    full = wait_until(lambda: b if len(b := manager.board(sid)) == 12 else None, what="12 entries")
    assert _names(full) == expected
    by_name = {e["Nickname"]: e for e in full}
    for suffix, score, lives, shots in plan:
        assert by_name[tag + suffix] == {"Nickname": tag + suffix, "Score": score, "Shots": shots, "Level": 7,
                                         "Lives": lives}
    top = players["k"].scoreboard(sid)
    assert top == full[:10]
    assert_error(players["k"].get("/scoreboard"), 400, "MissingParameter")
    # Each caller also learns their own rank, in the top 10 or out of it.
    for rank, suffix in ((1, "k"), (7, "b"), (11, "d"), (12, "l")):
        answer = players[suffix].get("/scoreboard", params={"sessionId": sid}).json()
        assert answer["Caller"] == {"Rank": rank, **full[rank - 1]}
    assert "Caller" not in api.gamer().get("/scoreboard", params={"sessionId": sid}).json()  # not on the board
    stats = manager.get("/manager/scoreboard", params={"sessionId": sid}).json()["Stats"]
    assert stats["Records"] == len(plan) and 0 <= stats["Delay"] < 5


def test_lives_zero_finishes_and_frees_the_seat(api, manager):
    sid = manager.open_session("MULTIPLE_TRIALS", TotalSeats=2)["SessionId"]
    a, b, c = api.gamers(3)
    a.seat()
    b.seat()
    a.ok_status(sid, 70, lives=1)
    a.ok_status(sid, 80, lives=0)
    players = manager.wait_finished(sid, a.name)
    assert players["PlayingGamers"] == [b.name] and players["OccupiedSeats"] == 1
    assert_error(a.status(sid, 90), 409, "NotSeated")
    c.seat()  # the freed seat is free for somebody else
    assert_error(a.allocate(), 422, "NoSeatsAvailable")
    manager.wait_entry(sid, a.name, Score=80, Lives=0)


def test_multiple_trials_best_trial_counts(api, manager):
    sid = manager.open_session("MULTIPLE_TRIALS")["SessionId"]
    p = api.gamer()
    p.seat()
    p.ok_status(sid, 100, lives=1)
    p.ok_status(sid, 900, shots=40, lives=0)  # trial 1 ends high
    manager.wait_finished(sid, p.name)
    manager.wait_entry(sid, p.name, Score=900)
    assert p.allocate().json()["successMessage"] != "Keep playing."  # a new trial
    assert p.name in manager.players(sid)["PlayingGamers"]
    p.ok_status(sid, 50, lives=3)  # the latest, lower
    _barrier(manager, api, sid)
    assert {e["Nickname"]: e["Score"] for e in p.scoreboard(sid)}[p.name] == 900
    p.ok_status(sid, 300, lives=0)  # trial 2 ends lower
    manager.wait_finished(sid, p.name)
    _barrier(manager, api, sid)
    entry = {e["Nickname"]: e for e in manager.board(sid)}[p.name]
    assert (entry["Score"], entry["Shots"], entry["Lives"]) == (900, 40, 0)
    p.seat()
    p.ok_status(sid, 1000, lives=2)  # trial 3 beats it while running
    manager.wait_entry(sid, p.name, Score=1000, Lives=2)


def test_out_of_order_records_do_not_move_back(api, manager):
    sid = manager.open_session()["SessionId"]
    p = api.gamer()
    p.seat()
    now = time.time()
    p.ok_status(sid, 500, ts=now, lives=2)
    p.ok_status(sid, 999, ts=now - 10, lives=3)  # older stamp, arriving later
    p.ok_status(sid, 0, ts=now - 5, lives=0)  # an older last life does not end the trial
    _barrier(manager, api, sid)
    entry = {e["Nickname"]: e for e in manager.board(sid)}[p.name]
    assert (entry["Score"], entry["Lives"]) == (500, 2)
    assert p.name in manager.players(sid)["PlayingGamers"]
    p.ok_status(sid, 600, ts=now + 0.5, lives=2)
    manager.wait_entry(sid, p.name, Score=600)


def test_single_trial_one_go(api, manager):
    sid = manager.open_session("SINGLE_TRIAL")["SessionId"]
    finisher, leaver, watcher = api.gamers(3)
    finisher.seat()
    finisher.ok_status(sid, 10, lives=0)
    manager.wait_finished(sid, finisher.name)
    assert_error(finisher.allocate(), 422, "GamerCannotPlay")
    # Deallocating after playing uses the one go too.
    leaver.seat()
    leaver.ok_status(sid, 20, lives=3)
    assert leaver.deallocate().status_code == 200
    assert_error(leaver.allocate(), 422, "GamerCannotPlay")
    assert leaver.name in manager.players(sid)["FinishedGamers"]
    # Leaving without having played does not.
    watcher.seat()
    assert watcher.deallocate().status_code == 200
    watcher.seat()
    assert manager.players(sid)["PlayingGamers"] == [watcher.name]
    manager.wait_entry(sid, leaver.name, Score=20)


def test_time_constrained_is_one_go_too(api, manager):
    opened = manager.open_session("TIME_CONSTRAINED", TimeoutInMinutes=1)
    sid = opened["SessionId"]
    assert opened["TimeoutInMinutes"] == 1
    p = api.gamer()
    p.seat()
    p.ok_status(sid, 5, lives=0)
    manager.wait_finished(sid, p.name)
    assert_error(p.allocate(), 422, "GamerCannotPlay")
    manager.close_session()


def test_synchronized_session(api, manager):
    opened = manager.open_session("MULTIPLE_TRIALS", synchronized=True)
    sid = opened["SessionId"]
    a, late = api.gamers(2)
    a.seat()  # seats are taken before the start
    assert_error(a.status(sid, 1), 409, "SessionNotStarted")
    assert "SynchronizeTime" not in a.session()
    r = manager.post("/manager/session/start", {"CountdownSeconds": 2})
    assert r.status_code == 200, r.text
    started = r.json()
    sync = parse_iso(started["SynchronizeTime"])
    assert abs(sync - (time.time() + 2)) < 0.5
    doc = a.session()
    assert doc["SynchronizeTime"] == started["SynchronizeTime"] and "ServerTime" in doc
    assert_error(a.status(sid, 1), 409, "SessionNotStarted")  # still counting down
    time.sleep(max(0.0, sync - time.time()) + 0.05)
    assert a.status(sid, 11).status_code == 200
    r = manager.post("/manager/session/start", {"CountdownSeconds": 1})
    assert_error(r, 409, "SessionAlreadyStarted")
    late.seat()  # joining after the start is allowed
    late.ok_status(sid, 22)
    manager.wait_entry(sid, late.name, Score=22)
    manager.wait_entry(sid, a.name, Score=11)


def test_allocate_right_after_the_last_life(api, manager):
    """A bot that allocates again at once after its Lives-0 post gets a seat it can post with."""
    sid = manager.open_session("MULTIPLE_TRIALS")["SessionId"]
    p = api.gamer()
    p.seat()
    p.ok_status(sid, 300, lives=0)
    assert p.allocate().status_code == 200  # before the processor has seen the Lives-0 record
    time.sleep(0.5)
    r = p.status(sid, 10, lives=3)
    assert r.status_code == 200, r.text
    manager.wait_entry(sid, p.name, Score=300)
    assert p.name in manager.players(sid)["PlayingGamers"]


def test_single_trial_allocate_right_after_the_last_life(api, manager):
    sid = manager.open_session("SINGLE_TRIAL")["SessionId"]
    p = api.gamer()
    p.seat()
    p.ok_status(sid, 300, lives=0)
    r = p.allocate()
    if r.status_code == 200:  # answered before the processor saw the end: the seat must not outlive it
        time.sleep(0.5)
        assert_error(p.status(sid, 10), 409, "NotSeated")
    else:
        assert_error(r, 422, "GamerCannotPlay")
    manager.wait_finished(sid, p.name)
    assert_error(p.allocate(), 422, "GamerCannotPlay")


def test_health_counts_records_and_commits(api, manager):
    sid = manager.open_session()["SessionId"]
    player = api.gamer()
    player.seat()
    before = api.http.get("/health").json()
    seq = int(player.ok_status(sid, 1)["SequenceNumber"])
    after = api.http.get("/health").json()
    assert after["lastSequenceNumber"] == seq == before["lastSequenceNumber"] + 1
    assert after["groupCommits"] == before["groupCommits"] + 1
    wait_until(lambda: api.http.get("/health").json()["processedThrough"] >= seq, what="the record processed")
