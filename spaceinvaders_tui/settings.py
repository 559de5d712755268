"""What a run of the game was asked for on its command line and environment."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .link import DEFAULT_API


@dataclass(frozen=True)
class GameSettings:
    api_url: str = DEFAULT_API
    api_given: bool = False  # the address came from --api or SPACEINVADERS_API (not the default guess)
    discover: bool = False  # no address given: look for rooms on the network first (the command line only)
    room: str | None = None  # --room: the room to find on the network and join
    offline: bool = False  # play without a server
    ascii_only: bool = False  # no Unicode art, for terminals without it
    theme: str = "arcade"
    data_dir: Path | None = None  # tokens and the best score; None: the user's config and data directories
