// The services' exactly-once client, librdkafka, measured by the bench beside kafkajs and
// @platformatic/kafka on the same broker and records: produce and consume through the adapter.
// (Its transaction cost is measured through the services' own processor, in probes/processor.ts.)
import type { KafkaConnectionConfig, Message } from "../client.ts";
import { createGroupConsumer, createPlainProducer, librdkafkaSettings } from "../librdkafka.ts";

/** Sends the chunks one flush each (idempotent, acks from all replicas); returns the seconds taken. */
export async function librdkafkaProduce(connection: KafkaConnectionConfig, topic: string, chunks: Iterable<Message[]>) {
  const producer = await createPlainProducer(librdkafkaSettings(connection, "probe"));
  try {
    const startedAt = performance.now();
    for (const chunk of chunks) await producer.send(topic, chunk);
    return (performance.now() - startedAt) / 1000;
  } finally {
    await producer.close();
  }
}

/** Reads the topic from its start as a new group until `count` records arrived; seconds from the first record to the last. */
export async function librdkafkaConsume(
  connection: KafkaConnectionConfig,
  options: { topic: string; groupId: string; count: number; timeoutMs: number },
): Promise<number> {
  const consumer = await createGroupConsumer(librdkafkaSettings(connection, "probe"), {
    groupId: options.groupId,
    topic: options.topic,
    sessionTimeoutMs: 30_000,
    maxWaitMs: 50,
    onAssigned: () => undefined,
    onRevoked: (release) => release(),
    onError: () => undefined,
  });
  try {
    const deadline = Date.now() + options.timeoutMs;
    let received = 0;
    let firstAt = 0;
    while (received < options.count) {
      if (Date.now() > deadline) throw new Error(`${received} of ${options.count} records in ${options.timeoutMs} ms`);
      const records = await consumer.consume(10_000);
      if (records.length > 0 && received === 0) firstAt = performance.now();
      received += records.length;
    }
    return (performance.now() - firstAt) / 1000;
  } finally {
    await consumer.close();
  }
}
