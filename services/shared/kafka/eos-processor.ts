// Consume → process → produce with exactly-once semantics over librdkafka, with one transactional
// producer per processor instead of one per input partition. Each transaction takes whatever the
// consumer has prefetched (up to `maxBatchRecords`, from every owned partition), and commits those
// partitions' outputs and offsets together; the offsets carry the consumer's group metadata
// (KIP-447), so a member that lost its partitions in a rebalance cannot commit them any more.
//
// Fencing and restore: the group is eager (every partition is revoked before any is assigned) and
// a revoked member releases its partitions only after its transaction under way has ended. A new
// owner starts from the committed offsets read with require_stable, which wait until a pending
// transaction's offsets are final, and restores state only after that read.
//
// On any failure the transaction aborts, the partitions of the batch drop their state (to be
// restored) and go back to the group's committed offsets, and the batch is retried after a
// growing pause.
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { describeError, isStreamscoreError, StreamscoreError } from "../errors.ts";
import { transactionalIdPrefix } from "./acls.ts";
import { type KafkaMessage, kafkaConnection } from "./client.ts";
import {
  createGroupConsumer,
  createTransactionalProducer,
  type FetchedRecord,
  type GroupConsumer,
  isLibrdkafkaFailure,
  librdkafkaSettings,
  noCommittedOffset,
  type TransactionalProducer,
} from "./librdkafka.ts";
import type { TransactionalProcessor, TransactionalProcessorOptions } from "./transactional-processor.ts";

/** A crashed process's open transaction holds read-committed readers back this long at most. */
const defaultTransactionTimeoutMs = 10_000;
const firstRetryMs = 500;
/** One failed batch is retried at once (an abort, a fencing); a third in a row is worth reporting. */
const failuresBeforeTrouble = 3;
/** How long every broker may be away before the processor says so (a restart takes a few seconds). */
const brokerSilenceMs = 5000;
const maxRetryMs = 10_000;

export function createEosProcessor(options: TransactionalProcessorOptions): TransactionalProcessor {
  const log = options.logger.child({ module: "eos-processor", topic: options.inputTopic });
  const settings = librdkafkaSettings(kafkaConnection(options.kafka), options.service);
  // A prefix the service's ACLs allow, and a suffix of its own, so instances never fence each other.
  const transactionalId = `${transactionalIdPrefix(options.service, options.inputTopic)}${randomUUID()}`;
  let consumer: GroupConsumer | undefined;
  let producer: TransactionalProducer | undefined;
  let assigned: number[] = [];
  /** Partitions whose state must be restored before their next batch. */
  const stale = new Set<number>();
  /** Partitions to move back to the group's committed offsets before the next batch. */
  const rewind = new Map<number, bigint>();
  /** Set by a revocation until the loop ends its transaction and lets the partitions go. */
  let release: (() => void) | undefined;
  let generation = 0;
  let failures = 0;
  let lastFailure: string | undefined;
  let started = false;
  let stopping = false;
  let loop: Promise<void> | undefined;

  function letPartitionsGo(): void {
    for (const partition of assigned) options.dropState?.(partition);
    assigned = [];
    stale.clear();
    rewind.clear();
    const done = release;
    release = undefined;
    done?.();
  }

  async function producerReady(): Promise<TransactionalProducer> {
    producer ??= await createTransactionalProducer(settings, {
      transactionalId,
      transactionTimeoutMs: defaultTransactionTimeoutMs,
    });
    return producer;
  }

  async function discardProducer(): Promise<void> {
    const old = producer;
    producer = undefined;
    await old?.close().catch(() => undefined);
  }

  /**
   * A producer with a call that never answered is left to close in the background: its open
   * transaction is aborted by the broker after `transaction.timeout.ms`, and nothing commits it.
   */
  function abandonProducer(): void {
    const old = producer;
    producer = undefined;
    old?.close().catch((error: unknown) => log.warn({ error: describeError(error) }, "stuck producer did not close"));
  }

  /** Waits for stable committed offsets (the previous owner's last transaction is final), then restores. */
  async function restoreStale(group: GroupConsumer): Promise<void> {
    const partitions = assigned.filter((p) => stale.has(p));
    if (partitions.length === 0) return;
    const startedIn = generation;
    await group.committed(partitions);
    if (options.restore) await options.restore(partitions);
    if (generation !== startedIn) return;
    for (const partition of partitions) stale.delete(partition);
  }

  async function rewindToCommitted(group: GroupConsumer): Promise<void> {
    const partitions = [...rewind.keys()].filter((p) => assigned.includes(p));
    const committed = partitions.length > 0 ? await group.committed(partitions) : new Map<number, bigint>();
    for (const partition of partitions) {
      const offset = committed.get(partition) ?? noCommittedOffset;
      // Never committed: the failed batch began at the partition's first record.
      await group.seek(partition, offset === noCommittedOffset ? (rewind.get(partition) as bigint) : offset);
    }
    rewind.clear();
  }

  interface Batch {
    byPartition: Map<number, KafkaMessage[]>;
    startedAt: number;
  }

  /** The batch whose commit runs while the next one is processed, and that commit. */
  let pending: { batch: Batch; commit: Promise<void> } | undefined;

  /** A failed batch's partitions drop their state and go back to the group's committed offsets. */
  function markFailed(batch: Batch): void {
    for (const [partition, messages] of batch.byPartition) {
      options.dropState?.(partition);
      stale.add(partition);
      if (!rewind.has(partition)) rewind.set(partition, BigInt((messages[0] as KafkaMessage).offset));
    }
  }

  async function failTransaction(error: unknown, transactions: TransactionalProducer): Promise<never> {
    if (isStreamscoreError(error) && error.code === "KAFKA_CALL_UNANSWERED") abandonProducer();
    else if (isLibrdkafkaFailure(error) && error.isFatal) await discardProducer();
    else await transactions.abort().catch(() => discardProducer());
    throw error;
  }

  /** Waits for the commit under way; on success reports it, on failure rewinds its partitions. */
  async function settlePending(group: GroupConsumer): Promise<void> {
    const current = pending;
    if (!current) return;
    pending = undefined;
    try {
      await current.commit;
    } catch (error) {
      markFailed(current.batch);
      throw error;
    }
    const seconds = (performance.now() - current.batch.startedAt) / 1000;
    for (const [partition, messages] of current.batch.byPartition) {
      const last = messages[messages.length - 1] as KafkaMessage;
      options.onCommitted?.({
        partition,
        records: messages.length,
        seconds,
        lastOffset: last.offset,
        highWatermark: group.highWatermark(partition),
      });
    }
  }

  /**
   * Processes the records, waits for the previous transaction's commit, then opens this batch's
   * transaction and starts its commit without waiting: the next batch is processed meanwhile.
   */
  async function processBatch(group: GroupConsumer, records: FetchedRecord[]): Promise<void> {
    const batch: Batch = { byPartition: new Map(), startedAt: performance.now() };
    for (const { partition, message } of records) {
      const list = batch.byPartition.get(partition);
      if (list) list.push(message);
      else batch.byPartition.set(partition, [message]);
    }
    const outputs = [];
    const offsets = new Map<number, bigint>();
    try {
      options.betweenTransactions?.();
      for (const [partition, messages] of batch.byPartition) {
        outputs.push(...(await options.process(partition, messages)));
        offsets.set(partition, BigInt((messages[messages.length - 1] as KafkaMessage).offset) + 1n);
      }
      // Transactions of one producer run one after another.
      await settlePending(group);
      const transactions = await producerReady();
      await transactions.begin();
      try {
        transactions.send(outputs);
        await transactions.sendOffsets(options.inputTopic, offsets, group);
        if (Math.random() < (options.testAbortShare ?? 0)) {
          throw new StreamscoreError("TEST_ABORT_INJECTED", "transaction aborted by CHAOS_ABORT_SHARE");
        }
      } catch (error) {
        await failTransaction(error, transactions);
      }
      const commit = transactions.commit().catch((error: unknown) => failTransaction(error, transactions));
      // Seen by settlePending; handled there (or at the next step), never left unobserved.
      commit.catch(() => undefined);
      pending = { batch, commit };
    } catch (error) {
      markFailed(batch);
      throw error;
    }
  }

  async function step(group: GroupConsumer): Promise<void> {
    if (release || rewind.size > 0 || stale.size > 0) await settlePending(group);
    if (release) return letPartitionsGo();
    if (rewind.size > 0) await rewindToCommitted(group);
    if (stale.size > 0) await restoreStale(group);
    // A rebalance overtook the restore: restore again before fetching.
    if (stale.size > 0) return;
    const records = await group.consume(options.maxBatchRecords);
    // A revocation while waiting: the records go back with the partitions, to their next owner.
    if (release) return;
    const owned: FetchedRecord[] = [];
    for (const record of records) {
      if (!assigned.includes(record.partition)) continue;
      if (!stale.has(record.partition)) owned.push(record);
      // Assigned while waiting: its records wait for the restore, read again from the commit.
      else if (!rewind.has(record.partition)) rewind.set(record.partition, BigInt(record.message.offset));
    }
    if (owned.length > 0) await processBatch(group, owned);
    else {
      await settlePending(group);
      options.betweenTransactions?.();
    }
  }

  async function run(group: GroupConsumer): Promise<void> {
    while (!stopping) {
      try {
        await step(group);
        failures = 0;
        lastFailure = undefined;
      } catch (error) {
        failures += 1;
        lastFailure = describeError(error);
        options.onError?.(error);
        log.warn(
          { failures, code: isStreamscoreError(error) ? error.code : undefined, error: lastFailure },
          "batch failed; retrying from the last commit",
        );
        await sleep(Math.min(maxRetryMs, firstRetryMs * 2 ** (failures - 1)));
      }
    }
  }

  return {
    get ready() {
      return started && stale.size === 0 && this.trouble === undefined;
    },
    get trouble() {
      if (started && consumer?.connected !== true) return "consumer disconnected";
      const downSince = consumer?.brokersDownSince;
      if (downSince !== undefined && Date.now() - downSince >= brokerSilenceMs) {
        return `no broker reachable for ${Math.round((Date.now() - downSince) / 1000)} s`;
      }
      return failures >= failuresBeforeTrouble ? `${failures} batches failed in a row: ${lastFailure}` : undefined;
    },
    async start() {
      consumer = await createGroupConsumer(settings, {
        groupId: options.groupId,
        topic: options.inputTopic,
        sessionTimeoutMs: options.sessionTimeoutMs ?? 30_000,
        maxWaitMs: options.maxWaitTimeMs ?? 50,
        onAssigned(partitions) {
          generation += 1;
          for (const partition of new Set([...assigned, ...partitions])) options.dropState?.(partition);
          assigned = partitions;
          stale.clear();
          rewind.clear();
          for (const partition of partitions) stale.add(partition);
          log.info({ partitions }, "partitions assigned");
        },
        onRevoked(done) {
          release = done;
          // Stopping: the loop has ended, nothing is under way.
          if (stopping) letPartitionsGo();
        },
        onError(error) {
          log.warn({ error: describeError(error) }, "librdkafka reported an error");
        },
      });
      await producerReady();
      loop = run(consumer);
      started = true;
    },
    async stop() {
      stopping = true;
      await loop;
      // The last commit finishes (or aborts) before the partitions go.
      if (consumer) await settlePending(consumer).catch(() => undefined);
      if (release) letPartitionsGo();
      await consumer?.close().catch((error: unknown) => log.warn({ error: describeError(error) }, "close failed"));
      await discardProducer();
    },
  };
}
