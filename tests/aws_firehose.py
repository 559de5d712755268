"""The archive's delivery stream (template `Archive`), played on moto: it reads the status stream, hands
each buffer to the template's transform (`ArchiveTransformFunction`), and writes the records the transform
keeps to S3 under the prefix its partition names, one object per buffer and partition.

Its event is Firehose's for a Kinesis source (`records[]` of `recordId`, base64 `data`,
`approximateArrivalTimestamp`, `kinesisRecordMetadata`: https://docs.aws.amazon.com/lambda/latest/dg/services-kinesisfirehose.html);
the partition is the answer's `metadata.partitionKeys.SessionId` (`Prefix: sessions/!{partitionKeyFromLambda:
SessionId}/`); `Dropped` records are written nowhere, `ProcessingFailed` ones under `errors/`
(https://docs.aws.amazon.com/firehose/latest/dev/data-transformation.html). The buffer is whatever
arrived since the last `deliver()`, not 60 s: tests call it as often as they like.
"""

from __future__ import annotations

import base64
import time
import uuid

import boto3
from aws_gateway import LambdaContext

from spaceinvaders_backend.aws.handlers import archive_transform


class DeliveryStream:
    def __init__(self, stack) -> None:
        self.stream = stack.tables["Stream"]
        self.bucket = stack.tables["ArchiveBucket"]
        self.name = f"spaceinvaders-{stack.env}-archive"
        self.kinesis = boto3.client("kinesis", region_name=stack.region)
        self.s3 = boto3.client("s3", region_name=stack.region)
        self.after: dict[str, str] = {}  # shard -> the last sequence number read

    def _read(self, shard: str) -> list[dict]:
        after = self.after.get(shard)
        position = ({"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "StartingSequenceNumber": after} if after
                    else {"ShardIteratorType": "TRIM_HORIZON"})
        iterator = self.kinesis.get_shard_iterator(StreamName=self.stream, ShardId=shard, **position)["ShardIterator"]
        records = self.kinesis.get_records(ShardIterator=iterator, Limit=10_000)["Records"]
        if records:
            self.after[shard] = records[-1]["SequenceNumber"]
        return records

    def deliver(self) -> int:
        """One buffer: everything new on the stream, transformed and written; answers the objects written."""
        buffer = []
        for shard in [s["ShardId"] for s in self.kinesis.list_shards(StreamName=self.stream)["Shards"]]:
            for r in self._read(shard):
                millis = int(r["ApproximateArrivalTimestamp"].timestamp() * 1000)
                buffer.append({
                    "recordId": f"{shard}-{r['SequenceNumber']}",
                    "approximateArrivalTimestamp": millis,
                    "data": base64.b64encode(r["Data"]).decode(),
                    "kinesisRecordMetadata": {"shardId": shard, "partitionKey": r["PartitionKey"],
                                              "approximateArrivalTimestamp": millis,
                                              "sequenceNumber": r["SequenceNumber"], "subsequenceNumber": 0},
                })
        if not buffer:
            return 0
        answer = archive_transform.handler({"invocationId": str(uuid.uuid4()), "records": buffer}, LambdaContext())
        objects: dict[str, list[bytes]] = {}
        for record in answer["records"]:
            if record["result"] == "Ok":
                prefix = f"sessions/{record['metadata']['partitionKeys']['SessionId']}/"
            elif record["result"] == "ProcessingFailed":
                prefix = "errors/processing-failed/"
            else:
                continue
            objects.setdefault(prefix, []).append(base64.b64decode(record["data"]))
        stamp = time.strftime("%Y-%m-%d-%H-%M-%S", time.gmtime())
        for prefix, parts in objects.items():
            key = f"{prefix}{self.name}-1-{stamp}-{uuid.uuid4()}"
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=b"".join(parts))
        return len(objects)
