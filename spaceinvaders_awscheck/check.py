"""The check's path, step by step, and what it cleans up whatever fails.

Nothing is created before the `stack` step has seen that no session is open: a live event is never
touched (the check opens a session of its own, and only one can be open). Once created, the check's own
session is closed and its own account removed even when a step in between failed. A failed step stops the
path, except the push (the board is still checked) and the board (the close and archive still run).
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
import botocore.exceptions

from api_client import PushUnavailable

from .guidance import Guide
from .manager import ManagerSide
from .player import PlayerSide
from .report import LATER, Report, StepFailed, StepResult
from .steps import STEP_TIMEOUT, StepRunner, StepsStopped

NAME_PREFIX = "aws-check-"
# Firehose: the transform's buffer (60 s), then the delivery's (60 s), plus a margin.
ARCHIVE_WITHIN_SECONDS = 180
PATH = ("config", "stack", "sign-up", "sign-in", "open", "allocate", "listen", "start", "push", "post", "board")


@dataclass(frozen=True)
class Options:
    api_url: str
    env: str
    region: str | None = None
    profile: str | None = None
    board_within: float = 2.0
    push_within: float = 5.0
    countdown: float = 1.0
    wait_archive: float = 0.0
    archive_poll: float = 5.0


class DeployCheck(StepRunner):
    def __init__(self, options: Options, report: Report,
                 boto_session: Callable[..., boto3.Session] | None = None) -> None:
        super().__init__(report)
        self.options = options
        self._boto_session = boto_session
        stamp = datetime.now(UTC).strftime("%y%m%dT%H%M%S")
        self.username = f"{NAME_PREFIX}{stamp}-{secrets.token_hex(2)}"  # recognisable in the pool and boards
        self._password = secrets.token_urlsafe(18) + "aA1!"  # every class of character; never printed
        self.guide = Guide(options.env)
        self.player = PlayerSide(options.api_url)
        self.manager: ManagerSide | None = None
        self.pool_id = ""
        self.session_id: str | None = None
        self.signed_up = self.signed_in = self.account_removed = False
        self.closed_at = 0.0
        self._heard: asyncio.Task[float] | None = None

    async def run(self) -> int:
        """The path, then the clean-up, whatever happened; interrupted (Ctrl+C cancels this task), it still
        cleans up, then lets the cancellation go on (a second Ctrl+C stops the clean-up)."""
        interrupted = False
        try:
            await self._path()
        except StepsStopped as stopped:
            self.skip_the_rest(PATH, f"{stopped.step} failed")
        except asyncio.CancelledError:
            interrupted = True
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
            self.skip_the_rest(PATH, "interrupted")
            self.report.note("interrupted: removing what the check made")
        if self._heard is not None:
            self._heard.cancel()
        try:
            await self._clean_up()
        finally:
            await self.player.aclose()
        code = self.report.finish(self._left_behind())
        if interrupted:
            raise asyncio.CancelledError
        return code

    # --- the path -----------------------------------------------------------------------------------
    async def _path(self) -> None:
        guide = self._guide
        await self.step("config", self._config, guide("config"))
        await self.step("stack", self._stack, guide("stack"))
        await self.step("sign-up", self._sign_up, guide("sign_up"))
        await self.step("sign-in", self._sign_in, guide("sign_in"))
        await self.step("open", self._open, guide("session"))
        await self.step("allocate", self._allocate, guide("allocate"))
        listening = await self.step("listen", self._listen, guide("push"), required=False)
        heard = self._heard = asyncio.create_task(self._hear()) if listening else None
        started_at = time.perf_counter()
        synchronize_time = await self.step("start", self._start, guide("session"))
        if heard is not None:
            await self.step("push", lambda: self._pushed(heard, started_at), guide("push"), required=False,
                            timeout=self.options.push_within + 1)
        else:
            self.report.skip("push", "no connection to listen on")
        await asyncio.sleep(max(0.0, synchronize_time - time.time()))  # play begins at the start
        score = await self.step("post", self._post, guide("post"))
        await self.step("board", lambda: self._board(score), guide("board"), required=False)

    def _guide(self, topic: str) -> Callable[[], list[str]]:
        return lambda: getattr(self.guide, topic)()

    async def _config(self) -> tuple[None, str]:
        config = await self.player.config()
        wanted = {"userpoolid": config.get("userpoolid"), "clientid": config.get("clientid"),
                  "region": config.region, "websocketurl": config.websocket_url}
        missing = [name for name, value in wanted.items() if not value]
        if missing:
            raise StepFailed(f"/config names no {', '.join(missing)}")
        self.pool_id = str(wanted["userpoolid"])
        region = self.options.region or str(wanted["region"])
        self.guide = Guide(self.options.env, region, self.guide.stream)
        return None, (f"pool {self.pool_id}, client {wanted['clientid']}, region {wanted['region']}, "
                     f"websocket {wanted['websocketurl']}")

    async def _stack(self) -> tuple[None, str]:
        make_session = self._boto_session or boto3.Session  # boto3's usual chain: the operator's profile
        session = make_session(profile_name=self.options.profile, region_name=self.guide.region)
        manager = ManagerSide(self.options.env, session)
        try:
            await asyncio.to_thread(manager.load)
        except botocore.exceptions.NoCredentialsError as error:
            raise StepFailed(f"no AWS credentials: {error}") from error
        except KeyError as missing:
            raise StepFailed(f"/{self.options.env}/tables names no {missing.args[0]}") from None
        self.manager = manager
        self.guide = Guide(self.options.env, self.guide.region, manager.tables.get("Stream", self.guide.stream))
        live = await asyncio.to_thread(manager.live_session, time.time())
        if live is not None:
            opened = live.session.document()["OpeningTime"]
            raise StepFailed(
                f"session {live.session.session_id} is open (opened {opened}, {live.occupied} seats taken): the check "
                "opens a session of its own and would have to close this one, so it stops before creating anything",
                f"close it in the manager console when the event is over (spaceinvaders-manager --aws --env "
                f"{self.options.env}), then run the check again",
                alone=True,
            )
        return None, f"/{self.options.env}/tables: {len(manager.tables)} names; no session open"

    async def _sign_up(self) -> tuple[None, str]:
        result = await self.player.sign_up(self.username, self._password)
        self.signed_up = True
        if not result.UserConfirmed:
            raise StepFailed("the pool did not confirm the sign-up (UserConfirmed false): players would wait for a code")
        return None, f"{self.username}, confirmed at once"

    async def _sign_in(self) -> tuple[None, str]:
        tokens = await self.player.sign_in(self.username, self._password)
        self.signed_in = True
        groups = sorted(tokens.groups)
        if "Gamer" not in groups:
            raise StepFailed(f"the ID token's groups are {groups or 'none'}: without Gamer every /updatestatus is a 403")
        minutes = (tokens.expires_at - time.time()) / 60
        return None, f"SRP as {tokens.username}, groups {', '.join(groups)}, ID token valid {minutes:.0f} min"

    async def _open(self) -> tuple[None, str]:
        assert self.manager is not None
        opened = await asyncio.to_thread(self.manager.open, NAME_PREFIX, time.time())
        self.session_id = opened.session_id
        return None, f"{opened.session_id} (synchronized, 1 seat)"

    async def _allocate(self) -> tuple[None, str]:
        message = await self.player.allocate()
        return None, message or "seated"

    async def _listen(self) -> tuple[bool, str]:
        assert self.session_id is not None
        try:
            answer = await self.player.listen(self.session_id)
        except PushUnavailable as error:
            raise StepFailed(str(error)) from error
        current = answer.session.SessionId if answer.session else None
        if current != self.session_id:
            raise StepFailed(f"the session route answered {current}, not {self.session_id}")
        return True, f"connected; the session route answers {current}"

    async def _hear(self) -> float:
        assert self.session_id is not None
        await self.player.hear_start(self.session_id)
        return time.perf_counter()

    async def _start(self) -> tuple[float, str]:
        assert self.manager is not None
        started = await asyncio.to_thread(self.manager.start, self.options.countdown, time.time())
        assert started.synchronize_time is not None
        return started.synchronize_time, f"SynchronizeTime {started.document()['SynchronizeTime']}"

    async def _pushed(self, heard: asyncio.Task[float], started_at: float) -> tuple[None, str]:
        left = self.options.push_within - (time.perf_counter() - started_at)
        try:
            received_at = await asyncio.wait_for(heard, max(0.0, left))
        except TimeoutError:
            raise StepFailed(f"no start pushed within {self.options.push_within:g} s of the start") from None
        return None, f'{{"action": "start"}} heard {(received_at - started_at) * 1000:.0f} ms after the start call'

    async def _post(self) -> tuple[int, str]:
        assert self.session_id is not None
        score = 1000 + secrets.randbelow(9000)
        receipt = await self.player.post(self.session_id, score)
        return score, f"Score {score}: {receipt.ShardId}, sequence {receipt.SequenceNumber[-8:]}"

    async def _board(self, score: int | None) -> tuple[None, str]:
        assert self.session_id is not None and score is not None
        seconds = await self.player.board_shows(self.session_id, score, self.options.board_within)
        if seconds is None:
            raise StepFailed(f"the post is not on /scoreboard {self.options.board_within:g} s after its 200")
        return None, f"on /scoreboard {seconds * 1000:.0f} ms after the post's 200"

    # --- clean-up -----------------------------------------------------------------------------------
    async def _clean_up(self) -> None:
        if self.session_id is not None and self.manager is not None:
            closed = await self.step("close", self._close, self._guide("session"), required=False)
            if closed:
                await self._archive()
        if self.signed_up:
            await self.step("remove account", self._remove_account,
                            lambda: self.guide.account(self.pool_id, self.username), required=False)

    async def _close(self) -> tuple[bool, str]:
        assert self.manager is not None
        closed = await asyncio.to_thread(self.manager.close, time.time())
        self.closed_at = time.time()
        return True, f"{closed.session_id} closed at {closed.document()['ClosingTime']}"

    async def _archive(self) -> None:
        assert self.manager is not None and self.session_id is not None
        bucket, sid = self.manager.archive_bucket, self.session_id
        where = f"s3://{bucket}/sessions/{sid}/"
        if self.options.wait_archive <= 0:
            by = datetime.fromtimestamp(self.closed_at + ARCHIVE_WITHIN_SECONDS, UTC).strftime("%H:%M:%S UTC")
            self.report.add(StepResult("archive", LATER, 0.0, f"not waited for (--wait-archive SECONDS): Firehose "
                                       f"buffers; look at {where} after {by} (aws s3 ls {where})"))
            return
        await self.step("archive", self._archived, lambda: self.guide.archive(bucket, sid), required=False,
                        timeout=self.options.wait_archive + STEP_TIMEOUT)

    async def _archived(self) -> tuple[None, str]:
        assert self.manager is not None and self.session_id is not None
        deadline = time.monotonic() + self.options.wait_archive
        while True:
            objects, records = await asyncio.to_thread(self.manager.archived, self.session_id)
            if any(r.get("Nickname", "").lower() == self.player.username.lower() for r in records):
                return None, (f"{len(records)} record(s) in {objects} object(s) under s3://"
                             f"{self.manager.archive_bucket}/sessions/{self.session_id}/")
            left = deadline - time.monotonic()
            if left <= 0:
                raise StepFailed(f"the post is not under s3://{self.manager.archive_bucket}/sessions/{self.session_id}/ "
                                 f"after {self.options.wait_archive:g} s ({objects} objects there)")
            await asyncio.sleep(min(self.options.archive_poll, left))

    async def _remove_account(self) -> tuple[None, str]:
        if self.signed_in:
            await self.player.delete_account()  # DeleteUser with its own access token: no admin right
            how = "deleted itself (DeleteUser)"
        else:  # never signed in: only an administrator can remove it; the operator's credentials may
            assert self.manager is not None  # signed up only once the stack step passed
            idp = self.manager.client("cognito-idp")
            await asyncio.to_thread(idp.admin_delete_user, UserPoolId=self.pool_id, Username=self.username)
            how = "deleted with your credentials (AdminDeleteUser)"
        self.account_removed = True
        return None, f"{self.username} {how}"

    def _left_behind(self) -> list[str]:
        left = []
        if self.session_id is not None:
            left.append(f"the session {self.session_id} in the sessions' history (its Sessions item, its seat and "
                        f"board items; /{self.options.env}/session names it until the next session opens)")
            if self.manager is not None:
                left.append(f"its records under s3://{self.manager.archive_bucket}/sessions/{self.session_id}/")
        if self.signed_up and not self.account_removed:
            left.append(f"the account {self.username} in the pool {self.pool_id}")
        if self.signed_up:
            left.append("log lines in the functions' log groups and the API's access log")
        return left


def run(options: Options, report: Report, **kw: Any) -> int:
    return asyncio.run(DeployCheck(options, report, **kw).run())
