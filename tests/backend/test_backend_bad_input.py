"""Bad input: each refusal has its status and the contract's error body, and the server goes on serving.

Ends with a property-style loop of a few hundred randomly mutated bodies: never a 5xx.
"""
from __future__ import annotations

import itertools
import json
import random
import time

import httpx
import pytest
from backend_support import assert_error, status_body, unique

N_PLAYERS = 10


@pytest.fixture(scope="module")
def room(api, manager):
    """An open MULTIPLE_TRIALS session with seated players, used in turn so no one hits the rate limit."""
    sid = manager.open_session("MULTIPLE_TRIALS")["SessionId"]
    players = api.gamers(N_PLAYERS, "b")
    for p in players:
        p.seat()
    return sid, players, itertools.cycle(players)


_last_post: dict[str, float] = {}


def _still_serves(room, manager=None):
    """A normal status post (by the next player in turn) and a read are answered as usual.

    Each player keeps to one post every 100 ms, the server's rate limit.
    """
    sid, _, turn = room
    p = next(turn)
    time.sleep(max(0.0, _last_post.get(p.name, 0.0) + 0.11 - time.monotonic()))
    _last_post[p.name] = time.monotonic()
    r = p.status(sid, random.randrange(1000))
    assert r.status_code == 200, r.text
    assert p.get("/session").status_code == 200
    if manager is not None:
        assert manager.get("/manager/sessions").status_code == 200


def _raw(user, path, content: bytes, content_type: str | None = "application/json", **kw) -> httpx.Response:
    headers = {**user.headers}
    if content_type is not None:
        headers["content-type"] = content_type
    return user.http.post(path, content=content, headers=headers, **kw)


# --- malformed, wrong types, bounds -----------------------------------------------------------------

MALFORMED = [b"{", b"{'SessionId': 'x'}", b'{"Score": 1,}', b"not json", b"\xff\xfe\x00", b'{"a": 1}}',
             b'{"SessionId": 5,', b"[1, 2"]


@pytest.mark.parametrize("raw", MALFORMED)
@pytest.mark.parametrize("path", ["/updatestatus", "/allocate", "/deallocate", "/manager/session",
                                  "/manager/deallocate", "/manager/session/start", "/auth/signin",
                                  "/auth/signup", "/auth/refresh"])
def test_malformed_json_is_400(room, manager, path, raw):
    assert_error(_raw(manager, path, raw), 400, "MalformedJson")
    _still_serves(room, manager)


WRONG_TYPES = [None, "1", 1.5, True, [], {}, [1]]
STRING_FIELDS_WRONG = [None, 1, 1.5, True, [], {}, ["x"]]


@pytest.mark.parametrize("field,value", [
    *[(f, v) for f in ("Score", "Shots", "Level", "Lives") for v in WRONG_TYPES],
    *[(f, v) for f in ("SessionId", "Nickname", "Timestamp") for v in STRING_FIELDS_WRONG],
])
def test_wrong_types_are_422(room, field, value):
    sid, players, _ = room
    p = players[0]
    body = {**status_body(sid, p.name, 1), field: value}
    assert_error(p.post("/updatestatus", body), 422, "ValidationError")
    _still_serves(room)


@pytest.mark.parametrize("field", ["SessionId", "Nickname", "Score", "Shots", "Level", "Lives", "Timestamp"])
def test_missing_field_is_422(room, field):
    sid, players, _ = room
    p = players[0]
    body = status_body(sid, p.name, 1)
    del body[field]
    assert_error(p.post("/updatestatus", body), 422, "ValidationError")
    _still_serves(room)


@pytest.mark.parametrize("body", [[], "text", 12, None])
def test_wrong_json_shape_is_422(room, manager, body):
    _, players, _ = room
    raw = json.dumps(body).encode()
    for path in ("/updatestatus", "/allocate"):
        assert_error(_raw(players[0], path, raw), 422, "ValidationError")
    assert_error(_raw(manager, "/manager/session", raw), 422)
    _still_serves(room)


@pytest.mark.parametrize("field,value", [
    ("Score", -1), ("Score", 10**9 + 1), ("Shots", -1), ("Shots", 10**9 + 1), ("Level", 0),
    ("Level", 10**4 + 1),
    ("Lives", -1), ("Lives", 100), ("Nickname", "n" * 33), ("Nickname", "with space"), ("Nickname", ""),
    ("SessionId", "s" * 65), ("SessionId", ""), ("Timestamp", "yesterday"), ("Timestamp", ""),
    ("Timestamp", "2026-02-30T10:00:00Z"), ("Score", 2**64),
    # Only strict RFC 3339 with a zone; nothing after it (the parser once stopped at the NUL).
    ("Timestamp", "2026-11-26T22:15:00Z\u0000=1+1<b>x"), ("Timestamp", "2026-11-26"),
    ("Timestamp", "2026-11-26T22:15:00"), ("Timestamp", "2026-11-26T22:15:00Z\n"),
    ("Timestamp", "0001-01-01T00:00:00+23:59"),
])
def test_out_of_bounds_are_422(room, field, value):
    sid, players, _ = room
    p = players[1]
    body = {**status_body(sid, p.name, 1), field: value}
    assert_error(p.post("/updatestatus", body), 422, "ValidationError")
    _still_serves(room)


def test_timestamp_far_ahead_of_the_server_is_422(room):
    sid, players, _ = room
    p = players[1]
    assert_error(p.post("/updatestatus", status_body(sid, p.name, 1, ts=time.time() + 3600)), 422,
                 "ValidationError")
    assert p.post("/updatestatus", status_body(sid, p.name, 1, ts=time.time() + 60)).status_code == 200
    _still_serves(room)


def test_bounds_inside_are_accepted(api, room, manager):
    sid, _, _ = room
    p = api.gamer("n" * 32)  # the longest name
    p.seat()
    assert p.status(sid, 10**9, shots=10**9, level=10**4, lives=99).status_code == 200
    assert p.status(sid, 0, shots=0, level=1, lives=1).status_code == 200
    manager.wait_entry(sid, p.name, Score=0)  # the newest record of the trial is its state


def test_name_followed_by_a_newline_is_not_a_name(room, manager):
    sid, players, _ = room
    p = players[1]
    assert_error(p.post("/updatestatus", status_body(sid, p.name + "\n", 1)), 422, "ValidationError")
    assert_error(p.allocate(p.name + "\n"), 422, "ValidationError")
    assert_error(manager.post("/manager/deallocate", {"Username": p.name + "\n"}), 422)
    assert_error(manager.post("/manager/session", {"GameType": "SINGLE_TRIAL", "SessionName": "ROOM\n"}), 422)
    _still_serves(room, manager)


def test_username_pattern_on_allocate(room):
    _, players, _ = room
    for bad in ("with space", "x" * 33, "", 5, None):
        assert_error(players[0].post("/allocate", {"Username": bad}), 422)
    assert_error(players[0].post("/allocate", {}), 422)
    _still_serves(room)


def test_deeply_nested_body_is_refused_not_a_crash(room, manager):
    sid, players, _ = room
    p = players[2]
    # An unknown field nested past the decoder's recursion limit, within 1 KiB.
    deep = ('{"Extra": ' + "[" * 1010).encode()
    assert len(deep) <= 1024
    assert_error(_raw(p, "/updatestatus", deep), 422, "ValidationError")
    full = json.dumps(status_body(sid, p.name, 1))[:-1] + ', "Extra": ' + "[" * 5000 + "]" * 5000 + "}"
    assert_error(_raw(p, "/allocate", full.encode()), 422)
    assert_error(_raw(manager, "/manager/session", ('{"GameType": "SINGLE_TRIAL", "X": ' + "{\"a\": " * 2000
                                                    + "1" + "}" * 2001).encode()), 422)
    assert_error(_raw(manager, "/manager/session", ("[" * 8000).encode()), 422)
    _still_serves(room, manager)


def test_bad_utf8_is_400(room, manager):
    sid, players, _ = room
    p = players[3]
    good = json.dumps(status_body(sid, p.name, 1)).encode()
    for bad in (good.replace(b"T", b"\xfe", 1), good.replace(p.name.encode(), b"\xc3(" + p.name.encode()[2:]),
                b"\xff\xfe{}"):
        assert_error(_raw(p, "/updatestatus", bad), 400, "MalformedJson")
    assert_error(_raw(p, "/allocate", b'{"Username": "\xe2\x28\xa1"}'), 400, "MalformedJson")
    assert_error(_raw(manager, "/manager/session", b'{"GameType": "SINGLE\xffTRIAL"}'), 400, "MalformedJson")
    _still_serves(room, manager)


# --- size, content type, identity -------------------------------------------------------------------

def test_body_size_limits(room, manager):
    sid, players, _ = room
    p = players[3]
    body = status_body(sid, p.name, 5)
    pad = 1024 - len(json.dumps({**body, "Pad": ""}).encode())
    exact = json.dumps({**body, "Pad": "x" * pad}).encode()
    assert len(exact) == 1024
    assert _raw(p, "/updatestatus", exact).status_code == 200  # at most 1 KiB: accepted
    one_more = json.dumps({**body, "Pad": "x" * (pad + 1)}).encode()
    assert len(one_more) == 1025
    assert_error(_raw(p, "/updatestatus", one_more), 413, "PayloadTooLarge")
    big = json.dumps({**body, "Pad": "x" * 2048}).encode()
    assert_error(_raw(p, "/updatestatus", big), 413, "PayloadTooLarge")
    # Without a Content-Length (chunked), the limit holds while reading.
    assert_error(_raw(p, "/updatestatus", iter([big[:1000], big[1000:]])), 413, "PayloadTooLarge")
    huge = json.dumps({"Username": p.name, "Pad": "x" * 1_000_000}).encode()
    assert_error(_raw(p, "/allocate", huge), 413, "PayloadTooLarge")
    assert_error(_raw(p, "/allocate", iter([huge[i:i + 65536] for i in range(0, len(huge), 65536)])), 413)
    assert_error(_raw(p, "/updatestatus", huge), 413)
    assert_error(_raw(manager, "/manager/session", json.dumps({"GameType": "SINGLE_TRIAL",
                                                               "Pad": "x" * 20_000}).encode()), 413)
    assert_error(_raw(p, "/auth/signup", huge), 413)
    _still_serves(room, manager)


def test_not_json_content_type_is_415(room, manager):
    sid, players, _ = room
    p = players[4]
    good = json.dumps(status_body(sid, p.name, 7)).encode()
    for ctype in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                  "text/html; charset=utf-8"):
        assert_error(_raw(p, "/updatestatus", good, ctype), 415, "UnsupportedMediaType")
        assert_error(_raw(p, "/allocate", json.dumps({"Username": p.name}).encode(), ctype), 415)
    assert_error(_raw(manager, "/manager/session", b'{"GameType": "SINGLE_TRIAL"}', "text/plain"), 415)
    # JSON with parameters, or no type at all, is taken as JSON.
    assert _raw(p, "/updatestatus", good, "application/json; charset=utf-8").status_code == 200
    time.sleep(0.12)
    assert _raw(p, "/updatestatus", good, None).status_code == 200
    _still_serves(room, manager)


def test_identity_must_match_the_token(room, manager):
    sid, players, _ = room
    a, b = players[0], players[1]
    assert_error(a.post("/updatestatus", status_body(sid, b.name, 1)), 403, "Forbidden")
    assert_error(a.allocate(b.name), 403, "Forbidden")
    assert_error(a.deallocate(b.name), 403, "Forbidden")
    assert b.name in manager.players(sid)["PlayingGamers"]  # b kept the seat
    assert_error(a.post("/manager/session", {"GameType": "SINGLE_TRIAL"}), 403, "Forbidden")
    assert_error(a.post("/manager/deallocate", {"Username": b.name}), 403, "Forbidden")
    assert b.name in manager.players(sid)["PlayingGamers"]
    _still_serves(room, manager)


def test_rate_limit(api, room, manager):
    sid, _, _ = room
    fast, calm = api.gamers(2, "rl")
    fast.seat()
    calm.seat()
    answers = [fast.status(sid, i) for i in range(40)]  # far past 10 a second
    codes = [r.status_code for r in answers]
    assert codes[:5] == [200] * 5, codes  # a short burst is fine
    limited = [r for r in answers if r.status_code == 429]
    assert limited, codes
    assert set(codes) <= {200, 429}, codes
    for r in limited:
        assert_error(r, 429, "TooManyRequests")
        assert int(r.headers["Retry-After"]) >= 1
    assert calm.status(sid, 1).status_code == 200  # per player: others are not limited
    # Holding to the pace of the contract (a post every 300 ms) is never limited.
    time.sleep(int(limited[-1].headers["Retry-After"]))
    for i in range(5):
        assert fast.status(sid, 100 + i).status_code == 200
        time.sleep(0.3)
    _still_serves(room, manager)
    # Only accepted records are stored.
    stored = [json.loads(line) for line in manager.export(sid).text.splitlines()]
    mine = [rec["Score"] for rec in stored if rec["Nickname"] == fast.name]
    assert mine == [i for i, c in enumerate(codes) if c == 200] + [100, 101, 102, 103, 104]


# --- never a 5xx ------------------------------------------------------------------------------------

def _random_value(rng: random.Random, depth: int = 0):
    kind = rng.randrange(13 if depth < 3 else 9)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, 1, -1, 10**9, 10**9 + 1, 10**4, 99, 100, 2**31, 2**63, 2**64, -(2**63), 10**30])
    if kind == 3:
        return rng.uniform(-1e12, 1e12)
    if kind == 4:
        return rng.choice([1e308, -0.0, 0.5, 1.0])
    if kind == 5:
        alphabet = "abcXYZ09_.- /\\\"'\u00e9\u4e2d\U0001F47E\x00\n"
        return "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 40)))
    if kind == 6:
        return rng.choice(["", " ", "a" * 33, "a" * 64, "a" * 65, "null", "1", "2026-11-26T22:15:00Z",
                           "9999-12-31T23:59:59Z", "0001-01-01T00:00:00+23:59", "2026-13-01", "T", "Z",
                           "2026-11-26T22:15:00.123456789Z", "2026-11-26 22:15", "-1", "1e9"])
    if kind == 7:
        return rng.randrange(-5, 200)
    if kind == 8:
        return "x" * rng.randrange(0, 300)
    if kind in (9, 10):
        return [_random_value(rng, depth + 1) for _ in range(rng.randrange(0, 4))]
    return {rng.choice(["a", "Score", "Nickname", "", "\u00e9"]): _random_value(rng, depth + 1)
            for _ in range(rng.randrange(0, 4))}


def _mutated(rng: random.Random, base: dict) -> tuple[bytes, str | None]:
    """A body derived from `base` by one or more random mutations, with a content type."""
    body = dict(base)
    for _ in range(rng.randrange(1, 4)):
        op = rng.randrange(6)
        if op == 0 and body:
            body.pop(rng.choice(list(body)))
        elif op in (1, 2) and body:
            body[rng.choice(list(body))] = _random_value(rng)
        elif op == 3:
            key = rng.choice(["Extra", "score", "Nickname ", "__proto__", "SessionId\u0000"])
            body[key] = _random_value(rng)
        elif op == 4:
            body = _random_value(rng)
            break
    raw = json.dumps(body, ensure_ascii=rng.random() < 0.5).encode()
    shape = rng.randrange(10)
    if shape == 0:
        raw = raw[:rng.randrange(0, max(1, len(raw)))]  # truncated
    elif shape == 1:
        raw = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 200)))  # garbage
    elif shape == 2 and raw:
        i = rng.randrange(len(raw))
        raw = raw[:i] + bytes([rng.randrange(256)]) + raw[i + 1:]  # one byte flipped
    elif shape == 3:
        raw = raw.replace(b"}", b"," * rng.randrange(1, 3) + b"}", 1)
    ctype = rng.choice(["application/json"] * 6 + [None, "text/plain", "application/json; charset=utf-8",
                                                   "APPLICATION/JSON", "application/vnd.api+json"])
    return raw, ctype


def test_random_bodies_never_get_a_5xx(api, room, manager):
    sid, players, _ = room
    p = players[5]
    rng = random.Random(20261126)
    targets = [
        (p, "/updatestatus", status_body(sid, p.name, 1), 160),
        (p, "/allocate", {"Username": p.name}, 50),
        (p, "/deallocate", {"Username": p.name}, 30),
        (manager, "/manager/session", {"SessionName": "FUZZ", "GameType": "SINGLE_TRIAL",
                                       "Synchronized": False, "TimeoutInMinutes": 3, "TotalSeats": 10}, 50),
        (manager, "/manager/session/start", {"CountdownSeconds": 5}, 20),
        (manager, "/manager/deallocate", {"Username": unique("nobody")}, 20),
        (p, "/auth/signin", {"Username": unique("nobody"), "Password": "whatever"}, 25),
        (p, "/auth/signup", {"Username": "fz", "Password": "short", "Email": "a@b"}, 25),
        (p, "/auth/refresh", {"RefreshToken": "x"}, 20),
    ]
    seen: dict[int, int] = {}
    sent = 0
    for user, path, base, n in targets:
        for _ in range(n):
            raw, ctype = _mutated(rng, base)
            r = _raw(user, path, raw, ctype)
            sent += 1
            seen[r.status_code] = seen.get(r.status_code, 0) + 1
            assert r.status_code < 500, (path, raw, ctype, r.status_code, r.text)
            if r.status_code >= 400:
                assert_error(r, r.status_code)
                if r.status_code == 429:
                    assert r.headers.get("Retry-After")
    # Wrong JSON types for each field of a status, one field at a time.
    for field in list(status_body(sid, p.name, 1)):
        for value in (None, True, 1.5, "7", [], {}, [1, "a"], {"x": 1}, 10**40, -1, ""):
            r = p.post("/updatestatus", {**status_body(sid, p.name, 1), field: value})
            sent += 1
            assert r.status_code < 500, (field, value, r.text)
            if r.status_code >= 400:
                assert_error(r, r.status_code)
    assert sent >= 400
    assert len([s for s in seen if 400 <= s < 500]) >= 4, seen  # the mutations reach several refusals
    time.sleep(1.1)  # past any rate limit the loop ran into
    r = manager.post("/manager/session/close")
    assert r.status_code in (200, 409)
    manager.open_session()
    assert api.http.get("/health").status_code == 200
