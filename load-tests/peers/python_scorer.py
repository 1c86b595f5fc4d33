"""PEER-1 of the bench: the scorer a user would write instead of streamscore's inference stage.

confluent-kafka (librdkafka) consumer and transactional producer, fastavro, onnxruntime; exactly
once with send_offsets_to_transaction and the consumer's group metadata. Reads features records
(Confluent wire format), scores them in batches with the same model file, writes scored records
with the same schema, and commits one transaction per --txn-records records, or per poll
(--txn-records 0: whatever one consume() call returned). It stops once --expect records are
committed (or --seconds pass) and prints one JSON line of what it did. The bench's reference, not
product code.
"""

import argparse
import io
import json
import os
import struct
import sys
import time
import urllib.request

import fastavro
from confluent_kafka import Consumer, KafkaException, Producer
from scoring import Model


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--brokers", required=True)
    p.add_argument("--registry", required=True, help="Confluent-compatible registry base URL")
    p.add_argument("--input", required=True)
    p.add_argument("--output", required=True)
    p.add_argument("--group", required=True)
    p.add_argument("--transactional-id", required=True)
    p.add_argument("--model-dir", required=True, help="folder with model.onnx and manifest.json")
    p.add_argument("--pipeline", required=True, help="the pipeline name the scored records carry")
    p.add_argument("--scored-schema", required=True, help="file with the scored schema (JSON)")
    p.add_argument("--scored-schema-id", type=int, required=True)
    p.add_argument("--batch", type=int, default=256, help="rows per model run")
    p.add_argument("--txn-records", type=int, default=2000, help="records per transaction; 0: one per poll")
    p.add_argument("--expect", type=int, default=0, help="stop after this many records committed")
    p.add_argument("--seconds", type=float, default=600, help="stop after this long in any case")
    return p.parse_args()


class WriterSchemas:
    """Writer schemas by id from the registry, parsed once each."""

    def __init__(self, registry):
        self.registry = registry.rstrip("/")
        self.parsed = {}

    def get(self, schema_id):
        if schema_id not in self.parsed:
            with urllib.request.urlopen(f"{self.registry}/schemas/ids/{schema_id}", timeout=10) as r:
                schema = json.loads(json.loads(r.read())["schema"])
            self.parsed[schema_id] = fastavro.parse_schema(schema)
        return self.parsed[schema_id]


def main():
    args = parse_args()
    model = Model(args.model_dir)
    with open(args.scored_schema) as f:
        scored_schema = fastavro.parse_schema(json.load(f))
    header = struct.pack(">bI", 0, args.scored_schema_id)
    writers = WriterSchemas(args.registry)

    consumer = Consumer(
        {
            "bootstrap.servers": args.brokers,
            "group.id": args.group,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
            "enable.partition.eof": False,
        }
    )
    producer = Producer(
        {
            "bootstrap.servers": args.brokers,
            "transactional.id": args.transactional_id,
            "linger.ms": 5,
        }
    )
    producer.init_transactions()
    consumer.subscribe([args.input])

    per_poll = args.txn_records <= 0
    poll_size = 10_000 if per_poll else args.txn_records
    committed = 0
    transactions = 0
    first_at = None
    cpu_at_first = 0.0
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline and (args.expect <= 0 or committed < args.expect):
        messages = consumer.consume(num_messages=poll_size, timeout=0.1)
        records = []
        for m in messages:
            if m.error():
                raise KafkaException(m.error())
            value = m.value()
            schema_id = struct.unpack(">I", value[1:5])[0]
            records.append(fastavro.schemaless_reader(io.BytesIO(value[5:]), writers.get(schema_id), None))
        if not records:
            continue
        if first_at is None:
            first_at = time.time()
            cpu_at_first = sum(os.times()[:2])
        matrix = model.matrix(records)
        producer.begin_transaction()
        for start in range(0, len(records), args.batch):
            labels, probabilities = model.run(matrix[start : start + args.batch])
            score_time = int(time.time() * 1000)
            for i, record in enumerate(records[start : start + args.batch]):
                out = model.scored(record, args.pipeline, labels[i], probabilities[i], score_time)
                buffer = io.BytesIO()
                buffer.write(header)
                fastavro.schemaless_writer(buffer, scored_schema, out)
                producer.produce(args.output, key=record["entity"].encode(), value=buffer.getvalue())
            producer.poll(0)
        positions = consumer.position(consumer.assignment())
        producer.send_offsets_to_transaction(positions, consumer.consumer_group_metadata())
        producer.commit_transaction()
        committed += len(records)
        transactions += 1
    last_at = time.time()
    cpu_at_last = sum(os.times()[:2])
    consumer.close()
    print(
        json.dumps(
            {
                "records": committed,
                "transactions": transactions,
                "firstAt": int((first_at or last_at) * 1000),
                "lastAt": int(last_at * 1000),
                # This process's user + system CPU (librdkafka's and onnxruntime's threads too) from the first record on.
                "cpuSeconds": cpu_at_last - cpu_at_first,
            }
        ),
        flush=True,
    )
    return 0 if args.expect <= 0 or committed >= args.expect else 1


if __name__ == "__main__":
    sys.exit(main())
