import { describe, expect, it } from "vitest";
import { paymentEvents } from "../../../services/producer/generator/payments.ts";
import { StreamscoreError } from "../../../services/shared/errors.ts";
import { createAvroCodec, parseAvroSchema } from "../../../services/shared/kafka/avro-codec.ts";
import { encodeWireFormat } from "../../../services/shared/kafka/wire-format.ts";
import { readSchema } from "../../../services/shared/schemas.ts";

const paymentType = parseAvroSchema(readSchema("payments-event.avsc"));

function codecWith(types: Record<number, ReturnType<typeof parseAvroSchema>>) {
  const lookups: number[] = [];
  const codec = createAvroCodec(async (id) => {
    lookups.push(id);
    const type = types[id];
    if (!type) throw new StreamscoreError("SCHEMA_NOT_FOUND", `no schema ${id}`);
    return type;
  });
  return { codec, lookups };
}

function codeOf(action: () => unknown): string | undefined {
  try {
    action();
  } catch (error) {
    return (error as StreamscoreError).code;
  }
  return undefined;
}

describe("Avro codec", () => {
  it("round-trips every field of payment events, including nullable ones", async () => {
    const { codec } = codecWith({ 7: paymentType });
    const events = paymentEvents(50, 1);
    const encoded = events.map((event) => codec.encode(7, paymentType, event));
    await codec.prepare(encoded);
    expect(encoded.map((value) => codec.decode(value).record)).toEqual(events);
    expect(events.some((e) => e.device_id === null) && events.some((e) => e.device_id !== null)).toBe(true);
  });

  it("looks each schema id up once per codec", async () => {
    const { codec, lookups } = codecWith({ 7: paymentType });
    const encoded = paymentEvents(10, 2).map((event) => codec.encode(7, paymentType, event));
    await codec.prepare(encoded);
    await codec.prepare(encoded);
    expect(lookups).toEqual([7]);
  });

  it("names the fields that do not match the schema when encoding", () => {
    const { codec } = codecWith({});
    const [event] = paymentEvents(1, 3);
    const bad = { ...event, amount: "12.5", card_present: 1 };
    expect(() => codec.encode(7, paymentType, bad)).toThrow(/amount.*card_present|card_present.*amount/);
  });

  it("gives each kind of poison record its own error code", async () => {
    const { codec } = codecWith({ 7: paymentType });
    const good = codec.encode(7, paymentType, paymentEvents(1, 4)[0]);
    const unknownId = encodeWireFormat(99, good.subarray(5));
    const truncated = good.subarray(0, good.length - 3);
    const trailing = Buffer.concat([good, Buffer.from([1, 2])]);
    const garbage = encodeWireFormat(7, Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]));
    await codec.prepare([unknownId, truncated, trailing, garbage]);

    expect(codeOf(() => codec.decode(Buffer.from("not avro")))).toBe("WIRE_FORMAT_INVALID");
    expect(codeOf(() => codec.decode(unknownId))).toBe("SCHEMA_NOT_FOUND");
    expect(codeOf(() => codec.decode(truncated))).toBe("AVRO_DECODE_FAILED");
    expect(codeOf(() => codec.decode(trailing))).toBe("AVRO_DECODE_FAILED");
    expect(codeOf(() => codec.decode(garbage))).toBe("AVRO_DECODE_FAILED");
  });

  it("asks again for an unknown id once the retry interval has passed, and finds a schema registered since", async () => {
    const types: Record<number, ReturnType<typeof parseAvroSchema>> = {};
    const lookups: number[] = [];
    let clock = 1_000_000;
    const codec = createAvroCodec(
      async (id) => {
        lookups.push(id);
        const type = types[id];
        if (!type) throw new StreamscoreError("SCHEMA_NOT_FOUND", `no schema ${id}`);
        return type;
      },
      { unknownRetryMs: 1000, now: () => clock },
    );
    const value = encodeWireFormat(42, paymentType.toBuffer(paymentEvents(1, 5)[0]));
    await codec.prepare([value]);
    expect(codeOf(() => codec.decode(value))).toBe("SCHEMA_NOT_FOUND");
    types[42] = paymentType;
    clock += 999;
    await codec.prepare([value, value]);
    // Within the interval the miss is remembered: no lookup per batch of poison.
    expect(lookups).toEqual([42]);
    expect(codeOf(() => codec.decode(value))).toBe("SCHEMA_NOT_FOUND");
    clock += 1;
    await codec.prepare([value]);
    expect(lookups).toEqual([42, 42]);
    expect(codec.decode(value).record).toEqual(paymentEvents(1, 5)[0]);
    await codec.prepare([value]);
    expect(lookups).toEqual([42, 42]);
  });

  it("lets registry outages through as retriable errors instead of caching them as unknown ids", async () => {
    const codec = createAvroCodec(async () => {
      throw new StreamscoreError("SCHEMA_REGISTRY_UNAVAILABLE", "down");
    });
    const value = encodeWireFormat(5, Buffer.alloc(1));
    await expect(codec.prepare([value])).rejects.toMatchObject({
      code: "SCHEMA_REGISTRY_UNAVAILABLE",
      retriable: true,
    });
  });

  it("encodes records of any size, each into a buffer of its own, framed like encodeWireFormat", async () => {
    const { codec } = codecWith({ 7: paymentType });
    const [small, other] = paymentEvents(2, 5);
    const big = { ...small, merchant_id: "m".repeat(100_000) };
    const encoded = [small, big, other].map((event) => codec.encode(7, paymentType, event));
    expect(encoded[1]?.length).toBeGreaterThan(100_000);
    expect(
      encoded.map((value, i) => value.equals(encodeWireFormat(7, paymentType.toBuffer([small, big, other][i])))),
    ).toEqual([true, true, true]);
    await codec.prepare(encoded);
    expect(encoded.map((value) => codec.decode(value).record)).toEqual([small, big, other]);
  });
});

describe("Avro codec with a reader schema (schema evolution)", () => {
  const v1 = readSchema("payments-event.avsc") as { fields: object[] };
  const v2Type = parseAvroSchema({
    ...v1,
    fields: [...v1.fields, { name: "loyalty_tier", type: ["null", "string"], default: null }],
  });
  const [event] = paymentEvents(1, 3);

  function readerCodec(reader: ReturnType<typeof parseAvroSchema>) {
    const types: Record<number, ReturnType<typeof parseAvroSchema>> = {
      1: paymentType,
      2: v2Type,
      3: parseAvroSchema(readSchema("iris-event.avsc")),
    };
    return createAvroCodec(async (id) => types[id] as ReturnType<typeof parseAvroSchema>, { reader });
  }

  it("reads records of a newer writer schema with the reader's fields only", async () => {
    const codec = readerCodec(paymentType);
    const value = codec.encode(2, v2Type, { ...event, loyalty_tier: "gold" });
    await codec.prepare([value]);
    expect(codec.decode(value)).toEqual({ schemaId: 2, record: { ...event } });
  });

  it("fills fields an older writer lacked with the reader's defaults", async () => {
    const codec = readerCodec(v2Type);
    const value = codec.encode(1, paymentType, event);
    await codec.prepare([value]);
    expect(codec.decode(value)).toEqual({ schemaId: 1, record: { ...event, loyalty_tier: null } });
  });

  it("refuses records of a schema the reader cannot resolve, per record", async () => {
    const codec = readerCodec(paymentType);
    const iris = parseAvroSchema(readSchema("iris-event.avsc"));
    const value = codec.encode(3, iris, {
      event_id: "i",
      flower_id: "f",
      sepal_length: 1,
      sepal_width: 1,
      petal_length: 1,
      petal_width: 1,
      event_time: 0,
    });
    const good = codec.encode(1, paymentType, event);
    await codec.prepare([value, good]);
    expect(codeOf(() => codec.decode(value))).toBe("SCHEMA_INCOMPATIBLE");
    expect(codec.decode(good).record).toEqual({ ...event });
  });
});
