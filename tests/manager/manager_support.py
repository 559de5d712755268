"""Worlds the manager's tests run in: the local server (players through api_client), the AWS resources on
moto (players' items written as the AWS handlers write them, docs/aws.md), and a fixed in-memory backend
for snapshots and UI failure cases."""
from __future__ import annotations

import asyncio
import itertools
import json
import time
from datetime import UTC, datetime
from pathlib import Path

import boto3
from aws_stack import MOTO_CONFIG, REGION, create_stack
from moto import mock_aws

from api_client import ApiError, GameStatus, ScoreEntry, Session, SpaceInvadersClient, TokenStore
from manager_tui.backends import BackendError, Board, ExportProgress, OpenRequest, Seats
from manager_tui.backends.api import ApiBackend
from manager_tui.backends.aws import AwsBackend
from manager_tui.session_clock import iso
from spaceinvaders_backend.aws import seat_store
from spaceinvaders_backend.aws.items import attrs

MANAGER, PASSWORD = "boss", "boss-pass"
_names = itertools.count()


def unique(prefix: str) -> str:
    """Player names unique across the tests sharing one server."""
    return f"{prefix}{next(_names)}"


def rank_key(score: int, lives: int, shots: int, nickname: str) -> str:
    """docs/aws.md: the Ranking index's sort key."""
    return f"{10**9 - score:010d}#{99 - lives:02d}#{shots:010d}#{nickname}"


class LocalWorld:
    """A manager signed in to a real local server; players are api_client users."""

    kind = "local"

    def __init__(self, server, tmp_path: Path) -> None:
        server.create_manager(MANAGER, PASSWORD)
        self.server = server
        self.backend = ApiBackend(server.base_url, token_store=TokenStore(tmp_path / "tokens"))
        self.players: dict[str, SpaceInvadersClient] = {}

    async def start(self) -> None:
        await self.backend.sign_in(MANAGER, PASSWORD)
        await self.backend.connect()
        current = await self.backend.current_session()
        if current is not None and current.ClosingTime is None:
            await self.backend.close_session()  # tests share the server: start from a closed one

    async def seat(self, name: str) -> None:
        client = SpaceInvadersClient(self.server.base_url, token_store=None)
        self.players[name] = client
        await client.sign_up(name, "player-pass")
        await client.sign_in(name, "player-pass")
        await client.allocate()

    async def post(self, session_id: str, name: str, score: int, shots: int = 1, lives: int = 3) -> None:
        await self.players[name].update_status(session_id, GameStatus(Score=score, Shots=shots, Level=1,
                                                                      Lives=lives))

    async def wait_board(self, session_id: str, test, timeout: float = 5.0) -> Board:
        """The first board that passes `test` (the local stream processor runs every 250 ms)."""
        deadline = time.monotonic() + timeout
        while True:
            board = await self.backend.board(session_id)
            if test(board) or time.monotonic() > deadline:
                return board
            await asyncio.sleep(0.1)

    async def close(self) -> None:
        for client in self.players.values():
            await client.aclose()
        await self.backend.aclose()


class AwsWorld:
    """The AWS resources on moto; players' seats, boards and archive written as the handlers would."""

    kind = "aws"

    def __init__(self) -> None:
        self.mock = mock_aws(config=MOTO_CONFIG)
        self.mock.start()
        self.stack = create_stack(env="test")
        self.backend = AwsBackend("test", boto3.Session(region_name=REGION))
        self.dynamodb = boto3.client("dynamodb", region_name=REGION)
        self.s3 = boto3.client("s3", region_name=REGION)
        self.sequence = itertools.count(1)

    async def start(self) -> None:
        await self.backend.connect()

    def _table(self, logical: str) -> str:
        return self.stack.tables[logical]

    async def seat(self, name: str) -> None:
        """What `/allocate` does for the player (the seat function's store, with the console's clients)."""
        assert (await asyncio.to_thread(seat_store.allocate, self.backend.names, name)).startswith("Seat allocated")

    async def post(self, session_id: str, name: str, score: int, shots: int = 1, lives: int = 3) -> None:
        now = time.time()
        sequence = f"{next(self.sequence):020d}"
        record = {"SessionId": session_id, "Nickname": name, "Score": score, "Shots": shots, "Level": 1,
                  "Lives": lives, "Timestamp": iso(now)}
        self.dynamodb.put_item(TableName=self._table("Scoreboard"), Item=attrs({
            **record, "RankKey": rank_key(score, lives, shots, name), "LastSequenceNumber": sequence,
            "ArrivedAt": now - 0.4, "UpdatedAt": now}))
        self.dynamodb.update_item(
            TableName=self._table("Seats"), Key={"SessionId": {"S": session_id}, "Username": {"S": name}},
            UpdateExpression="SET Played = :yes, LastSeen = :now",
            ExpressionAttributeValues={":yes": {"BOOL": True}, ":now": {"N": str(int(now))}})
        self.dynamodb.update_item(
            TableName=self._table("Sessions"), Key={"SessionId": {"S": session_id}},
            UpdateExpression="ADD RecordCount :one", ExpressionAttributeValues={":one": {"N": "1"}})
        # Firehose's archive: one object per record here (Firehose batches them; the reader does not care).
        self.s3.put_object(Bucket=self._table("ArchiveBucket"), Key=f"sessions/{session_id}/part-{sequence}",
                           Body=(json.dumps(record) + "\n").encode())

    async def wait_board(self, session_id: str, test, timeout: float = 5.0) -> Board:
        return await self.backend.board(session_id)

    async def close(self) -> None:
        await self.backend.aclose()
        self.mock.stop()


MARKUP_NAME = "[bold red]pwned[/][link=http://evil]x[/link]"
FIXED_NOW = datetime(2026, 11, 26, 22, 17, 0, tzinfo=UTC).timestamp()


def fixed_session(game: str = "TIME_CONSTRAINED") -> Session:
    return Session(SessionId="ROOM-A261126T221500", GameType=game, Synchronized=True, TimeoutInMinutes=5,
                   TotalSeats=200, OpeningTime=datetime(2026, 11, 26, 22, 15, 0, tzinfo=UTC),
                   SynchronizeTime=datetime(2026, 11, 26, 22, 15, 30, tzinfo=UTC))


def fixed_entries(count: int = 40) -> list[ScoreEntry]:
    names = ["alice", MARKUP_NAME, "bob", "[reverse]carol", "dave"] + [f"player{i:03d}" for i in range(count - 5)]
    return [ScoreEntry(Nickname=n, Score=10_000 - 230 * i, Shots=40 + i, Level=2, Lives=3 - i % 4)
            for i, n in enumerate(names)]


class FixedBackend:
    """Answers the same boards every time (time moves only by `advance`); can be told to fail."""

    label = "fixed test backend"

    def __init__(self, entries: list[ScoreEntry] | None = None, session: Session | None = None) -> None:
        self.session = session or fixed_session()
        self.entries = entries if entries is not None else fixed_entries()
        self.now = FIXED_NOW
        self.fail_with: BackendError | None = None
        self.freed: list[str] = []
        self.records = 1000

    def advance(self, seconds: float) -> None:
        """Time passes: each player scores at their own rate, so the leaders' lines and ranks move."""
        self.now += seconds
        scored = [e.model_copy(update={"Score": e.Score + int(seconds * (5 + 7 * (i % 5)))})
                  for i, e in enumerate(self.entries)]
        self.entries = sorted(scored, key=lambda e: (-e.Score, -e.Lives, e.Shots, e.Nickname))

    async def connect(self) -> None:
        return None

    async def sign_in(self, username: str, password: str) -> None:
        return None

    async def sessions(self) -> list[Session]:
        return [self.session]

    async def current_session(self) -> Session | None:
        return self.session

    async def open_session(self, request: OpenRequest) -> Session:
        raise BackendError("a session is already open")

    async def start_session(self, countdown_seconds: float) -> Session:
        raise ApiError(409, "SessionAlreadyStarted", "started")  # not a BackendError: the app must cope

    async def close_session(self) -> Session:
        return self.session

    async def board(self, session_id: str) -> Board:
        if self.fail_with is not None:
            raise self.fail_with
        self.records += 300
        names = [e.Nickname for e in self.entries]
        return Board(session=self.session, entries=list(self.entries), fetched_at=self.now, records=self.records,
                     delay=0.25, seats=Seats(200, len(names) - 2, frozenset(names[:-2]), frozenset(names[-2:]),
                                             frozenset(names[3:5])))

    async def free_seat(self, session_id: str, username: str) -> None:
        self.freed.append(username)

    async def export(self, session_id: str, fmt: str, destination: Path, progress) -> int:
        progress(ExportProgress(1, 10, 10))
        destination.write_text("{}\n")
        return 1

    async def aclose(self) -> None:
        return None
