// Whole-topic reads and writes at full speed, through the same client and settings the services
// use: for loading a topic before a measurement, and for measuring the client's own limits (the
// benchmark's raw Kafka figures), so a change of Kafka client is measured here too.
import { createIdempotentProducer, type Kafka, type Message } from "./client.ts";

/** Sends `chunks` one request each (acks from all replicas); returns the seconds the sends took. */
export async function sendChunks(kafka: Kafka, topic: string, chunks: Iterable<Message[]>): Promise<number> {
  const producer = createIdempotentProducer(kafka);
  await producer.connect();
  try {
    const startedAt = performance.now();
    for (const messages of chunks) await producer.sendBatch({ topicMessages: [{ topic, messages }], acks: -1 });
    return (performance.now() - startedAt) / 1000;
  } finally {
    await producer.disconnect();
  }
}

/** `messages` in chunks of `batch`. */
export function* chunksOf(messages: readonly Message[], batch: number): Generator<Message[]> {
  for (let i = 0; i < messages.length; i += batch) yield messages.slice(i, i + batch);
}

/**
 * Reads a topic from its start as a new consumer group (read-committed, no processing) until
 * `count` records arrived; returns the seconds from the group join to the last record, so the time
 * the coordinator takes to form the group is left out.
 */
export async function consumeCount(
  kafka: Kafka,
  options: { topic: string; groupId: string; count: number; partitions: number; timeoutMs: number },
): Promise<number> {
  const consumer = kafka.consumer({ groupId: options.groupId, readUncommitted: false, maxWaitTimeInMs: 50 });
  let received = 0;
  let joinedAt = 0;
  let lastAt = 0;
  let done: () => void = () => {};
  const all = new Promise<void>((resolve) => {
    done = resolve;
  });
  consumer.on(consumer.events.GROUP_JOIN, () => {
    joinedAt = performance.now();
  });
  try {
    await consumer.connect();
    await consumer.subscribe({ topic: options.topic, fromBeginning: true });
    await consumer.run({
      partitionsConsumedConcurrently: options.partitions,
      eachBatch: async ({ batch }) => {
        received += batch.messages.length;
        lastAt = performance.now();
        if (received >= options.count) done();
      },
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${received} of ${options.count} records consumed in ${options.timeoutMs} ms`)),
        options.timeoutMs,
      );
    });
    await Promise.race([all, timeout]).finally(() => clearTimeout(timer));
    return (lastAt - joinedAt) / 1000;
  } finally {
    await consumer.disconnect().catch(() => undefined);
  }
}

/** Reads consumer groups' committed offsets; `close` when done. */
export async function openOffsetReader(kafka: Kafka) {
  const admin = kafka.admin();
  await admin.connect();
  return {
    /** Records the group has committed on the topic, summed over partitions (-1 counts as 0). */
    async committedRecords(groupId: string, topic: string): Promise<number> {
      const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
      return (entry?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
    },
    close: () => admin.disconnect(),
  };
}
