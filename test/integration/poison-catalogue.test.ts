// Poison produced straight to each topic a service consumes — raw (transformer), features
// (inference), scored (monitor) — among good payments: every poison record lands in the DLQ
// exactly once with its reason and origin, every good record reaches ClickHouse exactly once, and
// no batch fails (a failed batch is a consumer restart from the last commit).
import { createSecretKey } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PaymentEventRecord, paymentStream } from "../../services/producer/generator/payments.ts";
import { parseAvroSchema } from "../../services/shared/kafka/avro-codec.ts";
import type { KafkaMessage } from "../../services/shared/kafka/client.ts";
import { headerText } from "../../services/shared/kafka/dead-letter.ts";
import { readTopicToEnd } from "../../services/shared/kafka/read-to-end.ts";
import { encodeWireFormat } from "../../services/shared/kafka/wire-format.ts";
import type { Registry } from "../../services/shared/metrics.ts";
import { featureNames, pipelineTopics } from "../../services/shared/pipeline/definition.ts";
import { featuresSchema, scoredSchema } from "../../services/shared/pipeline/records.ts";
import { seededRandom } from "../../services/shared/random.ts";
import { readSchema } from "../../services/shared/schemas.ts";
import { pseudonymize } from "../../services/transformer/personal-data.ts";
import { waitFor } from "../helpers/integration.ts";
import { type PipelineHarness, startPipelineHarness } from "../helpers/pipeline-harness.ts";
import { framingPoison, irisPoisonBody, type PoisonKind } from "../helpers/poison.ts";

/** The issue's figures: 1,000 poison records among 100,000 good ones. */
const goodCount = 100_000;
const chunks = 100;
/** Poison sent after each chunk of good records, per topic: 10 × 100 chunks = 1,000. */
const poisonPerChunk = { raw: 5, features: 3, scored: 2 } as const;
/** Near-limit records are costly to move around; a few per topic prove the point. */
const oversizedPerTopic = 2;

type Stage = keyof typeof poisonPerChunk;

interface SentPoison {
  stage: Stage;
  what: string;
  code: string;
  key: string;
  position: string;
}

async function metricSum(registry: Registry | undefined, name: string): Promise<number> {
  const metric = registry?.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  return values.reduce((sum, v) => sum + v.value, 0);
}

/** Cycles through the kinds, with the oversized kind only `oversizedPerTopic` times. */
function poisonSequence(kinds: PoisonKind[], count: number): PoisonKind[] {
  const oversized = kinds.filter((k) => k.what.startsWith("oversized"));
  const others = kinds.filter((k) => !k.what.startsWith("oversized"));
  const out: PoisonKind[] = [];
  for (const kind of oversized) for (let i = 0; i < oversizedPerTopic; i += 1) out.push(kind);
  for (let i = 0; out.length < count; i += 1) out.push(others[i % others.length] as PoisonKind);
  return out.slice(0, count);
}

describe("poison on every consumed topic among good records", () => {
  let h: PipelineHarness;

  beforeAll(async () => {
    h = await startPipelineHarness({ base: "payments" });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it(`dead-letters each of ${chunks * (poisonPerChunk.raw + poisonPerChunk.features + poisonPerChunk.scored)} poison records exactly once and stores ${goodCount} good ones exactly once, with no failed batch`, async () => {
    const name = h.definition.name;
    const topics = pipelineTopics(name);
    const random = seededRandom(61);
    const rawType = parseAvroSchema(readSchema(h.definition.schema));
    const featuresType = parseAvroSchema(featuresSchema(h.definition));
    const scoredType = parseAvroSchema(scoredSchema());
    const featuresId = await h.registry.latestId(`${topics.features}-value`);
    const scoredId = await h.registry.latestId(`${topics.scored}-value`);
    const names = featureNames(h.definition);

    const good: PaymentEventRecord[] = [];
    for (const { event } of paymentStream({
      seed: 61,
      startTime: Date.now() - (goodCount / 20) * 1000,
      ratePerSecond: 20,
      idPrefix: "good",
    })) {
      good.push(event);
      if (good.length === goodCount) break;
    }
    const template = good[0] as PaymentEventRecord;
    const features: Record<string, unknown> = {
      event_id: "poison-features",
      entity: "card-poison",
      event_time: template.event_time,
      ingest_time: template.event_time,
      transform_time: template.event_time,
    };
    for (const feature of names) features[feature] = 0.5;
    const scored = {
      event_id: "poison-scored",
      pipeline: name,
      entity: "card-poison",
      event_time: template.event_time,
      ingest_time: template.event_time,
      transform_time: template.event_time,
      score_time: template.event_time,
      model_name: "payments-fraud",
      model_version: 1,
      label: "0",
      score: 0.1,
      class_labels: ["0", "1"],
      probabilities: [0.9, 0.1],
      features: names.map(() => 0.5),
    };
    // A features record of another shape: the first three features only (a wrong tensor width).
    const short = featuresSchema(h.definition) as { name: string; fields: Array<{ name: string }> };
    const shortSchema = { ...short, name: `${short.name}Short`, fields: short.fields.slice(0, 5 + 3) };
    const shortId = await h.registry.register(`${name}-short-features-value`, shortSchema);
    const shortBody = parseAvroSchema(shortSchema).toBuffer({ ...features, event_id: "poison-shape" });

    const irisId = await h.registry.register(`${name}-iris-value`, readSchema("iris-event.avsc"));
    const iris = irisPoisonBody(template.event_time);

    const kinds: Record<Stage, PoisonKind[]> = {
      raw: [
        ...framingPoison(h.rawSchemaId, rawType.toBuffer(template), random),
        {
          what: "a record of another pipeline's schema",
          code: "SCHEMA_INCOMPATIBLE",
          value: encodeWireFormat(irisId, iris),
        },
        {
          what: "negative amount",
          code: "CLEANING_REJECTED",
          value: encodeWireFormat(h.rawSchemaId, rawType.toBuffer({ ...template, amount: -5 })),
        },
        {
          what: "amount above the maximum",
          code: "CLEANING_REJECTED",
          value: encodeWireFormat(h.rawSchemaId, rawType.toBuffer({ ...template, amount: 5e9 })),
        },
        {
          what: "NaN amount",
          code: "CLEANING_REJECTED",
          value: encodeWireFormat(h.rawSchemaId, rawType.toBuffer({ ...template, amount: Number.NaN })),
        },
      ],
      features: [
        ...framingPoison(featuresId, featuresType.toBuffer(features), random),
        {
          what: "NaN feature",
          code: "MODEL_INPUT_INVALID",
          value: encodeWireFormat(featuresId, featuresType.toBuffer({ ...features, amount: Number.NaN })),
        },
        { what: "wrong tensor shape", code: "MODEL_INPUT_INVALID", value: encodeWireFormat(shortId, shortBody) },
      ],
      scored: [
        ...framingPoison(scoredId, scoredType.toBuffer(scored), random),
        {
          what: "NaN score",
          code: "SCORED_RECORD_INVALID",
          value: encodeWireFormat(scoredId, scoredType.toBuffer({ ...scored, score: Number.NaN })),
        },
        {
          what: "score out of range",
          code: "SCORED_RECORD_INVALID",
          value: encodeWireFormat(scoredId, scoredType.toBuffer({ ...scored, score: 7 })),
        },
      ],
    };
    const sequences = {
      raw: poisonSequence(kinds.raw, chunks * poisonPerChunk.raw),
      features: poisonSequence(kinds.features, chunks * poisonPerChunk.features),
      scored: poisonSequence(kinds.scored, chunks * poisonPerChunk.scored),
    };
    const topicOf: Record<Stage, string> = { raw: topics.raw, features: topics.features, scored: topics.scored };

    const sent: SentPoison[] = [];
    const chunkSize = goodCount / chunks;
    for (let c = 0; c < chunks; c += 1) {
      const slice = good.slice(c * chunkSize, (c + 1) * chunkSize);
      await h.producer.send({
        topic: topics.raw,
        acks: -1,
        messages: slice.map((e) => ({ key: e.card_id, value: encodeWireFormat(h.rawSchemaId, rawType.toBuffer(e)) })),
      });
      for (const stage of ["raw", "features", "scored"] as const) {
        for (let i = 0; i < poisonPerChunk[stage]; i += 1) {
          const n = c * poisonPerChunk[stage] + i;
          const kind = sequences[stage][n] as PoisonKind;
          const key = `poison-${stage}-${n}`;
          // One record per send: its offset is the send's base offset.
          const [meta] = await h.producer.send({
            topic: topicOf[stage],
            acks: -1,
            messages: [{ key, value: kind.value }],
          });
          sent.push({
            stage,
            what: kind.what,
            code: kind.code,
            key,
            position: `${topicOf[stage]}/${meta?.partition}/${meta?.baseOffset}`,
          });
        }
      }
    }
    const poisonCount = sent.length;

    const count = async (sql: string) => Number((await h.clickhouse.query<{ n: string }>(sql))[0]?.n ?? 0);
    const predictions = `${h.database}.predictions`;
    const where = `pipeline = '${name}'`;
    await waitFor(
      "every good record in ClickHouse",
      async () =>
        (await count(`SELECT count() AS n FROM ${predictions} WHERE ${where}`)) >= goodCount ? true : undefined,
      240_000,
    );
    await waitFor(
      "every poison record in dead_letters",
      async () =>
        (await count(`SELECT count() AS n FROM ${h.database}.dead_letters WHERE ${where}`)) >= poisonCount
          ? true
          : undefined,
      120_000,
    );

    // Good records: exactly once, without FINAL, and only the good ones.
    expect(await count(`SELECT count() AS n FROM ${predictions} WHERE ${where}`)).toBe(goodCount);
    expect(
      await count(
        `SELECT uniqExact(event_id) AS n FROM ${predictions} WHERE ${where} AND startsWith(event_id, 'good')`,
      ),
    ).toBe(goodCount);

    // Poison: read the DLQ topic itself (read-committed), one letter per poison record.
    const letters: KafkaMessage[] = [];
    await readTopicToEnd(h.kafka, topics.dlq, (_, message) => letters.push(message));
    expect(letters.length).toBe(poisonCount);
    const byPosition = new Map(
      letters.map((m) => [
        `${headerText(m.headers, "x-original-topic")}/${headerText(m.headers, "x-original-partition")}/${headerText(m.headers, "x-original-offset")}`,
        m,
      ]),
    );
    expect(byPosition.size).toBe(poisonCount);
    // The transformer hashes the key (the card) of what it dead-letters; the other stages keep it.
    const hmac = createSecretKey(h.personalDataKey);
    const letterKey = (poison: SentPoison) => (poison.stage === "raw" ? pseudonymize(hmac, poison.key) : poison.key);
    const mismatches: string[] = [];
    for (const poison of sent) {
      const letter = byPosition.get(poison.position);
      const code = headerText(letter?.headers, "x-error-code");
      const message = headerText(letter?.headers, "x-error-message") ?? "";
      if (!letter || letter.key?.toString() !== letterKey(poison) || code !== poison.code || message.length === 0) {
        mismatches.push(
          `${poison.stage} ${poison.what} at ${poison.position}: got ${letter ? `${code} "${message}"` : "no letter"}`,
        );
      }
    }
    expect(mismatches).toEqual([]);
    expect(new Set(sent.map((p) => `${p.stage}: ${p.what}`)).size).toBe(
      kinds.raw.length + kinds.features.length + kinds.scored.length,
    );

    // No batch failed in any service: a failure would have retried (restarted) from the last commit.
    expect(await metricSum(h.metrics.transformer, "streamscore_errors_total")).toBe(0);
    expect(await metricSum(h.metrics.inference, "streamscore_errors_total")).toBe(0);
    expect(await metricSum(h.metrics.monitor, "streamscore_clickhouse_insert_retries_total")).toBe(0);
    expect(h.monitor?.notReadyReason()).toBeUndefined();
    expect(await metricSum(h.metrics.transformer, "streamscore_dead_lettered_total")).toBe(chunks * poisonPerChunk.raw);
    expect(await metricSum(h.metrics.inference, "streamscore_dead_lettered_total")).toBe(
      chunks * poisonPerChunk.features,
    );
    expect(await metricSum(h.metrics.monitor, "streamscore_dead_lettered_total")).toBe(chunks * poisonPerChunk.scored);
  });
});
