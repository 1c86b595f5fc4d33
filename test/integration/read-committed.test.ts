// A read-committed consumer must not see the records of aborted transactions, also when its fetch
// starts inside two aborted transactions of different producers at once. kafkajs's own filter let
// the second producer's records through; after a crash the fencing aborts several producers'
// transactions on the same partitions together, and the leaked records were processed twice.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKafka, type Producer } from "../../services/shared/kafka/client.ts";
import { createLogger } from "../../services/shared/logger.ts";
import { createTestTopic, deleteTestTopic, testConnectionConfig, uniqueName, waitFor } from "../helpers/integration.ts";

describe("read-committed consumption", () => {
  const logger = createLogger({ name: "read-committed-test", level: "error" });
  const kafka = createKafka(testConnectionConfig(), logger, "read-committed");
  const topic = uniqueName("read-committed");
  const producers: Producer[] = [];

  const transactional = async (name: string) => {
    const producer = kafka.producer({ transactionalId: uniqueName(name), idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    producers.push(producer);
    return producer;
  };

  beforeAll(async () => {
    await createTestTopic(kafka, topic, 1);
  });

  afterAll(async () => {
    await Promise.all(producers.map((p) => p.disconnect().catch(() => undefined)));
    await deleteTestTopic(kafka, topic);
  });

  it("skips the records of every aborted transaction a fetch starts inside", async () => {
    const [first, second, third] = [await transactional("t1"), await transactional("t2"), await transactional("t3")];
    const a = await first.transaction();
    const b = await second.transaction();
    const send = (t: typeof a, value: string) => t.send({ topic, acks: -1, messages: [{ partition: 0, value }] });
    await send(a, "aborted a1"); // offset 0
    await send(b, "aborted b1"); // 1
    await send(a, "aborted a2"); // 2
    await send(b, "aborted b2"); // 3
    await a.abort();
    await b.abort();
    const c = await third.transaction();
    await send(c, "committed");
    await c.commit();

    // A group whose position is offset 3: its first fetch starts inside both aborted transactions.
    const groupId = uniqueName("read-committed-group");
    const admin = kafka.admin();
    await admin.connect();
    await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: "3" }] });
    await admin.disconnect();

    const seen: string[] = [];
    const consumer = kafka.consumer({ groupId, readUncommitted: false, maxWaitTimeInMs: 100 });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic });
      await consumer.run({
        eachMessage: async ({ message }) => {
          seen.push(message.value?.toString("utf8") ?? "");
        },
      });
      await waitFor("the committed record", () => (seen.includes("committed") ? true : undefined), 30_000);
    } finally {
      await consumer.disconnect();
    }
    expect(seen).toEqual(["committed"]);
  });
});
