// Reads what a chaos run left behind, for the checker: every topic with a read-committed and a
// read-uncommitted consumer, and the predictions table without FINAL (duplicates must show).
import type { ClickHouse } from "../../services/shared/clickhouse/client.ts";
import { type AvroType, parseAvroSchema } from "../../services/shared/kafka/avro-codec.ts";
import type { Kafka, KafkaMessage } from "../../services/shared/kafka/client.ts";
import { headerText } from "../../services/shared/kafka/dead-letter.ts";
import { readTopicToEnd } from "../../services/shared/kafka/read-to-end.ts";
import { decodeWireFormat } from "../../services/shared/kafka/wire-format.ts";
import { pipelineTopics } from "../../services/shared/pipeline/definition.ts";
import { scoredSchema } from "../../services/shared/pipeline/records.ts";
import type { Observation, SeenRecord, StoredRow, TopicView } from "./checker.ts";

/**
 * The event id of a record: every topic's Avro record starts with `event_id` (a DLQ record keeps
 * the raw value), so it is the first string after the 5-byte Confluent header, read without the
 * registry.
 */
export function eventIdOf(value: Buffer | null): string | undefined {
  if (!value || value.length < 6 || value[0] !== 0) return undefined;
  let zigzag = 0;
  let shift = 0;
  let at = 5;
  for (;;) {
    const byte = value[at];
    if (byte === undefined || shift > 28) return undefined;
    at += 1;
    zigzag |= (byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) break;
    shift += 7;
  }
  const length = (zigzag >>> 1) ^ -(zigzag & 1);
  if (length < 0 || at + length > value.length) return undefined;
  return value.toString("utf8", at, at + length);
}

/**
 * The model version and role a scored or shadow-scored record names, decoded with the schema the
 * services write (scored-event.avsc) rather than the registry's: the checker needs no registry, and
 * a record the file's schema cannot decode shows as "model unread", which the checker reports.
 */
export function modelOf(type: AvroType, value: Buffer | null): SeenRecord["model"] {
  try {
    const record = type.fromBuffer(decodeWireFormat(value).body) as { model_version: number; model_role: string };
    return { version: record.model_version, role: record.model_role };
  } catch {
    return undefined;
  }
}

/** Names a record whose value holds no event id (a dead letter without its value) by its raw origin. */
type Origins = ReadonlyMap<string, string>;

/**
 * One copy of each id and key string over all the views: an overload run reads millions of records
 * seven times over, and a copy per view would not fit in the checker's heap.
 */
function interner(): (text: string) => string {
  const strings = new Map<string, string>();
  return (text) => {
    const known = strings.get(text);
    if (known !== undefined) return known;
    strings.set(text, text);
    return text;
  };
}
type Intern = ReturnType<typeof interner>;

function idOf(partition: number, message: KafkaMessage, origins: Origins | undefined): string {
  const id = eventIdOf(message.value);
  if (id !== undefined) return id;
  const from = `${headerText(message.headers, "x-original-partition")}:${headerText(message.headers, "x-original-offset")}`;
  return origins?.get(from) ?? `(undecodable at ${partition}:${message.offset})`;
}

async function readTopic(
  kafka: Kafka,
  topic: string,
  readUncommitted: boolean,
  intern: Intern,
  origins?: Origins,
  scored?: AvroType,
): Promise<SeenRecord[]> {
  const records: SeenRecord[] = [];
  // One object per (version, role), shared by every record that names it.
  const models = new Map<string, SeenRecord["model"]>();
  await readTopicToEnd(
    kafka,
    topic,
    (partition: number, message: KafkaMessage) => {
      const record: SeenRecord = {
        id: intern(idOf(partition, message, origins)),
        key: intern(message.key?.toString("utf8") ?? ""),
        partition,
        offset: Number(message.offset),
      };
      if (scored) {
        const model = modelOf(scored, message.value);
        const name = model ? `${model.version} ${model.role}` : "";
        if (!models.has(name)) models.set(name, model);
        const shared = models.get(name);
        if (shared) record.model = shared;
      }
      records.push(record);
    },
    300_000,
    readUncommitted,
  );
  return records;
}

async function view(
  kafka: Kafka,
  topic: string,
  intern: Intern,
  origins?: Origins,
  scored?: AvroType,
): Promise<TopicView> {
  return {
    // Only committed records' models are checked: the uncommitted view serves positions and ids.
    committed: await readTopic(kafka, topic, false, intern, origins, scored),
    uncommitted: await readTopic(kafka, topic, true, intern, origins),
  };
}

export async function readPredictions(
  clickhouse: ClickHouse,
  pipeline: string,
  intern: Intern = (text) => text,
): Promise<StoredRow[]> {
  const stored: StoredRow[] = [];
  // A partition at a time: one answer for millions of rows would exceed the longest string V8 allows.
  const partitions = await clickhouse.query<{ p: number }>(
    `SELECT DISTINCT source_partition AS p FROM streamscore.predictions WHERE pipeline = '${pipeline}'`,
  );
  for (const { p } of partitions) {
    const rows = await clickhouse.query<{ id: string; key: string; o: string }>(
      `SELECT event_id AS id, entity AS key, source_offset AS o
       FROM streamscore.predictions WHERE pipeline = '${pipeline}' AND source_partition = ${Number(p)}`,
    );
    for (const r of rows) {
      stored.push({ id: intern(r.id), key: intern(r.key), sourcePartition: Number(p), sourceOffset: Number(r.o) });
    }
  }
  return stored;
}

export async function storedIds(clickhouse: ClickHouse, pipeline: string): Promise<number> {
  const [row] = await clickhouse.query<{ n: string }>(
    `SELECT uniqExact(event_id) AS n FROM streamscore.predictions WHERE pipeline = '${pipeline}'`,
  );
  return Number(row?.n ?? 0);
}

/**
 * Every hop of a run; with `models`, also each scored record's model and `<p>.shadow-scored`
 * (decoding costs time and memory that runs without model changes do not need).
 */
export async function observe(
  kafka: Kafka,
  clickhouse: ClickHouse,
  pipeline: string,
  options: { models?: boolean } = {},
): Promise<Observation> {
  const topics = pipelineTopics(pipeline);
  const intern = interner();
  const scored = options.models ? parseAvroSchema(scoredSchema()) : undefined;
  const raw = await view(kafka, topics.raw, intern);
  // With personal fields a dead letter keeps no value, only the position of its raw record.
  const origins = new Map(raw.uncommitted.map((r) => [`${r.partition}:${r.offset}`, r.id]));
  return {
    topics: {
      raw,
      features: await view(kafka, topics.features, intern),
      scored: await view(kafka, topics.scored, intern, undefined, scored),
      dlq: await view(kafka, topics.dlq, intern, origins),
    },
    predictions: await readPredictions(clickhouse, pipeline, intern),
    ...(scored ? { shadowScored: await view(kafka, topics.shadowScored, intern, undefined, scored) } : {}),
  };
}

/** Records between each consumer group's committed offset and the end of its input topic. */
export async function groupLag(kafka: Kafka, groups: Record<string, string>): Promise<Record<string, number>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const lag: Record<string, number> = {};
    for (const [groupId, topic] of Object.entries(groups)) {
      const ends = await admin.fetchTopicOffsets(topic);
      const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
      lag[groupId] = ends.reduce((sum, end) => {
        const at = committed?.partitions.find((p) => p.partition === end.partition)?.offset ?? "-1";
        const from = Number(at) < 0 ? Number(end.low) : Number(at);
        return sum + Math.max(0, Number(end.high) - from);
      }, 0);
    }
    return lag;
  } finally {
    await admin.disconnect();
  }
}
