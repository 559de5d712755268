"""The manager's side of the check, with the operator's AWS credentials (boto3's usual chain): the stack's
names from SSM `/<env>/tables`, and the session opened, started and closed through the stores the manager's
console runs (`spaceinvaders_backend.aws`: one implementation of each transaction), then the archive read
from S3 where Firehose writes it (`sessions/<SessionId>/`)."""

from __future__ import annotations

from typing import Any

import boto3
import botocore.config

from spaceinvaders_backend.aws import archive_records, push, session_store
from spaceinvaders_backend.aws.config import StackNames, published_tables
from spaceinvaders_backend.aws.items import StoredSession
from spaceinvaders_backend.core import sessions as rules
from spaceinvaders_backend.core.sessions import Session

_CONFIG = botocore.config.Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=15)


class ManagerSide:
    def __init__(self, env: str, session: boto3.Session) -> None:
        self.env = env
        self._boto = session
        self._clients: dict[tuple[str, str | None], Any] = {}
        self.tables: dict[str, str] = {}
        self._names: StackNames | None = None

    def client(self, service: str, endpoint_url: str | None = None) -> Any:
        if (service, endpoint_url) not in self._clients:
            self._clients[(service, endpoint_url)] = self._boto.client(
                service, endpoint_url=endpoint_url, config=_CONFIG
            )
        return self._clients[(service, endpoint_url)]

    @property
    def names(self) -> StackNames:
        assert self._names is not None, "load() first"
        return self._names

    def load(self) -> None:
        """Read `/<env>/tables`; KeyError names a resource it does not name."""
        self.tables = published_tables(self.env, self.client)
        self._names = StackNames.from_tables(self.env, self.tables, self.client)

    def live_session(self, now: float) -> StoredSession | None:
        """The current session if it is open and not past its deadline: somebody's event."""
        stored = session_store.current(self.names, fresh=True)
        if stored is None or not stored.is_open or rules.close_if_due(stored.session, now) is not None:
            return None
        return stored

    def open(self, name: str, now: float) -> Session:
        """A synchronized multiple-trials session of one seat: only the check's player can sit in it."""
        return session_store.open_session(self.names, name, rules.MULTIPLE_TRIALS, True, now, None, 1)

    def start(self, countdown_seconds: float, now: float) -> Session:
        return push.start_and_announce(self.names, countdown_seconds, now)

    def close(self, now: float) -> Session:
        return session_store.close(self.names, now)

    @property
    def archive_bucket(self) -> str:
        return self.tables.get("ArchiveBucket", "")

    def archived(self, session_id: str) -> tuple[int, list[dict[str, Any]]]:
        """(objects, records) under `sessions/<SessionId>/` of the archive bucket, read as the replay and the
        export read them (gzip or not, records separated by newlines or not)."""
        s3 = self.client("s3")
        keys = [key for key, _etag in archive_records.list_objects(s3, self.archive_bucket, session_id)]
        records = [record for key in keys
                   for record in archive_records.records_of(archive_records.read_object(s3, self.archive_bucket, key))]
        return len(keys), records
