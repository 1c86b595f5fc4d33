// Kafka alone: pre-encoded payment records produced with the project's idempotent producer in
// large batches, then consumed back by a consumer group (eachBatch, no processing). A fresh
// three-partition topic per run, deleted afterwards.
import { consumeCount, sendChunks } from "../../services/shared/kafka/bulk.ts";
import type { Message } from "../../services/shared/kafka/client.ts";
import { createTopic } from "../../services/shared/kafka/topics.ts";
import { type BenchEnvironment, deleteTopics, uniqueName } from "./environment.ts";
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
  await createTopic(env.kafka, topic, 3);
  try {
    const chunks = function* () {
      for (let sent = 0; sent < count; sent += batch) {
        const chunk: Message[] = [];
        for (let i = sent; i < Math.min(count, sent + batch); i += 1)
          chunk.push(messages[i % messages.length] as Message);
        yield chunk;
      }
    };
    const produceSeconds = await sendChunks(env.kafka, topic, chunks());
    const consumeSeconds = await consumeCount(env.kafka, {
      topic,
      groupId: uniqueName("bench-kafka"),
      count,
      partitions: 3,
      timeoutMs: 120_000,
    });
    return { produce: count / produceSeconds, consume: count / consumeSeconds };
  } finally {
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
