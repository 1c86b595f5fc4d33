// Consumes a topic into a ClickHouse table: each fetched batch becomes one insert, and its offsets
// are committed only after the insert succeeded. While ClickHouse is down the batch is retried with
// backoff (heartbeating, so the group keeps the partition) and nothing is lost. Rows carry their
// source partition and offset; after a restart, offsets already stored are skipped, so a crash
// between insert and commit does not store a record twice. A failed insert may have landed anyway
// (its answer lost, or run late by a paused server) and 18.16 does not de-duplicate, so each retry
// reloads the stored offsets and reuses its batch's query id, which ClickHouse never runs twice at
// once; heartbeats go on while an insert waits, so a hung server does not cost the partition. Rows go
// as RowBinary, one insert per fetched batch (up to `maxBytesPerPartition` of records), partitions
// side by side. A batch with dead letters commits its offsets in a Kafka transaction together with
// them: a crash before that commit aborts the dead letters, and the replay writes them again in a
// new transaction, so each lands in the DLQ exactly once.
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { ClickHouse } from "../shared/clickhouse/client.ts";
import type { EncodedRows } from "../shared/clickhouse/row-binary.ts";
import { describeError, isStreamscoreError } from "../shared/errors.ts";
import { transactionalIdPrefix } from "../shared/kafka/acls.ts";
import {
  type Consumer,
  type Kafka,
  type KafkaMessage,
  type Message,
  partitionProducers,
} from "../shared/kafka/client.ts";
import { keepHeartbeating } from "../shared/kafka/heartbeat.ts";
import type { Logger } from "../shared/logger.ts";

/** A batch's rows, as objects (for `onStored`) and encoded for the insert. */
export interface SinkRows<Row> {
  rows: Row[];
  encoded: EncodedRows;
  /** Records that could not become rows, for `deadLetterTopic`, committed with the batch's offsets. */
  deadLetters?: Message[];
}

export interface SinkOptions<Row> {
  kafka: Kafka;
  clickhouse: ClickHouse;
  logger: Logger;
  groupId: string;
  topic: string;
  table: string;
  /** Where `SinkRows.deadLetters` go. */
  deadLetterTopic?: string;
  /** Highest stored offset per partition, from the table (for skipping replays). */
  storedOffsetsQuery: string;
  /** Rows for a batch; records that cannot become rows are dead-lettered by the caller and left out. */
  toRows(partition: number, messages: KafkaMessage[]): Promise<SinkRows<Row>>;
  /**
   * Runs after the insert and before the commit (e.g. hands the rows to drift monitoring), for every
   * batch, even one with no new rows; `caughtUp`: the partition is read to its end (lag 0).
   */
  onStored?(partition: number, rows: Row[], caughtUp: boolean): Promise<void>;
  /**
   * After every rebalance, before any `onStored` of the new assignment: the partitions this member
   * now reads, each with whether it has nothing left to read.
   */
  onAssigned?(partitions: Array<{ partition: number; caughtUp: boolean }>): void;
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

/**
 * Bytes of records fetched per partition and request: bigger batches, bigger (cheaper) inserts, but
 * each one is held three times while it is stored (fetched, decoded, encoded), for three partitions
 * of three sinks at once. 2 MiB (thousands of predictions an insert) keeps the monitor in its memory
 * budget while it catches up after ClickHouse was away; 4 MiB took it past.
 */
const maxBytesPerPartition = 2 * 1024 * 1024;

export function createSink<Row>(options: SinkOptions<Row>): Sink {
  const log = options.logger.child({ module: "sink", topic: options.topic, table: options.table });
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
  // Query ids of this instance's inserts: a retry reuses its batch's id, nothing else does.
  const instance = randomBytes(6).toString("hex");

  async function loadStoredOffsets(): Promise<Map<number, bigint>> {
    const rows = await options.clickhouse.query<{ partition: number; offset: string }>(options.storedOffsetsQuery);
    storedOffsets = new Map(rows.map((r) => [Number(r.partition), BigInt(r.offset)]));
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
    try {
      backlog = await partitionsWithBacklog(partitions);
    } catch (error) {
      // Unknown: each counts as read to its end, which holds the drift windows back for a while only.
      log.warn({ error: describeError(error) }, "could not read the partitions' lag");
      backlog = new Map();
    }
    options.onAssigned(partitions.map((partition) => ({ partition, caughtUp: !backlog.get(partition) })));
  }

  /** Per partition, whether records remain past the group's committed offset. */
  async function partitionsWithBacklog(partitions: number[]): Promise<Map<number, boolean>> {
    const admin = options.kafka.admin();
    await admin.connect();
    try {
      const [committed] = await admin.fetchOffsets({ groupId: options.groupId, topics: [options.topic] });
      const ends = await admin.fetchTopicOffsets(options.topic);
      const committedOf = new Map((committed?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
      return new Map(
        ends
          .filter((end) => partitions.includes(end.partition))
          .map((end) => {
            const next = committedOf.get(end.partition) ?? -1n;
            const start = next > BigInt(end.low) ? next : BigInt(end.low);
            return [end.partition, start < BigInt(end.high)];
          }),
      );
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
    if (!options.deadLetterTopic) throw new Error(`sink ${options.table}: dead letters without a deadLetterTopic`);
    const producer = await producers.get(partition);
    const transaction = await producer.transaction();
    try {
      await transaction.send({ topic: options.deadLetterTopic, messages: deadLetters, acks: -1 });
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
      return joined && lastError === undefined;
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
          const queryId = `sink-${instance}-${options.table}-${batch.partition}-${first?.offset ?? batch.firstOffset()}`;
          let backoff = 200;
          let retry = false;
          for (;;) {
            // An insert may wait 60 s for its answer, twice the session timeout. A failed heartbeat
            // (a rebalance under way) makes the commit after the insert fail as well.
            const heartbeats = keepHeartbeating(heartbeat);
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
              const { rows, encoded, deadLetters } = await options.toRows(batch.partition, fresh);
              await options.clickhouse.insertRowBinary(options.table, encoded, { queryId });
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
                encoded.rows,
                (performance.now() - startedAt) / 1000,
                Number(batch.offsetLag()),
              );
              await commitOffsetsIfNecessary();
              return;
            } catch (error) {
              // The failed attempt may have stored its rows all the same.
              needsOffsets = true;
              retry = true;
              if (!(isStreamscoreError(error) && error.retriable) || !isRunning()) throw error;
              lastError = describeError(error);
              options.onRetry?.(error);
              log.warn({ error: lastError, backoffMs: backoff }, "insert failed; retrying");
              await sleep(backoff);
              await heartbeat();
              backoff = Math.min(backoff * 2, options.maxBackoffMs ?? 10_000);
            } finally {
              clearInterval(heartbeats);
            }
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
