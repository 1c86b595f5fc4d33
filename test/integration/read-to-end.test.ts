// Reading a changelog to its end for some partitions only: the other partitions are paused before
// their first fetch, so none of their records is fetched, let alone passed on.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createIdempotentProducer, createKafka, type Kafka } from "../../services/shared/kafka/client.ts";
import { readTopicToEnd } from "../../services/shared/kafka/read-to-end.ts";
import { createLogger } from "../../services/shared/logger.ts";
import { createTestTopic, deleteTestTopic, testConnectionConfig, uniqueName } from "../helpers/integration.ts";

const perPartition = [120, 300, 80];

describe("readTopicToEnd with partitions", () => {
  const logger = createLogger({ name: "read-to-end-test", level: "warn" });
  const kafka = createKafka(testConnectionConfig(), logger, "read-to-end");
  const topic = uniqueName("read-to-end");
  /** Partitions of which a consumer processed a batch, per read. */
  const processed: Set<number>[] = [];

  /** The same client, but every consumer it makes records which partitions reach batch processing. */
  const observed = new Proxy(kafka, {
    get(target, property) {
      if (property === "consumer") {
        return (config: Parameters<Kafka["consumer"]>[0]) => {
          const consumer = target.consumer(config);
          const partitions = new Set<number>();
          processed.push(partitions);
          consumer.on(consumer.events.START_BATCH_PROCESS, ({ payload }) => partitions.add(payload.partition));
          return consumer;
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });

  beforeAll(async () => {
    await createTestTopic(kafka, topic, 3);
    const producer = createIdempotentProducer(kafka);
    await producer.connect();
    try {
      await producer.send({
        topic,
        acks: -1,
        messages: perPartition.flatMap((count, partition) =>
          Array.from({ length: count }, (_, i) => ({ partition, key: `p${partition}`, value: `${partition}:${i}` })),
        ),
      });
    } finally {
      await producer.disconnect();
    }
  });

  afterAll(async () => {
    await deleteTestTopic(kafka, topic);
  });

  it("reads only partition 1 when asked for [1], and finishes", async () => {
    const seen: Array<{ partition: number; value: string }> = [];
    const count = await readTopicToEnd(
      observed,
      topic,
      (partition, message) => {
        seen.push({ partition, value: message.value?.toString("utf8") ?? "" });
      },
      { partitions: [1] },
    );
    expect(count).toBe(perPartition[1]);
    expect(new Set(seen.map((s) => s.partition))).toEqual(new Set([1]));
    expect(seen.map((s) => s.value)).toEqual(Array.from({ length: perPartition[1] ?? 0 }, (_, i) => `1:${i}`));
    // Not just filtered: partitions 0 and 2 were never fetched into a batch.
    expect(processed.at(-1)).toEqual(new Set([1]));
  });

  it("reads two of three partitions", async () => {
    const seen = new Map<number, number>();
    const count = await readTopicToEnd(
      observed,
      topic,
      (partition) => {
        seen.set(partition, (seen.get(partition) ?? 0) + 1);
      },
      { partitions: [0, 2] },
    );
    expect(count).toBe((perPartition[0] ?? 0) + (perPartition[2] ?? 0));
    expect(seen).toEqual(
      new Map([
        [0, perPartition[0]],
        [2, perPartition[2]],
      ]),
    );
    expect(processed.at(-1)).toEqual(new Set([0, 2]));
  });

  it("reads every partition without options, and with the positional timeout", async () => {
    const all = await readTopicToEnd(kafka, topic, () => undefined);
    const positional = await readTopicToEnd(kafka, topic, () => undefined, 120_000, false);
    const total = perPartition.reduce((a, b) => a + b, 0);
    expect([all, positional]).toEqual([total, total]);
  });

  it("returns 0 at once for a wanted partition that is empty or absent", async () => {
    const empty = uniqueName("read-to-end-empty");
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic: empty, numPartitions: 2 }], waitForLeaders: true });
      const producer = createIdempotentProducer(kafka);
      await producer.connect();
      await producer.send({ topic: empty, acks: -1, messages: [{ partition: 0, value: "x" }] });
      await producer.disconnect();
      expect(await readTopicToEnd(kafka, empty, () => undefined, { partitions: [1, 7] })).toBe(0);
    } finally {
      await admin.deleteTopics({ topics: [empty] }).catch(() => undefined);
      await admin.disconnect();
    }
  });
});
