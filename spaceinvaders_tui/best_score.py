"""The best score played on this machine, kept between runs in the user's data directory."""
from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path

import platformdirs

log = logging.getLogger(__name__)


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("spaceinvaders"))


class BestScore:
    """`best.json` holding {"best": score}; a missing or damaged file counts as 0 and never stops a game."""

    def __init__(self, directory: Path | None = None) -> None:
        self.path = (directory or default_data_dir()) / "best.json"
        self.best = self._load()

    def _load(self) -> int:
        try:
            value = json.loads(self.path.read_text("utf-8")).get("best", 0)
        except (OSError, ValueError, AttributeError):
            return 0
        return value if isinstance(value, int) and value >= 0 else 0

    def record(self, score: int) -> bool:
        """Keep `score` if it beats the best; True when it did."""
        if score <= self.best:
            return False
        self.best = score
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".best-", suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump({"best": score}, handle)
            os.replace(tmp, self.path)
        except OSError as error:  # a read-only home must not end the game
            log.warning("could not keep the best score in %s: %s", self.path, error)
        return True
