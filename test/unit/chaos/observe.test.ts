import { describe, expect, it } from "vitest";
import { parseAvroSchema } from "../../../services/shared/kafka/avro-codec.ts";
import { encodeWireFormat } from "../../../services/shared/kafka/wire-format.ts";
import { scoredSchema } from "../../../services/shared/pipeline/records.ts";
import { eventIdOf, modelOf } from "../../chaos/observe.ts";

describe("event id of a record, read without the registry", () => {
  const type = parseAvroSchema({
    type: "record",
    name: "E",
    fields: [
      { name: "event_id", type: "string" },
      { name: "amount", type: "double" },
    ],
  });

  it("is the first string after the Confluent header", () => {
    const long = `e-${"x".repeat(200)}`;
    for (const id of ["e-1", long, "é-ünïcode"]) {
      const value = encodeWireFormat(7, type.toBuffer({ event_id: id, amount: 1.5 }));
      expect(eventIdOf(value)).toBe(id);
    }
  });

  it("is undefined for a missing value, another magic byte or a truncated record", () => {
    const value = encodeWireFormat(7, type.toBuffer({ event_id: "e-22", amount: 1 }));
    expect(eventIdOf(null)).toBeUndefined();
    expect(eventIdOf(Buffer.concat([Buffer.from([1]), value.subarray(1)]))).toBeUndefined();
    expect(eventIdOf(value.subarray(0, 7))).toBeUndefined();
  });
});

describe("model of a scored record, read without the registry", () => {
  const type = parseAvroSchema(scoredSchema());
  const record = {
    event_id: "e-1",
    pipeline: "p",
    entity: "card-1",
    event_time: 1,
    ingest_time: 2,
    transform_time: 3,
    score_time: 4,
    model_name: "payments-fraud",
    model_version: 3,
    label: "0",
    score: 0.1,
    class_labels: ["0", "1"],
    probabilities: [0.9, 0.1],
    features: [1, 2],
    model_role: "shadow",
  };

  it("is the record's model_version and model_role", () => {
    expect(modelOf(type, encodeWireFormat(9, type.toBuffer(record)))).toEqual({ version: 3, role: "shadow" });
    expect(eventIdOf(encodeWireFormat(9, type.toBuffer(record)))).toBe("e-1");
  });

  it("is undefined for a value the schema cannot decode", () => {
    expect(modelOf(type, null)).toBeUndefined();
    expect(modelOf(type, encodeWireFormat(9, type.toBuffer(record)).subarray(0, 30))).toBeUndefined();
  });
});
