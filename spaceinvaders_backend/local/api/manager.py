"""The manager's paths: sessions, seats, the full scoreboard, the export of every record."""
from __future__ import annotations

import asyncio
import math

from starlette.responses import StreamingResponse

from ...core import models
from ...core.answers import Message, Players, Scoreboard, SessionDocument, Sessions
from ...core.errors import ApiError
from ...core.replay import FrameView, ReplayFrame
from .. import export
from ..backend import LocalBackend
from ..replay import Replays
from ..settings import Settings
from ..tokens import MANAGER
from .operation import Call, Operation, Query

MEDIA = {"jsonl": "application/x-ndjson", "csv": "text/csv"}
RECORD_COUNT = "X-Record-Count"  # the export's records, told before the first one
MAX_SEATS = 100_000  # a session's seats at most (TotalSeats of core/models.py): a frame's rows at most


class ManagerPaths:
    def __init__(self, backend: LocalBackend, settings: Settings) -> None:
        self.backend = backend
        self.settings = settings
        self.replays = Replays(settings.database_path, backend.get_session, backend.stream)

    async def open_session(self, call: Call) -> SessionDocument:
        b: models.OpenSession = call.body
        s = await self.backend.open_session(b.SessionName, b.GameType, b.Synchronized, b.TimeoutInMinutes,
                                            b.TotalSeats)
        return s.answer()

    async def start_session(self, call: Call) -> SessionDocument:
        return (await self.backend.start_session(call.body.CountdownSeconds)).answer()

    async def close_session(self, call: Call) -> SessionDocument:
        return (await self.backend.close_session()).answer()

    async def sessions(self, call: Call) -> Sessions:
        return Sessions(Sessions=[s.answer() for s in self.backend.session_list()])

    async def scoreboard(self, call: Call) -> Scoreboard:
        sid = call.query("sessionId")
        entries = await self.backend.scoreboard(sid, None)
        return Scoreboard(SessionId=sid, Scoreboard=[e.answer() for e in entries],
                          Stats=self.backend.board_stats(sid))

    async def players(self, call: Call) -> Players:
        return await self.backend.players(call.query("sessionId"))

    async def deallocate(self, call: Call) -> Message:
        name = self.backend.seats.spelling(call.body.Username)
        return Message(successMessage=await self.backend.deallocate(name))

    async def export(self, call: Call) -> StreamingResponse:
        sid = call.query("sessionId")
        self.backend.get_session(sid)
        fmt = call.request.query_params.get("format", "jsonl")
        if fmt not in export.FORMATS:
            raise ApiError(422, "ValidationError", f"format must be one of {', '.join(export.FORMATS)}.")
        # Counting reads the session's index entries: off the event loop, like the rows themselves.
        records = await asyncio.to_thread(export.SessionExport, self.settings.database_path, sid, fmt)
        return StreamingResponse(records.lines(), media_type=MEDIA[fmt],
                                 headers={RECORD_COUNT: str(records.records)})

    async def replay(self, call: Call) -> ReplayFrame:
        sid = call.query("sessionId")
        at = _number(call, "at", "a moment in epoch seconds, e.g. 1795731300.5")
        since = _number(call, "since", "the moment of the previous frame, in epoch seconds")
        tolerance = _number(call, "tolerance", "seconds, 0 or more")
        if tolerance is not None and tolerance < 0:
            raise ApiError(422, "ValidationError", "tolerance is seconds, 0 or more.")
        first = _whole(call, "first", 0, MAX_SEATS)
        count = _whole(call, "count", 1, MAX_SEATS)
        view = FrameView(first or 0, count, since, tolerance or 0.0)
        return await self.replays.frame(sid, at, view)

    def operations(self) -> list[Operation]:
        session_query = (Query("sessionId"),)
        return [
            Operation("POST", "/manager/session", "Open a session", self.open_session, MANAGER, SessionDocument,
                      body=models.OpenSession, status=201, errors=(409,)),
            Operation("POST", "/manager/session/start", "Synchronized start, CountdownSeconds ahead",
                      self.start_session, MANAGER, SessionDocument, body=models.StartSession, body_required=False,
                      errors=(409,)),
            Operation("POST", "/manager/session/close", "Close the open session", self.close_session, MANAGER,
                      SessionDocument, errors=(409,)),
            Operation("GET", "/manager/sessions", "Every session, newest first", self.sessions, MANAGER, Sessions),
            Operation("GET", "/manager/scoreboard", "The full scoreboard", self.scoreboard, MANAGER, Scoreboard,
                      query=session_query, errors=(400, 404)),
            Operation("GET", "/manager/players", "Seats of a session (live for the current one)", self.players,
                      MANAGER, Players, query=session_query, errors=(400, 404)),
            Operation("POST", "/manager/deallocate", "Free a player's seat", self.deallocate, MANAGER, Message,
                      body=models.UsernameBody),
            Operation("GET", "/manager/replay", "The session's board at a moment of its replay (its start if no at)",
                      self.replay, MANAGER, ReplayFrame,
                      query=(*session_query, Query("at", False, type="number"),
                             Query("first", False, type="integer", minimum=0, maximum=MAX_SEATS),
                             Query("count", False, type="integer", minimum=1, maximum=MAX_SEATS),
                             Query("since", False, type="number"), Query("tolerance", False, type="number", minimum=0)),
                      errors=(400, 404, 422)),
            Operation("GET", "/manager/export", "Every stored status record of a session, in arrival order",
                      self.export, MANAGER, None, query=(*session_query, Query("format", False, export.FORMATS)),
                      errors=(400, 404, 422), media=tuple(MEDIA.values()),
                      headers=((RECORD_COUNT, "How many records the answer holds (CSV: besides its header line)"),)),
        ]


def _number(call: Call, name: str, what: str) -> float | None:
    """An optional finite number of the query."""
    text = call.request.query_params.get(name)
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise ApiError(422, "ValidationError", f"{name} is {what}.")
    return value


def _whole(call: Call, name: str, least: int, most: int) -> int | None:
    """An optional whole number of the query, from `least` to `most`."""
    text = call.request.query_params.get(name)
    if not text:
        return None
    if not text.isascii() or not text.isdigit() or not least <= int(text) <= most:
        raise ApiError(422, "ValidationError", f"{name} is a whole number from {least} to {most}.")
    return int(text)
