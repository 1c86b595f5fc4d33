// Kafka clients side by side on the same broker and records, to choose the services' client by
// measurement: librdkafka's and @platformatic/kafka's produce and consume beside kafkajs's
// (raw-kafka.ts), and the cost of one exactly-once transaction of the inference stage's size in
// each (records out, the consumed offset, commit), kafkajs and librdkafka through the services'
// own processor.
import { chunksOf, sendChunks } from "../../services/shared/kafka/bulk.ts";
import type { Message } from "../../services/shared/kafka/client.ts";
import { hopLatencies } from "../../services/shared/kafka/probes/hop-latency.ts";
import { librdkafkaConsume, librdkafkaProduce } from "../../services/shared/kafka/probes/librdkafka.ts";
import {
  platformaticConsume,
  platformaticProduce,
  platformaticTransactions,
} from "../../services/shared/kafka/probes/platformatic.ts";
import { processorTransactions } from "../../services/shared/kafka/probes/processor.ts";
import { createTopic } from "../../services/shared/kafka/topics.ts";
import { type BenchEnvironment, deleteTopics, uniqueName } from "./environment.ts";
import { percentile, type Summary, summarize } from "./stats.ts";

type Client = "kafkajs" | "librdkafka" | "platformatic";
type ProcessorClient = Exclude<Client, "platformatic">;
type Throughput = { produce: Summary; consume: Summary };

export interface KafkaClientFigures {
  platformatic: Throughput;
  librdkafka: Throughput;
  /** ms per transaction: the median transaction of each run. */
  transactionMs: Record<Client, Summary>;
  transactionRecords: number;
  /** One exactly-once hop at a fixed rate through the services' processor: ms per record. */
  hop: Record<ProcessorClient, { p50: Summary; p99: Summary }>;
  hopRate: number;
}

export interface KafkaClientOptions {
  records: number;
  batch: number;
  runs: number;
  transactions: number;
  transactionRecords: number;
  /** Records/s and seconds of each one-hop latency run. */
  hopRate: number;
  hopSeconds: number;
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

  const throughput = (client: "librdkafka" | "platformatic") =>
    withTopics(env, 3, async ([topic]) => {
      const chunks = chunksOf(records, options.batch);
      const read = {
        topic: topic as string,
        groupId: uniqueName("bench-client"),
        count: records.length,
        timeoutMs: 120_000,
      };
      const produceSeconds =
        client === "platformatic"
          ? await platformaticProduce(target, topic as string, chunks)
          : await librdkafkaProduce(env.config, topic as string, chunks);
      const consumeSeconds =
        client === "platformatic" ? await platformaticConsume(target, read) : await librdkafkaConsume(env.config, read);
      return { produce: records.length / produceSeconds, consume: records.length / consumeSeconds };
    });

  const transactionRecords = options.transactionRecords;
  const input = records.slice(0, Math.min(records.length, (options.transactions + 1) * transactionRecords));
  const transactions = (client: Client) =>
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
        client === "platformatic"
          ? await platformaticTransactions(target, shape)
          : await processorTransactions(env.kafka, client, shape);
      // The first transaction pays for the producer id and the coordinator look-ups.
      return percentile(durations.slice(1), 0.5);
    });

  const hop = (client: ProcessorClient) =>
    withTopics(env, 3, async ([inputTopic, outputTopic]) => {
      const latencies = await hopLatencies(env.kafka, client, {
        inputTopic: inputTopic as string,
        outputTopic: outputTopic as string,
        groupId: uniqueName(`bench-hop-${client}`),
        rate: options.hopRate,
        seconds: options.hopSeconds,
        maxBatchRecords: transactionRecords,
      });
      return { p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99) };
    });

  await throughput("librdkafka");
  await throughput("platformatic");
  const rates = {
    librdkafka: { produce: [] as number[], consume: [] as number[] },
    platformatic: { produce: [] as number[], consume: [] as number[] },
  };
  const transactionMs: Record<Client, number[]> = { kafkajs: [], librdkafka: [], platformatic: [] };
  const hopMs: Record<ProcessorClient, { p50: number[]; p99: number[] }> = {
    kafkajs: { p50: [], p99: [] },
    librdkafka: { p50: [], p99: [] },
  };
  for (let run = 1; run <= options.runs; run += 1) {
    const line: string[] = [];
    for (const client of ["librdkafka", "platformatic"] as const) {
      const r = await throughput(client);
      rates[client].produce.push(r.produce);
      rates[client].consume.push(r.consume);
      line.push(`${client} produce ${Math.round(r.produce)}/s, consume ${Math.round(r.consume)}/s`);
    }
    for (const client of ["kafkajs", "librdkafka", "platformatic"] as const) {
      transactionMs[client].push(await transactions(client));
    }
    for (const client of ["kafkajs", "librdkafka"] as const) {
      const r = await hop(client);
      hopMs[client].p50.push(r.p50);
      hopMs[client].p99.push(r.p99);
    }
    const ms = (client: Client) => `${client} ${transactionMs[client].at(-1)?.toFixed(1)} ms`;
    const hopOf = (client: ProcessorClient) => `${client} ${hopMs[client].p50.at(-1)} / ${hopMs[client].p99.at(-1)} ms`;
    options.log(
      `  clients run ${run}: ${line.join("; ")}; transaction of ${transactionRecords}: ${ms("kafkajs")}, ${ms("librdkafka")}, ${ms("platformatic")}; one hop at ${options.hopRate}/s p50 / p99: ${hopOf("kafkajs")}, ${hopOf("librdkafka")}`,
    );
  }
  const throughputOf = (client: "librdkafka" | "platformatic") => ({
    produce: summarize(rates[client].produce),
    consume: summarize(rates[client].consume),
  });
  return {
    platformatic: throughputOf("platformatic"),
    librdkafka: throughputOf("librdkafka"),
    transactionMs: {
      kafkajs: summarize(transactionMs.kafkajs),
      librdkafka: summarize(transactionMs.librdkafka),
      platformatic: summarize(transactionMs.platformatic),
    },
    transactionRecords,
    hop: {
      kafkajs: { p50: summarize(hopMs.kafkajs.p50), p99: summarize(hopMs.kafkajs.p99) },
      librdkafka: { p50: summarize(hopMs.librdkafka.p50), p99: summarize(hopMs.librdkafka.p99) },
    },
    hopRate: options.hopRate,
  };
}
