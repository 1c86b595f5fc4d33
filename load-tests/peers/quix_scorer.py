"""PEER-2 of the bench: the same scoring job as a Quix Streams app, written the way its docs show.

processing_guarantee="exactly-once", Avro in and out through the schema registry, one model run per
record (a StreamingDataFrame applies a function per message). Stops after --expect outputs and
prints one JSON line of what it did. The bench's reference, not product code.
"""

import argparse
import json
import os
import sys
import time

from quixstreams import Application
from quixstreams.models.serializers.avro import AvroDeserializer, AvroSerializer
from quixstreams.models.serializers.schema_registry import (
    SchemaRegistryClientConfig,
    SchemaRegistrySerializationConfig,
)
from scoring import Model


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--brokers", required=True)
    p.add_argument("--registry", required=True)
    p.add_argument("--input", required=True)
    p.add_argument("--output", required=True)
    p.add_argument("--group", required=True)
    p.add_argument("--model-dir", required=True)
    p.add_argument("--pipeline", required=True)
    p.add_argument("--scored-schema", required=True)
    p.add_argument("--state-dir", required=True)
    p.add_argument("--expect", type=int, required=True)
    p.add_argument("--seconds", type=float, default=600)
    return p.parse_args()


def main():
    args = parse_args()
    model = Model(args.model_dir)
    with open(args.scored_schema) as f:
        scored_schema = json.load(f)

    registry = SchemaRegistryClientConfig(url=args.registry)
    app = Application(
        broker_address=args.brokers,
        consumer_group=args.group,
        auto_offset_reset="earliest",
        processing_guarantee="exactly-once",
        state_dir=args.state_dir,
    )
    features = app.topic(args.input, key_deserializer="str", value_deserializer=AvroDeserializer(
        schema_registry_client_config=registry
    ))
    scored = app.topic(
        args.output,
        key_serializer="str",
        value_serializer=AvroSerializer(
            scored_schema,
            schema_registry_client_config=registry,
            schema_registry_serialization_config=SchemaRegistrySerializationConfig(auto_register_schemas=False),
        ),
    )
    marks = {"first_at": None, "cpu_at_first": None}

    def score(record):
        if marks["first_at"] is None:
            marks["first_at"] = time.time()
            marks["cpu_at_first"] = sum(os.times()[:2])
        labels, probabilities = model.run(model.matrix([record]))
        return model.scored(record, args.pipeline, labels[0], probabilities[0], int(time.time() * 1000))

    sdf = app.dataframe(features).apply(score)
    sdf.to_topic(scored)
    app.run(count=args.expect, timeout=args.seconds, collect=False)
    last_at = time.time()
    first_at = marks["first_at"] or last_at
    print(
        json.dumps(
            {
                "firstAt": int(first_at * 1000),
                "lastAt": int(last_at * 1000),
                "cpuSeconds": sum(os.times()[:2]) - (marks["cpu_at_first"] or 0),
            }
        ),
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
