"""Local sign-in: argon2id password hashes, Ed25519-signed JWTs with Cognito's claims, refresh tokens.

Verified ID tokens are cached (token -> claims) so a status post pays a dict lookup, not a signature
check. Repeated failed sign-ins for a username must wait, doubling each time.
"""
from __future__ import annotations

import asyncio
import base64
import hashlib
import math
import os
import secrets
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ..core.errors import ApiError
from . import database
from .settings import Settings
from .writer import Writer

GAMER = "Gamer"
MANAGER = "Manager"
CLIENT_ID = "spaceinvaders-local"
KEY_FILE = "jwt-signing-key.pem"
TOKEN_CACHE_LIMIT = 200_000
THROTTLE_LIMIT = 100_000

# argon2id at OWASP's 19 MiB: ~20-30 ms a hash here, memory-hard, and not hundreds of ms per sign-in.
HASHER = PasswordHasher(time_cost=3, memory_cost=19456, parallelism=1)


@dataclass(frozen=True, slots=True)
class Identity:
    username: str
    groups: frozenset[str]
    expires_at: float

    @property
    def is_manager(self) -> bool:
        return MANAGER in self.groups


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


def load_or_create_key(data_dir: Path) -> Ed25519PrivateKey:
    """The signing key, kept in the data directory, readable by its owner only."""
    path = data_dir / KEY_FILE
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        os.chmod(path, 0o600)
        return key  # type: ignore[return-value]
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    return key


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class SignInThrottle:
    """Consecutive failures per username; past the free ones, each try waits 1, 2, 4 ... 300 s."""

    def __init__(self, free_failures: int) -> None:
        self.free_failures = free_failures
        self._failures: dict[str, tuple[int, float]] = {}

    def check(self, username: str, now: float) -> None:
        until = self._failures.get(username, (0, 0.0))[1]
        if now < until:
            raise ApiError(429, "TooManyFailedSignIns", "Too many failed sign-ins; wait before trying again.",
                           headers={"Retry-After": str(math.ceil(until - now))})

    def failed(self, username: str, now: float) -> None:
        if len(self._failures) >= THROTTLE_LIMIT and username not in self._failures:
            self._failures.pop(next(iter(self._failures)))  # a flood of made-up names cannot grow it forever
        count = self._failures.get(username, (0, 0.0))[0] + 1
        # After `free_failures` failures, every further try waits: 1 s, then 2, 4 ... up to 300 s.
        wait = 0.0 if count < self.free_failures else min(2.0 ** (count - self.free_failures), 300.0)
        self._failures[username] = (count, now + wait)

    def succeeded(self, username: str) -> None:
        self._failures.pop(username, None)


class LocalAuth:
    def __init__(self, settings: Settings, writer: Writer, issuer: str) -> None:
        self.settings = settings
        self.writer = writer
        self.issuer = issuer
        self._key = load_or_create_key(settings.data_dir)
        public = self._key.public_key()
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self._public = public
        self.kid = hashlib.sha256(raw).hexdigest()[:16]
        self.jwks = {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": _b64url(raw), "kid": self.kid,
                               "alg": "EdDSA", "use": "sig"}]}
        self._cache: dict[str, Identity] = {}
        self.throttle = SignInThrottle(settings.signin_free_failures)

    # --- tokens ------------------------------------------------------------------------------------

    def identify(self, header: str | None) -> Identity:
        """The identity behind an Authorization header (raw token or `Bearer <token>`), or 401."""
        if not header:
            raise ApiError(401, "Unauthorized", "Missing Authorization header.")
        token = header[7:] if header[:7].lower() == "bearer " else header
        ident = self._cache.get(token)
        if ident is None:
            ident = self._verify(token)
        if ident.expires_at <= time.time():
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
        if claims.get("token_use") != "id" or not isinstance(username, str):
            raise ApiError(401, "Unauthorized", "An ID token is required.")
        ident = Identity(username, frozenset(claims.get("cognito:groups") or ()), float(claims["exp"]))
        if len(self._cache) >= TOKEN_CACHE_LIMIT:
            self._cache.pop(next(iter(self._cache)))  # oldest first: dicts keep insertion order
        self._cache[token] = ident
        return ident

    def issue_tokens(self, username: str, sub: str, groups: list[str]) -> dict[str, object]:
        now = int(time.time())
        exp = now + self.settings.id_token_lifetime_seconds
        common = {"sub": sub, "iss": self.issuer, "iat": now, "exp": exp, "auth_time": now,
                  "cognito:groups": groups}
        headers = {"kid": self.kid}
        id_token = jwt.encode({**common, "aud": CLIENT_ID, "token_use": "id", "cognito:username": username},
                              self._key, algorithm="EdDSA", headers=headers)
        access_token = jwt.encode({**common, "client_id": CLIENT_ID, "token_use": "access", "username": username,
                                   "jti": str(uuid.uuid4())}, self._key, algorithm="EdDSA", headers=headers)
        return {"IdToken": id_token, "AccessToken": access_token,
                "ExpiresIn": self.settings.id_token_lifetime_seconds, "TokenType": "Bearer"}

    # --- accounts ----------------------------------------------------------------------------------

    async def sign_up(self, username: str, password: str, email: str | None) -> dict[str, object]:
        password_hash = await asyncio.to_thread(hash_password, password)
        sub = str(uuid.uuid4())
        created = await self.writer.run(database.insert_user, username, sub, password_hash, email, GAMER,
                                        time.time())
        if not created:
            raise ApiError(409, "UsernameExistsException", "That username is taken.")
        return {"UserConfirmed": True, "UserSub": sub, "Username": username}

    async def sign_in(self, username: str, password: str) -> dict[str, object]:
        now = time.time()
        self.throttle.check(username, now)
        user = await self.writer.run(database.get_user, username)
        # Hash even for unknown users, so the answer's timing does not reveal who exists.
        ok = await asyncio.to_thread(verify_password, user[1] if user else _DUMMY_HASH, password)
        if not (user and ok):
            self.throttle.failed(username, now)
            raise ApiError(401, "NotAuthorizedException", "Incorrect username or password.")
        self.throttle.succeeded(username)
        sub, _, groups = user
        refresh = secrets.token_urlsafe(48)
        await self.writer.run(database.save_refresh_token, _digest(refresh), username,
                              now + self.settings.refresh_token_lifetime_seconds)
        return {**self.issue_tokens(username, sub, groups.split(",")), "RefreshToken": refresh}

    async def refresh(self, refresh_token: str) -> dict[str, object]:
        username = await self.writer.run(database.refresh_token_owner, _digest(refresh_token), time.time())
        user = username and await self.writer.run(database.get_user, username)
        if not user:
            raise ApiError(401, "NotAuthorizedException", "Invalid or expired refresh token.")
        return self.issue_tokens(username, user[0], user[2].split(","))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_manager(conn, username: str, password: str) -> str:
    """Make `username` a Manager (creating the account, or promoting it and setting its password)."""
    password_hash = hash_password(password)
    groups = f"{GAMER},{MANAGER}"
    if database.insert_user(conn, username, str(uuid.uuid4()), password_hash, None, groups, time.time()):
        return "created"
    database.set_user_groups(conn, username, password_hash, groups)
    return "promoted"
