"""Writing an export: to a hidden file beside the destination, renamed into place only when complete."""
from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from . import BackendError


@contextlib.contextmanager
def written_atomically(destination: Path, mode: str = "wb", **open_args: Any) -> Iterator[IO[Any]]:
    """A file that appears at `destination` whole or not at all; a write error is a BackendError."""
    partial = destination.with_name(f".{destination.name}.part")
    try:
        with partial.open(mode, **open_args) as out:
            yield out
        os.replace(partial, destination)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise BackendError(f"cannot write {destination}: {error.strerror or error}") from error
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
