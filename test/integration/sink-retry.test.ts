// An insert that ClickHouse stored but whose answer never reached the sink (the server died after
// writing, or the connection broke) is retried without storing its rows a second time: the retry
// reloads the stored offsets first. ClickHouse 18.16 does not de-duplicate such inserts itself.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labelRow, labelsTable } from "../../services/monitor/rows.ts";
import { createSink, type Sink } from "../../services/monitor/sink.ts";
import { type ClickHouse, createClickHouse } from "../../services/shared/clickhouse/client.ts";
import { migrate } from "../../services/shared/clickhouse/migrations.ts";
import { encodeRows } from "../../services/shared/clickhouse/row-binary.ts";
import { createIdempotentProducer, createKafka } from "../../services/shared/kafka/client.ts";
import { createLogger } from "../../services/shared/logger.ts";
import { testConnectionConfig, uniqueName, waitFor } from "../helpers/integration.ts";
import { type LostAnswerProxy, startLostAnswerProxy } from "../helpers/lost-answer-proxy.ts";

const partitions = 3;
const records = 300;

describe("monitor sink retrying an insert whose answer was lost", () => {
  const config = testConnectionConfig();
  const logger = createLogger({ name: "sink-retry-test", level: "warn" });
  const kafka = createKafka(config, logger, "sink-retry");
  const database = uniqueName("sink_retry");
  const topic = uniqueName("sink-retry-source");
  const groupId = uniqueName("sink-retry-group");
  let clickhouse: ClickHouse;
  let proxy: LostAnswerProxy | undefined;
  let proxied: ClickHouse | undefined;
  let sink: Sink | undefined;

  beforeAll(async () => {
    clickhouse = createClickHouse(config);
    await migrate(clickhouse, database);
    // A background merge of the ReplacingMergeTree would fold a duplicate before it is counted.
    await clickhouse.command(`SYSTEM STOP MERGES ${database}.labels`);
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
    await admin.disconnect();
    const producer = createIdempotentProducer(kafka);
    await producer.connect();
    await producer.send({
      topic,
      acks: -1,
      messages: Array.from({ length: records }, (_, i) => ({
        partition: i % partitions,
        value: JSON.stringify({ event_id: `e${i}`, label: "1", label_time: 1_700_000_000_000 + i }),
      })),
    });
    await producer.disconnect();
    proxy = await startLostAnswerProxy(config.CLICKHOUSE_URL);
    proxied = createClickHouse({ ...config, CLICKHOUSE_URL: proxy.url });
  });

  afterAll(async () => {
    await sink?.stop();
    await proxied?.close();
    await proxy?.close();
    await clickhouse?.command(`DROP DATABASE IF EXISTS ${database}`);
    await clickhouse?.close();
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  it("stores every record exactly once and commits its offsets", async () => {
    let retries = 0;
    sink = createSink({
      kafka,
      clickhouse: proxied as ClickHouse,
      logger,
      groupId,
      topic,
      table: `${database}.labels`,
      storedOffsetsQuery: `SELECT source_partition AS partition, toString(max(source_offset)) AS offset FROM ${database}.labels GROUP BY source_partition`,
      maxBackoffMs: 200,
      onRetry: () => {
        retries += 1;
      },
      toRows: async (partition, messages) => {
        const rows = messages.map((m) => labelRow("p", JSON.parse(String(m.value)), partition, m.offset));
        return { rows, encoded: encodeRows(labelsTable, rows) };
      },
    });
    await sink.start();

    const admin = kafka.admin();
    await admin.connect();
    try {
      await waitFor(
        "the committed offsets",
        async () => {
          const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
          const done = committed?.partitions.filter((p) => p.offset === String(records / partitions)).length;
          return done === partitions ? true : undefined;
        },
        60_000,
      );
    } finally {
      await admin.disconnect();
    }

    // The answer to the first insert was lost after ClickHouse had stored its rows.
    expect(proxy?.lostAnswer).toMatch(/^HTTP\/1\.1 200 /);
    expect(retries).toBeGreaterThan(0);
    // Without FINAL, as the fault checker reads it.
    const [stored] = await clickhouse.query<{ rows: string; records: string; events: string }>(
      `SELECT count() AS rows, uniqExact(source_partition, source_offset) AS records, uniqExact(event_id) AS events FROM ${database}.labels`,
    );
    expect(stored).toEqual({ rows: String(records), records: String(records), events: String(records) });
  });
});
