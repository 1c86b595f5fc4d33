// Consumes a topic into a ClickHouse table: each fetched batch becomes one insert, and its offsets
// are committed only after the insert succeeded. While ClickHouse is down the batch is retried with
// backoff (heartbeating, so the group keeps the partition) and nothing is lost. Rows carry their
// source partition and offset; after a restart, offsets already stored are skipped, so a crash
// between insert and commit does not store a record twice.
import { setTimeout as sleep } from "node:timers/promises";
import { describeError, isStreamscoreError } from "../shared/errors.ts";
import type { Consumer, Kafka, KafkaMessage } from "../shared/kafka/client.ts";
import type { Logger } from "../shared/logger.ts";
import type { ClickHouse } from "./clickhouse.ts";

export interface SinkOptions {
  kafka: Kafka;
  clickhouse: ClickHouse;
  logger: Logger;
  groupId: string;
  topic: string;
  table: string;
  /** Highest stored offset per partition, from the table (for skipping replays). */
  storedOffsetsQuery: string;
  /** Rows for a batch; records that cannot become rows are reported through `onPoison` and skipped. */
  toRows(partition: number, messages: KafkaMessage[]): Promise<object[]>;
  onInserted?(partition: number, rows: number, seconds: number, lag: number): void;
  onRetry?(error: unknown): void;
  maxBackoffMs?: number;
}

export interface Sink {
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly healthy: boolean;
  readonly lastError: string | undefined;
}

export function createSink(options: SinkOptions): Sink {
  const log = options.logger.child({ module: "sink", topic: options.topic, table: options.table });
  const consumer: Consumer = options.kafka.consumer({
    groupId: options.groupId,
    readUncommitted: false,
    maxWaitTimeInMs: 200,
  });
  let storedOffsets = new Map<number, bigint>();
  let lastError: string | undefined;
  let joined = false;

  async function loadStoredOffsets(): Promise<void> {
    const rows = await options.clickhouse.query<{ partition: number; offset: string }>(options.storedOffsetsQuery);
    storedOffsets = new Map(rows.map((r) => [Number(r.partition), BigInt(r.offset)]));
  }

  consumer.on(consumer.events.GROUP_JOIN, () => {
    joined = true;
    // Reloaded before the next batch: another member may have stored rows meanwhile.
    storedOffsets = new Map();
    needsOffsets = true;
  });
  let needsOffsets = true;

  return {
    get healthy() {
      return joined && lastError === undefined;
    },
    get lastError() {
      return lastError;
    },
    async start() {
      await consumer.connect();
      await consumer.subscribe({ topic: options.topic, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        // Partitions insert side by side: an insert waits on ClickHouse, not on this process.
        partitionsConsumedConcurrently: 3,
        eachBatch: async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning }) => {
          let backoff = 200;
          for (;;) {
            try {
              if (needsOffsets) {
                await loadStoredOffsets();
                needsOffsets = false;
              }
              const stored = storedOffsets.get(batch.partition) ?? -1n;
              const fresh = batch.messages.filter((m) => BigInt(m.offset) > stored);
              const startedAt = performance.now();
              const rows = await options.toRows(batch.partition, fresh);
              if (rows.length > 0) await options.clickhouse.insertRows(options.table, rows);
              const last = batch.messages[batch.messages.length - 1];
              if (last) {
                resolveOffset(last.offset);
                await consumer.commitOffsets([
                  { topic: options.topic, partition: batch.partition, offset: (BigInt(last.offset) + 1n).toString() },
                ]);
                storedOffsets.set(batch.partition, BigInt(last.offset));
              }
              lastError = undefined;
              options.onInserted?.(
                batch.partition,
                rows.length,
                (performance.now() - startedAt) / 1000,
                Number(batch.offsetLag()),
              );
              await commitOffsetsIfNecessary();
              return;
            } catch (error) {
              if (!(isStreamscoreError(error) && error.retriable) || !isRunning()) throw error;
              lastError = describeError(error);
              options.onRetry?.(error);
              log.warn({ error: lastError, backoffMs: backoff }, "insert failed; retrying");
              await sleep(backoff);
              await heartbeat();
              backoff = Math.min(backoff * 2, options.maxBackoffMs ?? 10_000);
            }
          }
        },
      });
    },
    async stop() {
      await consumer.disconnect();
    },
  };
}
