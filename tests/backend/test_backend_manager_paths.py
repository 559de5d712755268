"""Manager paths through HTTP: sessions, start and close, seats, the full scoreboard, export."""
from __future__ import annotations

import csv
import io
import json
import re
import time

import pytest
from backend_support import assert_error, status_body, unique

from spaceinvaders_backend.core.timeutil import parse_iso, to_iso

EXPORT_FIELDS = ["SequenceNumber", "SessionId", "Nickname", "Score", "Shots", "Level", "Lives", "Timestamp",
                 "ReceivedAt"]


def test_open_session(manager):
    manager.open_session()
    manager.close_session()
    name = unique("ROOM")[:20]
    r = manager.post("/manager/session", {"SessionName": name, "GameType": "TIME_CONSTRAINED",
                                          "Synchronized": True, "TotalSeats": 3})
    assert r.status_code == 201, r.text
    doc = r.json()
    assert re.fullmatch(re.escape(name) + r"\d{6}T\d{6}", doc["SessionId"])
    assert doc["GameType"] == "TIME_CONSTRAINED" and doc["Synchronized"] is True and doc["TotalSeats"] == 3
    assert doc["TimeoutInMinutes"] == 5  # the default for a time-constrained session
    assert abs(parse_iso(doc["OpeningTime"]) - time.time()) < 2
    again = manager.post("/manager/session", {"GameType": "MULTIPLE_TRIALS"})
    assert_error(again, 409, "SessionAlreadyOpen")
    manager.close_session()
    # Defaults: not synchronized, 200 seats, a default name, no timeout outside TIME_CONSTRAINED.
    r = manager.post("/manager/session", {"GameType": "SINGLE_TRIAL", "TimeoutInMinutes": 9})
    assert r.status_code == 201, r.text
    doc = r.json()
    assert (doc["Synchronized"], doc["TotalSeats"]) == (False, 200) and "TimeoutInMinutes" not in doc


@pytest.mark.parametrize("body", [
    {}, {"GameType": "ANY"}, {"GameType": "single_trial"},
    {"GameType": "TIME_CONSTRAINED", "TimeoutInMinutes": 0},
    {"GameType": "TIME_CONSTRAINED", "TimeoutInMinutes": 31}, {"GameType": "SINGLE_TRIAL", "TotalSeats": 0},
    {"GameType": "SINGLE_TRIAL", "TotalSeats": "10"}, {"GameType": "SINGLE_TRIAL", "Synchronized": "yes"},
    {"GameType": "SINGLE_TRIAL", "SessionName": "with space"},
    {"GameType": "SINGLE_TRIAL", "SessionName": "x" * 41},
    {"GameType": "SINGLE_TRIAL", "SessionName": ""}, [], "MULTIPLE_TRIALS",
])
def test_open_session_invalid_is_422(manager, body):
    manager.open_session()
    before = manager.get("/manager/sessions").json()["Sessions"]
    assert_error(manager.post("/manager/session", body), 422, "ValidationError")
    # Closing the open one first: the refusal is about the body, not the state.
    manager.close_session()
    assert_error(manager.post("/manager/session", body), 422, "ValidationError")
    assert len(manager.get("/manager/sessions").json()["Sessions"]) == len(before)


def test_start_session_reads_a_chunked_body(manager):
    manager.open_session("MULTIPLE_TRIALS", synchronized=True)
    chunks = iter([b'{"Countdown', b'Seconds": 2}'])  # no Content-Length: sent chunked
    r = manager.post("/manager/session/start", content=chunks, headers={"content-type": "application/json"})
    assert r.status_code == 200, r.text
    assert abs(parse_iso(r.json()["SynchronizeTime"]) - (time.time() + 2)) < 1


def test_start_session(manager):
    manager.open_session("MULTIPLE_TRIALS")
    r = manager.post("/manager/session/start", {"CountdownSeconds": 1})
    assert_error(r, 409, "SessionNotSynchronized")
    manager.open_session("MULTIPLE_TRIALS", synchronized=True)
    assert_error(manager.post("/manager/session/start", {"CountdownSeconds": -1}), 422)
    assert_error(manager.post("/manager/session/start", {"CountdownSeconds": 601}), 422)
    assert_error(manager.post("/manager/session/start", {"CountdownSeconds": "5"}), 422)
    assert_error(manager.post("/manager/session/start", content=b"{oops",
                              headers={"content-type": "application/json"}), 400, "MalformedJson")
    r = manager.post("/manager/session/start")  # no body: CountdownSeconds 5
    assert r.status_code == 200, r.text
    assert abs(parse_iso(r.json()["SynchronizeTime"]) - (time.time() + 5)) < 1
    r = manager.post("/manager/session/start", {})  # still counting down: a restart moves the instant
    assert r.status_code == 200, r.text
    assert abs(parse_iso(r.json()["SynchronizeTime"]) - (time.time() + 5)) < 1
    r = manager.post("/manager/session/start", {"CountdownSeconds": 30.5})
    assert abs(parse_iso(r.json()["SynchronizeTime"]) - (time.time() + 30.5)) < 1
    manager.close_session()
    assert_error(manager.post("/manager/session/start"), 409, "SessionClosed")


def test_close_session(manager):
    sid = manager.open_session()["SessionId"]
    r = manager.post("/manager/session/close")
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["SessionId"] == sid and abs(parse_iso(doc["ClosingTime"]) - time.time()) < 2
    assert_error(manager.post("/manager/session/close"), 409, "SessionClosed")
    listed = {s["SessionId"]: s for s in manager.get("/manager/sessions").json()["Sessions"]}
    assert listed[sid]["ClosingTime"] == doc["ClosingTime"]


def test_sessions_newest_first(manager):
    opened = []
    for _ in range(3):
        opened.append(manager.open_session()["SessionId"])
    r = manager.get("/manager/sessions")
    assert r.status_code == 200
    sessions = r.json()["Sessions"]
    assert [s["SessionId"] for s in sessions[:3]] == opened[::-1]
    times = [parse_iso(s["OpeningTime"]) for s in sessions]
    assert times == sorted(times, reverse=True)
    assert len({s["SessionId"] for s in sessions}) == len(sessions)
    assert all("ClosingTime" in s for s in sessions[1:])  # only the newest can be open


def test_players_and_manager_deallocate(api, manager):
    sid = manager.open_session("SINGLE_TRIAL", TotalSeats=5)["SessionId"]
    a, b, c = api.gamers(3)
    for p in (a, b, c):
        p.seat()
    players = manager.players(sid)
    assert players["TotalSeats"] == 5 and players["OccupiedSeats"] == 3
    assert players["PlayingGamers"] == sorted([a.name, b.name, c.name]) and players["FinishedGamers"] == []
    a.ok_status(sid, 10)
    r = manager.post("/manager/deallocate", {"Username": a.name})  # a played: one go in SINGLE_TRIAL
    assert r.status_code == 200 and r.json()["successMessage"]
    r = manager.post("/manager/deallocate", {"Username": b.name.upper()})  # any case; b never played: may come back
    assert r.status_code == 200
    assert manager.post("/manager/deallocate", {"Username": b.name}).status_code == 200  # not seated: fine
    assert manager.post("/manager/deallocate", {"Username": unique("nobody")}).status_code == 200
    players = manager.players(sid)
    assert players["PlayingGamers"] == [c.name] and players["OccupiedSeats"] == 1
    assert players["FinishedGamers"] == [a.name]
    assert_error(a.status(sid, 20), 409, "NotSeated")
    assert_error(a.allocate(), 422, "GamerCannotPlay")
    b.seat()
    assert_error(manager.post("/manager/deallocate", {"Username": "bad name"}), 422)
    assert_error(manager.post("/manager/deallocate", {}), 422)
    # A past session's seats stay as they were left; unknown sessions are 404, a missing id 400.
    old = sid
    manager.open_session()
    past = manager.players(old)
    assert (past["PlayingGamers"], past["FinishedGamers"]) == (sorted([b.name, c.name]), [a.name])
    assert manager.players(manager.get("/session").json()["SessionId"])["OccupiedSeats"] == 0
    assert_error(manager.get("/manager/players", params={"sessionId": "NOPE"}), 404, "SessionNotFound")
    assert_error(manager.get("/manager/players"), 400, "MissingParameter")


def test_manager_scoreboard(api, manager):
    sid = manager.open_session()["SessionId"]
    gamers = api.gamers(12)
    for i, g in enumerate(gamers):
        g.seat()
        g.ok_status(sid, 100 * i, shots=i, lives=1 + i % 3)
    manager.wait_entry(sid, gamers[-1].name, Score=1100)
    manager.wait_entry(sid, gamers[0].name, Score=0)
    r = manager.get("/manager/scoreboard", params={"sessionId": sid})
    assert r.status_code == 200
    board = r.json()["Scoreboard"]
    assert r.json().get("SessionId", sid) == sid
    assert [e["Nickname"] for e in board] == [g.name for g in reversed(gamers)]  # all 12, rank order
    assert gamers[0].scoreboard(sid) == board[:10]
    assert_error(manager.get("/manager/scoreboard", params={"sessionId": "NOPE"}), 404, "SessionNotFound")
    assert_error(manager.get("/manager/scoreboard"), 400, "MissingParameter")


def test_export(api, manager, local_server_module):
    other = manager.open_session()["SessionId"]
    x = api.gamer()
    x.seat()
    x.ok_status(other, 1)  # a record of another session: not in this export
    sid = manager.open_session()["SessionId"]
    a, b = api.gamers(2)
    a.seat()
    b.seat()
    sent = []  # (seq, body) in the order of the answers
    for i in range(6):
        p = (a, b)[i % 2]
        body = status_body(sid, p.name, 10 * i, shots=i, level=1 + i, lives=3 - i % 3)
        r = p.post("/updatestatus", body)
        assert r.status_code == 200, r.text
        sent.append((r.json()["SequenceNumber"], body))
    assert_error(x.status(sid, 5), 409)  # refused: not stored either
    r = manager.export(sid, "jsonl")
    assert r.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in r.text.splitlines()]
    assert [rec["SequenceNumber"] for rec in lines] == [seq for seq, _ in sent]  # arrival order, every one
    for rec, (seq, body) in zip(lines, sent):
        assert list(rec) == EXPORT_FIELDS
        assert {k: rec[k] for k in body} == body
        assert abs(parse_iso(rec["ReceivedAt"]) - time.time()) < 10
    r = manager.export(sid, "csv")
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == EXPORT_FIELDS
    assert [dict(zip(EXPORT_FIELDS, row)) for row in rows[1:]] == [
        {k: str(v) for k, v in rec.items()} for rec in lines]
    # The operator's CLI writes the same.
    assert local_server_module.export(sid, "jsonl") == manager.export(sid, "jsonl").text
    assert local_server_module.export(sid, "csv") == manager.export(sid, "csv").text
    other_lines = manager.export(other, "jsonl").text.splitlines()
    assert [json.loads(line)["Nickname"] for line in other_lines] == [x.name]
    assert manager.export(sid).text == manager.export(sid, "jsonl").text  # jsonl is the default
    assert_error(manager.get("/manager/export", params={"sessionId": sid, "format": "xml"}), 422)
    assert_error(manager.get("/manager/export", params={"sessionId": "NOPE"}), 404, "SessionNotFound")
    assert_error(manager.get("/manager/export"), 400, "MissingParameter")


def test_export_of_an_empty_session(manager):
    sid = manager.open_session()["SessionId"]
    assert manager.export(sid, "jsonl").text == ""
    assert list(csv.reader(io.StringIO(manager.export(sid, "csv").text))) == [EXPORT_FIELDS]


def test_export_stores_timestamps_in_one_utc_form(api, manager):
    sid = manager.open_session()["SessionId"]
    p = api.gamer()
    p.seat()
    now = time.time()
    sent = {  # as a client may write them -> as every export writes them
        time.strftime("%Y-%m-%dt%H:%M:%Sz", time.gmtime(now - 3)): to_iso(int(now - 3)),
        time.strftime("%Y-%m-%dT%H:%M:%S.5+01:30", time.gmtime(now - 2 + 5400)): to_iso(int(now - 2) + 0.5),
        time.strftime("%Y-%m-%d %H:%M:%S.123456789Z", time.gmtime(now - 1)): to_iso(int(now - 1) + 0.123),
    }
    for text in sent:
        r = p.post("/updatestatus", status_body(sid, p.name, 1, Timestamp=text))
        assert r.status_code == 200, r.text
        time.sleep(0.11)
    exported = [json.loads(line)["Timestamp"] for line in manager.export(sid, "jsonl").text.splitlines()]
    assert exported == list(sent.values())


def test_csv_cells_that_a_spreadsheet_would_evaluate_are_quoted(api, manager):
    sid = manager.open_session(name="-" + unique("S")[:12])["SessionId"]
    p = api.gamer("-" + unique("p")[:12])
    p.seat()
    p.ok_status(sid, 5)
    rows = list(csv.reader(io.StringIO(manager.export(sid, "csv").text)))
    record = dict(zip(rows[0], rows[1]))
    assert record["SessionId"] == "'" + sid and record["Nickname"] == "'" + p.name
    assert record["Score"] == "5"
    line = json.loads(manager.export(sid, "jsonl").text)  # JSON lines carry the values as they are
    assert (line["SessionId"], line["Nickname"]) == (sid, p.name)
