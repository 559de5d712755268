"""The players' paths of the original API: the session, seats, the top 10."""
from __future__ import annotations

from ...core import models
from ...core.answers import CallerEntry, Message, Scoreboard, SessionDocument
from ...core.errors import ApiError
from ..backend import LocalBackend
from ..tokens import GAMER
from .operation import Call, Operation, Query

TOP = 10


def session_document(backend: LocalBackend) -> SessionDocument | None:
    """The current session as `GET /session` answers it (and the start push's `session` action)."""
    s = backend.session
    if s is None:
        return None
    answer = s.answer(server_time=backend.clock())
    answer.OccupiedSeats = backend.seats.occupied()  # so a lobby can show the seats still free
    return answer


def own(call: Call, username: str) -> str:
    """The caller's own name as the account spells it; 403 for anybody else's (names match in any case)."""
    if username.lower() != call.username.lower():
        raise ApiError(403, "Forbidden", "Username must be your own.")
    return call.username


class PlayerPaths:
    def __init__(self, backend: LocalBackend) -> None:
        self.backend = backend

    async def session(self, call: Call) -> SessionDocument | None:
        return session_document(self.backend)

    async def allocate(self, call: Call) -> Message:
        return Message(successMessage=await self.backend.allocate(own(call, call.body.Username)))

    async def deallocate(self, call: Call) -> Message:
        return Message(successMessage=await self.backend.deallocate(own(call, call.body.Username)))

    async def scoreboard(self, call: Call) -> Scoreboard:
        sid = call.query("sessionId")
        answer = Scoreboard(Scoreboard=[e.answer() for e in await self.backend.scoreboard(sid, TOP)])
        mine = self.backend.rank(sid, call.username)
        if mine is not None:  # an addition to the contract: where the caller stands, in or out of the top 10
            rank, entry = mine
            answer.Caller = CallerEntry(Rank=rank, Nickname=entry.nickname, Score=entry.score, Shots=entry.shots,
                                        Level=entry.level, Lives=entry.lives)
        return answer

    def operations(self) -> list[Operation]:
        return [
            Operation("GET", "/session", "The current session, or null", self.session, GAMER,
                      SessionDocument | None),
            Operation("POST", "/allocate", "Take a seat in the current session", self.allocate, GAMER, Message,
                      body=models.UsernameBody),
            Operation("POST", "/deallocate", "Free your seat", self.deallocate, GAMER, Message,
                      body=models.UsernameBody),
            Operation("GET", "/scoreboard", "The top 10 of a session, and the caller's rank", self.scoreboard,
                      GAMER, Scoreboard, query=(Query("sessionId"),), errors=(400, 404)),
        ]
