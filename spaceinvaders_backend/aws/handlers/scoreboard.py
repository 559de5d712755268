"""The scoreboard function: Kinesis batches of status records onto the players' boards.

Powertools' batch processor decodes each record (a record no retry can fix goes to the dead-letter queue
and counts as processed, so it never blocks its shard); the decoded records are then applied together,
player by player (`board_batch`), and the records of players whose writes failed are reported as partial
batch failures: Lambda retries from the earliest of them, and the conditional writes skip what was done.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import KinesisStreamRecord

from ..board_batch import BoardBatch, PoisonRecord, decode_record, send_to_dead_letters, shard_of
from ..config import METRICS_NAMESPACE, SERVICE, StackNames

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=METRICS_NAMESPACE)


class BoardProcessor(BatchProcessor):
    """Records decoded one by one (Powertools' record loop), then applied as one batch."""

    def __init__(self, batch: BoardBatch) -> None:
        super().__init__(event_type=EventType.KinesisDataStreams)
        self.batch = batch

    def process(self) -> list[tuple]:
        results = super().process()
        failed, counted = self.batch.apply()
        for record in failed:
            self.failure_handler(record.source, (RuntimeError, RuntimeError("board not written"), None))
        metrics.add_metric(name="RecordsCounted", unit=MetricUnit.Count, value=sum(counted.values()))
        if failed:
            metrics.add_metric(name="RecordsRetried", unit=MetricUnit.Count, value=len(failed))
        return results


def _decode(names: StackNames, batch: BoardBatch, record: KinesisStreamRecord) -> None:
    kinesis = record.kinesis
    data = kinesis.data_as_bytes()
    try:
        batch.add(
            decode_record(
                data, kinesis.approximate_arrival_timestamp, shard_of(record.event_id), kinesis.sequence_number, record
            )
        )
    except PoisonRecord as poison:
        logger.warning(
            "poison record sent to the dead letters",
            extra={"reason": str(poison), "sequenceNumber": kinesis.sequence_number},
        )
        send_to_dead_letters(
            names,
            str(poison),
            data,
            kinesis.sequence_number,
            kinesis.partition_key,
            kinesis.approximate_arrival_timestamp,
        )
        metrics.add_metric(name="PoisonRecords", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict, context) -> dict:
    names = StackNames.from_environ()
    batch = BoardBatch(names)
    processor = BoardProcessor(batch)
    with processor(records=event["Records"], handler=lambda record: _decode(names, batch, record)):
        processor.process()
    return processor.response()
