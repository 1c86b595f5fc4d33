// Dead-letter replay: reads a pipeline's dead-letter topic, sends the original records of the
// chosen dead letters back to the raw topic (once the cause is fixed, e.g. a schema registered),
// and reports what went back, what was skipped, and what still fails. A replayed record goes to
// the partition it was first read from, so the transformer that drops a repeated event id (per
// partition, within the dedupe window) sees every copy of an event: replaying twice scores once.
//
// "Still fails" is counted two ways: a dry run decodes each record with the registry as it is now
// (what a missing or incompatible schema would do to it); a real replay waits until the
// transformer has committed past the replayed records and counts the dead letters naming them.
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { errorCode } from "../errors.ts";
import type { PipelineDefinition } from "../pipeline/definition.ts";
import { pipelineTopics } from "../pipeline/definition.ts";
import { pipelineClientNames } from "./acls.ts";
import { type AvroType, createAvroCodec } from "./avro-codec.ts";
import { createIdempotentProducer, type Kafka, type KafkaMessage, type Message } from "./client.ts";
import { readTopicToEnd } from "./read-to-end.ts";
import type { SchemaRegistryClient } from "./registry.ts";
import {
  countByCode,
  type DeadLetterEntry,
  parseDeadLetter,
  planReplay,
  positionText,
  type ReplayCandidate,
  type ReplayRequest,
  replayHeaders,
  type SkippedCounts,
} from "./replay-plan.ts";
import { splitBySize } from "./split-by-size.ts";

export interface StillFailing {
  /** How it was found: decoding now (dry run), the transformer's dead letters, or not looked at. */
  method: "decode-check" | "after-processing" | "not-checked";
  count: number;
  byCode: Record<string, number>;
  /** Replayed records the transformer had not committed when the wait ran out (their fate is open). */
  notYetProcessed: number;
}

export interface ReplayReport {
  pipeline: string;
  deadLetterTopic: string;
  /** Only dead letters of these topics are replayed (into the same topic). */
  replayableTopics: string[];
  dryRun: boolean;
  /** Dead letters read. */
  read: number;
  /** Records sent back (on a dry run: that would be). */
  replayed: number;
  skipped: SkippedCounts & {
    /** The dead letter holds no value and the original is no longer in its topic (retention). */
    originalGone: number;
  };
  stillFailing: StillFailing;
  /** A record replayed again later than this (in event time) after its first success may be scored twice. */
  dedupeWindowSeconds: number;
}

export interface ReplayDeps {
  kafka: Kafka;
  registry: SchemaRegistryClient;
  definition: PipelineDefinition;
  /** The pipeline's raw schema, for the dry run's decode check (the transformer's reader). */
  reader: AvroType;
  /** The transformer's consumer group, when it runs with another prefix than the default. */
  transformerGroup?: string;
  now?: () => number;
  /** Replayed records so far, as they are sent (a progress bar). */
  onSent?: (count: number) => void;
}

/**
 * Every group a replay reads with starts with this (throwaway groups, deleted after): one prefixed
 * group ACL covers them on a secured stack.
 */
export function replayGroupPrefix(pipeline: string): string {
  return `streamscore-replay-${pipeline}-`;
}

/** Largest produce request, under the broker's default message.max.bytes (1 MiB). */
const maxRequestBytes = 900_000;

export async function replayDeadLetters(deps: ReplayDeps, request: ReplayRequest): Promise<ReplayReport> {
  const topics = pipelineTopics(deps.definition.name);
  const entries: DeadLetterEntry[] = [];
  await readTopicToEnd(
    deps.kafka,
    topics.dlq,
    (partition, message) => {
      entries.push({
        partition,
        offset: message.offset,
        timestamp: Number(message.timestamp),
        key: message.key,
        value: message.value,
        headers: message.headers,
      });
    },
    { groupPrefix: replayGroupPrefix(deps.definition.name) },
  );
  const plan = planReplay(entries, {
    deadLetterTopic: topics.dlq,
    replayableTopic: topics.raw,
    codes: request.codes,
    since: request.since,
  });

  // Dead letters without their value (personal data) point at the original in the raw topic.
  const wanted = plan.candidates.flatMap((c) => (c.readFrom ? [c.readFrom] : []));
  const groupPrefix = replayGroupPrefix(deps.definition.name);
  const originals = await readPositions(deps.kafka, topics.raw, wanted, groupPrefix);
  let originalGone = 0;
  const outgoing: Array<{ candidate: ReplayCandidate; message: Message & { partition: number } }> = [];
  for (const candidate of plan.candidates) {
    const source = candidate.readFrom ? originals.get(positionText(candidate.readFrom)) : undefined;
    if (candidate.readFrom && !source) {
      originalGone += 1;
      continue;
    }
    const key = source ? source.key : candidate.entry.key;
    const value = source ? source.value : candidate.entry.value;
    const headers = source ? source.headers : candidate.entry.headers;
    outgoing.push({
      candidate,
      message: {
        key,
        value,
        headers: replayHeaders(headers, candidate.origin, candidate.at),
        partition: candidate.info.original?.partition ?? candidate.origin.partition,
      },
    });
  }

  const report: ReplayReport = {
    pipeline: deps.definition.name,
    deadLetterTopic: topics.dlq,
    replayableTopics: [topics.raw],
    dryRun: request.dryRun,
    read: entries.length,
    replayed: outgoing.length,
    skipped: { ...plan.skipped, originalGone },
    stillFailing: { method: "not-checked", count: 0, byCode: {}, notYetProcessed: 0 },
    dedupeWindowSeconds: deps.definition.cleaning.dedupe.windowSeconds,
  };

  if (request.dryRun) {
    report.stillFailing = await decodeCheck(
      deps,
      outgoing.map((o) => o.message.value as Buffer | null),
    );
    return report;
  }
  if (outgoing.length === 0) return report;

  const dlqEnds = await endOffsets(deps.kafka, topics.dlq);
  const sent = await send(
    deps,
    topics.raw,
    outgoing.map((o) => o.message),
  );
  if (request.waitSeconds > 0) {
    report.stillFailing = await checkAfterProcessing(deps, topics.raw, topics.dlq, sent, dlqEnds, request.waitSeconds);
  }
  return report;
}

/** Decodes each record as the transformer would now; the failures by code. */
async function decodeCheck(deps: ReplayDeps, values: Array<Buffer | null>): Promise<StillFailing> {
  const codec = createAvroCodec(deps.registry.resolve, { reader: deps.reader });
  await codec.prepare(values);
  const codes: string[] = [];
  for (const value of values) {
    try {
      codec.decode(value);
    } catch (error) {
      codes.push(errorCode(error));
    }
  }
  return { method: "decode-check", count: codes.length, byCode: countByCode(codes), notYetProcessed: 0 };
}

/** Sends with an idempotent producer, acks from all replicas; returns the offsets written, per partition. */
async function send(deps: ReplayDeps, topic: string, messages: Array<Message & { partition: number }>) {
  const offsets = new Map<number, bigint[]>();
  const byPartition = new Map<number, Message[]>();
  for (const message of messages) {
    const list = byPartition.get(message.partition) ?? [];
    list.push(message);
    byPartition.set(message.partition, list);
  }
  const producer = createIdempotentProducer(deps.kafka);
  await producer.connect();
  let done = 0;
  try {
    for (const [partition, list] of byPartition) {
      for (const chunk of splitBySize(list, maxRequestBytes)) {
        // One partition per request: its records are written one after another from the base offset.
        const [meta] = await producer.send({ topic, acks: -1, messages: chunk });
        const base = BigInt(meta?.baseOffset ?? "-1");
        const written = offsets.get(partition) ?? [];
        for (let i = 0; i < chunk.length; i += 1) written.push(base + BigInt(i));
        offsets.set(partition, written);
        done += chunk.length;
        deps.onSent?.(done);
      }
    }
  } finally {
    await producer.disconnect();
  }
  return offsets;
}

/**
 * Waits (up to `waitSeconds`) until the transformer's group has committed past every replayed
 * record, then counts the dead letters written since the replay began that name one of them.
 */
async function checkAfterProcessing(
  deps: ReplayDeps,
  rawTopic: string,
  dlqTopic: string,
  sent: Map<number, bigint[]>,
  dlqEnds: Map<number, bigint>,
  waitSeconds: number,
): Promise<StillFailing> {
  const group = deps.transformerGroup ?? pipelineClientNames(deps.definition.name).transformerGroup;
  const now = deps.now ?? Date.now;
  const deadline = now() + waitSeconds * 1000;
  const admin = deps.kafka.admin();
  await admin.connect();
  let committed = new Map<number, bigint>();
  const unprocessed = () =>
    [...sent].reduce(
      (n, [partition, offsets]) => n + offsets.filter((o) => o >= (committed.get(partition) ?? -1n)).length,
      0,
    );
  try {
    for (;;) {
      const [topic] = await admin.fetchOffsets({ groupId: group, topics: [rawTopic] });
      committed = new Map((topic?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
      if (unprocessed() === 0 || now() >= deadline) break;
      await sleep(250);
    }
  } finally {
    await admin.disconnect();
  }
  const replayed = new Set(
    [...sent].flatMap(([partition, offsets]) => offsets.map((o) => `${rawTopic}/${partition}/${o}`)),
  );
  const ranges = new Map<number, { from: bigint; to: bigint }>();
  const ends = await endOffsets(deps.kafka, dlqTopic);
  for (const [partition, to] of ends) ranges.set(partition, { from: dlqEnds.get(partition) ?? 0n, to });
  const codes: string[] = [];
  await readRanges(deps.kafka, dlqTopic, replayGroupPrefix(deps.definition.name), ranges, (_partition, message) => {
    const info = parseDeadLetter(message.headers);
    if (info.original && replayed.has(positionText(info.original))) codes.push(info.code ?? "(none)");
  });
  return {
    method: "after-processing",
    count: codes.length,
    byCode: countByCode(codes),
    notYetProcessed: unprocessed(),
  };
}

async function endOffsets(kafka: Kafka, topic: string): Promise<Map<number, bigint>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, BigInt(o.high)]));
  } finally {
    await admin.disconnect();
  }
}

/** The records at these positions of `topic` (those still there), by position text. */
async function readPositions(
  kafka: Kafka,
  topic: string,
  positions: readonly { topic: string; partition: number; offset: string }[],
  groupPrefix: string,
): Promise<Map<string, KafkaMessage>> {
  const found = new Map<string, KafkaMessage>();
  if (positions.length === 0) return found;
  const wanted = new Set(positions.map(positionText));
  const ranges = new Map<number, { from: bigint; to: bigint }>();
  for (const p of positions) {
    const offset = BigInt(p.offset);
    const range = ranges.get(p.partition);
    ranges.set(p.partition, {
      from: range && range.from < offset ? range.from : offset,
      to: range && range.to > offset + 1n ? range.to : offset + 1n,
    });
  }
  await readRanges(kafka, topic, groupPrefix, ranges, (partition, message) => {
    const at = `${topic}/${partition}/${message.offset}`;
    if (wanted.has(at)) found.set(at, message);
  });
  return found;
}

/**
 * Reads [from, to) of each partition (clamped to what the partition still holds), committed
 * records only, as a throwaway group. A range covering scattered offsets is read whole: dead
 * letters are few, so their originals sit in a handful of ranges.
 */
async function readRanges(
  kafka: Kafka,
  topic: string,
  groupPrefix: string,
  requested: ReadonlyMap<number, { from: bigint; to: bigint }>,
  onMessage: (partition: number, message: KafkaMessage) => void,
  timeoutMs = 120_000,
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  const ranges = new Map<number, { from: bigint; to: bigint }>();
  try {
    for (const o of await admin.fetchTopicOffsets(topic)) {
      const range = requested.get(o.partition);
      if (!range) continue;
      const from = range.from > BigInt(o.low) ? range.from : BigInt(o.low);
      const to = range.to < BigInt(o.high) ? range.to : BigInt(o.high);
      if (from < to) ranges.set(o.partition, { from, to });
    }
  } finally {
    await admin.disconnect();
  }
  if (ranges.size === 0) return;

  const groupId = `${groupPrefix}${randomBytes(6).toString("hex")}`;
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
  const next = new Map<number, bigint>();
  const finished = new Set<number>();
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const advance = (partition: number, nextOffset: bigint) => {
    const range = ranges.get(partition);
    if (range && nextOffset >= range.to) finished.add(partition);
    if (finished.size === ranges.size) finish();
  };
  // Only the wanted partitions are fetched; kafkajs has no assign(), so the others are paused.
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    const unwanted = (payload.memberAssignment[topic] ?? []).filter((p) => !ranges.has(p));
    if (unwanted.length > 0) consumer.pause([{ topic, partitions: unwanted }]);
  });
  // Transaction markers end a batch without a record: the range may end on one.
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    advance(payload.partition, BigInt(payload.lastOffset) + 1n);
  });
  let timer: NodeJS.Timeout | undefined;
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const range = ranges.get(batch.partition);
        if (!range) return;
        for (const message of batch.messages) {
          const offset = BigInt(message.offset);
          // A fetch made before the seek took effect, or again after a rejoin, repeats records.
          if (offset < range.from || offset >= range.to || offset < (next.get(batch.partition) ?? 0n)) continue;
          next.set(batch.partition, offset + 1n);
          onMessage(batch.partition, message);
        }
      },
    });
    for (const [partition, range] of ranges) consumer.seek({ topic, partition, offset: range.from.toString() });
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`reading ${topic} took longer than ${timeoutMs} ms`)),
        timeoutMs,
      ).unref();
    });
    await Promise.race([done, timeout]);
  } finally {
    clearTimeout(timer);
    await consumer.disconnect();
    const cleanup = kafka.admin();
    await cleanup.connect();
    await cleanup.deleteGroups([groupId]).catch(() => undefined);
    await cleanup.disconnect();
  }
}
