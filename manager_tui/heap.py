"""The console's garbage collector, set for a board of thousands of players redrawn every 1.5 s.

A refresh of a 5,000-player board makes some 30,000 objects that live until the next one. With CPython's
default thresholds that started a full collection about every second refresh, each scanning the whole
heap (50 to 90 ms of CPU here), and those were the slowest refreshes (docs/benchmarks.md). So, once
everything the console needs is imported: what is alive then (modules, classes, Textual) is frozen out of
the collector's scans, and a full collection waits for 100 younger ones instead of 10 (about every 30 s
at that size; objects in reference cycles are freed that much later).
"""
from __future__ import annotations

import gc

FULL_COLLECTION_AFTER = 100  # collections of the middle generation (CPython's default: 10)


def settle() -> None:
    """Call once, after the imports and before the console runs."""
    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_COLLECTION_AFTER)
