import { describe, expect, it } from "vitest";
import { createAvroCodec, parseAvroSchema } from "../../../services/shared/kafka/avro-codec.ts";
import type { KafkaMessage, Message } from "../../../services/shared/kafka/client.ts";
import { featuresSchema } from "../../../services/shared/pipeline/records.ts";
import { payments } from "../../../services/shared/pipelines/payments.ts";
import { readSchema } from "../../../services/shared/schemas.ts";
import { changelogKey, decodeStateEvent, encodeStateEvent } from "../../../services/transformer/changelog.ts";
import { createPipelineTransformer } from "../../../services/transformer/transformer.ts";

describe("changelog records", () => {
  it("round-trip an event and name it by entity and id, unambiguously", () => {
    const event = { entity: "card-1", eventId: "e-7", time: 1_700_000_000_123, values: { amount: 12.5 } };
    const key = changelogKey(event.entity, event.eventId);
    expect(decodeStateEvent(key, encodeStateEvent(event))).toEqual(event);
    expect(changelogKey("a,b", "c")).not.toBe(changelogKey("a", "b,c"));
    expect(changelogKey('a"', "b")).not.toBe(changelogKey("a", '"b'));
  });

  it("skips a record whose key does not match its value, or that is not an event (an older whole-entity record)", () => {
    const value = encodeStateEvent({ entity: "card-1", eventId: "e-7", time: 1, values: {} });
    expect(decodeStateEvent(changelogKey("card-1", "e-8"), value)).toBeUndefined();
    expect(decodeStateEvent("card-1", Buffer.from([1, 2, 3]))).toBeUndefined();
  });
});

describe("state restored from the changelog", () => {
  const rawType = parseAvroSchema(readSchema(payments.schema) as object);
  const featuresType = parseAvroSchema(featuresSchema(payments));
  const codec = createAvroCodec(async (id) => (id === 2 ? featuresType : rawType));
  const hour = 3_600_000;
  const start = Date.parse("2026-11-27T00:00:00Z");
  const now = start + 10 * hour;
  const transformer = () =>
    createPipelineTransformer({
      definition: { ...payments, personal: {} },
      codec,
      featuresType,
      featuresSchemaId: 2,
      now: () => now,
    });
  // Three cards, events 7 minutes apart over 3 hours, so the one-hour windows evict as they go.
  const raw = Array.from({ length: 90 }, (_, i) => ({
    event_id: `e-${i}`,
    card_id: `card-${i % 3}`,
    merchant_id: "m-1",
    amount: i + 0.5,
    currency: "EUR",
    merchant_category: "grocery",
    country: "GB",
    channel: "pos",
    card_present: true,
    event_time: start + i * 2 * 60_000,
    device_id: null,
  }));
  const messages = raw.map(
    (event, offset) =>
      ({
        key: Buffer.from(event.card_id),
        value: codec.encode(1, rawType, event),
        offset: String(offset),
        timestamp: String(now),
        attributes: 0,
        headers: {},
      }) as KafkaMessage,
  );
  const asRead = (m: Message, offset: number) =>
    ({ key: Buffer.from(String(m.key)), value: m.value, offset: String(offset) }) as KafkaMessage;

  /** The first 60 events through a transformer, in chunks of 20: the transformer and its changelog. */
  async function writtenState() {
    await codec.prepare(messages.map((m) => m.value));
    const original = transformer();
    const changelog: Message[] = [];
    for (let i = 0; i < 60; i += 20) {
      changelog.push(...(original.process(0, messages.slice(i, i + 20))[2]?.messages ?? []));
    }
    return { original, changelog };
  }

  /** Restores a transformer from `records`, then expects the same features as `original` for the rest. */
  async function expectSameFeatures(original: ReturnType<typeof transformer>, records: Message[]) {
    const restored = transformer();
    restored.beginRestore([0]);
    records.forEach((m, offset) => {
      restored.restoreRecord(0, asRead(m, offset));
    });
    const rest = messages.slice(60);
    const decode = (m: Message) => codec.decode(m.value as Buffer).record;
    const expected = original.process(0, rest)[0]?.messages ?? [];
    const actual = restored.process(0, rest)[0]?.messages ?? [];
    expect(actual).toHaveLength(30);
    await codec.prepare([...expected, ...actual].map((m) => m.value as Buffer));
    expect(actual.map(decode)).toEqual(expected.map(decode));
  }

  it("gives the same features as the state it was written from, after evictions", async () => {
    const { original, changelog } = await writtenState();
    expect(changelog.filter((m) => m.value === null).length).toBeGreaterThan(0);
    await expectSameFeatures(original, changelog);
  });

  it("gives the same features from a compacted changelog (each key's last record, no tombstones)", async () => {
    const { original, changelog } = await writtenState();
    const last = new Map(changelog.map((m, offset) => [String(m.key), offset]));
    const compacted = changelog.filter((m, offset) => m.value !== null && last.get(String(m.key)) === offset);
    expect(compacted.length).toBeLessThan(60);
    await expectSameFeatures(original, compacted);
  });

  it("drops whatever a partition held when a restore begins, so a restore read again does not add twice", async () => {
    await codec.prepare(messages.map((m) => m.value));
    const original = transformer();
    const changelog = original.process(0, messages.slice(0, 30))[2]?.messages ?? [];
    const restored = transformer();
    for (let attempt = 0; attempt < 2; attempt += 1) {
      restored.beginRestore([0]);
      changelog.forEach((m, offset) => {
        restored.restoreRecord(0, asRead(m, offset));
      });
    }
    const rest = messages.slice(30, 40);
    const decode = (m: Message) => codec.decode(m.value as Buffer).record;
    const expected = original.process(0, rest)[0]?.messages ?? [];
    const actual = restored.process(0, rest)[0]?.messages ?? [];
    await codec.prepare([...expected, ...actual].map((m) => m.value as Buffer));
    expect(actual.map(decode)).toEqual(expected.map(decode));
  });

  it("drops an event its id was seen for (a retry) after a restore", async () => {
    await codec.prepare(messages.map((m) => m.value));
    const original = transformer();
    const changelog = original.process(0, messages.slice(0, 10))[2]?.messages ?? [];
    const restored = transformer();
    restored.beginRestore([0]);
    changelog.forEach((m, offset) => {
      restored.restoreRecord(0, asRead(m, offset));
    });
    const retried = restored.process(0, messages.slice(9, 10));
    expect(retried[0]?.messages).toEqual([]);
  });
});
