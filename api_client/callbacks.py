"""The caller's callbacks, called from background loops: a failing one is logged, never raised into the loop."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


def notify(callback: Callable[[T], object] | None, value: T, name: str) -> None:
    if callback is None:
        return
    try:
        callback(value)
    except Exception:
        log.exception("%s callback failed", name)
