"""The synchronized start pushed over a WebSocket, the same on every backend (the team's protocol): a
waiting player connected to `websocketurl` hears the start the moment the manager starts, with the
`SynchronizeTime` that `GET /session` answers; nobody else can start; nobody connects without a token."""

from __future__ import annotations

import json

import pytest
from behaviour_drivers import drivers, next_message, push_socket
from websockets.exceptions import InvalidStatus


@pytest.fixture(scope="module", params=["local", "aws"])
def driver(request):
    yield from drivers(request, request.param)


def test_a_waiting_player_hears_the_start_with_the_sessions_synchronize_time(game):
    d = game.driver
    sid = d.open("MULTIPLE_TRIALS", synchronized=True)
    (p,) = game.seated(1)
    with push_socket(d.websocket_url(), p.token, sid) as socket:
        socket.send(json.dumps({"action": "session"}))  # the start may have come before the connection
        asked = next_message(socket, "session")
        assert asked["Session"]["SessionId"] == sid and "SynchronizeTime" not in asked["Session"]
        d.start(countdown=3)
        pushed = next_message(socket, "start")
    session = d.session(p)
    assert pushed == {"action": "start", "SessionId": sid, "SynchronizeTime": session["SynchronizeTime"]}
    with push_socket(d.websocket_url(), p.token, sid) as late:  # connected after the start: it asks
        late.send(json.dumps({"action": "session"}))
        assert next_message(late, "session")["Session"]["SynchronizeTime"] == session["SynchronizeTime"]


def test_a_gamer_cannot_start(game):
    d = game.driver
    d.open("MULTIPLE_TRIALS", synchronized=True)
    (p,) = game.seated(1)
    assert d.start_as(p, countdown=3) is False
    assert "SynchronizeTime" not in d.session(p)


def test_nobody_connects_without_a_valid_token(game):
    d = game.driver
    sid = d.open("MULTIPLE_TRIALS", synchronized=True)
    (p,) = game.seated(1)
    for token in (None, "", "not-a-token", p.token[:-6] + "AAAAAA"):
        with pytest.raises(InvalidStatus) as refused:
            push_socket(d.websocket_url(), token, sid).close()
        assert refused.value.response.status_code in (401, 403), token
