import { createHmac, createSecretKey } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createAvroCodec, parseAvroSchema } from "../../../services/shared/kafka/avro-codec.ts";
import type { KafkaMessage } from "../../../services/shared/kafka/client.ts";
import { featuresSchema } from "../../../services/shared/pipeline/records.ts";
import { payments } from "../../../services/shared/pipelines/payments.ts";
import { readSchema } from "../../../services/shared/schemas.ts";
import { changelogKey } from "../../../services/transformer/changelog.ts";
import { createPersonalData, pseudonymize } from "../../../services/transformer/personal-data.ts";
import { createPipelineTransformer } from "../../../services/transformer/transformer.ts";

const key = "k".repeat(32);
const card = "4000123412341234";

describe("personal data", () => {
  it("pseudonymizes with a keyed HMAC-SHA256: stable per key, different across keys", () => {
    const expected = createHmac("sha256", key).update(card).digest("hex").slice(0, 32);
    expect(pseudonymize(createSecretKey(Buffer.from(key)), card)).toBe(expected);
    expect(pseudonymize(createSecretKey(Buffer.from(key)), card)).toBe(expected);
    expect(pseudonymize(createSecretKey(Buffer.from("x".repeat(32))), card)).not.toBe(expected);
    expect(pseudonymize(createSecretKey(Buffer.from(key)), `${card}0`)).not.toBe(expected);
  });

  it("hashes and drops the fields the definition marks, in place, and leaves the others", () => {
    const personal = createPersonalData(payments, key);
    const record: Record<string, unknown> = { card_id: card, device_id: "dev-42", merchant_id: "m-1", amount: 3 };
    personal.protect(record);
    expect(record).toEqual({ card_id: personal.pseudonym(card), device_id: null, merchant_id: "m-1", amount: 3 });
    expect([personal.active, personal.hashesKey]).toEqual([true, true]);
  });

  it("refuses to start without a key when a field is to be hashed, naming the setting", () => {
    expect(() => createPersonalData(payments, undefined)).toThrow(/PERSONAL_DATA_KEY_FILE: is required.*card_id/);
    const none = createPersonalData({ ...payments, personal: {} }, undefined);
    const record = { card_id: card };
    none.protect(record);
    expect([record.card_id, none.active]).toEqual([card, false]);
  });
});

describe("the transformer with personal fields", () => {
  const rawType = parseAvroSchema(readSchema(payments.schema) as object);
  const featuresType = parseAvroSchema(featuresSchema(payments));
  const types = new Map([
    [1, rawType],
    [2, featuresType],
  ]);
  const codec = createAvroCodec(async (id) => types.get(id) ?? rawType);
  const now = Date.parse("2026-11-27T10:00:00Z");
  const event = (id: string, amount: number) => ({
    event_id: id,
    card_id: card,
    merchant_id: "m-1",
    amount,
    currency: "EUR",
    merchant_category: "grocery",
    country: "GB",
    channel: "pos",
    card_present: true,
    event_time: now - 1000,
    device_id: "dev-42",
  });
  const message = (value: Buffer, offset: number): KafkaMessage =>
    ({
      key: Buffer.from(card),
      value,
      offset: String(offset),
      timestamp: String(now),
      attributes: 0,
      headers: {},
    }) as KafkaMessage;

  it("sends no card number to features, state or dead letters, only its pseudonym", async () => {
    const transformer = createPipelineTransformer({
      definition: payments,
      codec,
      featuresType,
      featuresSchemaId: 2,
      now: () => now,
      personalDataKey: key,
    });
    const pseudonym = createPersonalData(payments, key).pseudonym(card);
    const values = [
      codec.encode(1, rawType, event("e-1", 10)),
      codec.encode(1, rawType, event("e-2", -5)),
      Buffer.from(`{"card_id":"${card}"}`),
    ];
    await codec.prepare(values);
    const outputs = transformer.process(
      0,
      values.map((v, i) => message(v, i)),
    );
    const [features, dlq, changelog] = outputs.map((o) => o.messages);
    expect(features).toHaveLength(1);
    expect(dlq).toHaveLength(2);
    expect(changelog).toHaveLength(1);
    await codec.prepare([features?.[0]?.value as Buffer]);
    const decoded = codec.decode(features?.[0]?.value as Buffer).record as { entity: string };
    expect(decoded.entity).toBe(pseudonym);
    expect(changelog?.map((m) => String(m.key))).toEqual([changelogKey(pseudonym, "e-1")]);
    for (const out of [...(features ?? []), ...(dlq ?? []), ...(changelog ?? [])]) {
      expect(String(out.key)).not.toContain(card);
      expect(String(out.key)).toContain(pseudonym);
      expect(Buffer.from(out.value ?? "").includes(card)).toBe(false);
      expect(JSON.stringify(out.headers ?? {})).not.toContain(card);
    }
    expect(dlq?.map((m) => [m.value, String(m.headers?.["x-error-code"])])).toEqual([
      [null, "CLEANING_REJECTED"],
      [null, "WIRE_FORMAT_INVALID"],
    ]);
  });
});
