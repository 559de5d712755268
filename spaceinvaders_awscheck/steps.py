"""Running one step: its time, its result reported as it ends, and its failure turned into what to look
at. A required step's failure ends the path (`StepsStopped`); the steps not run are reported skipped."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

import botocore.exceptions

from api_client import SpaceInvadersError
from spaceinvaders_backend.core.errors import ApiError as Refusal

from .report import FAILED, OK, Report, StepFailed, StepResult

T = TypeVar("T")
STEP_TIMEOUT = 60.0


class StepsStopped(Exception):
    """A required step failed: the path ends here (clean-up still runs)."""

    def __init__(self, step: str) -> None:
        super().__init__(step)
        self.step = step


def describe(error: BaseException) -> str:
    if isinstance(error, botocore.exceptions.ClientError):
        info = error.response.get("Error", {})
        return f"{info.get('Code', 'AWS error')}: {info.get('Message', '')}"
    if isinstance(error, Refusal):
        return f"{error.status} {error.code}: {error.message}"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


class StepRunner:
    def __init__(self, report: Report) -> None:
        self.report = report

    async def step(self, name: str, work: Callable[[], Awaitable[tuple[T, str]]],
                   look_at: Callable[[], list[str]], required: bool = True, timeout: float = STEP_TIMEOUT) -> T | None:
        """Run one step and report it; `look_at` (read when it fails: the names known by then) says where to
        look. `work` answers (its value, what it saw)."""
        began = time.perf_counter()
        try:
            value, detail = await asyncio.wait_for(work(), timeout)
        except StepFailed as failure:
            hints = failure.look_at + ([] if failure.alone else look_at())
            self._failed(name, began, failure.what, hints, required)
        except TimeoutError:
            self._failed(name, began, f"no answer within {timeout:.0f} s", look_at(), required)
        except (SpaceInvadersError, Refusal, botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError,
                OSError, KeyError, ValueError) as error:
            self._failed(name, began, describe(error), look_at(), required)
        else:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                # Python 3.11's wait_for returns a result that raced a cancellation (Ctrl+C) and drops it.
                raise asyncio.CancelledError
            self.report.add(StepResult(name, OK, _ms(began), detail))
            return value
        return None

    def _failed(self, name: str, began: float, what: str, look_at: list[str], required: bool) -> None:
        self.report.add(StepResult(name, FAILED, _ms(began), what, look_at))
        if required:
            raise StepsStopped(name)

    def skip_the_rest(self, path: Iterable[str], because: str) -> None:
        reported = {r.name for r in self.report.results}
        for name in path:
            if name not in reported:
                self.report.skip(name, f"not run: {because}")


def _ms(began: float) -> float:
    return (time.perf_counter() - began) * 1000
