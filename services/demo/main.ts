// `npm run demo` (until the pipeline services land): the smoke flow on the running stack.
// Registers the payments schema, publishes seeded events to Kafka in the Confluent wire format,
// reads them back with a consumer group, stores them in ClickHouse and prints what happened.
import { createClickHouse } from "../monitor/clickhouse.ts";
import { paymentEvents } from "../producer/generator/payments.ts";
import { loadConnectionConfig } from "../shared/connection-settings.ts";
import { createAvroCodec, parseAvroSchema } from "../shared/kafka/avro-codec.ts";
import { createKafka } from "../shared/kafka/client.ts";
import { createSchemaRegistry } from "../shared/kafka/registry.ts";
import { ensureTopics } from "../shared/kafka/topics.ts";
import { createLogger } from "../shared/logger.ts";
import { readSchema } from "../shared/schemas.ts";

const eventCount = 20_000;
const topic = "demo.payments.raw";

async function main(): Promise<void> {
  const config = loadConnectionConfig();
  const logger = createLogger({ name: "demo", level: config.LOG_LEVEL });
  const registry = createSchemaRegistry(config);
  const kafka = createKafka(config, logger, "demo");
  const clickhouse = createClickHouse(config);
  const schema = readSchema("payments-event.avsc");
  const type = parseAvroSchema(schema);
  const codec = createAvroCodec(registry.resolve);
  const startedAt = Date.now();

  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, [{ topic, partitions: 3 }]);
  await admin.disconnect();
  const schemaId = await registry.register(`${topic}-value`, schema);

  const events = paymentEvents(eventCount, Date.now());
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    for (let i = 0; i < events.length; i += 2000) {
      const messages = events
        .slice(i, i + 2000)
        .map((e) => ({ key: e.card_id, value: codec.encode(schemaId, type, e) }));
      await producer.send({ topic, acks: -1, messages });
    }
  } finally {
    await producer.disconnect();
  }
  const producedAt = Date.now();

  const wanted = new Set(events.map((e) => e.event_id));
  const rows: Array<Record<string, unknown>> = [];
  const consumer = kafka.consumer({ groupId: `demo-${startedAt}` });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    const done = new Promise<void>((resolve) => {
      void consumer.run({
        eachBatch: async ({ batch }) => {
          await codec.prepare(batch.messages.map((m) => m.value));
          for (const message of batch.messages) {
            const event = codec.decode(message.value).record as (typeof events)[number];
            if (!wanted.delete(event.event_id)) continue;
            rows.push({ ...event, event_time: Math.floor(event.event_time / 1000), partition: batch.partition });
          }
          if (wanted.size === 0) resolve();
        },
      });
    });
    await done;
  } finally {
    await consumer.disconnect();
  }
  const consumedAt = Date.now();

  await clickhouse.command(`CREATE DATABASE IF NOT EXISTS ${config.CLICKHOUSE_DATABASE}`);
  const table = `${config.CLICKHOUSE_DATABASE}.demo_payments`;
  await clickhouse.command(
    `CREATE TABLE IF NOT EXISTS ${table} (event_id String, card_id String, merchant_id String, amount Float64,
     currency String, merchant_category String, country String, channel String, card_present UInt8,
     event_time DateTime('UTC'), device_id Nullable(String), partition UInt16) ENGINE = MergeTree() ORDER BY (card_id, event_time)`,
  );
  await clickhouse.insertRows(
    table,
    rows.map((r) => ({ ...r, card_present: r.card_present ? 1 : 0 })),
  );
  const [stored] = await clickhouse.query<{ rows: string }>(`SELECT count() AS rows FROM ${table}`);
  await clickhouse.close();

  console.log(`
streamscore demo (smoke flow)
  events published to ${topic}:   ${eventCount} in ${producedAt - startedAt} ms
  events consumed back (decoded):   ${rows.length} in ${consumedAt - producedAt} ms
  rows in ${table}: ${stored?.rows ?? "?"} (this run added ${rows.length})

Try next:
  curl -s '${config.CLICKHOUSE_URL}/?query=SELECT+channel,count(),round(avg(amount),2)+FROM+${table}+GROUP+BY+channel+FORMAT+PrettyCompact'
  npm run stack:status
  npm run stack:down
`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
