// A sink that fails after it has decided which records are dead letters, and is then run again,
// still puts each dead letter in the DLQ exactly once: the dead letters are written in the
// transaction that commits the batch's offsets, after the insert, so a failed attempt leaves none
// visible to read-committed consumers.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { labelRow, labelsTable } from "../../services/monitor/rows.ts";
import { createSink, type Sink } from "../../services/monitor/sink.ts";
import { type ClickHouse, createClickHouse } from "../../services/shared/clickhouse/client.ts";
import { migrate } from "../../services/shared/clickhouse/migrations.ts";
import { encodeRows } from "../../services/shared/clickhouse/row-binary.ts";
import { createIdempotentProducer, createKafka, type KafkaMessage } from "../../services/shared/kafka/client.ts";
import { deadLetter, headerText } from "../../services/shared/kafka/dead-letter.ts";
import { readTopicToEnd } from "../../services/shared/kafka/read-to-end.ts";
import { createLogger } from "../../services/shared/logger.ts";
import { testConnectionConfig, uniqueName, waitFor } from "../helpers/integration.ts";

const records = 300;
const isPoison = (index: number) => index % 10 === 3;

describe("monitor sink dead letters across a failed attempt", () => {
  const config = testConnectionConfig();
  const logger = createLogger({ name: "sink-dead-letters-test", level: "warn" });
  const kafka = createKafka(config, logger, "sink-dead-letters");
  const database = uniqueName("sink_dlq");
  const source = uniqueName("sink-dlq-source");
  const dlq = uniqueName("sink-dlq-dead");
  const groupId = uniqueName("sink-dlq-group");
  let clickhouse: ClickHouse;
  const sinks: Sink[] = [];

  beforeAll(async () => {
    clickhouse = createClickHouse(config);
    await migrate(clickhouse, database);
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: source }, { topic: dlq }], waitForLeaders: true });
    await admin.disconnect();
    const producer = createIdempotentProducer(kafka);
    await producer.connect();
    await producer.send({
      topic: source,
      acks: -1,
      messages: Array.from({ length: records }, (_, i) => ({
        key: `k${i % 7}`,
        value: JSON.stringify({ event_id: `e${i}`, label: isPoison(i) ? "" : "1", label_time: 1_700_000_000_000 + i }),
      })),
    });
    await producer.disconnect();
  });

  afterAll(async () => {
    await Promise.all(sinks.map((sink) => sink.stop()));
    await clickhouse?.command(`DROP DATABASE IF EXISTS ${database}`);
    await clickhouse?.close();
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [source, dlq] }).catch(() => undefined);
    await admin.disconnect();
  });

  function startSink(table: string, inserts: { attempted: number }): Promise<Sink> {
    const sink = createSink({
      kafka,
      clickhouse: {
        ...clickhouse,
        insertRowBinary: (target, encoded, insert) => {
          inserts.attempted += 1;
          return clickhouse.insertRowBinary(target, encoded, insert);
        },
      },
      logger,
      groupId,
      topic: source,
      deadLetterTopic: dlq,
      table,
      storedOffsetsQuery: `SELECT source_partition AS partition, toString(max(source_offset)) AS offset FROM ${database}.labels GROUP BY source_partition`,
      maxBackoffMs: 200,
      toRows: async (partition, messages: KafkaMessage[]) => {
        const rows = [];
        const deadLetters = [];
        for (const message of messages) {
          const label = JSON.parse(String(message.value));
          if (label.label === "") {
            const reason = new Error("empty label");
            deadLetters.push(deadLetter(message, { topic: source, partition, offset: message.offset }, "test", reason));
          } else rows.push(labelRow("p", label, partition, message.offset));
        }
        return { rows, encoded: encodeRows(labelsTable, rows), deadLetters };
      },
    });
    sinks.push(sink);
    return sink.start().then(() => sink);
  }

  it("writes each dead letter once although the first attempt failed after choosing them", async () => {
    // The first sink inserts into a table that does not exist: a failure that is not retried.
    const failing = { attempted: 0 };
    const first = await startSink(`${database}.no_such_table`, failing);
    await waitFor("the failing insert", () => (failing.attempted > 0 ? true : undefined), 60_000);
    await first.stop();

    const good = Array.from({ length: records }, (_, i) => i).filter((i) => !isPoison(i)).length;
    await startSink(`${database}.labels`, { attempted: 0 });
    await waitFor(
      "the good records in ClickHouse",
      async () => {
        const [row] = await clickhouse.query<{ n: string }>(`SELECT count() AS n FROM ${database}.labels`);
        return Number(row?.n) === good ? true : undefined;
      },
      60_000,
    );
    const admin = kafka.admin();
    await admin.connect();
    try {
      await waitFor(
        "the committed offsets",
        async () => {
          const [committed] = await admin.fetchOffsets({ groupId, topics: [source] });
          return committed?.partitions[0]?.offset === String(records) ? true : undefined;
        },
        60_000,
      );
    } finally {
      await admin.disconnect();
    }

    const offsets: number[] = [];
    await readTopicToEnd(kafka, dlq, (_partition, message) => {
      offsets.push(Number(headerText(message.headers, "x-original-offset")));
    });
    const expected = Array.from({ length: records }, (_, i) => i).filter(isPoison);
    expect(offsets.sort((a, b) => a - b)).toEqual(expected);
  });
});
