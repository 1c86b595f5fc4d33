// Reads a topic from the beginning up to the end offsets it had when the read started, with
// read-committed isolation (read-uncommitted on request, for the chaos checker). Used to restore
// state from a changelog before processing.
import { randomBytes } from "node:crypto";
import type { Kafka, KafkaMessage } from "./client.ts";

export async function readTopicToEnd(
  kafka: Kafka,
  topic: string,
  onMessage: (partition: number, message: KafkaMessage) => void,
  timeoutMs = 60_000,
  readUncommitted = false,
): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  let ends: Map<number, bigint>;
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    ends = new Map(offsets.filter((o) => BigInt(o.high) > BigInt(o.low)).map((o) => [o.partition, BigInt(o.high)]));
  } finally {
    await admin.disconnect();
  }
  if (ends.size === 0) return 0;

  const groupId = `restore-${topic}-${randomBytes(6).toString("hex")}`;
  const consumer = kafka.consumer({ groupId, readUncommitted, maxWaitTimeInMs: 100 });
  const reached = new Set<number>();
  let count = 0;
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const progress = (partition: number, nextOffset: bigint) => {
    const end = ends.get(partition);
    if (end !== undefined && nextOffset >= end) reached.add(partition);
    if (reached.size === ends.size) finish();
  };
  // Batches of only transaction markers never reach eachBatch, but they do end a batch.
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    progress(payload.partition, BigInt(payload.lastOffset) + 1n);
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        for (const message of batch.messages) {
          onMessage(batch.partition, message);
          count += 1;
        }
      },
    });
    const timer = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`restoring ${topic} took longer than ${timeoutMs} ms`)), timeoutMs).unref(),
    );
    await Promise.race([done, timer]);
  } finally {
    await consumer.disconnect();
    const cleanup = kafka.admin();
    await cleanup.connect();
    await cleanup.deleteGroups([groupId]).catch(() => undefined);
    await cleanup.disconnect();
  }
  return count;
}
