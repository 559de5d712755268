"""Every minute: close a time-constrained session at its deadline, free the seats of idle players."""

from __future__ import annotations

import time

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from .. import seat_store, session_store
from ..config import METRICS_NAMESPACE, SERVICE, StackNames

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=METRICS_NAMESPACE)


def sweep(names: StackNames, now: float) -> dict:
    closed = session_store.close_if_due(names, now)
    if closed is not None:
        logger.info("closed at its deadline", extra={"SessionId": closed.session_id})
    stored = session_store.current(names, fresh=True)
    freed: list[str] = []
    if stored is not None:
        idle_before = now - names.idle_timeout
        for username in seat_store.idle_players(names, stored.session.session_id, idle_before):
            try:
                if (
                    seat_store.leave(names, stored.session, username, now, idle_before)
                    != seat_store.NOT_SEATED
                ):
                    freed.append(username)
            except seat_store.SeatChanged:
                pass  # seen or moved meanwhile: not idle after all, or the next sweep sees it again
    if freed:
        logger.info("freed idle seats", extra={"players": freed})
        metrics.add_metric(name="IdleSeatsFreed", unit=MetricUnit.Count, value=len(freed))
    return {"closed": closed.session_id if closed else None, "freed": freed}


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict, context) -> dict:
    return sweep(StackNames.from_environ(), time.time())
