"""What the check prints: one line per step as it ends (its result, its time in ms, what it saw), and for a
step that failed, what to look at. The exit status is 0 only when every step passed."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TextIO

OK = "ok"
FAILED = "FAIL"
SKIPPED = "skip"  # not run: a step it needs failed
LATER = "later"  # nothing wrong, but its evidence comes after the check (the archive, not waited for)


class StepFailed(Exception):
    """A step's failure: what failed, and where to look (log groups, settings, commands)."""

    def __init__(self, what: str, *look_at: str, alone: bool = False) -> None:
        super().__init__(what)
        self.what = what
        self.look_at = list(look_at)
        self.alone = alone  # its own hints say it all: not followed by the step's usual ones


@dataclass
class StepResult:
    name: str
    status: str
    ms: float
    detail: str = ""
    look_at: list[str] = field(default_factory=list)


class Report:
    """Prints each step when it ends, the summary, and what the check left behind."""

    NAME_WIDTH = 14

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.results: list[StepResult] = []
        self._began = time.perf_counter()

    def add(self, result: StepResult) -> StepResult:
        self.results.append(result)
        ms = f"{result.ms:7.0f} ms" if result.status != SKIPPED else " " * 10
        self._print(f"{result.status:<5} {result.name:<{self.NAME_WIDTH}} {ms}  {result.detail}".rstrip())
        for hint in result.look_at:
            self._print(f"{'':<5} {'':<{self.NAME_WIDTH}} {'':>10}  look at: {hint}")
        return result

    def skip(self, name: str, because: str) -> None:
        self.add(StepResult(name, SKIPPED, 0.0, because))

    def note(self, text: str) -> None:
        self._print(text)

    @property
    def passed(self) -> bool:
        return bool(self.results) and all(r.status in (OK, LATER) for r in self.results)

    def finish(self, left_behind: list[str]) -> int:
        failed = [r.name for r in self.results if r.status == FAILED]
        total = (time.perf_counter() - self._began) * 1000
        if self.passed:
            self._print(f"\nPASSED: {len(self.results)} steps in {total:.0f} ms")
        else:
            self._print(f"\nFAILED: {', '.join(failed) or 'not every step ran'} ({total:.0f} ms)")
        if left_behind:
            self._print("Left behind:")
            for line in left_behind:
                self._print(f"  - {line}")
        return 0 if self.passed else 1

    def _print(self, line: str) -> None:
        print(line, file=self.out, flush=True)
