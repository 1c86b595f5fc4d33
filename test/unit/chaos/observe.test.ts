import { describe, expect, it } from "vitest";
import { parseAvroSchema } from "../../../services/shared/kafka/avro-codec.ts";
import { encodeWireFormat } from "../../../services/shared/kafka/wire-format.ts";
import { eventIdOf } from "../../chaos/observe.ts";

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
