"""`kill -9` of the server during a stream of posts.

After a restart, every record that got a 2xx is in the export (CLI and /manager/export) and counted on
the scoreboard, and none is counted twice: the stored stream has each record once, the processor's
checkpoint is at the last record, and replaying the export through `PlayerBoard` gives the served board.
"""
from __future__ import annotations

import json
import random
import sqlite3
import threading
import time
from collections import defaultdict

import httpx
from backend_support import unique, wait_until

from spaceinvaders_backend.core.ranking import Entry, ranked
from spaceinvaders_backend.core.scoreboard import PlayerBoard, counts
from spaceinvaders_backend.core.timeutil import parse_iso

N_PLAYERS = 20


class Poster(threading.Thread):
    """One player posting ever higher scores every ~120 ms, through kills and restarts."""

    def __init__(self, player, sid: str, stop: threading.Event, seed: int) -> None:
        super().__init__(daemon=True)
        self.player = player.with_own_client(timeout=2.0)
        self.sid = sid
        self.stop = stop
        self.rng = random.Random(seed)
        self.attempted: set[int] = set()  # every score sent, answered or not
        self.acked: dict[int, str] = {}  # score -> SequenceNumber of each 200
        self.refused: list[tuple[int, str]] = []
        self.failures = 0  # connection errors while the server was down

    def run(self) -> None:
        score = 0
        try:
            while not self.stop.is_set():
                score += self.rng.randrange(1, 10)
                shots = score // 3
                self.attempted.add(score)
                try:
                    r = self.player.status(self.sid, score, shots=shots, level=1 + score // 100, lives=3)
                except httpx.HTTPError:
                    self.failures += 1
                    self.stop.wait(0.05)
                    continue
                if r.status_code == 200:
                    self.acked[score] = r.json()["SequenceNumber"]
                else:
                    self.refused.append((r.status_code, r.text))
                self.stop.wait(0.12)
        finally:
            self.player.http.close()


def _export(server, manager, sid: str) -> list[dict]:
    cli = server.export(sid, "jsonl")
    over_http = manager.export(sid, "jsonl").text
    assert cli == over_http
    return [json.loads(line) for line in cli.splitlines()]


def _checkpoint_and_last(server) -> tuple[int, int]:
    conn = sqlite3.connect(f"file:{server.data_dir / 'spaceinvaders.db'}?mode=ro", uri=True)
    try:
        checkpoint = conn.execute("SELECT seq FROM checkpoints WHERE name = 'scoreboard'").fetchone()
        last = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM status").fetchone()[0]
    finally:
        conn.close()
    return (checkpoint[0] if checkpoint else 0), last


def _replay(records: list[dict]) -> list[dict]:
    """The board the contract's rules give for these records, in arrival order."""
    boards: dict[str, PlayerBoard] = defaultdict(PlayerBoard)
    for rec in records:
        ts, received = parse_iso(rec["Timestamp"]), parse_iso(rec["ReceivedAt"])
        if counts(ts, received, None):  # the session stays open
            boards[rec["Nickname"]].apply(Entry(rec["Nickname"], rec["Score"], rec["Shots"], rec["Level"],
                                                rec["Lives"]), ts)
    return [e.as_dict() for e in ranked(b.entry for b in boards.values() if b.entry is not None)]


def _verify(server, manager, sid: str, posters: list[Poster]) -> list[dict]:
    # The processor catches up (it runs a few times a second) ...
    wait_until(lambda: (cl := _checkpoint_and_last(server))[0] == cl[1], timeout=3.0, what="the catch-up")
    records = _export(server, manager, sid)
    seqs = [rec["SequenceNumber"] for rec in records]
    # Each stored once, in arrival order.
    assert len(set(seqs)) == len(seqs)
    assert [int(s) for s in seqs] == sorted(int(s) for s in seqs)
    assert len({(rec["Nickname"], rec["Score"]) for rec in records}) == len(records), "a record stored twice"
    by_player: dict[str, dict[int, str]] = defaultdict(dict)
    for rec in records:
        by_player[rec["Nickname"]][rec["Score"]] = rec["SequenceNumber"]
    for p in posters:
        stored = by_player[p.player.name]
        # Every 2xx is stored, under the sequence number the answer gave ...
        missing = {s: q for s, q in p.acked.items() if stored.get(s) != q}
        assert not missing, (p.player.name, missing)
        # ... and nothing was stored that was never sent.
        assert set(stored) <= p.attempted
    # ... to the last record, once: its checkpoint is the last one.
    checkpoint, last = _checkpoint_and_last(server)
    assert checkpoint == last == max(int(s) for s in seqs)
    served = manager.board(sid)
    assert served == _replay(records)
    best = {e["Nickname"]: e["Score"] for e in served}
    for p in posters:
        assert best[p.player.name] == max(by_player[p.player.name])
        assert best[p.player.name] >= max(p.acked)
    return served


def test_kill_9_during_a_stream_of_posts(local_server, api_for):
    server = local_server
    api = api_for(server)
    boss = api.manager(server)
    sid = boss.open_session("MULTIPLE_TRIALS", name=unique("CRASH")[:20])["SessionId"]
    players = api.gamers(N_PLAYERS, "c")
    for p in players:
        p.seat()
    stop = threading.Event()
    posters = [Poster(p, sid, stop, seed=i) for i, p in enumerate(players)]
    for t in posters:
        t.start()
    try:
        time.sleep(1.0)
        server.kill()  # mid-stream
        acked_before_restart = sum(len(t.acked) for t in posters)
        server.start()
        time.sleep(1.0)
        server.kill()  # and again, with posts after the first restart in flight
        server.start()
        time.sleep(0.5)
    finally:
        stop.set()
        for t in posters:
            t.join(10)
    refused = [r for t in posters for r in t.refused]
    assert not refused, refused[:5]
    assert acked_before_restart >= N_PLAYERS * 3
    assert sum(t.failures for t in posters) > 0, "the kills did not interrupt the stream"
    assert all(len(t.acked) >= 5 for t in posters)
    served = _verify(server, boss, sid, posters)
    assert len(served) == N_PLAYERS
    assert players[0].scoreboard(sid) == served[:10]

    # A kill at rest and a restart change nothing.
    server.kill()
    server.start()
    assert _verify(server, boss, sid, posters) == served
    # Seats survived: everyone can go on posting.
    for p in players[:3]:
        assert p.status(sid, 10**6).status_code == 200
