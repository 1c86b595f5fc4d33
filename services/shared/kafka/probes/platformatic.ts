// A candidate Kafka client, @platformatic/kafka (pure JS), measured beside kafkajs on the same
// broker and records by the bench: produce, consume, and the cost of one exactly-once transaction
// (records to an output topic plus the consumed offset, committed with the consumer's group
// metadata). Bench only: no service uses it until the numbers say so.
import { Consumer, MessagesStreamModes, type Message as PlatformaticMessage, Producer } from "@platformatic/kafka";
import type { Message } from "../client.ts";

/** READ_COMMITTED in the Fetch request. */
const readCommitted = 1;

export interface ProbeTarget {
  brokers: string[];
  clientId: string;
}

/** Sends the chunks one request each (idempotent, acks from all replicas); returns the seconds taken. */
export async function platformaticProduce(target: ProbeTarget, topic: string, chunks: Iterable<Message[]>) {
  const producer = new Producer({
    clientId: target.clientId,
    bootstrapBrokers: target.brokers,
    idempotent: true,
    acks: -1,
  });
  try {
    const startedAt = performance.now();
    for (const chunk of chunks) {
      await producer.send({
        messages: chunk.map((m) => ({ topic, key: toBuffer(m.key), value: toBuffer(m.value) as Buffer })),
      });
    }
    return (performance.now() - startedAt) / 1000;
  } finally {
    await producer.close();
  }
}

function toBuffer(value: Message["key"]): Buffer | undefined {
  if (value === null || value === undefined) return undefined;
  return typeof value === "string" ? Buffer.from(value) : value;
}

/** A new group's read-committed stream of the topic from its start, committing nothing by itself. */
async function readFromStart(target: ProbeTarget, groupId: string, topic: string) {
  const consumer = new Consumer({ clientId: target.clientId, bootstrapBrokers: target.brokers, groupId });
  const stream = await consumer.consume({
    topics: [topic],
    mode: MessagesStreamModes.EARLIEST,
    autocommit: false,
    isolationLevel: readCommitted,
    maxWaitTime: 50,
  });
  return { consumer, stream };
}

/** Reads the topic from its start as a new group until `count` records arrived; seconds from the first record to the last. */
export async function platformaticConsume(
  target: ProbeTarget,
  options: { topic: string; groupId: string; count: number; timeoutMs: number },
): Promise<number> {
  const { consumer, stream } = await readFromStart(target, options.groupId, options.topic);
  let received = 0;
  let firstAt = 0;
  const timer = setTimeout(
    () => stream.destroy(new Error(`${received} of ${options.count} records in ${options.timeoutMs} ms`)),
    options.timeoutMs,
  );
  try {
    for await (const _message of stream) {
      if (received === 0) firstAt = performance.now();
      received += 1;
      if (received >= options.count) break;
    }
    return (performance.now() - firstAt) / 1000;
  } finally {
    clearTimeout(timer);
    await stream.close().catch(() => undefined);
    await consumer.close(true);
  }
}

/**
 * Consumes `transactions × records` records of a one-partition input topic as a group and, per
 * `records` of them, runs one transaction: the records (their values) to `outputTopic`, then the
 * offset of the chunk's last record with the group's metadata, then the commit. Returns the wall ms
 * of each transaction, from its start to its commit.
 */
export async function platformaticTransactions(
  target: ProbeTarget,
  options: { inputTopic: string; outputTopic: string; groupId: string; transactions: number; records: number },
): Promise<number[]> {
  const { consumer, stream } = await readFromStart(target, options.groupId, options.inputTopic);
  const producer = new Producer({
    clientId: target.clientId,
    bootstrapBrokers: target.brokers,
    idempotent: true,
    acks: -1,
    transactionalId: `${options.groupId}-txn`,
    // As the services' kafkajs producers (transactionalRetry): the next transaction's first request
    // often meets CONCURRENT_TRANSACTIONS while the last commit's markers are written, and the
    // client's default 1 s retry delay would then be added to nearly every transaction.
    retries: 20,
    retryDelay: (_client, _operation, attempt) => Math.min(5000, 5 * 2 ** attempt),
  });
  const durations: number[] = [];
  let chunk: PlatformaticMessage[] = [];
  try {
    for await (const message of stream) {
      chunk.push(message);
      if (chunk.length < options.records) continue;
      const startedAt = performance.now();
      const transaction = await producer.beginTransaction();
      await transaction.addConsumer(consumer);
      await transaction.send({
        messages: chunk.map((m) => ({ topic: options.outputTopic, key: m.key, value: m.value })),
      });
      // One offset per partition, the chunk's last (concurrent addOffset calls can drop one).
      await transaction.addOffset(chunk[chunk.length - 1] as PlatformaticMessage);
      await transaction.commit();
      durations.push(performance.now() - startedAt);
      chunk = [];
      if (durations.length >= options.transactions) break;
    }
    return durations;
  } finally {
    await stream.close().catch(() => undefined);
    await consumer.close(true);
    await producer.close();
  }
}
