"""The WebSocket authorizer's token check (`aws/tokens.py`) without PyJWT or `cryptography` in the function:
RS256 as RFC 8017 prescribes it, checked against `cryptography` (a test dependency), and every claim."""

from __future__ import annotations

import base64
import json
import time

import pytest
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from spaceinvaders_backend.aws import tokens
from spaceinvaders_backend.aws.tokens import CognitoTokens, InvalidToken, rs256_signature_valid

REGION, POOL, CLIENT = "eu-west-1", "eu-west-1_Pool", "client123"
ISSUER = f"https://cognito-idp.{REGION}.amazonaws.com/{POOL}"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_int(value: int) -> str:
    return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def verifier(key, monkeypatch) -> CognitoTokens:
    numbers = key.public_key().public_numbers()
    jwks = {"keys": [{"kty": "RSA", "kid": "k1", "alg": "RS256", "use": "sig",
                      "n": b64url_int(numbers.n), "e": b64url_int(numbers.e)}]}
    fetched: list[str] = []
    monkeypatch.setattr(tokens, "fetch_json", lambda url: fetched.append(url) or jwks)
    v = CognitoTokens(REGION, POOL, CLIENT)
    v.fetched = fetched  # type: ignore[attr-defined]
    return v


def claims(**changes) -> dict:
    now = int(time.time())
    return {"sub": "s", "cognito:username": "alice", "cognito:groups": ["Gamer"], "iss": ISSUER, "aud": CLIENT,
            "token_use": "id", "iat": now, "exp": now + 3600, **changes}


def sign(key, body: dict, header: dict | None = None) -> str:
    head = b64url(json.dumps(header or {"alg": "RS256", "kid": "k1"}).encode())
    payload = b64url(json.dumps(body).encode())
    signature = key.sign(f"{head}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{head}.{payload}.{b64url(signature)}"


def test_a_valid_id_token_gives_its_claims(key, verifier):
    assert verifier.claims(sign(key, claims()))["cognito:username"] == "alice"
    assert verifier.claims("Bearer " + sign(key, claims()))["cognito:username"] == "alice"


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"exp": int(time.time()) - 1}, "expired"),
        ({"iss": "https://cognito-idp.eu-west-1.amazonaws.com/other"}, "another pool"),
        ({"aud": "other-client"}, "another client"),
        ({"token_use": "access"}, "not an ID token"),
        ({"exp": "tomorrow"}, "no numeric exp"),
        ({"iat": None}, "no numeric iat"),
        ({"nbf": int(time.time()) + 600}, "not yet valid"),
    ],
)
def test_claims_are_checked(key, verifier, changes, reason):
    with pytest.raises(InvalidToken, match=reason):
        verifier.claims(sign(key, claims(**changes)))


def test_a_changed_payload_breaks_the_signature(key, verifier):
    head, _payload, signature = sign(key, claims()).split(".")
    forged = b64url(json.dumps(claims(**{"cognito:username": "bob"})).encode())
    with pytest.raises(InvalidToken, match="bad signature"):
        verifier.claims(f"{head}.{forged}.{signature}")


def test_other_algorithms_are_refused(key, verifier):
    numbers = key.public_key().public_numbers()
    head = b64url(json.dumps({"alg": "none", "kid": "k1"}).encode())
    payload = b64url(json.dumps(claims()).encode())
    with pytest.raises(InvalidToken, match="RS256"):
        verifier.claims(f"{head}.{payload}.")
    # HS256 keyed with the public key (the classic confusion): refused before any key is used
    head = b64url(json.dumps({"alg": "HS256", "kid": "k1"}).encode())
    mac = hmac.HMAC(b64url_int(numbers.n).encode(), hashes.SHA256())
    mac.update(f"{head}.{payload}".encode())
    with pytest.raises(InvalidToken, match="RS256"):
        verifier.claims(f"{head}.{payload}.{b64url(mac.finalize())}")


@pytest.mark.parametrize("token", ["", "a.b", "a.b.c.d", "!!!.???.###", "e30.e30.", "W10.W10.AA"])
def test_malformed_tokens_are_invalid_not_errors(verifier, token):
    with pytest.raises(InvalidToken):
        verifier.claims(token)


def test_unknown_keys_refetch_the_key_set_at_most_once_a_minute(key, verifier):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for _ in range(5):
        with pytest.raises(InvalidToken, match="unknown key"):
            verifier.claims(sign(other, claims(), {"alg": "RS256", "kid": "rotated"}))
    assert len(verifier.fetched) == 1


def test_signature_check_agrees_with_cryptography(key):
    """RFC 8017 §8.2.2 by hand against `cryptography`'s verification, on valid and altered signatures."""
    numbers = key.public_key().public_numbers()
    for i in range(40):
        message = f"message {i}".encode() * (i + 1)
        signature = bytearray(key.sign(message, padding.PKCS1v15(), hashes.SHA256()))
        assert rs256_signature_valid(message, bytes(signature), numbers.n, numbers.e)
        assert not rs256_signature_valid(message + b"x", bytes(signature), numbers.n, numbers.e)
        signature[i % len(signature)] ^= 1 << (i % 8)
        assert not rs256_signature_valid(message, bytes(signature), numbers.n, numbers.e)
    assert not rs256_signature_valid(b"m", b"\x00" * 255, numbers.n, numbers.e)  # wrong length
    assert not rs256_signature_valid(b"m", numbers.n.to_bytes(256, "big"), numbers.n, numbers.e)  # s >= n
