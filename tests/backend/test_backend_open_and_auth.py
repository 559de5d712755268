"""Open paths, local sign-in and token checks, on a server where no session was ever opened."""
from __future__ import annotations

import base64
import json
import re
import stat
import time
from pathlib import Path

import jwt
import pytest
from backend_support import PASSWORD, assert_error, status_body, unique
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

CLIENT_ID = "spaceinvaders-local"

# Every path of API.md, with its method.
CONTRACT_PATHS = {
    "/config": "get", "/health": "get", "/openapi.json": "get", "/session": "get", "/allocate": "post",
    "/deallocate": "post", "/updatestatus": "post", "/scoreboard": "get", "/manager/session": "post",
    "/manager/session/start": "post", "/manager/session/close": "post", "/manager/sessions": "get",
    "/manager/scoreboard": "get", "/manager/players": "get", "/manager/deallocate": "post",
    "/manager/export": "get", "/manager/replay": "get", "/auth/signup": "post", "/auth/signin": "post", "/auth/refresh": "post",
    "/auth/jwks.json": "get",
}
AUTHED = [(m, p) for p, m in CONTRACT_PATHS.items()
          if p not in ("/config", "/health", "/openapi.json") and not p.startswith("/auth/")]


API_MD = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@pytest.fixture(scope="module")
def gamer(api):
    return api.gamer()


@pytest.fixture(scope="module")
def issuer(api):
    params = {p["Name"]: p["Value"] for p in api.http.get("/config").json()["Parameters"]}
    return params["/local/issuer"]


# --- open paths -------------------------------------------------------------------------------------

def test_config(api):
    r = api.http.get("/config")
    assert r.status_code == 200
    params = r.json()["Parameters"]
    assert all(set(p) == {"Name", "Value"} for p in params)
    names = {p["Name"]: p["Value"] for p in params}
    assert names["/local/auth"] == "local"
    assert not any(n.endswith(("/userpoolid", "/clientid")) for n in names)  # clients pick local sign-in


def test_health(api):
    r = api.http.get("/health")
    assert r.status_code == 200 and r.json()["status"] == "ok"
    progress = r.json()
    assert progress["processedThrough"] <= progress["lastSequenceNumber"]


def test_openapi_lists_every_contract_path(api):
    r = api.http.get("/openapi.json")
    assert r.status_code == 200
    spec = r.json()
    assert spec["openapi"].startswith("3.")
    for path, method in CONTRACT_PATHS.items():
        assert method in spec["paths"].get(path, {}), path
    # Every $ref resolves.
    refs = set(re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(spec)))
    assert refs and refs <= set(spec["components"]["schemas"])
    # The paths of the repository's own contract (docs/api.md), with their methods.
    documented = set(re.findall(r"`(GET|POST) (/[a-z/.]+)", API_MD.read_text()))
    documented |= {("POST", "/updatestatus"), ("POST", "/allocate"), ("POST", "/deallocate"),
                   ("GET", "/config"), ("GET", "/health"), ("GET", "/openapi.json"), ("GET", "/auth/jwks.json")}
    served = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    assert documented == served == {(m.upper(), p) for p, m in CONTRACT_PATHS.items()}
    # Every answer a path can give is listed, e.g. the export's refusals besides its 200.
    export = spec["paths"]["/manager/export"]["get"]["responses"]
    assert {"200", "400", "401", "403", "404", "422"} <= set(export)
    assert set(export["200"]["content"]) == {"application/x-ndjson", "text/csv"}
    assert set(spec["paths"]["/updatestatus"]["post"]["responses"]) >= {"200", "400", "401", "403", "408", "409",
                                                                          "413", "415", "422", "429", "503"}


def test_unknown_path_and_method_have_the_error_body(api, gamer):
    assert_error(api.http.get("/nothing-here"), 404, "NotFound")
    assert_error(gamer.get("/allocate"), 405, "MethodNotAllowed")
    assert_error(gamer.get("/updatestatus"), 405, "MethodNotAllowed")
    assert api.http.get("/health").status_code == 200


def test_files_are_private(local_server_module):
    d = local_server_module.data_dir
    assert stat.S_IMODE(d.stat().st_mode) == 0o700
    assert stat.S_IMODE((d / "jwt-signing-key.pem").stat().st_mode) == 0o600


def test_the_start_says_where_it_serves_and_nothing_alarming(local_server_module):
    log = local_server_module.log_path.read_text()
    assert f"on http://127.0.0.1:{local_server_module.port}/v1" in log
    assert "experimental" not in log and "WARNING" not in log


# --- sign-up ----------------------------------------------------------------------------------------

def test_signup(api):
    name = unique("su")
    r = api.signup(name, email="player@example.org")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["Username"] == name and body["UserConfirmed"] is True and body["UserSub"]
    assert_error(api.signup(name), 409, "UsernameExistsException")
    assert_error(api.signup(name, "another-password"), 409)
    assert api.signin(name).status_code == 200  # the first password stays


@pytest.mark.parametrize("body", [
    {"Username": "has space", "Password": PASSWORD},
    {"Username": "x" * 33, "Password": PASSWORD},
    {"Username": "", "Password": PASSWORD},
    {"Username": "slash/name", "Password": PASSWORD},
    {"Username": "okname\n", "Password": PASSWORD},
    {"Username": "okname", "Password": PASSWORD, "Email": "a@b.org\n"},
    {"Username": "okname", "Password": "12345"},
    {"Username": "okname", "Password": ""},
    {"Username": "okname", "Password": "p" * 257},
    {"Username": "okname", "Password": PASSWORD, "Email": "not-an-email"},
    {"Username": "okname"},
    {"Password": PASSWORD},
    {"Username": 12, "Password": PASSWORD},
    {"Username": "okname", "Password": 123456},
])
def test_signup_invalid_is_422(api, body):
    assert_error(api.http.post("/auth/signup", json=body), 422, "ValidationError")
    assert api.http.get("/health").status_code == 200


def test_signup_not_json(api):
    r = api.http.post("/auth/signup", content=b"{nope", headers={"content-type": "application/json"})
    assert_error(r, 400, "MalformedJson")
    assert_error(api.http.post("/auth/signup", content=b"Username=a", headers={"content-type": "text/plain"}),
                 415, "UnsupportedMediaType")


# --- sign-in and tokens -----------------------------------------------------------------------------

def test_signin_tokens_have_cognito_claims(api, issuer):
    name = unique("si")
    sub = api.signup(name).json()["UserSub"]
    before = int(time.time())
    r = api.signin(name)
    assert r.status_code == 200, r.text
    tokens = r.json()
    assert set(tokens) >= {"IdToken", "AccessToken", "RefreshToken", "ExpiresIn", "TokenType"}
    assert tokens["TokenType"] == "Bearer"
    assert isinstance(tokens["ExpiresIn"], int) and tokens["ExpiresIn"] > 0
    claims = jwt.decode(tokens["IdToken"], options={"verify_signature": False})
    assert claims["sub"] == sub
    assert claims["cognito:username"] == name
    assert claims["cognito:groups"] == ["Gamer"]
    assert claims["token_use"] == "id"
    assert claims["iss"] == issuer
    assert before - 1 <= claims["iat"] <= time.time() + 1
    assert claims["exp"] == claims["iat"] + tokens["ExpiresIn"]
    access = jwt.decode(tokens["AccessToken"], options={"verify_signature": False})
    assert access["token_use"] == "access" and access["sub"] == sub


def test_jwks_verifies_the_id_token(api, gamer, issuer):
    r = api.http.get("/auth/jwks.json")
    assert r.status_code == 200
    keys = r.json()["keys"]
    assert len(keys) == 1 and keys[0]["kty"] == "OKP" and keys[0]["crv"] == "Ed25519"
    header = jwt.get_unverified_header(gamer.token)
    assert header["alg"] == "EdDSA" and header["kid"] == keys[0]["kid"]
    key = jwt.PyJWK(keys[0])
    claims = jwt.decode(gamer.token, key.key, algorithms=["EdDSA"], audience=CLIENT_ID, issuer=issuer)
    assert claims["cognito:username"] == gamer.name
    other = Ed25519PrivateKey.generate()
    forged = jwt.encode(claims, other, algorithm="EdDSA")
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(forged, key.key, algorithms=["EdDSA"], audience=CLIENT_ID)


def test_signin_wrong_credentials(api, gamer):
    assert_error(api.signin(gamer.name, "wrong-password"), 401, "NotAuthorizedException")
    assert_error(api.signin(unique("nobody")), 401, "NotAuthorizedException")
    assert_error(api.http.post("/auth/signin", json={"Username": gamer.name}), 422)
    assert api.signin(gamer.name).status_code == 200  # a success clears the failure


def test_repeated_failures_are_throttled(api):
    name = unique("th")
    api.signup(name)
    for _ in range(5):
        assert_error(api.signin(name, "wrong-password"), 401)
    r = api.signin(name, "wrong-password")
    assert_error(r, 429, "TooManyFailedSignIns")
    retry = int(r.headers["Retry-After"])
    assert 1 <= retry <= 2
    assert_error(api.signin(name), 429)  # even the right password waits
    assert api.signin(unique("other")).status_code == 401  # other usernames are not affected
    time.sleep(retry)
    assert api.signin(name).status_code == 200
    assert_error(api.signin(name, "wrong-password"), 401)  # the count started over


def test_refresh(api):
    name = unique("rf")
    api.signup(name)
    first = api.signin(name).json()
    r = api.http.post("/auth/refresh", json={"RefreshToken": first["RefreshToken"]})
    assert r.status_code == 200, r.text
    tokens = r.json()
    assert "RefreshToken" not in tokens
    assert tokens["IdToken"] and tokens["AccessToken"] and tokens["TokenType"] == "Bearer"
    claims = jwt.decode(tokens["IdToken"], options={"verify_signature": False})
    assert claims["cognito:username"] == name and claims["cognito:groups"] == ["Gamer"]
    assert api.http.get("/session", headers={"Authorization": tokens["IdToken"]}).status_code == 200
    r = api.http.post("/auth/refresh", json={"RefreshToken": "bogus"})
    assert_error(r, 401, "NotAuthorizedException")
    assert_error(api.http.post("/auth/refresh", json={"RefreshToken": first["IdToken"][:500]}), 401)
    assert_error(api.http.post("/auth/refresh", json={"RefreshToken": ""}), 422)
    assert_error(api.http.post("/auth/refresh", json={}), 422)


# --- token checks -----------------------------------------------------------------------------------

def _server_key(server) -> Ed25519PrivateKey:
    return serialization.load_pem_private_key((server.data_dir / "jwt-signing-key.pem").read_bytes(), None)


def _claims(name: str, issuer: str, **changes) -> dict:
    now = int(time.time())
    return {"sub": "00000000-0000-0000-0000-000000000000", "iss": issuer, "aud": CLIENT_ID, "iat": now,
            "exp": now + 600, "token_use": "id", "cognito:username": name, "cognito:groups": ["Gamer"],
            **changes}


def test_both_authorization_forms(api, gamer):
    for header in (gamer.token, f"Bearer {gamer.token}", f"bearer {gamer.token}"):
        r = api.http.get("/session", headers={"Authorization": header})
        assert r.status_code == 200, (header[:10], r.text)


def test_bad_tokens_are_401(api, gamer, issuer, local_server_module):
    key = _server_key(local_server_module)
    header, payload, signature = gamer.token.split(".")
    claims = json.loads(_unb64(payload))
    tampered = json.dumps({**claims, "cognito:groups": ["Gamer", "Manager"]}).encode()
    other_user = json.dumps({**claims, "cognito:username": "someone-else"}).encode()
    none_alg = _b64(b'{"alg":"none","typ":"JWT"}') + "." + payload + "."
    bad = {
        "missing": None,
        "empty": "",
        "bearer only": "Bearer",
        "bearer and blank": "Bearer x",
        "garbage": "abc.def.ghi",
        "not a jwt": "hello",
        "forged": jwt.encode(_claims(gamer.name, issuer), Ed25519PrivateKey.generate(), algorithm="EdDSA"),
        "expired": jwt.encode(_claims(gamer.name, issuer, iat=int(time.time()) - 7200,
                                      exp=int(time.time()) - 3600), key, algorithm="EdDSA"),
        "tampered groups": f"{header}.{_b64(tampered)}.{signature}",
        "tampered user": f"{header}.{_b64(other_user)}.{signature}",
        "truncated signature": gamer.token[:-4],
        "alg none": none_alg,
        "access token": gamer.tokens["AccessToken"],
        "wrong issuer": jwt.encode(_claims(gamer.name, "urn:elsewhere"), key, algorithm="EdDSA"),
        "wrong audience": jwt.encode(_claims(gamer.name, issuer, aud="other-client"), key, algorithm="EdDSA"),
        "no username": jwt.encode({k: v for k, v in _claims(gamer.name, issuer).items()
                                   if k != "cognito:username"}, key, algorithm="EdDSA"),
        "no exp": jwt.encode({k: v for k, v in _claims(gamer.name, issuer).items() if k != "exp"}, key,
                             algorithm="EdDSA"),
        "HS256 with the public key": jwt.encode(_claims(gamer.name, issuer), "x" * 32, algorithm="HS256"),
        # Signed with the server's own key, but groups that are not a list of names.
        **{f"groups {groups!r}": jwt.encode(_claims(gamer.name, issuer, **{"cognito:groups": groups}), key,
                                           algorithm="EdDSA")
           for groups in ("Gamer", ["Gamer", 1], {"Gamer": True}, None, [["Gamer"]])},
    }
    for what, token in bad.items():
        headers = {} if token is None else {"Authorization": token}
        assert_error(api.http.get("/session", headers=headers), 401, "Unauthorized"), what
        assert_error(api.http.post("/updatestatus", json=status_body("S", gamer.name, 1), headers=headers),
                     401, "Unauthorized")
    # The server's key with fresh claims is accepted: the checks above failed for the reasons named.
    good = jwt.encode(_claims(gamer.name, issuer), key, algorithm="EdDSA")
    assert api.http.get("/session", headers={"Authorization": good}).status_code == 200
    assert api.http.get("/session", headers=gamer.headers).status_code == 200


@pytest.mark.parametrize("method,path", AUTHED)
def test_every_authed_path_needs_a_token(api, method, path):
    kwargs = {"json": {"Username": "x"}} if method == "post" else {}
    r = api.http.request(method.upper(), path, params={"sessionId": "x"}, **kwargs)
    assert_error(r, 401, "Unauthorized")
    assert_error(api.http.request(method.upper(), path, params={"sessionId": "x"},
                                  headers={"Authorization": "Bearer nope"}, **kwargs), 401)


@pytest.mark.parametrize("method,path", [(m, p) for m, p in AUTHED if p.startswith("/manager/")])
def test_gamer_on_a_manager_path_is_403(gamer, method, path):
    body = {"GameType": "MULTIPLE_TRIALS"} if path == "/manager/session" else {"Username": gamer.name}
    kwargs = {"json": body} if method == "post" else {}
    r = gamer.http.request(method.upper(), path, params={"sessionId": "x", "format": "jsonl"},
                           headers=gamer.headers, **kwargs)
    assert_error(r, 403, "Forbidden")


# --- before any session -----------------------------------------------------------------------------

def test_no_session_yet(api, gamer, local_server_module):
    assert gamer.session() is None
    assert_error(gamer.allocate(), 422, "NoSessionAvailable")
    r = gamer.deallocate()
    assert r.status_code == 200 and r.json()["successMessage"]
    assert_error(gamer.status("NOPE261126T221500", 1), 409)  # a session id, of no session
    assert_error(gamer.status("NOPE", 1), 422, "ValidationError")  # not the shape of a session id
    assert_error(gamer.get("/scoreboard"), 400, "MissingParameter")
    assert_error(gamer.get("/scoreboard", params={"sessionId": ""}), 400, "MissingParameter")
    assert_error(gamer.get("/scoreboard", params={"sessionId": "NOPE"}), 404, "SessionNotFound")
    boss = api.manager(local_server_module)
    assert boss.get("/manager/sessions").json() == {"Sessions": []}
    assert_error(boss.post("/manager/session/close"), 409, "NoSessionAvailable")
    assert_error(boss.post("/manager/session/start"), 409, "NoSessionAvailable")
    assert_error(boss.get("/manager/players", params={"sessionId": "NOPE"}), 404)
    assert_error(boss.get("/manager/export", params={"sessionId": "NOPE"}), 404)
    assert_error(boss.get("/manager/scoreboard"), 400, "MissingParameter")
    assert gamer.session() is None
