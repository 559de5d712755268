"""Bad input: each refusal has its status and the contract's error body, and the server goes on serving.

Ends with a few hundred bodies mutated by Hypothesis: never a 5xx.
"""
from __future__ import annotations

import itertools
import json
import random
import time

import httpx
import pytest
from backend_support import assert_error, status_body
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
    _refused_field(room, 0, field, value)


def _refused_field(room, player: int, field: str, value) -> None:
    """A status with one field changed is refused as invalid, and the server goes on serving."""
    sid, players, _ = room
    p = players[player]
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
    _refused_field(room, 1, field, value)


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
# Bodies derived from a valid one by Hypothesis: fields dropped, replaced by any JSON value, unknown or
# look-alike fields added, or the JSON itself truncated, garbled or replaced by random bytes.

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=st.characters(codec="utf-8"), max_size=40)
    | st.sampled_from(["", "a" * 33, "a" * 65, "2026-11-26T22:15:00Z", "9999-12-31T23:59:59Z", "2026-13-01",
                       "0001-01-01T00:00:00+23:59", "2026-11-26T22:15:00Z\u0000x", "alice\n"]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=6,
)
CONTENT_TYPES = st.sampled_from(["application/json", None, "text/plain", "application/json; charset=utf-8",
                                 "APPLICATION/JSON", "application/vnd.api+json"])


@st.composite
def mutated(draw, base: dict) -> tuple[bytes, str | None]:
    body = dict(base)
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["drop", "replace", "add", "whole"]))
        if op == "drop" and body:
            body.pop(draw(st.sampled_from(sorted(body))))
        elif op == "replace" and body:
            body[draw(st.sampled_from(sorted(body)))] = draw(JSON_VALUES)
        elif op == "add":
            body[draw(st.sampled_from(["Extra", "score", "Nickname ", "__proto__", "SessionId\u0000"]))] = \
                draw(JSON_VALUES)
        elif op == "whole":
            body = draw(JSON_VALUES)
            break
    raw = json.dumps(body, ensure_ascii=draw(st.booleans())).encode()
    shape = draw(st.sampled_from(["as is", "as is", "truncated", "garbage", "flipped", "trailing commas"]))
    if shape == "truncated":
        raw = raw[:draw(st.integers(0, max(0, len(raw) - 1)))]
    elif shape == "garbage":
        raw = draw(st.binary(max_size=200))
    elif shape == "flipped" and raw:
        i = draw(st.integers(0, len(raw) - 1))
        raw = raw[:i] + bytes([draw(st.integers(0, 255))]) + raw[i + 1:]
    elif shape == "trailing commas":
        raw = raw.replace(b"}", b",}", 1)
    return raw, draw(CONTENT_TYPES)


TARGETS = {  # path: (who posts, the valid body mutated, examples)
    "/updatestatus": ("player", lambda sid, name: status_body(sid, name, 1), 120),
    "/allocate": ("player", lambda sid, name: {"Username": name}, 40),
    "/deallocate": ("player", lambda sid, name: {"Username": name}, 25),
    "/manager/session": ("manager", lambda sid, name: {"SessionName": "FUZZ", "GameType": "SINGLE_TRIAL",
                                                       "Synchronized": False, "TimeoutInMinutes": 3,
                                                       "TotalSeats": 10}, 40),
    "/manager/session/start": ("manager", lambda sid, name: {"CountdownSeconds": 5}, 20),
    "/manager/deallocate": ("manager", lambda sid, name: {"Username": "nobody"}, 20),
    "/auth/signin": ("player", lambda sid, name: {"Username": "nobody", "Password": "whatever"}, 25),
    "/auth/signup": ("player", lambda sid, name: {"Username": "fz", "Password": "short", "Email": "a@b"}, 25),
    "/auth/refresh": ("player", lambda sid, name: {"RefreshToken": "x"}, 20),
}


@pytest.mark.parametrize("path", list(TARGETS))
def test_random_bodies_never_get_a_5xx(api, room, manager, path):
    sid, players, _ = room
    who, base, examples = TARGETS[path]
    user = players[5] if who == "player" else manager
    refusals: set[int] = set()

    @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(mutated(base(sid, players[5].name)))
    def post(case: tuple[bytes, str | None]) -> None:
        raw, ctype = case
        r = _raw(user, path, raw, ctype)
        assert r.status_code < 500, (path, raw, ctype, r.status_code, r.text)
        if r.status_code >= 400:
            assert_error(r, r.status_code)
            refusals.add(r.status_code)
            if r.status_code == 429:
                assert r.headers.get("Retry-After")

    post()
    assert {400, 422} <= refusals or {400, 415} <= refusals, refusals  # the mutations reach several refusals
    if path == "/updatestatus":
        time.sleep(1.1)  # past the rate limit the examples ran into
    if path.startswith("/manager/session"):
        manager.post("/manager/session/close")
        manager.open_session()
    assert api.http.get("/health").status_code == 200


@pytest.mark.parametrize("field,value,words", [
    ("Timestamp", "2026-11-26T22:15:00", "Timestamp must be an RFC 3339 instant with a zone"),
    ("Nickname", "alice\n", "Nickname must be 1 to 32 of A-Z a-z 0-9 _ . -"),
])
def test_a_broken_pattern_is_explained_in_words_not_as_a_regex(room, field, value, words):
    sid, players, _ = room
    p = players[1]
    body = {**status_body(sid, p.name, 1), field: value}
    error = assert_error(p.post("/updatestatus", body), 422, "ValidationError")
    assert words in error["errorMessage"] and "regex" not in error["errorMessage"]
