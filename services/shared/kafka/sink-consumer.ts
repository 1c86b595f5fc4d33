// Consumes a topic into an outside store (a ClickHouse table, for the monitor): each fetched batch
// becomes one write, and its offsets are committed only after the write succeeded. While the store
// is down the batch is retried with backoff (heartbeating, so the group keeps the partition) and
// nothing is lost. Stored rows carry their source partition and offset; after a restart, offsets
// already stored are skipped, so a crash between write and commit does not store a record twice. A
// failed write may have landed anyway (its answer lost, or run late by a paused server), so each
// retry reloads the stored offsets and reuses its batch's id, which the store must never run twice
// at once (ClickHouse's query id); heartbeats go on while a write waits, so a hung store does not
// cost the partition. One write per fetched batch (up to `maxBytesPerPartition` of records),
// partitions side by side. A batch with dead letters commits its offsets in a Kafka transaction
// together with them: a crash before that commit aborts the dead letters, and the replay writes them
// again in a new transaction, so each lands in the DLQ exactly once.
import { randomBytes } from "node:crypto";
import { describeError } from "../errors.ts";
import type { Logger } from "../logger.ts";
import { isRetriable, withBackoff } from "../retry.ts";
import { transactionalIdPrefix } from "./acls.ts";
import { type Consumer, type Kafka, type KafkaMessage, type Message, partitionProducers } from "./client.ts";
import { consumerTrouble } from "./consumer-supervisor.ts";
import { keepHeartbeating } from "./heartbeat.ts";
import { splitBySize } from "./split-by-size.ts";

/** Bytes of dead letters per produce request: well under the broker's 1 MiB message.max.bytes. */
const maxDeadLetterRequestBytes = 512 * 1024;

/** A batch made ready for the store. */
export interface SinkBatch<Row> {
  /** The rows, as objects, for `onStored`. */
  rows: Row[];
  /** Records that could not become rows, for `deadLetterTopic`, committed with the batch's offsets. */
  deadLetters?: Message[];
  /** Writes the rows; `batchId` is the same on every retry of the batch. Returns the rows written. */
  write(batchId: string): Promise<number>;
}

export interface SinkConsumerOptions<Row> {
  kafka: Kafka;
  logger: Logger;
  groupId: string;
  topic: string;
  /** Names the store in logs and batch ids (e.g. the table). */
  storeName: string;
  /** Where `SinkBatch.deadLetters` go. */
  deadLetterTopic?: string;
  /** Highest stored offset per partition, read from the store (for skipping replays). */
  storedOffsets(): Promise<Map<number, bigint>>;
  /** A batch for the store; records that cannot become rows are dead-lettered by the caller and left out. */
  prepare(partition: number, messages: KafkaMessage[]): Promise<SinkBatch<Row>>;
  /**
   * Runs after the write and before the commit (e.g. hands the rows to drift monitoring), for every
   * batch, even one with no new rows; `caughtUp`: the partition is read to its end (lag 0).
   */
  onStored?(partition: number, rows: Row[], caughtUp: boolean): Promise<void>;
  /**
   * After every rebalance, before any `onStored` of the new assignment: the partitions this member
   * now reads, each with whether it has nothing left to read.
   */
  onAssigned?(partitions: Array<{ partition: number; caughtUp: boolean }>, topicPartitions?: number[]): void;
  onInserted?(partition: number, rows: number, seconds: number, lag: number): void;
  onRetry?(error: unknown): void;
  maxBackoffMs?: number;
}

export interface Sink {
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly healthy: boolean;
  readonly lastError: string | undefined;
  /** Why the consumer cannot work right now (down, or the broker silent), if so. */
  readonly trouble: string | undefined;
}

/**
 * Bytes of records fetched per partition and request: bigger batches, bigger (cheaper) inserts, but
 * each one is held three times while it is stored (fetched, decoded, encoded), for three partitions
 * of three sinks at once. 2 MiB (thousands of predictions an insert) keeps the monitor in its memory
 * budget while it catches up after ClickHouse was away; 4 MiB took it past.
 */
const maxBytesPerPartition = 2 * 1024 * 1024;

export function createSinkConsumer<Row>(options: SinkConsumerOptions<Row>): Sink {
  const log = options.logger.child({ module: "sink", topic: options.topic, store: options.storeName });
  const consumer: Consumer = options.kafka.consumer({
    groupId: options.groupId,
    readUncommitted: false,
    maxWaitTimeInMs: 200,
    maxBytesPerPartition,
    maxBytes: 4 * maxBytesPerPartition,
  });
  let storedOffsets = new Map<number, bigint>();
  let lastError: string | undefined;
  let joined = false;
  // Ids of this instance's writes: a retry reuses its batch's id, nothing else does.
  const instance = randomBytes(6).toString("hex");

  async function loadStoredOffsets(): Promise<Map<number, bigint>> {
    storedOffsets = await options.storedOffsets();
    return storedOffsets;
  }

  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    joined = true;
    // Reloaded before the next batch: another member may have stored rows meanwhile.
    storedOffsets = new Map();
    needsOffsets = true;
    // In join order: a slow report of an older assignment must not land after a newer one.
    const partitions = payload.memberAssignment[options.topic] ?? [];
    assignment = assignment.then(() => reportAssignment(partitions)).catch(() => undefined);
  });
  let needsOffsets = true;
  /** Settles once `onAssigned` has heard of the current assignment; batches wait for it. */
  let assignment: Promise<void> = Promise.resolve();

  async function reportAssignment(partitions: number[]): Promise<void> {
    if (!options.onAssigned) return;
    let backlog: Map<number, boolean>;
    let all: number[] | undefined;
    try {
      ({ backlog, all } = await partitionsWithBacklog(partitions));
    } catch (error) {
      // Unknown: each counts as read to its end, which holds the drift windows back for a while only.
      log.warn({ error: describeError(error) }, "could not read the partitions' lag");
      backlog = new Map();
    }
    options.onAssigned(
      partitions.map((partition) => ({ partition, caughtUp: !backlog.get(partition) })),
      all,
    );
  }

  /** Per partition, whether records remain past the group's committed offset; and every partition of the topic. */
  async function partitionsWithBacklog(
    partitions: number[],
  ): Promise<{ backlog: Map<number, boolean>; all: number[] }> {
    const admin = options.kafka.admin();
    await admin.connect();
    try {
      const [committed] = await admin.fetchOffsets({ groupId: options.groupId, topics: [options.topic] });
      const ends = await admin.fetchTopicOffsets(options.topic);
      const committedOf = new Map((committed?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
      const backlog = new Map(
        ends
          .filter((end) => partitions.includes(end.partition))
          .map((end) => {
            const next = committedOf.get(end.partition) ?? -1n;
            const start = next > BigInt(end.low) ? next : BigInt(end.low);
            return [end.partition, start < BigInt(end.high)] as const;
          }),
      );
      return { backlog, all: ends.map((end) => end.partition) };
    } finally {
      await admin.disconnect();
    }
  }

  const producers = partitionProducers(options.kafka, transactionalIdPrefix(options.groupId, options.topic));

  async function commit(partition: number, nextOffset: string, deadLetters: Message[] | undefined): Promise<void> {
    const offsets = [{ topic: options.topic, partition, offset: nextOffset }];
    if (!deadLetters?.length) {
      await consumer.commitOffsets(offsets);
      return;
    }
    if (!options.deadLetterTopic) throw new Error(`sink ${options.storeName}: dead letters without a deadLetterTopic`);
    const producer = await producers.get(partition);
    const transaction = await producer.transaction();
    try {
      // kafkajs sends one call's messages for a partition as one record batch: two large dead
      // letters together (say two 900 kB poison records) would pass the broker's message.max.bytes.
      for (const messages of splitBySize(deadLetters, maxDeadLetterRequestBytes)) {
        await transaction.send({ topic: options.deadLetterTopic, messages, acks: -1 });
      }
      await transaction.sendOffsets({
        consumerGroupId: options.groupId,
        topics: [{ topic: options.topic, partitions: [{ partition, offset: nextOffset }] }],
      });
      await transaction.commit();
    } catch (error) {
      await transaction.abort().catch(() => undefined);
      // A fenced or broken producer is not reused; the retry makes a fresh one.
      await producers.discard(partition);
      throw error;
    }
  }

  return {
    get healthy() {
      return joined && lastError === undefined && consumerTrouble(consumer) === undefined;
    },
    get trouble() {
      return consumerTrouble(consumer);
    },
    get lastError() {
      return lastError;
    },
    async start() {
      // A fetch of only a transaction marker or aborted records never reaches eachBatch, and may be
      // what reads a partition to its end.
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
        if (payload.batchSize === 0 && payload.offsetLag === "0") {
          assignment.then(() => options.onStored?.(payload.partition, [], true)).catch(() => undefined);
        }
      });
      await consumer.connect();
      await consumer.subscribe({ topic: options.topic, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        // Partitions insert side by side: an insert waits on ClickHouse, not on this process.
        partitionsConsumedConcurrently: 3,
        eachBatch: async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning }) => {
          const first = batch.messages[0];
          const batchId = `sink-${instance}-${options.storeName}-${batch.partition}-${first?.offset ?? batch.firstOffset()}`;
          // Heartbeats go on through every attempt and every wait between them: an insert may wait
          // 60 s for its answer, twice the session timeout, and a wait can be as long as the backoff
          // cap. A failed heartbeat (a rebalance under way) makes the commit after the insert fail.
          const heartbeats = keepHeartbeating(heartbeat);
          try {
            await withBackoff(
              async (retry) => {
                // After a wait: the group must still be ours before the batch is tried again.
                if (retry) await heartbeat();
                try {
                  let offsets = storedOffsets;
                  if (needsOffsets || retry) {
                    // A retry reads them itself: a reload another partition started before this batch's
                    // failure may predate the rows the failed attempt stored.
                    offsets = await loadStoredOffsets();
                    needsOffsets = false;
                  }
                  const stored = offsets.get(batch.partition) ?? -1n;
                  // Replays only: a batch that starts past what is stored needs no per-record check.
                  const fresh =
                    first && BigInt(first.offset) > stored
                      ? batch.messages
                      : batch.messages.filter((m) => BigInt(m.offset) > stored);
                  const startedAt = performance.now();
                  const { rows, deadLetters, write } = await options.prepare(batch.partition, fresh);
                  const written = await write(batchId);
                  await assignment;
                  await options.onStored?.(batch.partition, rows, batch.offsetLag() === "0");
                  const last = batch.messages[batch.messages.length - 1];
                  if (last) {
                    resolveOffset(last.offset);
                    await commit(batch.partition, (BigInt(last.offset) + 1n).toString(), deadLetters);
                    storedOffsets.set(batch.partition, BigInt(last.offset));
                  }
                  lastError = undefined;
                  options.onInserted?.(
                    batch.partition,
                    written,
                    (performance.now() - startedAt) / 1000,
                    Number(batch.offsetLag()),
                  );
                  await commitOffsetsIfNecessary();
                } catch (error) {
                  // The failed attempt may have stored its rows all the same.
                  needsOffsets = true;
                  throw error;
                }
              },
              {
                maxBackoffMs: options.maxBackoffMs ?? 10_000,
                shouldRetry: (error) => isRetriable(error) && isRunning(),
                onRetry: (error, backoffMs) => {
                  lastError = describeError(error);
                  options.onRetry?.(error);
                  log.warn({ error: lastError, backoffMs }, "write failed; retrying");
                },
              },
            );
          } finally {
            clearInterval(heartbeats);
          }
        },
      });
    },
    async stop() {
      await consumer.disconnect();
      await producers.discardAll();
    },
  };
}
