"""`/allocate` and `/deallocate` on moto, through the template's REST API: the rules, the conditional
transactions under contention, the errors of the contract."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter

import boto3
from aws_calls import record_function_clients
from aws_world import unique

from manager_tui.backends.aws import AwsBackend
from spaceinvaders_backend.aws import seat_store, session_store
from spaceinvaders_backend.aws.config import StackNames


def allocate(world, token: str, name: str):
    return world.api.post("/v1/allocate", {"Username": name}, token)


def test_no_session_then_seat_then_keep_playing(world, manager, fresh_session):
    name, token = world.user()
    answer = allocate(world, token, name)
    assert (answer.status, answer.json()["errorCode"]) == (422, "NoSessionAvailable")
    sid = fresh_session()
    answer = allocate(world, token, name)
    assert answer.status == 200 and sid in answer.json()["successMessage"]
    assert allocate(world, token, name).json() == {"successMessage": "Keep playing."}
    seat = world.item("Seats", SessionId=sid, Username=name)
    assert seat["State"] == "PLAYING" and seat["Played"] is False
    assert seat["LastAllocateAt"] >= seat["AllocatedAt"]
    assert manager.seats(sid)["occupied"] == 1
    assert world.api.post("/v1/deallocate", {"Username": name}, token).json() == {
        "successMessage": "Seat freed."
    }
    assert world.api.post("/v1/deallocate", {"Username": name}, token).json() == {
        "successMessage": "Not seated."
    }
    assert manager.seats(sid) == {"playing": set(), "finished": set(), "occupied": 0}
    assert "State" not in world.item("Seats", SessionId=sid, Username=name)  # may come back (MULTIPLE_TRIALS)
    assert allocate(world, token, name).status == 200


def test_full_closed_and_single_trial_refusals(world, manager, fresh_session):
    sid = fresh_session("SINGLE_TRIAL", total_seats=1)
    (a, ta), (b, tb) = world.user(), world.user()
    assert allocate(world, ta, a).status == 200
    answer = allocate(world, tb, b)
    assert (answer.status, answer.json()["errorCode"]) == (422, "NoSeatsAvailable")
    # a played, then left: a single-trial session gives one go
    world.ddb.update_item(
        TableName=world.stack.tables["Seats"],
        Key={"SessionId": {"S": sid}, "Username": {"S": a}},
        UpdateExpression="SET Played = :y",
        ExpressionAttributeValues={":y": {"BOOL": True}},
    )
    assert world.api.post("/v1/deallocate", {"Username": a}, ta).status == 200
    assert manager.seats(sid)["finished"] == {a}
    answer = allocate(world, ta, a)
    assert (answer.status, answer.json()["errorCode"]) == (422, "GamerCannotPlay")
    assert allocate(world, tb, b).status == 200  # a's seat was freed
    manager.close()
    answer = allocate(world, world.user()[1], "nobody")
    assert answer.status == 403  # not the caller's own name
    c, tc = world.user()
    answer = allocate(world, tc, c)
    assert (answer.status, answer.json()["errorCode"]) == (422, "SessionClosed")


def test_errors_in_the_contracts_shape(world, manager, fresh_session):
    fresh_session()
    name, token = world.user()
    other, _ = world.user()
    assert world.api.post("/v1/allocate", {"Username": other}, token).status == 403
    assert world.api.post("/v1/allocate", {"Username": name}, None).status == 401
    assert world.api.post("/v1/allocate", {"Username": name}, token + "x").status == 401
    bad = world.api.post("/v1/allocate", {"Username": "no spaces allowed"}, token)
    assert (bad.status, bad.json()["errorCode"]) == (422, "ValidationError")
    assert world.api.post("/v1/allocate", "{not json", token).status in (400, 422)
    manager_only, manager_token = world.user(groups=("Manager",))
    assert world.api.post("/v1/allocate", {"Username": manager_only}, manager_token).status == 403


def _all_read_before_anyone_writes(monkeypatch, parties: int) -> None:
    """Every thread's first seat read waits for the others' (so all decide on the same stale view): the
    widest race the transactions can face."""
    barrier, seen = threading.Barrier(parties, timeout=10), threading.local()
    read_seat = seat_store.read_seat

    def read_then_wait(*args, **kwargs):
        seat = read_seat(*args, **kwargs)
        if not getattr(seen, "done", False):
            seen.done = True
            barrier.wait()
        return seat

    monkeypatch.setattr(seat_store, "read_seat", read_then_wait)


def race(threads: int, action) -> list:
    answers: list = []
    lock = threading.Lock()

    def run(i: int) -> None:
        result = action(i)
        with lock:
            answers.append(result)

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    return answers


def test_players_racing_for_the_last_seats_get_exactly_that_many(world, manager, monkeypatch, fresh_session):
    seats, players = 3, 10
    sid = fresh_session(total_seats=seats)
    users = [world.user() for _ in range(players)]
    _all_read_before_anyone_writes(monkeypatch, players)
    answers = race(players, lambda i: allocate(world, users[i][1], users[i][0]).status)
    assert Counter(answers) == {200: seats, 422: players - seats}
    state = manager.seats(sid)
    assert len(state["playing"]) == seats == state["occupied"]


def test_one_players_concurrent_allocations_take_one_seat(world, manager, monkeypatch, fresh_session):
    sid = fresh_session(total_seats=5)
    name, token = world.user()
    _all_read_before_anyone_writes(monkeypatch, 6)
    messages = race(6, lambda i: allocate(world, token, name).json()["successMessage"])
    assert sum(m.startswith("Seat allocated") for m in messages) == 1
    assert messages.count("Keep playing.") == 5
    assert manager.seats(sid)["occupied"] == 1


def test_manager_frees_a_seat_with_the_same_transaction(world, manager, fresh_session):
    sid = fresh_session()
    name, token = world.user()
    allocate(world, token, name)
    names = StackNames.from_environ()
    stored = seat_store.session_store.read(names, sid)
    assert seat_store.leave(names, stored.session, name, 1.0) == "Seat freed."
    assert manager.seats(sid)["occupied"] == 0


def test_the_seat_paths_read_the_current_session_from_dynamodb_never_ssm(world, manager, monkeypatch, fresh_session):
    """SSM serves ~40 GetParameter calls a second for the whole account: a room allocating at once would be
    throttled. The seat function finds the current session in the Current table."""
    sid = fresh_session()
    session_store.clear_cache()  # a cold container
    calls = record_function_clients(monkeypatch)
    name, token = world.user()
    assert allocate(world, token, name).status == 200
    assert allocate(world, token, name).json() == {"successMessage": "Keep playing."}
    assert world.api.post("/v1/deallocate", {"Username": name}, token).status == 200
    assert "ssm" not in calls.services()
    assert ("dynamodb:GetItem", f"table/{world.stack.tables['Current']}") in calls.permissions()
    assert manager.seats(sid)["occupied"] == 0


def test_usernames_compare_as_the_pool_does_and_seats_are_keyed_by_the_tokens_name(world, manager, fresh_session):
    """The pool is case-insensitive: `alice` signed in to `Alice` is Alice; her seat is Alice's."""
    sid = fresh_session()
    name, token = world.user(unique("Al"))
    assert name != name.lower()
    assert allocate(world, token, name.lower()).status == 200
    assert manager.seats(sid)["playing"] == {name}  # keyed by cognito:username, not by the body's spelling
    assert allocate(world, token, name.upper()).json() == {"successMessage": "Keep playing."}
    assert world.api.post("/v1/deallocate", {"Username": name.lower()}, token).json() == {
        "successMessage": "Seat freed."
    }
    other, _ = world.user(unique("Bo"))
    assert allocate(world, token, other.lower()).status == 403  # still nobody else


def test_the_managers_free_and_the_functions_deallocate_are_one_transaction(world, manager, monkeypatch, fresh_session):
    """Issue 16: one implementation of leaving a seat. The console's free_seat and /deallocate both run
    seat_store.leave; if either grew its own copy again, this fails."""
    sid = fresh_session("SINGLE_TRIAL")
    (a, ta), (b, tb) = world.user(), world.user()
    for name, token in ((a, ta), (b, tb)):
        assert allocate(world, token, name).status == 200
    left: list[tuple[str, str]] = []
    leave = seat_store.leave

    def spy(names, session, username, *args, **kwargs):
        left.append((session.session_id, username))
        return leave(names, session, username, *args, **kwargs)

    monkeypatch.setattr(seat_store, "leave", spy)
    assert world.api.post("/v1/deallocate", {"Username": a}, ta).status == 200
    console = AwsBackend(world.stack.env, boto3.Session(region_name=world.stack.region))
    asyncio.run(console.connect())
    asyncio.run(console.free_seat(sid, b))
    assert left == [(sid, a), (sid, b)]
    assert manager.seats(sid) == {"playing": set(), "finished": set(), "occupied": 0}
