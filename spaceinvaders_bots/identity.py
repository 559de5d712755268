"""Who the bots are from run to run: their names, passwords and kept tokens, in one directory.

The directory (`user_config_dir("spaceinvaders")/bots` by default, mode 0700) holds a random secret
(0600) made on first use. A bot's password is an HMAC of the secret and its name: a later run signs the
same bot in again (also at another address of the same server), and nobody without the file can. Default names carry a short id derived
from the secret (`bot-3fa9-0007`), so runs from several machines at one API never pick the same names.
Each bot keeps its tokens in its own small file (`tokens/<name>/tokens.json`), so a run with saved
tokens joins without hashing a password, and one bot's save never rewrites the others'.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

import platformdirs

from api_client import TokenStore

NAME_PATTERN = re.compile(r"[A-Za-z0-9_.-]{1,32}")
INDEX_DIGITS = 4


def default_directory() -> Path:
    return Path(platformdirs.user_config_dir("spaceinvaders")) / "bots"


class BotsDirectory:
    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path) if path else default_directory()
        self._secret: bytes | None = None

    def secret(self) -> bytes:
        """The directory's secret, made on first use (safe when several processes start together)."""
        if self._secret is None:
            self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
            file = self.path / "secret"
            try:
                fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass
            else:
                with os.fdopen(fd, "w") as handle:
                    handle.write(secrets.token_hex(32))
                    handle.flush()
                    os.fsync(handle.fileno())
            text = file.read_text().strip()
            if len(text) != 64:
                raise ValueError(f"{file} is damaged: delete it (its bots will sign up again as new players)")
            self._secret = bytes.fromhex(text)
        return self._secret

    @property
    def id(self) -> str:
        return hashlib.sha256(self.secret()).hexdigest()[:4]

    def default_prefix(self) -> str:
        return f"bot-{self.id}"

    def password(self, name: str) -> str:
        return hmac.new(self.secret(), name.lower().encode(), hashlib.sha256).hexdigest()[:32]

    def token_store(self, name: str) -> TokenStore:
        tokens = self.path / "tokens"
        if not tokens.is_dir():
            self.secret()  # makes the directory, readable by its owner only
            tokens.mkdir(mode=0o700, exist_ok=True)
        return TokenStore(tokens / name.lower())


def bot_name(prefix: str, index: int) -> str:
    return f"{prefix}-{index:0{INDEX_DIGITS}d}"


def check_prefix(prefix: str) -> str:
    """The prefix if every name made from it is a valid username, else ValueError."""
    if not NAME_PATTERN.fullmatch(bot_name(prefix, 0)):
        raise ValueError(f"a name prefix is at most {31 - INDEX_DIGITS} of A-Z a-z 0-9 _ . -")
    return prefix
