// A partition's new transactional producer must fence the previous owner before anything else is
// read: kafkajs's connect() alone takes a plain idempotent producer id, so the previous owner's
// open transaction could still commit after the new owner read state and committed offsets, and
// its records would be processed twice.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKafka, partitionProducers } from "../../services/shared/kafka/client.ts";
import { readTopicToEnd } from "../../services/shared/kafka/read-to-end.ts";
import { createLogger } from "../../services/shared/logger.ts";
import { createTestTopic, deleteTestTopic, testConnectionConfig, uniqueName } from "../helpers/integration.ts";

describe("partitionProducers", () => {
  const logger = createLogger({ name: "partition-producers-test", level: "error" });
  const kafka = createKafka(testConnectionConfig(), logger, "partition-producers");
  const topic = uniqueName("fence");
  const idPrefix = `${uniqueName("fence-txn")}-`;

  beforeAll(async () => {
    await createTestTopic(kafka, topic, 1);
  });

  afterAll(async () => {
    await deleteTestTopic(kafka, topic);
  });

  it("fences the previous owner's open transaction as soon as a new producer is handed out", async () => {
    const previous = partitionProducers(kafka, idPrefix);
    const next = partitionProducers(kafka, idPrefix);
    try {
      const open = await (await previous.get(0)).transaction();
      await open.send({ topic, acks: -1, messages: [{ partition: 0, value: "from the previous owner" }] });

      // The new owner takes the partition; only then does the previous owner try to commit.
      const producer = await next.get(0);
      await expect(open.commit()).rejects.toThrow();

      const committed = await producer.transaction();
      await committed.send({ topic, acks: -1, messages: [{ partition: 0, value: "from the new owner" }] });
      await committed.commit();

      const values: string[] = [];
      await readTopicToEnd(kafka, topic, (_partition, message) => {
        values.push(message.value?.toString("utf8") ?? "");
      });
      expect(values).toEqual(["from the new owner"]);
    } finally {
      await previous.discardAll();
      await next.discardAll();
    }
  });

  it("hands two callers at once the same producer", async () => {
    const producers = partitionProducers(kafka, `${uniqueName("same")}-`);
    try {
      const [a, b] = await Promise.all([producers.get(0), producers.get(0)]);
      expect(a).toBe(b);
    } finally {
      await producers.discardAll();
    }
  });
});
