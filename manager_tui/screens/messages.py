"""Messages the screens send up to the app (the app answers by setting its reactives, which they watch)."""
from __future__ import annotations

from textual.message import Message


class SessionChosen(Message):
    """Watch this session from now on (opened, or picked in the list)."""

    def __init__(self, session_id: str) -> None:
        super().__init__()
        self.session_id = session_id


class RefreshWanted(Message):
    """Refresh the board now (an action changed it, or the manager pressed r); connect first if needed."""



class ReplayWanted(Message):
    """Replay this session from its start."""

    def __init__(self, session_id: str) -> None:
        super().__init__()
        self.session_id = session_id
