"""`POST /v1/allocate` and `POST /v1/deallocate` (Lambda proxy integration behind the Cognito authorizer)."""

from __future__ import annotations

import json

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.metrics import MetricUnit

from ...core import models
from ...core.errors import ApiError
from .. import seat_store
from ..caller import GAMER_GROUPS, Caller
from ..config import METRICS_NAMESPACE, SERVICE, StackNames

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=METRICS_NAMESPACE)
app = APIGatewayRestResolver()


def _player() -> str:
    """The caller, a Gamer, naming themselves in the body; their seat is keyed by the token's name."""
    caller = Caller.from_claims(app.current_event.request_context.authorizer.claims)
    caller.require(GAMER_GROUPS, "Gamer")
    body = models.decode((app.current_event.body or "").encode(), models.UsernameBody)
    caller.require_self(body.Username)
    return caller.username


@app.post("/v1/allocate")
def allocate() -> dict:
    message = seat_store.allocate(StackNames.from_environ(), _player())
    if message != seat_store.KEEP_PLAYING:
        metrics.add_metric(name="SeatsAllocated", unit=MetricUnit.Count, value=1)
    return {"successMessage": message}


@app.post("/v1/deallocate")
def deallocate() -> dict:
    return {"successMessage": seat_store.deallocate(StackNames.from_environ(), _player())}


@app.exception_handler(ApiError)
def api_error(err: ApiError) -> Response:
    if err.status >= 500:
        metrics.add_metric(name="SeatConflicts", unit=MetricUnit.Count, value=1)
    return Response(
        status_code=err.status,
        content_type="application/json",
        body=json.dumps(err.body()),
        headers=err.headers or None,
    )


@app.not_found
def not_found(_exc: Exception) -> Response:
    return api_error(ApiError(404, "NotFound", "No such path."))


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict, context) -> dict:
    return app.resolve(event, context)
