"""Tokens: Ed25519-signed JWTs with Cognito's claims, issued at sign-in and verified on every request.

Verified ID tokens are cached (token -> identity) so a status post pays a dict lookup, not a signature
check; the signing key lives in the data directory, readable by its owner only.
"""
from __future__ import annotations

import base64
import hashlib
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import jwt
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ..core.answers import Jwks, PublicKey, Tokens
from ..core.errors import ApiError
from .startup import CannotStart

GAMER = "Gamer"
MANAGER = "Manager"
CLIENT_ID = "spaceinvaders-local"
ISSUER = "urn:spaceinvaders:local"
KEY_FILE = "jwt-signing-key.pem"
TOKEN_CACHE_LIMIT = 200_000


@dataclass(frozen=True, slots=True)
class Identity:
    username: str
    groups: frozenset[str]
    expires_at: float


def load_or_create_key(data_dir: Path) -> Ed25519PrivateKey:
    """The signing key, kept in the data directory, readable by its owner only."""
    path = data_dir / KEY_FILE
    if path.exists():
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            key = None
        if not isinstance(key, Ed25519PrivateKey):
            raise CannotStart(f"{path}: not a signing key of this server (damaged?); restore it from a backup, "
                              "or move it away to make a new one (everybody then signs in again)")
        os.chmod(path, 0o600)
        return key
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    return key


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenService:
    def __init__(self, data_dir: Path, lifetime_seconds: int, issuer: str = ISSUER,
                 clock: Callable[[], float] = time.time) -> None:
        self.issuer = issuer
        self.lifetime_seconds = lifetime_seconds
        self._clock = clock
        self._key = load_or_create_key(data_dir)
        public = self._key.public_key()
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self._public = public
        self.kid = hashlib.sha256(raw).hexdigest()[:16]
        self.jwks = Jwks(keys=[PublicKey(kty="OKP", crv="Ed25519", x=_b64url(raw), kid=self.kid, alg="EdDSA",
                                         use="sig")])
        self._cache: dict[str, Identity] = {}

    def identify(self, header: str | None) -> Identity:
        """The identity behind an Authorization header (raw token or `Bearer <token>`), or 401."""
        if not header:
            raise ApiError(401, "Unauthorized", "Missing Authorization header.")
        token = header[7:] if header[:7].lower() == "bearer " else header
        ident = self._cache.get(token)
        if ident is None:
            ident = self._verify(token)
        if ident.expires_at <= self._clock():
            self._cache.pop(token, None)
            raise ApiError(401, "Unauthorized", "The token has expired.")
        return ident

    def _verify(self, token: str) -> Identity:
        try:
            claims = jwt.decode(token, self._public, algorithms=["EdDSA"], issuer=self.issuer,
                                audience=CLIENT_ID, options={"require": ["exp", "iat", "sub", "iss"]})
        except jwt.ExpiredSignatureError:
            raise ApiError(401, "Unauthorized", "The token has expired.") from None
        except jwt.PyJWTError as exc:
            raise ApiError(401, "Unauthorized", f"Invalid token: {exc}") from None
        username = claims.get("cognito:username")
        groups = claims.get("cognito:groups", [])
        if claims.get("token_use") != "id" or not isinstance(username, str):
            raise ApiError(401, "Unauthorized", "An ID token is required.")
        if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
            raise ApiError(401, "Unauthorized", "cognito:groups must be a list of group names.")
        ident = Identity(username, frozenset(groups), float(claims["exp"]))
        if len(self._cache) >= TOKEN_CACHE_LIMIT:
            self._cache.pop(next(iter(self._cache)))  # oldest first: dicts keep insertion order
        self._cache[token] = ident
        return ident

    def issue(self, username: str, sub: str, groups: list[str], refresh_token: str | None = None) -> Tokens:
        now = int(self._clock())
        exp = now + self.lifetime_seconds
        common = {"sub": sub, "iss": self.issuer, "iat": now, "exp": exp, "auth_time": now,
                  "cognito:groups": groups}
        headers = {"kid": self.kid}
        id_token = jwt.encode({**common, "aud": CLIENT_ID, "token_use": "id", "cognito:username": username},
                              self._key, algorithm="EdDSA", headers=headers)
        access_token = jwt.encode({**common, "client_id": CLIENT_ID, "token_use": "access", "username": username,
                                   "jti": str(uuid.uuid4())}, self._key, algorithm="EdDSA", headers=headers)
        return Tokens(IdToken=id_token, AccessToken=access_token, ExpiresIn=self.lifetime_seconds,
                      TokenType="Bearer", RefreshToken=refresh_token)


def require(ident: Identity, group: str) -> None:
    """403 unless the identity is in `group`."""
    if group not in ident.groups:
        raise ApiError(403, "Forbidden", f"This path needs the {group} group.")
