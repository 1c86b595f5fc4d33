// Kafka clients side by side on the same broker and records, to choose the services' client by
// measurement: @platformatic/kafka's produce and consume beside kafkajs's (raw-kafka.ts), and the
// cost of one exactly-once transaction of the inference stage's size in each (records out, the
// consumed offset with group metadata, commit), kafkajs through the services' own processor.
import { chunksOf, sendChunks } from "../../services/shared/kafka/bulk.ts";
import type { Message } from "../../services/shared/kafka/client.ts";
import { kafkajsTransactions } from "../../services/shared/kafka/probes/kafkajs.ts";
import {
  platformaticConsume,
  platformaticProduce,
  platformaticTransactions,
} from "../../services/shared/kafka/probes/platformatic.ts";
import { createTopic } from "../../services/shared/kafka/topics.ts";
import { type BenchEnvironment, deleteTopics, uniqueName } from "./environment.ts";
import { percentile, type Summary, summarize } from "./stats.ts";

export interface KafkaClientFigures {
  platformatic: { produce: Summary; consume: Summary };
  /** ms per transaction: the median transaction of each run. */
  transactionMs: { kafkajs: Summary; platformatic: Summary };
  transactionRecords: number;
}

export interface KafkaClientOptions {
  records: number;
  batch: number;
  runs: number;
  transactions: number;
  transactionRecords: number;
  log: (line: string) => void;
}

async function withTopics<T>(env: BenchEnvironment, partitions: number, run: (topics: string[]) => Promise<T>) {
  const topics = [uniqueName("bench-client"), uniqueName("bench-client")].map((t) => t.replace(/_/g, "-"));
  for (const topic of topics) await createTopic(env.kafka, topic, partitions);
  try {
    return await run(topics);
  } finally {
    await deleteTopics(env, topics);
  }
}

export async function measureKafkaClients(
  env: BenchEnvironment,
  messages: readonly Message[],
  options: KafkaClientOptions,
): Promise<KafkaClientFigures> {
  const target = { brokers: env.config.KAFKA_BROKERS, clientId: "bench-platformatic" };
  const records = Array.from({ length: options.records }, (_, i) => messages[i % messages.length] as Message);

  const throughput = () =>
    withTopics(env, 3, async ([topic]) => {
      const produceSeconds = await platformaticProduce(target, topic as string, chunksOf(records, options.batch));
      const consumeSeconds = await platformaticConsume(target, {
        topic: topic as string,
        groupId: uniqueName("bench-client"),
        count: records.length,
        timeoutMs: 120_000,
      });
      return { produce: records.length / produceSeconds, consume: records.length / consumeSeconds };
    });

  const transactionRecords = options.transactionRecords;
  const input = records.slice(0, Math.min(records.length, (options.transactions + 1) * transactionRecords));
  const transactions = (client: "kafkajs" | "platformatic") =>
    withTopics(env, 1, async ([inputTopic, outputTopic]) => {
      await sendChunks(env.kafka, inputTopic as string, chunksOf(input, options.batch));
      const shape = {
        inputTopic: inputTopic as string,
        outputTopic: outputTopic as string,
        groupId: uniqueName(`bench-${client}`),
        transactions: Math.floor(input.length / transactionRecords) - 1,
        records: transactionRecords,
      };
      const durations =
        client === "kafkajs"
          ? await kafkajsTransactions(env.kafka, shape)
          : await platformaticTransactions(target, shape);
      // The first transaction pays for the producer id and the coordinator look-ups.
      return percentile(durations.slice(1), 0.5);
    });

  await throughput();
  const produce: number[] = [];
  const consume: number[] = [];
  const kafkajsMs: number[] = [];
  const platformaticMs: number[] = [];
  for (let run = 1; run <= options.runs; run += 1) {
    const r = await throughput();
    produce.push(r.produce);
    consume.push(r.consume);
    kafkajsMs.push(await transactions("kafkajs"));
    platformaticMs.push(await transactions("platformatic"));
    options.log(
      `  clients run ${run}: @platformatic/kafka produce ${Math.round(r.produce)}/s, consume ${Math.round(r.consume)}/s; transaction of ${transactionRecords}: kafkajs ${kafkajsMs.at(-1)?.toFixed(1)} ms, @platformatic/kafka ${platformaticMs.at(-1)?.toFixed(1)} ms`,
    );
  }
  return {
    platformatic: { produce: summarize(produce), consume: summarize(consume) },
    transactionMs: { kafkajs: summarize(kafkajsMs), platformatic: summarize(platformaticMs) },
    transactionRecords,
  };
}
