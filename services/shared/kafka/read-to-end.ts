// Reads a topic from the beginning up to the end offsets it had when the read started, with
// read-committed isolation (read-uncommitted on request, for the chaos checker). Used to restore
// state from a changelog before processing, where only the partitions a member owns are wanted.
//
// kafkajs has no manual assign(), so the read subscribes with a group of its own (one member, so
// it is assigned every partition) and pauses the unwanted partitions in the GROUP_JOIN listener:
// kafkajs emits that event after the assignment and before it schedules the first fetch, and a
// fetch skips paused partitions, so their records are never requested.
//
// A large changelog may take minutes to read, so the read fails only when it stalls (no record
// and no batch end for `stallTimeoutMs`) or when it exceeds a generous overall bound.
import { randomBytes } from "node:crypto";
import { StreamscoreError } from "../errors.ts";
import type { Kafka, KafkaMessage } from "./client.ts";

export interface ReadToEndOptions {
  /** Only these partitions; the others are never fetched. Default: every partition. */
  partitions?: readonly number[];
  /** Fails when no record and no batch end arrived for this long. */
  stallTimeoutMs?: number;
  /** Fails when the whole read takes longer than this, progress or not. */
  timeoutMs?: number;
  /** Also sees records of open and aborted transactions (for the chaos checker). */
  readUncommitted?: boolean;
  /** The throwaway group's name before its random suffix (what the reader's ACLs grant). */
  groupPrefix?: string;
}

export const defaultStallTimeoutMs = 60_000;
export const defaultReadTimeoutMs = 15 * 60_000;

/**
 * Calls `onMessage` once for every record up to the end offsets at the start and returns their count.
 * A number as the fourth argument is the overall timeout (the older positional form).
 */
export async function readTopicToEnd(
  kafka: Kafka,
  topic: string,
  onMessage: (partition: number, message: KafkaMessage) => void,
  timeoutMsOrOptions: number | ReadToEndOptions = {},
  readUncommitted = false,
): Promise<number> {
  const options: ReadToEndOptions =
    typeof timeoutMsOrOptions === "number" ? { timeoutMs: timeoutMsOrOptions, readUncommitted } : timeoutMsOrOptions;
  const stallTimeoutMs = options.stallTimeoutMs ?? defaultStallTimeoutMs;
  const timeoutMs = options.timeoutMs ?? defaultReadTimeoutMs;
  const wanted = options.partitions ? new Set(options.partitions) : undefined;
  const isWanted = (partition: number) => wanted?.has(partition) ?? true;

  const admin = kafka.admin();
  await admin.connect();
  let ends: Map<number, bigint>;
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    ends = new Map(
      offsets
        .filter((o) => isWanted(o.partition) && BigInt(o.high) > BigInt(o.low))
        .map((o) => [o.partition, BigInt(o.high)]),
    );
  } finally {
    await admin.disconnect();
  }
  if (ends.size === 0) return 0;

  const groupId = `${options.groupPrefix ?? `restore-${topic}-`}${randomBytes(6).toString("hex")}`;
  const consumer = kafka.consumer({ groupId, readUncommitted: options.readUncommitted ?? false, maxWaitTimeInMs: 100 });
  const reached = new Set<number>();
  /** Per partition, the offset after the last record passed on. */
  const nextOffsets = new Map<number, bigint>();
  let count = 0;
  let lastProgressAt = Date.now();
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const progress = (partition: number, nextOffset: bigint) => {
    const end = ends.get(partition);
    if (end === undefined) return;
    lastProgressAt = Date.now();
    if (nextOffset >= end) reached.add(partition);
    if (reached.size === ends.size) finish();
  };
  if (wanted) {
    // Again after every join: a consumer that kafkajs restarts after a crash starts unpaused.
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      const unwanted = (payload.memberAssignment[topic] ?? []).filter((p) => !wanted.has(p));
      if (unwanted.length > 0) consumer.pause([{ topic, partitions: unwanted }]);
    });
  }
  // Batches of only transaction markers never reach eachBatch, but they do end a batch.
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    progress(payload.partition, BigInt(payload.lastOffset) + 1n);
  });
  const timers: NodeJS.Timeout[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        // Paused partitions are not fetched; this guards a fetch that was under way at the pause.
        if (!isWanted(batch.partition)) return;
        for (const message of batch.messages) {
          // The group commits nothing, so a rejoin or a consumer restart mid-read starts again from
          // the beginning: what was passed on already must not be passed on twice.
          const offset = BigInt(message.offset);
          if (offset < (nextOffsets.get(batch.partition) ?? 0n)) continue;
          nextOffsets.set(batch.partition, offset + 1n);
          onMessage(batch.partition, message);
          count += 1;
        }
        if (batch.messages.length > 0) lastProgressAt = Date.now();
      },
    });
    const startedAt = Date.now();
    lastProgressAt = startedAt;
    const failed = new Promise<never>((_, reject) => {
      timers.push(
        setInterval(
          () => {
            const now = Date.now();
            if (now - lastProgressAt >= stallTimeoutMs) {
              reject(
                new StreamscoreError(
                  "KAFKA_UNAVAILABLE",
                  `restoring ${topic} stalled: nothing read for ${stallTimeoutMs} ms (${count} records, ${reached.size} of ${ends.size} partitions done)`,
                ),
              );
            } else if (now - startedAt >= timeoutMs) {
              reject(
                new StreamscoreError(
                  "KAFKA_UNAVAILABLE",
                  `restoring ${topic} took longer than ${timeoutMs} ms (${count} records, ${reached.size} of ${ends.size} partitions done)`,
                ),
              );
            }
          },
          Math.min(1000, stallTimeoutMs, timeoutMs),
        ).unref(),
      );
    });
    await Promise.race([done, failed]);
  } finally {
    for (const timer of timers) clearInterval(timer);
    await consumer.disconnect();
    const cleanup = kafka.admin();
    await cleanup.connect();
    await cleanup.deleteGroups([groupId]).catch(() => undefined);
    await cleanup.disconnect();
  }
  return count;
}
