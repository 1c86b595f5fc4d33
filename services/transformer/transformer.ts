// One pipeline's transformer: raw records in, feature records (or dead letters) out, with the
// per-entity state kept in memory per partition and its changes (an event added, events evicted)
// written to the changelog in the same transaction as the outputs.
import { errorCode, StreamscoreError } from "../shared/errors.ts";
import type { AvroCodec, AvroType } from "../shared/kafka/avro-codec.ts";
import type { KafkaMessage, Message } from "../shared/kafka/client.ts";
import { deadLetter, decodeOrDeadLetter, type SourcePosition } from "../shared/kafka/dead-letter.ts";
import type { OutputBatch } from "../shared/kafka/transactional-processor.ts";
import { featureNames, type PipelineDefinition, pipelineTopics } from "../shared/pipeline/definition.ts";
import { changelogKey, decodeStateEvent, encodeStateEvent } from "./changelog.ts";
import type { RawRecord } from "./cleaning.ts";
import { addEvent, type EntityState, emptyEntityState, stateRetention } from "./entity-state.ts";
import { createPersonalData } from "./personal-data.ts";
import { transformEvent } from "./transform-event.ts";

export interface TransformStats {
  transformed: number;
  duplicates: number;
  deadLettered: Array<{ stage: string; code: string }>;
}

export interface PipelineTransformer {
  readonly definition: PipelineDefinition;
  process(partition: number, messages: KafkaMessage[]): OutputBatch[];
  /** Starts a restore of the partitions: whatever state they hold is dropped. */
  beginRestore(partitions: number[]): void;
  /** Adds one changelog record of a restore, read in changelog order, to its partition's state. */
  restoreRecord(partition: number, message: KafkaMessage): void;
  dropState(partition: number): void;
  entityCount(): number;
}

export function createPipelineTransformer(deps: {
  definition: PipelineDefinition;
  codec: AvroCodec;
  featuresType: AvroType;
  featuresSchemaId: number;
  now: () => number;
  /** HMAC key for the fields the definition marks `hash`; required when there are any. */
  personalDataKey?: string | Buffer;
  onStats?: (stats: TransformStats) => void;
}): PipelineTransformer {
  const { definition, codec } = deps;
  const personal = createPersonalData(definition, deps.personalDataKey);
  const topics = pipelineTopics(definition.name);
  const retention = stateRetention(definition);
  const featurePath = { definition, retention, protect: (event: RawRecord) => personal.protect(event) };
  const names = featureNames(definition);
  // avsc's generated class for the features record: objects of one fixed shape, filled in field
  // order, where assigning feature names one by one made each record a slow dictionary.
  const fieldOrder = ["event_id", "entity", "event_time", "ingest_time", "transform_time", ...names];
  const fields = (deps.featuresType as { fields?: Array<{ name: string }> }).fields?.map((f) => f.name) ?? [];
  if (fields.join() !== fieldOrder.join()) {
    throw new StreamscoreError("CONFIG_INVALID", `features schema fields are not ${fieldOrder.join(", ")}`);
  }
  const FeaturesRecord = (deps.featuresType as unknown as { recordConstructor: new (...values: unknown[]) => object })
    .recordConstructor;
  const states = new Map<number, Map<string, EntityState>>();

  function sourceValues(record: Record<string, unknown>): Record<string, number> {
    const values: Record<string, number> = {};
    for (const source of retention.sources) values[source] = Number(record[source] ?? 0);
    return values;
  }

  // With personal fields, a dead letter keeps the (hashed) key and the reason but not the value:
  // the original stays in the raw topic at the x-original-* position.
  function toDeadLetter(message: KafkaMessage, source: SourcePosition, stage: string, error: unknown): Message {
    const letter = deadLetter(message, source, stage, error);
    if (!personal.active) return letter;
    const key = message.key && personal.hashesKey ? personal.pseudonym(message.key.toString()) : message.key;
    return { key, value: null, headers: { ...letter.headers, "x-personal-data": "value removed" } };
  }

  function partitionState(partition: number): Map<string, EntityState> {
    let entities = states.get(partition);
    if (!entities) {
      entities = new Map();
      states.set(partition, entities);
    }
    return entities;
  }

  return {
    definition,
    process(partition, messages) {
      const entities = partitionState(partition);
      const features: Message[] = [];
      const dlq: Message[] = [];
      const changelog: Message[] = [];
      const stats: TransformStats = { transformed: 0, duplicates: 0, deadLettered: [] };
      const now = deps.now();

      const rejectUndecodable = (message: KafkaMessage, error: unknown) => {
        dlq.push(toDeadLetter(message, { topic: topics.raw, partition, offset: message.offset }, "decode", error));
        stats.deadLettered.push({ stage: "decode", code: errorCode(error) });
      };

      for (const message of messages) {
        const decoded = decodeOrDeadLetter(
          message,
          (m) => codec.decode(m.value).record as RawRecord,
          rejectUndecodable,
        );
        if (!decoded.ok) continue;
        const outcome = transformEvent(featurePath, entities, decoded.value, now);
        if (outcome.kind === "rejected") {
          const error = new StreamscoreError("CLEANING_REJECTED", `${outcome.field} ${outcome.reason}`);
          dlq.push(toDeadLetter(message, { topic: topics.raw, partition, offset: message.offset }, "clean", error));
          stats.deadLettered.push({ stage: "clean", code: error.code });
          continue;
        }
        if (outcome.kind === "duplicate") {
          stats.duplicates += 1;
          continue;
        }
        const { entity, eventId, eventTime } = outcome;
        // The changelog keeps the input's partitioning so whoever owns raw partition p restores it.
        changelog.push({
          key: changelogKey(entity, eventId),
          value: encodeStateEvent({ entity, eventId, time: eventTime, values: sourceValues(outcome.event) }),
          partition,
        });
        for (const id of outcome.evicted) changelog.push({ key: changelogKey(entity, id), value: null, partition });
        const values = outcome.features;
        const out = new FeaturesRecord(eventId, entity, eventTime, Number(message.timestamp), now, ...values);
        // Same partition as the raw record, not the key's: a hashed key would land elsewhere, and a
        // features partition fed by several raw partitions would lose their event-time order.
        features.push({ key: entity, value: codec.encode(deps.featuresSchemaId, deps.featuresType, out), partition });
        stats.transformed += 1;
      }

      deps.onStats?.(stats);
      return [
        { topic: topics.features, messages: features },
        { topic: topics.dlq, messages: dlq },
        { topic: topics.transformerState, messages: changelog },
      ];
    },
    beginRestore(partitions) {
      for (const partition of partitions) states.delete(partition);
    },
    restoreRecord(partition, message) {
      // Adding the events again in changelog order (the order they were processed in) gives the
      // same state: evictions depend only on the newest event time, which the newest event (never
      // compacted away) restores. So tombstones need no action, and an add that compaction has
      // not yet removed is evicted again as the replay passes it; nothing but the state is held.
      const key = message.key?.toString();
      const event = key && message.value ? decodeStateEvent(key, message.value) : undefined;
      if (!event) return;
      const entities = partitionState(partition);
      let state = entities.get(event.entity);
      if (!state) {
        state = emptyEntityState(retention);
        entities.set(event.entity, state);
      }
      addEvent(state, retention, event.eventId, event.time, event.values);
    },
    dropState(partition) {
      states.delete(partition);
    },
    entityCount() {
      let count = 0;
      for (const entities of states.values()) count += entities.size;
      return count;
    },
  };
}
