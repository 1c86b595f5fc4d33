// The latency of one exactly-once hop on the services' own path, for the bench: records produced at
// a fixed rate go through the transactional processor (pass-through, over kafkajs or librdkafka)
// and are read back read-committed; each record's latency is from its input timestamp (set when
// produced) to its arrival at the reader, so it holds the produce, the hop and its commit.
import { setTimeout as sleep } from "node:timers/promises";
import { type Kafka, kafkaConnection } from "../client.ts";
import type { EosClient } from "../eos-client.ts";
import { createGroupConsumer, createPlainProducer, librdkafkaSettings } from "../librdkafka.ts";
import { passThroughProcessor } from "./processor.ts";

export interface HopLatencyOptions {
  inputTopic: string;
  outputTopic: string;
  groupId: string;
  /** Records per second, sent every `tickMs` in the share that is due (open loop). */
  rate: number;
  seconds: number;
  maxBatchRecords: number;
}

const tickMs = 5;
const settleMs = 3000;
const drainMs = 30_000;

/** Milliseconds per record, in arrival order; throws when records are missing after the drain. */
export async function hopLatencies(kafka: Kafka, client: EosClient, options: HopLatencyOptions): Promise<number[]> {
  const settings = librdkafkaSettings(kafkaConnection(kafka), "probe");
  const processor = passThroughProcessor(kafka, client, {
    groupId: options.groupId,
    inputTopic: options.inputTopic,
    outputTopic: options.outputTopic,
    maxBatchRecords: options.maxBatchRecords,
    partitionsConsumedConcurrently: 3,
  });
  const reader = await createGroupConsumer(settings, {
    groupId: `${options.groupId}-reader`,
    topic: options.outputTopic,
    sessionTimeoutMs: 30_000,
    maxWaitMs: 20,
    onAssigned: () => undefined,
    onRevoked: (release) => release(),
    onError: () => undefined,
  });
  const producer = await createPlainProducer(settings);
  const expected = Math.round(options.rate * options.seconds);
  const latencies: number[] = [];
  let reading = true;
  let readLoop: Promise<void> | undefined;
  try {
    await processor.start();
    readLoop = (async () => {
      while (reading && latencies.length < expected) {
        for (const record of await reader.consume(1000)) latencies.push(Date.now() - Number(record.message.timestamp));
      }
    })();
    // Both sides join their groups before the clock starts.
    await sleep(settleMs);
    const startedAt = Date.now();
    const sends: Promise<void>[] = [];
    let sendFailure: unknown;
    for (let sent = 0; sent < expected && sendFailure === undefined; ) {
      const due = Math.min(expected, Math.floor(((Date.now() - startedAt) / 1000) * options.rate));
      const batch = [];
      for (; sent < due; sent += 1) batch.push({ key: Buffer.from(String(sent)), value: Buffer.alloc(100, 120) });
      // Handled at once: a failed send ends the run with its error, never as an unhandled rejection.
      if (batch.length > 0) {
        sends.push(
          producer.send(options.inputTopic, batch).catch((error: unknown) => {
            sendFailure ??= error;
          }),
        );
      }
      await sleep(tickMs);
    }
    await Promise.all(sends);
    if (sendFailure !== undefined) throw sendFailure;
    const deadline = Date.now() + drainMs;
    while (latencies.length < expected && Date.now() < deadline) await sleep(50);
    reading = false;
    await readLoop;
    if (latencies.length < expected) throw new Error(`${latencies.length} of ${expected} records came through`);
    return latencies;
  } finally {
    reading = false;
    await readLoop?.catch(() => undefined);
    await processor.stop();
    await producer.close();
    await reader.close();
  }
}
