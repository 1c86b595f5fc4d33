// Consume → process → produce with exactly-once semantics between Kafka topics. Each input
// partition has its own transactional producer (id from service + topic + partition), because
// kafkajs speaks only the old transaction protocol: a new owner of the partition fences the old
// one through that id. Outputs and the consumed offsets commit in one transaction; on any failure
// the transaction aborts, the partition's in-memory state is dropped (to be restored), and the
// batch is retried from the last committed offset.
import { describeError, isStreamscoreError, StreamscoreError } from "../errors.ts";
import type { Logger } from "../logger.ts";
import { transactionalIdPrefix } from "./acls.ts";
import { type Consumer, type Kafka, type KafkaMessage, type Message, partitionProducers } from "./client.ts";
import { consumerTrouble } from "./consumer-supervisor.ts";
import type { EosClient } from "./eos-client.ts";
import { createEosProcessor } from "./eos-processor.ts";
import { isRebalanceError, keepHeartbeating } from "./heartbeat.ts";
import { splitTopicsBySize } from "./split-by-size.ts";

/** Half the broker's default message.max.bytes: room for record overhead. */
const maxRequestBytes = 512 * 1024;

export interface OutputBatch {
  topic: string;
  messages: Message[];
}

export interface TransactionalProcessorOptions {
  kafka: Kafka;
  logger: Logger;
  /** Names the transactional ids; unique per service and pipeline. */
  service: string;
  groupId: string;
  inputTopic: string;
  /** Records per transaction; larger fetches are split. */
  maxBatchRecords: number;
  partitionsConsumedConcurrently: number;
  /** Processes a chunk of one partition's records; may keep state, which `dropState` discards. */
  process(partition: number, messages: KafkaMessage[]): Promise<OutputBatch[]>;
  /**
   * Called while no transaction is being built: before the records of each transaction are
   * processed (and, on librdkafka, after a fetch that brought nothing). What a service swaps in here
   * (a new model deployment) applies to whole transactions only.
   */
  betweenTransactions?(): void;
  /** Called with the partitions this member owns after every rebalance, before their first batch. */
  restore?(partitions: number[]): Promise<void>;
  /** Discards in-memory state of a partition (after an abort, or when it is revoked). */
  dropState?(partition: number): void;
  /** After each committed transaction: for metrics (batch size, duration, lag). */
  onCommitted?(commit: {
    partition: number;
    records: number;
    seconds: number;
    lastOffset: string;
    highWatermark: string;
  }): void;
  onError?(error: unknown): void;
  sessionTimeoutMs?: number;
  /** Test only (fault injection): share of transactions aborted just before commit, as a failure would. */
  testAbortShare?: number;
  /** How long a fetch waits for data (the consumer's linger). */
  maxWaitTimeMs?: number;
  /** The Kafka client of the exactly-once path (eos-client.ts); kafkajs when not given. */
  client?: EosClient;
}

export interface TransactionalProcessor {
  start(): Promise<void>;
  /** Stops fetching, lets the in-flight transaction finish, closes the clients. */
  stop(): Promise<void>;
  /** Partitions assigned and restored, and the consumer in touch with the broker. */
  readonly ready: boolean;
  /** Why the consumer cannot work right now (down, or the broker silent), if so. */
  readonly trouble: string | undefined;
}

export function createTransactionalProcessor(options: TransactionalProcessorOptions): TransactionalProcessor {
  return options.client === "librdkafka" ? createEosProcessor(options) : createKafkajsProcessor(options);
}

function createKafkajsProcessor(options: TransactionalProcessorOptions): TransactionalProcessor {
  const log = options.logger.child({ module: "transactional-processor", topic: options.inputTopic });
  const consumer: Consumer = options.kafka.consumer({
    groupId: options.groupId,
    readUncommitted: false,
    sessionTimeout: options.sessionTimeoutMs ?? 30_000,
    heartbeatInterval: 3000,
    maxWaitTimeInMs: options.maxWaitTimeMs ?? 50,
  });
  const producers = partitionProducers(options.kafka, transactionalIdPrefix(options.service, options.inputTopic));
  let assigned: number[] = [];
  let restoring: Promise<void> | undefined;
  /** Counts assignments, so a restore that a rebalance overtook is not taken as current. */
  let generation = 0;
  /** Per partition, the group's committed offset when it was last restored: the first record to process. */
  const floors = new Map<number, bigint>();
  /** Partitions whose state must be read from the changelog before their next batch. */
  const stale = new Set<number>();
  let started = false;
  let stopping = false;

  async function restoreStale(): Promise<void> {
    for (const p of stale) if (!assigned.includes(p)) stale.delete(p);
    const partitions = assigned.filter((p) => stale.has(p));
    const startedIn = generation;
    // Creating the producers anew first fences any zombie owner and waits until the last
    // transaction of the id has finished (a commit returns before its markers are written), so the
    // changelog and the committed offsets read below are final.
    await Promise.all(partitions.map((p) => producers.discard(p)));
    await Promise.all(partitions.map((p) => producers.get(p)));
    // Only the stale partitions: the others may be mid-chunk, ahead of the changelog.
    if (partitions.length > 0) await options.restore?.(partitions);
    const committed = partitions.length > 0 ? await committedOffsets() : new Map<number, bigint>();
    if (generation !== startedIn) {
      // A rebalance during the read: what was read may predate the new assignment. Read again.
      for (const p of partitions) options.dropState?.(p);
      return;
    }
    for (const p of partitions) {
      // The consumer fetched its position when the partition was assigned, possibly before the
      // previous owner's last transaction committed; records below the committed offset are done.
      floors.set(p, committed.get(p) ?? -1n);
      stale.delete(p);
    }
  }

  async function committedOffsets(): Promise<Map<number, bigint>> {
    const admin = options.kafka.admin();
    await admin.connect();
    try {
      const [topic] = await admin.fetchOffsets({ groupId: options.groupId, topics: [options.inputTopic] });
      return new Map((topic?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
    } finally {
      await admin.disconnect();
    }
  }

  function ensureRestored(): Promise<void> {
    restoring ??= restoreStale().finally(() => {
      restoring = undefined;
    });
    return restoring;
  }

  /** Restores until no partition is stale (a rebalance during a restore asks for another). */
  async function restoreAll(): Promise<void> {
    while (stale.size > 0 && !stopping) await ensureRestored();
  }

  /**
   * Waits in a batch for the restore, heartbeating, so a restore longer than the session timeout
   * does not cost the membership (and restart itself through the rebalance). Returns false when the
   * batch must be left unprocessed: the consumer stops, or the group rebalances and this member
   * has to return from the batch to join again in time; the restore goes on meanwhile, and is
   * read again anyway after the join.
   */
  async function awaitRestore(heartbeat: () => Promise<void>, isRunning: () => boolean): Promise<boolean> {
    if (stale.size === 0) return true;
    let leave: () => void = () => {};
    const interrupted = new Promise<boolean>((resolve) => {
      leave = () => resolve(false);
    });
    const heartbeats = keepHeartbeating(
      async () => {
        if (!isRunning()) leave();
        else await heartbeat();
      },
      (error) => {
        if (isRebalanceError(error)) leave();
      },
    );
    try {
      // A stop ends restoreAll() with partitions still stale: their batch must not run either.
      return await Promise.race([restoreAll().then(() => stale.size === 0), interrupted]);
    } finally {
      clearInterval(heartbeats);
    }
  }

  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    const now = payload.memberAssignment[options.inputTopic] ?? [];
    generation += 1;
    for (const partition of new Set([...assigned, ...now])) options.dropState?.(partition);
    for (const partition of assigned.filter((p) => !now.includes(p))) void producers.discard(partition);
    assigned = now;
    stale.clear();
    for (const partition of now) stale.add(partition);
    // Restore right away, so the service is ready before its first batch arrives.
    restoreAll().catch((error: unknown) => {
      log.warn({ error: describeError(error) }, "state restore failed; retrying with the next batch");
    });
    log.info({ partitions: now }, "partitions assigned");
  });

  async function commitChunk(partition: number, chunk: KafkaMessage[]): Promise<void> {
    options.betweenTransactions?.();
    const outputs = await options.process(partition, chunk);
    const producer = await producers.get(partition);
    const transaction = await producer.transaction();
    const last = chunk[chunk.length - 1] as KafkaMessage;
    try {
      // Every output topic in one produce request (more only past the size limit): a round trip
      // per topic would add to every transaction's latency.
      for (const topicMessages of splitTopicsBySize(outputs, maxRequestBytes)) {
        await transaction.sendBatch({ topicMessages, acks: -1 });
      }
      await transaction.sendOffsets({
        consumerGroupId: options.groupId,
        topics: [
          { topic: options.inputTopic, partitions: [{ partition, offset: (BigInt(last.offset) + 1n).toString() }] },
        ],
      });
      if (Math.random() < (options.testAbortShare ?? 0)) {
        throw new StreamscoreError("TEST_ABORT_INJECTED", "transaction aborted by CHAOS_ABORT_SHARE");
      }
      await transaction.commit();
    } catch (error) {
      await transaction.abort().catch(() => undefined);
      throw error;
    }
  }

  return {
    get ready() {
      return started && stale.size === 0 && consumerTrouble(consumer) === undefined;
    },
    get trouble() {
      return consumerTrouble(consumer);
    },
    async start() {
      await consumer.connect();
      await consumer.subscribe({ topic: options.inputTopic, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: options.partitionsConsumedConcurrently,
        eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
          if (!(await awaitRestore(heartbeat, isRunning))) {
            log.info(
              { partition: batch.partition },
              "rebalance or stop during the state restore; batch left unprocessed",
            );
            return;
          }
          const partition = batch.partition;
          const floor = floors.get(partition) ?? -1n;
          const first = batch.messages[0];
          // Normally the whole batch; after a takeover, only what the previous owner did not commit.
          const messages =
            first && BigInt(first.offset) < floor
              ? batch.messages.filter((m) => BigInt(m.offset) >= floor)
              : batch.messages;
          if (messages.length === 0) {
            const last = batch.messages[batch.messages.length - 1];
            if (last) resolveOffset(last.offset);
            return;
          }
          try {
            for (let i = 0; i < messages.length; i += options.maxBatchRecords) {
              if (!isRunning() || isStale()) return;
              const chunk = messages.slice(i, i + options.maxBatchRecords);
              const startedAt = performance.now();
              await commitChunk(partition, chunk);
              const last = chunk[chunk.length - 1] as KafkaMessage;
              resolveOffset(last.offset);
              options.onCommitted?.({
                partition,
                records: chunk.length,
                seconds: (performance.now() - startedAt) / 1000,
                lastOffset: last.offset,
                highWatermark: batch.highWatermark,
              });
              await heartbeat();
            }
          } catch (error) {
            options.onError?.(error);
            log.warn(
              { partition, code: isStreamscoreError(error) ? error.code : undefined, error: describeError(error) },
              "batch failed; retrying from the last commit",
            );
            // The transaction may have been fenced or broken: rebuild the producer, re-read state.
            options.dropState?.(partition);
            stale.add(partition);
            await producers.discard(partition);
            throw error;
          }
        },
      });
      started = true;
    },
    async stop() {
      // A restore under way finishes its current read but starts no other.
      stopping = true;
      await consumer.disconnect();
      await producers.discardAll();
    },
  };
}
