import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { decodeBody, parseJsonBody, parseNdjsonBody } from "../../../services/producer/body.ts";
import { createEventValidator } from "../../../services/producer/validation.ts";
import { parseAvroSchema } from "../../../services/shared/kafka/avro-codec.ts";
import { readSchema } from "../../../services/shared/schemas.ts";

const schema = readSchema("payments-event.avsc") as Parameters<typeof createEventValidator>[1];
const validate = createEventValidator(parseAvroSchema(schema), schema);
const event = {
  event_id: "e1",
  card_id: "c1",
  merchant_id: "m1",
  amount: 10.5,
  currency: "EUR",
  merchant_category: "grocery",
  country: "GB",
  channel: "pos",
  card_present: true,
  event_time: 1_795_000_000_000,
};

describe("event validation against the Avro schema", () => {
  it("accepts a valid event and fills optional fields with their defaults", () => {
    expect(validate(event)).toEqual({ ok: true, record: { ...event, device_id: null } });
  });

  it("takes ISO-8601 times for timestamp fields", () => {
    const result = validate({ ...event, event_time: "2026-11-27T04:00:00.250Z" });
    expect(result.ok && result.record.event_time).toBe(Date.UTC(2026, 10, 27, 4, 0, 0, 250));
  });

  it("names every bad field with what it expected", () => {
    const result = validate({
      ...event,
      amount: "12",
      card_present: "yes",
      event_time: "yesterday",
      colour: "red",
      card_id: undefined,
    });
    expect(result).toEqual({
      ok: false,
      errors: [
        { field: "colour", message: "is not a field of this pipeline's schema" },
        { field: "card_id", message: "is required" },
        { field: "amount", message: 'must be a number, got "12"' },
        { field: "card_present", message: 'must be true or false, got "yes"' },
        { field: "event_time", message: 'must be epoch milliseconds or an ISO-8601 time, got "yesterday"' },
      ],
    });
  });

  it("refuses non-finite numbers, such as 1e400 parsed from JSON", () => {
    const parsed = parseJsonBody(JSON.stringify(event).replace('"amount":10.5', '"amount":1e400'));
    expect(parsed.ok && validate(parsed.events[0])).toEqual({
      ok: false,
      errors: [{ field: "amount", message: "must be a finite number, got Infinity" }],
    });
  });

  it.each([[null], [[1, 2]], ["text"], [42]])("refuses %j as an event", (value) => {
    expect(validate(value)).toMatchObject({ ok: false, errors: [{ field: "(event)" }] });
  });

  it("lets a nullable field be null or a string, nothing else", () => {
    expect(validate({ ...event, device_id: "d1" }).ok).toBe(true);
    expect(validate({ ...event, device_id: 7 })).toEqual({
      ok: false,
      errors: [{ field: "device_id", message: "must be null or a string, got 7" }],
    });
  });
});

describe("request bodies", () => {
  it("reads one object or an array as JSON", () => {
    expect(parseJsonBody('{"a":1}')).toEqual({ ok: true, events: [{ a: 1 }] });
    expect(parseJsonBody('[{"a":1},{"a":2}]')).toEqual({ ok: true, events: [{ a: 1 }, { a: 2 }] });
  });

  it("reads NDJSON, skipping blank lines, and names the broken line", () => {
    expect(parseNdjsonBody('{"a":1}\n\n{"a":2}\n')).toEqual({ ok: true, events: [{ a: 1 }, { a: 2 }] });
    expect(parseNdjsonBody('{"a":1}\n{"a":\n')).toMatchObject({ ok: false, message: /line 2/ });
  });

  it("says what is wrong with malformed JSON", () => {
    expect(parseJsonBody("{nope")).toMatchObject({ ok: false, message: /^malformed JSON: / });
  });
});

describe("body decoding", () => {
  it("passes plain UTF-8 through and gunzips gzip bodies", () => {
    expect(decodeBody(Buffer.from('{"a":"é"}'), undefined, 100)).toEqual({ ok: true, text: '{"a":"é"}' });
    expect(decodeBody(gzipSync(Buffer.from("[1]")), "gzip", 100)).toEqual({ ok: true, text: "[1]" });
  });

  it("stops a gzip bomb at the size limit with 413", () => {
    const bomb = gzipSync(Buffer.alloc(50_000_000, 32)); // 50 MB of spaces in about 50 kB
    expect(bomb.length).toBeLessThan(100_000);
    expect(decodeBody(bomb, "gzip", 1_000_000)).toMatchObject({ ok: false, status: 413 });
  });

  it("refuses invalid UTF-8, broken gzip and other encodings", () => {
    expect(decodeBody(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), undefined, 100)).toEqual({
      ok: false,
      status: 400,
      message: "the body is not valid UTF-8",
    });
    expect(decodeBody(Buffer.from("not gzip"), "gzip", 100)).toMatchObject({ ok: false, status: 400 });
    expect(decodeBody(Buffer.from("x"), "br", 100)).toMatchObject({ ok: false, status: 415 });
  });
});
