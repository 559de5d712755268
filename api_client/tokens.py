"""Tokens, their claims, and the file that keeps them between runs."""

from __future__ import annotations

import base64
import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import platformdirs

from .models import AuthenticationResult

# Refresh this long before expiry so a request never leaves with a token that expires on the way.
REFRESH_MARGIN = 60.0
_GROUP_NAMES = {"Players": "Gamer", "Managers": "Manager"}


def jwt_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT, not verified: the server verifies, the client only reads expiry and groups."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError) as exc:
        raise ValueError("not a JWT") from exc
    if not isinstance(claims, dict):
        raise ValueError("not a JWT")  # noqa: TRY004 - callers handle one error type
    return claims


@dataclass(frozen=True)
class Tokens:
    id_token: str
    access_token: str
    refresh_token: str | None
    expires_at: float  # epoch seconds

    @classmethod
    def from_result(
        cls, result: AuthenticationResult, *, previous_refresh: str | None = None, now: float | None = None
    ) -> Tokens:
        now = time.time() if now is None else now
        try:
            expires_at = float(jwt_claims(result.IdToken)["exp"])
        except (ValueError, KeyError, TypeError):
            expires_at = now + result.ExpiresIn
        return cls(result.IdToken, result.AccessToken, result.RefreshToken or previous_refresh, expires_at)

    @property
    def claims(self) -> dict[str, Any]:
        return jwt_claims(self.id_token)

    @property
    def username(self) -> str | None:
        claims = self.claims
        return claims.get("cognito:username") or claims.get("username")

    @property
    def groups(self) -> frozenset[str]:
        """The token's groups, with the later original's `Players`/`Managers` named `Gamer`/`Manager`."""
        raw = self.claims.get("cognito:groups") or []
        if isinstance(raw, str):
            raw = [raw]
        return frozenset(_GROUP_NAMES.get(group, group) for group in raw)

    def needs_refresh(self, now: float | None = None) -> bool:
        return (time.time() if now is None else now) >= self.expires_at - REFRESH_MARGIN


class TokenStore:
    """A JSON file of tokens keyed by base URL and username, readable by its owner only."""

    def __init__(self, directory: Path | str | None = None) -> None:
        self.directory = Path(directory or platformdirs.user_config_dir("spaceinvaders"))
        self.path = self.directory / "tokens.json"

    @staticmethod
    def key(base_url: str, username: str) -> str:
        return f"{base_url.rstrip('/')}|{username}"

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text("utf-8"))
        except (FileNotFoundError, ValueError):
            return {}  # a damaged file only costs one sign-in
        return data if isinstance(data, dict) else {}

    def load(self, base_url: str, username: str | None = None) -> Tokens | None:
        """Tokens for `username`, or for the last user signed in at `base_url` when no name is given."""
        data = self._read()
        if username is None:
            username = data.get("last", {}).get(base_url.rstrip("/"))
            if username is None:
                return None
        kept = data.get("tokens", {})
        entry = kept.get(self.key(base_url, username))
        if entry is None:  # names match in any case, as the pools' and the local server's do
            wanted = self.key(base_url, username).casefold()
            entry = next((value for key, value in kept.items() if key.casefold() == wanted), None)
        try:
            return Tokens(**entry) if entry else None
        except TypeError:
            return None

    def save(self, base_url: str, username: str, tokens: Tokens) -> None:
        data = self._read()
        data.setdefault("tokens", {})[self.key(base_url, username)] = asdict(tokens)
        data.setdefault("last", {})[base_url.rstrip("/")] = username
        self._write(data)

    def forget(self, base_url: str, username: str) -> None:
        data = self._read()
        data.get("tokens", {}).pop(self.key(base_url, username), None)
        if data.get("last", {}).get(base_url.rstrip("/")) == username:
            del data["last"][base_url.rstrip("/")]
        self._write(data)

    def _write(self, data: dict[str, Any]) -> None:
        write_private_json(self.path, data)


def write_private_json(path: Path, data: Any) -> None:
    """Write `path` atomically, readable by its owner only, in a directory only its owner may enter."""
    directory = path.parent
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    # mkstemp creates the file 0600; the rename makes the write atomic.
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{path.stem}-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
