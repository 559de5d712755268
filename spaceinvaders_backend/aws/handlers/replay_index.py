"""The replay index function: indexes a session's archive as Firehose delivers it (`replay_indexer.py`).

Started by the archive bucket's S3 events for objects created under `sessions/` (at least once and in
no particular order: each run works from the listing and the stored index, so a repeated or early event
changes nothing; https://docs.aws.amazon.com/AmazonS3/latest/userguide/EventNotifications.html), and
every 5 minutes by a schedule whose input names the bucket: it completes the indexes of sessions closed
long enough (`replays/unfinished/`), which no new object announces, and catches up any event lost.
"""

from __future__ import annotations

import time
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger

from .. import replay_indexer, replay_store
from ..archive_records import session_of_key
from ..config import SERVICE, StackNames

logger = Logger(service=SERVICE)
clock = time.time  # the tests move it past a session's close


def sessions_of(event: dict, s3=None) -> tuple[str, list[str]]:
    """(bucket, sessions) the event is about: those of the S3 records' keys, or the schedule's unfinished ones."""
    records = event.get("Records")
    if records:
        bucket = records[0]["s3"]["bucket"]["name"]
        found = (session_of_key(unquote_plus(r["s3"]["object"]["key"])) for r in records)
        return bucket, list(dict.fromkeys(sid for sid in found if sid))
    bucket = event["Bucket"]
    return bucket, replay_store.unfinished_sessions(s3, bucket)


@logger.inject_lambda_context
def handler(event: dict, context) -> dict:
    names = StackNames.from_environ()
    s3 = names.client("s3")
    bucket, sessions = sessions_of(event, s3)
    outcomes = []
    for session_id in sessions:
        outcome = replay_indexer.index_session(names, s3, bucket, session_id, clock())
        (logger.warning if outcome.note.startswith("its last board is not") else logger.info)(
            "replay indexed", extra=outcome._asdict())
        outcomes.append(outcome._asdict())
    return {"sessions": outcomes}
