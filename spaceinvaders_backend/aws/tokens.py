"""Cognito ID tokens checked the way API Gateway's Cognito authorizer checks them, for the WebSocket API
(whose authorizer is ours): RS256 signature by a key of the pool's JWKS, issuer, audience, expiry,
`id` use.

The signature is checked here, with the standard library, instead of with PyJWT and `cryptography`:
`cryptography`'s arm64 wheel alone is 4.7 MB zipped, most of the functions' 5 MB budget (docs/aws.md,
"The functions' package"). RS256 verification is RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 §3.3), and the
check is the one RFC 8017 §8.2.2 prescribes: encode the expected message and compare it whole, so no
part of the signature is ever parsed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import threading
import time
import urllib.error
import urllib.request
from typing import Any

JWKS_TIMEOUT_SECONDS = 3.0
# An unknown `kid` fetches the key set again (the pool rotated its keys), at most this often: tokens
# carrying made-up key ids must not turn each connection attempt into a request to Cognito.
JWKS_REFRESH_SECONDS = 60.0
# DigestInfo of SHA-256 (RFC 8017 §9.2, note 1), before the 32 bytes of the digest.
_SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")


class InvalidToken(Exception):
    pass


def fetch_json(url: str) -> Any:
    """GET a JSON document (the pool's key set); tests replace it to reach moto."""
    with urllib.request.urlopen(url, timeout=JWKS_TIMEOUT_SECONDS) as answer:  # the https URL of the pool
        return json.load(answer)


def _b64url(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise InvalidToken(f"not base64url: {exc}") from None


def _b64url_int(text: str) -> int:
    return int.from_bytes(_b64url(text), "big")


def rs256_signature_valid(signing_input: bytes, signature: bytes, n: int, e: int) -> bool:
    """RSASSA-PKCS1-v1_5 verification with SHA-256 (RFC 8017 §8.2.2) of `signature` by the key (n, e)."""
    k = (n.bit_length() + 7) // 8
    digest_info = _SHA256_DIGEST_INFO + hashlib.sha256(signing_input).digest()
    if len(signature) != k or k < len(digest_info) + 11:
        return False
    s = int.from_bytes(signature, "big")
    if s >= n:
        return False
    encoded = pow(s, e, n).to_bytes(k, "big")
    expected = b"\x00\x01" + b"\xff" * (k - len(digest_info) - 3) + b"\x00" + digest_info
    return hmac.compare_digest(encoded, expected)


class CognitoTokens:
    def __init__(self, region: str, user_pool_id: str, client_id: str) -> None:
        self.issuer = f"https://cognito-idp.{region}.amazonaws.com/{user_pool_id}"
        self.client_id = client_id
        self._keys: dict[str, tuple[int, int]] = {}  # kid -> (n, e)
        self._fetched_at = float("-inf")
        self._lock = threading.Lock()

    def _fetch_keys(self) -> None:
        try:
            document = fetch_json(f"{self.issuer}/.well-known/jwks.json")
            keys = {
                k["kid"]: (_b64url_int(k["n"]), _b64url_int(k["e"]))
                for k in document["keys"]
                if k.get("kty") == "RSA"
            }
        except (OSError, urllib.error.URLError, ValueError, KeyError, TypeError, InvalidToken) as exc:
            raise InvalidToken(f"the pool's keys are unavailable: {exc}") from exc
        with self._lock:
            self._keys = keys
            self._fetched_at = time.monotonic()

    def _key(self, kid: str) -> tuple[int, int]:
        if kid not in self._keys and time.monotonic() - self._fetched_at >= JWKS_REFRESH_SECONDS:
            self._fetch_keys()  # first use, or the pool rotated its keys
        try:
            return self._keys[kid]
        except KeyError:
            raise InvalidToken("signed by an unknown key") from None

    def claims(self, token: str) -> dict[str, Any]:
        token = token.removeprefix("Bearer ").strip()
        parts = token.split(".")
        if len(parts) != 3:
            raise InvalidToken("not a JWT")
        try:
            header = json.loads(_b64url(parts[0]))
            claims = json.loads(_b64url(parts[1]))
        except ValueError as exc:
            raise InvalidToken(f"not a JWT: {exc}") from None
        if not isinstance(header, dict) or not isinstance(claims, dict):
            raise InvalidToken("not a JWT")
        if header.get("alg") != "RS256":  # never "none", never a symmetric algorithm keyed by the public key
            raise InvalidToken("not signed with RS256")
        n, e = self._key(str(header.get("kid", "")))
        if not rs256_signature_valid(f"{parts[0]}.{parts[1]}".encode("ascii"), _b64url(parts[2]), n, e):
            raise InvalidToken("bad signature")
        self._check_claims(claims)
        return claims

    def _check_claims(self, claims: dict[str, Any]) -> None:
        now = time.time()
        for name in ("exp", "iat"):
            if not isinstance(claims.get(name), int | float) or isinstance(claims.get(name), bool):
                raise InvalidToken(f"no numeric {name}")
        if now >= claims["exp"]:
            raise InvalidToken("expired")
        nbf = claims.get("nbf")
        if isinstance(nbf, int | float) and now < nbf:
            raise InvalidToken("not yet valid")
        if claims.get("iss") != self.issuer:
            raise InvalidToken("issued by another pool")
        audience = claims.get("aud")
        if self.client_id not in (audience if isinstance(audience, list) else [audience]):
            raise InvalidToken("issued to another client")
        if claims.get("token_use") != "id":
            raise InvalidToken("not an ID token")
