"""Export a session to a file the manager names, with a progress bar while it is written."""
from __future__ import annotations

import time
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, ProgressBar, RadioButton, RadioSet, Static

from ..backends import BackendError, ExportProgress, ManagerBackend
from .dialogs import ESCAPE


def progress_text(progress: ExportProgress) -> str:
    size = f"{progress.bytes_done / 1e6:,.1f} MB"
    if progress.bytes_total:
        size += f" of {progress.bytes_total / 1e6:,.1f} MB"
    return f"{progress.records:,} records, {size}"


class ExportScreen(ModalScreen[int | None]):
    """Answers the number of records written, or None when cancelled or failed."""

    BINDINGS: ClassVar[list[BindingType]] = ESCAPE

    def __init__(self, backend: ManagerBackend, session_id: str, directory: Path) -> None:
        super().__init__()
        self.backend = backend
        self.session_id = session_id
        self.directory = directory
        self._last_shown = 0.0

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="export-form"):
            yield Static(Text.assemble(("Export ", "bold"), (self.session_id, "bold")))
            with RadioSet(id="format", compact=True):
                yield RadioButton("JSON lines", value=True, id="jsonl", compact=True)
                yield RadioButton("CSV", id="csv", compact=True)
            yield Label("File")
            yield Input(str(self.directory / f"{self.session_id}.jsonl"), id="path", compact=True)
            yield ProgressBar(id="progress", show_eta=False)
            yield Static("", id="export-status")
            with Horizontal(classes="buttons"):
                yield Button("Export", variant="primary", id="export", compact=True)
                yield Button("Close", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#progress").display = False

    @property
    def fmt(self) -> str:
        pressed = self.query_one("#format", RadioSet).pressed_button
        return "csv" if pressed is not None and pressed.id == "csv" else "jsonl"

    @on(RadioSet.Changed)
    def _format_changed(self) -> None:
        field = self.query_one("#path", Input)
        path = Path(field.value)
        if path.suffix in (".jsonl", ".csv"):
            field.value = str(path.with_suffix(f".{self.fmt}"))

    @on(Input.Submitted)
    @on(Button.Pressed, "#export")
    def _start(self) -> None:
        path = Path(self.query_one("#path", Input).value.strip()).expanduser()
        if not path.name or path.is_dir():
            self._status(Text("name a file to write", "bold red"))
            return
        if not path.parent.is_dir():
            self._status(Text(f"no folder {path.parent}", "bold red"))
            return
        self.query_one("#export", Button).disabled = True
        bar = self.query_one("#progress", ProgressBar)
        bar.display = True
        bar.update(total=None, progress=0)
        self.run_export(path, self.fmt)

    def _status(self, text: Text) -> None:
        self.query_one("#export-status", Static).update(text)

    def _show(self, progress: ExportProgress) -> None:
        bar = self.query_one("#progress", ProgressBar)
        if progress.bytes_total:
            bar.update(total=progress.bytes_total, progress=progress.bytes_done)
        self._status(Text(progress_text(progress)))

    def _progress(self, progress: ExportProgress) -> None:
        """Called for every chunk: redraw at most 10 times a second."""
        now = time.monotonic()
        if now - self._last_shown >= 0.1:
            self._last_shown = now
            self._show(progress)

    @work(exclusive=True, exit_on_error=False)
    async def run_export(self, path: Path, fmt: str) -> None:
        try:
            count = await self.backend.export(self.session_id, fmt, path, self._progress)
        except BackendError as error:
            self._status(Text(str(error), "bold red"))
            self.query_one("#export", Button).disabled = False
            self.query_one("#progress").display = False
            return
        except Exception as error:  # noqa: BLE001 - the console never ends in a traceback
            self._status(Text(f"export failed: {type(error).__name__}: {error}", "bold red"))
            self.query_one("#export", Button).disabled = False
            return
        bar = self.query_one("#progress", ProgressBar)
        bar.update(total=max(1, count), progress=max(1, count))
        self.app.notify(f"{count:,} records written to {path}", title="Export", markup=False)
        self.dismiss(count)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.workers.cancel_all()
        self.dismiss(None)
