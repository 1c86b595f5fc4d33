// Realistic records for every topic, made by the project's own code: the payments generator, the
// ingest API's validation and encoding, the transformer, and the shipped model. Raw, feature and
// scored records of one batch describe the same events.
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { loadModel } from "../../services/inference/model.ts";
import { scoreRecords } from "../../services/inference/scoring.ts";
import { type PaymentEventRecord, paymentStream } from "../../services/producer/generator/payments.ts";
import { createEventValidator } from "../../services/producer/validation.ts";
import {
  type AvroCodec,
  type AvroType,
  createAvroCodec,
  parseAvroSchema,
} from "../../services/shared/kafka/avro-codec.ts";
import type { KafkaMessage, Message } from "../../services/shared/kafka/client.ts";
import { encodeWireFormat } from "../../services/shared/kafka/wire-format.ts";
import { featureNames, type PipelineDefinition } from "../../services/shared/pipeline/definition.ts";
import {
  type FeaturesRecord,
  featuresSchema,
  type PipelineSchemaIds,
  type ScoredRecord,
  scoredSchema,
} from "../../services/shared/pipeline/records.ts";
import { projectRoot } from "../../services/shared/project.ts";
import { readSchema } from "../../services/shared/schemas.ts";
import { createPipelineTransformer } from "../../services/transformer/transformer.ts";

/**
 * Payments whose event times run up to now at 20/s, so the one-hour rolling features see history,
 * spread over `cards` cards (the generator's default for 20/s is 2,000).
 */
export function recentPayments(count: number, seed: number, idPrefix: string, cards?: number): PaymentEventRecord[] {
  const out: PaymentEventRecord[] = [];
  const stream = paymentStream({
    seed,
    startTime: Date.now() - (count / 20) * 1000,
    ratePerSecond: 20,
    idPrefix,
    cards,
  });
  for (const { event } of stream) {
    out.push(event);
    if (out.length === count) break;
  }
  return out;
}

export interface RecordTypes {
  raw: AvroType;
  features: AvroType;
  scored: AvroType;
  codec: AvroCodec;
}

/** The three Avro types, and a codec that resolves the pipeline's schema ids without the registry. */
export function recordTypes(definition: PipelineDefinition, ids: PipelineSchemaIds): RecordTypes {
  const raw = parseAvroSchema(readSchema(definition.schema));
  const features = parseAvroSchema(featuresSchema(definition));
  const scored = parseAvroSchema(scoredSchema());
  const byId = new Map<number, AvroType>([
    [ids.raw, raw],
    [ids.features, features],
    [ids.scored, scored],
  ]);
  const codec = createAvroCodec(async (id) => {
    const type = byId.get(id);
    if (!type) throw new Error(`bench codec has no schema ${id}`);
    return type;
  });
  return { raw, features, scored, codec };
}

/** The stage's transformer with empty state, its clock fixed at `now`. */
export function benchTransformer(
  definition: PipelineDefinition,
  types: RecordTypes,
  ids: PipelineSchemaIds,
  now: number,
) {
  return createPipelineTransformer({
    definition,
    codec: types.codec,
    featuresType: types.features,
    featuresSchemaId: ids.features,
    now: () => now,
    // The benchmark hashes card ids as production does, with a throwaway key.
    personalDataKey: randomBytes(32),
  });
}

/** Produced messages as a consumer would fetch them from one partition, offsets from 0. */
export function asFetched(messages: readonly Message[], timestamp: number): KafkaMessage[] {
  return messages.map((m, i) => ({
    key: Buffer.from(String(m.key)),
    value: m.value as Buffer,
    timestamp: String(timestamp),
    attributes: 0,
    offset: String(i),
    size: 0,
    headers: undefined,
  }));
}

export interface RecordSet {
  events: PaymentEventRecord[];
  /** Raw records as the ingest API encodes them (validated, Confluent wire format), keyed by card. */
  raw: Message[];
  rawRecords: Record<string, unknown>[];
  features: Message[];
  featuresRecords: FeaturesRecord[];
  scored: Message[];
  scoredRecords: ScoredRecord[];
}

export async function buildRecords(
  definition: PipelineDefinition,
  ids: PipelineSchemaIds,
  count: number,
  options: { seed: number; idPrefix: string; cards?: number },
): Promise<RecordSet> {
  const types = recordTypes(definition, ids);
  const schema = readSchema(definition.schema) as Parameters<typeof createEventValidator>[1];
  const validate = createEventValidator(types.raw, schema);
  const events = recentPayments(count, options.seed, options.idPrefix, options.cards);
  const rawRecords: Record<string, unknown>[] = [];
  const raw: Message[] = [];
  const now = Date.now();
  for (const event of events) {
    const checked = validate(event);
    if (!checked.ok) throw new Error(`generated event ${event.event_id} is invalid`);
    rawRecords.push(checked.record);
    raw.push({
      key: String(checked.record[definition.entityKey]),
      value: encodeWireFormat(ids.raw, types.raw.toBuffer(checked.record)),
      timestamp: String(now),
    });
  }

  // The transformer itself makes the feature records, one partition's worth at a time.
  const framed = (id: number) => encodeWireFormat(id, Buffer.alloc(0));
  await types.codec.prepare([framed(ids.raw), framed(ids.features), framed(ids.scored)]);
  const [featuresOut] = benchTransformer(definition, types, ids, now).process(0, asFetched(raw, now));
  const features = featuresOut?.messages ?? [];
  if (features.length !== count) throw new Error(`transformer made ${features.length} of ${count} feature records`);
  const featuresRecords = features.map((m) => types.codec.decode(m.value as Buffer).record as FeaturesRecord);

  const model = await loadModel(join(projectRoot, definition.model.directory, "1"));
  try {
    const { scored } = await scoreRecords(
      model,
      definition.name,
      featureNames(definition),
      featuresRecords,
      256,
      Date.now,
    );
    const scoredRecords = scored.map((s) => s.record);
    return {
      events,
      raw,
      rawRecords,
      features,
      featuresRecords,
      scored: scoredRecords.map((r) => ({ key: r.entity, value: types.codec.encode(ids.scored, types.scored, r) })),
      scoredRecords,
    };
  } finally {
    await model.release();
  }
}
