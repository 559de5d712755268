"""The board kept in rank order: `core.ranking.RankedBoard` against the hand-kept parallel lists it replaced.

    .venv/bin/python benchmarks/ranking.py [--rounds 5]

At 200 and 5,000 players: a stream of updates (a random player's score rises, as the stream processor
puts each changed player), then the queries the servers and the console make: the top 10 (`/scoreboard`),
the whole board (`/manager/scoreboard`, the wall) and one player's rank (`Caller`). Baseline, same run:
the previous implementation (three structures kept in step by hand with `bisect`), copied below as it was;
the new one is `sortedcontainers.SortedKeyList` with a dict of each player's entry.
Medians over rounds of the time per operation, and the ratio new / baseline (below 1: the new one is faster).
"""
from __future__ import annotations

import argparse
import random
import statistics
import time
from bisect import bisect_left

from spaceinvaders_backend.core.ranking import Entry, RankedBoard, rank_key, ranked


class ParallelListsBoard:
    """The baseline: core/ranking.py's RankedBoard before sortedcontainers (three structures in step)."""

    def __init__(self, entries=()) -> None:
        self._entries = ranked(entries)
        self._keys = [rank_key(e) for e in self._entries]
        self._key_of = {e.nickname: k for e, k in zip(self._entries, self._keys, strict=True)}

    def put(self, entry: Entry) -> None:
        key = rank_key(entry)
        old = self._key_of.get(entry.nickname)
        if old is not None:
            at = bisect_left(self._keys, old)
            del self._keys[at], self._entries[at]
        at = bisect_left(self._keys, key)
        self._keys.insert(at, key)
        self._entries.insert(at, entry)
        self._key_of[entry.nickname] = key

    def top(self, count=None):
        return self._entries[:count] if count is not None else self._entries[:]

    def rank(self, nickname):
        key = self._key_of.get(nickname)
        if key is None:
            return None
        at = bisect_left(self._keys, key)
        return at + 1, self._entries[at]


def workload(players: int, updates: int, seed: int):
    rng = random.Random(seed)
    names = [f"player{i:05d}" for i in range(players)]
    first = [Entry(n, rng.randint(0, 50_000), rng.randint(1, 500), 1, 3) for n in names]
    scores = {e.nickname: e.score for e in first}
    stream = []
    for _ in range(updates):
        name = rng.choice(names)
        scores[name] += rng.randint(0, 300)
        stream.append(Entry(name, scores[name], rng.randint(1, 500), 1, rng.randint(0, 3)))
    return first, stream, [rng.choice(names) for _ in range(2_000)]


def measure(kind, first, stream, lookups) -> dict[str, float]:
    board = kind(first)
    started = time.perf_counter()
    for entry in stream:
        board.put(entry)
    put = (time.perf_counter() - started) / len(stream)
    started = time.perf_counter()
    for _ in range(2_000):
        board.top(10)
    top10 = (time.perf_counter() - started) / 2_000
    rounds = 200
    started = time.perf_counter()
    for _ in range(rounds):
        board.top()
    whole = (time.perf_counter() - started) / rounds
    started = time.perf_counter()
    for name in lookups:
        board.rank(name)
    rank = (time.perf_counter() - started) / len(lookups)
    return {"put": put, "top10": top10, "whole": whole, "rank": rank}, board.top()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    for players in (200, 5_000):
        results: dict[str, list[dict[str, float]]] = {"baseline": [], "new": []}
        for round_ in range(args.rounds):
            first, stream, lookups = workload(players, 50_000, round_)
            base, base_order = measure(ParallelListsBoard, first, stream, lookups)
            new, new_order = measure(RankedBoard, first, stream, lookups)
            assert base_order == new_order, "the two boards disagree"
            results["baseline"].append(base)
            results["new"].append(new)
        print(f"{players:,} players (medians of {args.rounds} rounds, µs per operation; ratio new/baseline)")
        for op, label in (("put", "update a player"), ("top10", "top 10"), ("whole", "whole board"),
                          ("rank", "one player's rank")):
            b = statistics.median(r[op] for r in results["baseline"]) * 1e6
            n = statistics.median(r[op] for r in results["new"]) * 1e6
            print(f"  {label:<18} baseline {b:9.2f}  new {n:9.2f}  ratio {n / b:5.2f}")


if __name__ == "__main__":
    main()
