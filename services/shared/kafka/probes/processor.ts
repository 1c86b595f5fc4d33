// The cost of one exactly-once transaction on the services' own path (the transactional processor,
// over kafkajs or librdkafka), measured by the bench beside @platformatic/kafka: per chunk of
// `records` consumed records, those records to an output topic and the chunk's offset, then the commit.
import { createLogger } from "../../logger.ts";
import type { Kafka } from "../client.ts";
import type { EosClient } from "../eos-client.ts";
import { createTransactionalProcessor, type TransactionalProcessorOptions } from "../transactional-processor.ts";

export async function processorTransactions(
  kafka: Kafka,
  client: EosClient,
  options: { inputTopic: string; outputTopic: string; groupId: string; transactions: number; records: number },
): Promise<number[]> {
  const durations: number[] = [];
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const processor = passThroughProcessor(kafka, client, {
    ...options,
    maxBatchRecords: options.records,
    partitionsConsumedConcurrently: 1,
    // A fetch's last chunk can be short: only full ones count.
    onCommitted: ({ records, seconds }) => {
      if (records === options.records && durations.length < options.transactions) durations.push(seconds * 1000);
      if (durations.length >= options.transactions) finish();
    },
  });
  await processor.start();
  try {
    await finished;
    return durations;
  } finally {
    await processor.stop();
  }
}

/** The services' transactional processor copying each input record (key, value, timestamp) to `outputTopic`. */
export function passThroughProcessor(
  kafka: Kafka,
  client: EosClient,
  options: Pick<TransactionalProcessorOptions, "groupId" | "inputTopic" | "maxBatchRecords" | "onCommitted"> & {
    outputTopic: string;
    partitionsConsumedConcurrently: number;
  },
) {
  return createTransactionalProcessor({
    kafka,
    logger: createLogger({ name: "probe", level: "error" }),
    service: "probe",
    groupId: options.groupId,
    inputTopic: options.inputTopic,
    maxBatchRecords: options.maxBatchRecords,
    partitionsConsumedConcurrently: options.partitionsConsumedConcurrently,
    client,
    onCommitted: options.onCommitted,
    process: async (_partition, messages) => [
      {
        topic: options.outputTopic,
        messages: messages.map((m) => ({ key: m.key, value: m.value, timestamp: m.timestamp })),
      },
    ],
  });
}
