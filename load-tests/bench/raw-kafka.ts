// Kafka alone: pre-encoded payment records produced with the project's idempotent producer in
// large batches, then consumed back by a consumer group (eachBatch, no processing). A fresh
// three-partition topic per run, deleted afterwards.
import { createIdempotentProducer, type Message } from "../../services/shared/kafka/client.ts";
import { type BenchEnvironment, deleteTopics, uniqueName, waitUntil } from "./environment.ts";
import { type Summary, summarize } from "./stats.ts";

export interface KafkaLimits {
  produce: Summary;
  consume: Summary;
  /** One produce → consume hop for the same records: 1 / (1/produce + 1/consume) per run. */
  hop: Summary;
}

async function oneRun(
  env: BenchEnvironment,
  messages: readonly Message[],
  count: number,
  batch: number,
): Promise<{ produce: number; consume: number }> {
  const topic = uniqueName("bench-kafka").replace(/_/g, "-");
  const admin = env.kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: [{ topic, numPartitions: 3, replicationFactor: -1 }],
      waitForLeaders: true,
    });
  } finally {
    await admin.disconnect();
  }
  const producer = createIdempotentProducer(env.kafka);
  const consumer = env.kafka.consumer({
    groupId: uniqueName("bench-kafka"),
    readUncommitted: false,
    maxWaitTimeInMs: 50,
  });
  try {
    await producer.connect();
    const producedAt = performance.now();
    for (let sent = 0; sent < count; sent += batch) {
      const chunk: Message[] = [];
      for (let i = sent; i < Math.min(count, sent + batch); i += 1)
        chunk.push(messages[i % messages.length] as Message);
      await producer.sendBatch({ topicMessages: [{ topic, messages: chunk }], acks: -1 });
    }
    const produceSeconds = (performance.now() - producedAt) / 1000;

    let received = 0;
    let joinedAt = 0;
    let lastAt = 0;
    // From the group join (fetching starts right after it) to the last record, so the time the
    // group coordinator takes to form the group is left out.
    consumer.on(consumer.events.GROUP_JOIN, () => {
      joinedAt = performance.now();
    });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      partitionsConsumedConcurrently: 3,
      eachBatch: async ({ batch: fetched }) => {
        received += fetched.messages.length;
        lastAt = performance.now();
      },
    });
    await waitUntil("every record consumed", () => (received >= count ? true : undefined), 120_000, 5);
    return { produce: count / produceSeconds, consume: count / ((lastAt - joinedAt) / 1000) };
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    await deleteTopics(env, [topic]);
  }
}

export async function measureKafka(
  env: BenchEnvironment,
  messages: readonly Message[],
  options: { records: number; batch: number; runs: number; log: (line: string) => void },
): Promise<KafkaLimits> {
  await oneRun(env, messages, Math.min(options.records, 10_000), options.batch);
  const produce: number[] = [];
  const consume: number[] = [];
  for (let i = 0; i < options.runs; i += 1) {
    const run = await oneRun(env, messages, options.records, options.batch);
    produce.push(run.produce);
    consume.push(run.consume);
    options.log(`  kafka run ${i + 1}: produce ${Math.round(run.produce)}/s, consume ${Math.round(run.consume)}/s`);
  }
  return {
    produce: summarize(produce),
    consume: summarize(consume),
    hop: summarize(produce.map((p, i) => 1 / (1 / p + 1 / (consume[i] as number)))),
  };
}
