// The foundation's smoke flow on the real servers: registry, Kafka in the Confluent wire format, ClickHouse.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { paymentEvents } from "../../services/producer/generator/payments.ts";
import { type ClickHouse, createClickHouse } from "../../services/shared/clickhouse/client.ts";
import { createAvroCodec, parseAvroSchema } from "../../services/shared/kafka/avro-codec.ts";
import { type Admin, createIdempotentProducer, createKafka } from "../../services/shared/kafka/client.ts";
import { createSchemaRegistry } from "../../services/shared/kafka/registry.ts";
import { ensureTopics } from "../../services/shared/kafka/topics.ts";
import { createLogger } from "../../services/shared/logger.ts";
import { readSchema } from "../../services/shared/schemas.ts";
import { testConnectionConfig, uniqueName, waitFor } from "../helpers/integration.ts";

const recordCount = 10_000;

describe("schema registry", () => {
  it("registers a schema from schemas/, finds it again by subject and resolves it by id", async () => {
    const registry = createSchemaRegistry(testConnectionConfig());
    const subject = `${uniqueName("smoke")}-value`;
    const schema = readSchema("payments-event.avsc");

    const id = await registry.register(subject, schema);
    expect(id).toBeGreaterThan(0);
    expect(await registry.register(subject, schema)).toBe(id);
    expect(await registry.latestId(subject)).toBe(id);

    const resolved = await registry.resolve(id);
    expect(resolved.name).toBe("streamscore.payments.PaymentEvent");
    expect(resolved.equals(parseAvroSchema(schema))).toBe(true);
  });

  it("refuses an incompatible change to a BACKWARD subject", async () => {
    const registry = createSchemaRegistry(testConnectionConfig());
    const subject = `${uniqueName("smoke")}-value`;
    await registry.register(subject, readSchema("payments-event.avsc"));
    const incompatible = {
      type: "record",
      name: "PaymentEvent",
      namespace: "streamscore.payments",
      fields: [{ name: "amount", type: "string" }],
    };
    await expect(registry.register(subject, incompatible)).rejects.toMatchObject({
      code: "SCHEMA_INCOMPATIBLE",
      message: expect.stringContaining("incompatible"),
    });
  });
});

describe("Kafka", () => {
  const config = testConnectionConfig();
  const logger = createLogger({ name: "smoke-test", level: "warn" });
  const kafka = createKafka(config, logger, "smoke");
  let admin: Admin;

  beforeAll(async () => {
    admin = kafka.admin();
    await admin.connect();
  });
  afterAll(async () => {
    await admin.disconnect();
  });

  it(`produces ${recordCount} Avro records in the Confluent wire format and consumes every field back with a consumer group`, async () => {
    const registry = createSchemaRegistry(config);
    const topic = uniqueName("smoke.raw");
    await ensureTopics(admin, [{ topic, partitions: 3 }]);
    const schema = readSchema("payments-event.avsc");
    const schemaId = await registry.register(`${topic}-value`, schema);
    const type = parseAvroSchema(schema);
    const codec = createAvroCodec(registry.resolve);
    const sent = paymentEvents(recordCount, 42);

    const producer = createIdempotentProducer(kafka);
    await producer.connect();
    try {
      for (let start = 0; start < sent.length; start += 1000) {
        const messages = sent.slice(start, start + 1000).map((event) => ({
          key: event.card_id,
          value: codec.encode(schemaId, type, event),
        }));
        await producer.send({ topic, acks: -1, messages });
      }
    } finally {
      await producer.disconnect();
    }

    const received = new Map<string, unknown>();
    let duplicates = 0;
    const consumer = kafka.consumer({ groupId: uniqueName("smoke-group") });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        eachBatch: async ({ batch }) => {
          await codec.prepare(batch.messages.map((m) => m.value));
          for (const message of batch.messages) {
            const { schemaId: id, record } = codec.decode(message.value);
            expect(id).toBe(schemaId);
            const eventId = (record as { event_id: string }).event_id;
            expect(message.key?.toString()).toBe((record as { card_id: string }).card_id);
            if (received.has(eventId)) duplicates += 1;
            received.set(eventId, record);
          }
        },
      });
      await waitFor("all records consumed", () => (received.size >= recordCount ? true : undefined), 120_000);
    } finally {
      await consumer.disconnect();
    }

    expect(duplicates).toBe(0);
    expect(received.size).toBe(recordCount);
    for (const event of sent) {
      expect(received.get(event.event_id)).toEqual(event);
    }
    await admin.deleteTopics({ topics: [topic] });
  });
});

describe("ClickHouse", () => {
  let clickhouse: ClickHouse;
  const database = uniqueName("smoke");

  beforeAll(async () => {
    clickhouse = createClickHouse(testConnectionConfig());
    await clickhouse.command(`CREATE DATABASE IF NOT EXISTS ${database}`);
  });
  afterAll(async () => {
    await clickhouse.command(`DROP DATABASE IF EXISTS ${database}`);
    await clickhouse.close();
  });

  it(`inserts ${recordCount} rows and reads back their count and checksums`, async () => {
    const table = `${database}.payments`;
    await clickhouse.command(
      `CREATE TABLE ${table} (seq UInt64, event_id String, card_id String, amount_cents Int64, event_time DateTime('UTC'))
       ENGINE = MergeTree() ORDER BY seq`,
    );
    const rows = paymentEvents(recordCount, 7).map((event, seq) => ({
      seq,
      event_id: event.event_id,
      card_id: event.card_id,
      amount_cents: Math.round(event.amount * 100),
      event_time: Math.floor(event.event_time / 1000),
    }));
    await clickhouse.insertRows(table, rows);

    const [summary] = await clickhouse.query<{
      rows: string;
      seq_xor: string;
      cents: string;
      id_chars: string;
      times: string;
    }>(
      `SELECT count() AS rows, groupBitXor(seq) AS seq_xor, sum(amount_cents) AS cents,
              sum(length(event_id)) AS id_chars, sum(toUInt32(event_time)) AS times FROM ${table}`,
    );
    expect(summary).toEqual({
      rows: String(recordCount),
      seq_xor: String(rows.reduce((acc, row) => acc ^ row.seq, 0)),
      cents: String(rows.reduce((acc, row) => acc + BigInt(row.amount_cents), 0n)),
      id_chars: String(rows.reduce((acc, row) => acc + row.event_id.length, 0)),
      times: String(rows.reduce((acc, row) => acc + BigInt(row.event_time), 0n)),
    });

    const back = await clickhouse.query<{ event_id: string; card_id: string }>(
      `SELECT event_id, card_id FROM ${table} ORDER BY seq`,
    );
    expect(back).toEqual(rows.map(({ event_id, card_id }) => ({ event_id, card_id })));
  });
});
