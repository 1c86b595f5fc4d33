// The payments pipeline end to end on the real servers: HTTP ingest → transformer → inference →
// ClickHouse, with poison records in the stream.
import { createSecretKey } from "node:crypto";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadModel } from "../../services/inference/model.ts";
import { type PaymentEventRecord, paymentStream } from "../../services/producer/generator/payments.ts";
import { Partitioners } from "../../services/shared/kafka/client.ts";
import { eosClients } from "../../services/shared/kafka/eos-client.ts";
import { pipelineTopics } from "../../services/shared/pipeline/definition.ts";
import { projectRoot } from "../../services/shared/project.ts";
import { readSchema } from "../../services/shared/schemas.ts";
import { pseudonymize } from "../../services/transformer/personal-data.ts";
import { waitFor } from "../helpers/integration.ts";
import { type PipelineHarness, startPipelineHarness } from "../helpers/pipeline-harness.ts";
import { paymentPoison } from "../helpers/poison.ts";

const eventCount = 50_000;

function events(count: number, seed: number): PaymentEventRecord[] {
  const out: PaymentEventRecord[] = [];
  // Event times run up to now, so the one-hour rolling features see real history.
  const stream = paymentStream({
    seed,
    startTime: Date.now() - (count / 20) * 1000,
    ratePerSecond: 20,
    idPrefix: `e${seed}`,
  });
  for (const { event } of stream) {
    out.push(event);
    if (out.length === count) break;
  }
  return out;
}

async function publishAll(h: PipelineHarness, all: readonly object[], batch = 500, concurrency = 4) {
  let accepted = 0;
  let rejected = 0;
  const batches: object[][] = [];
  for (let i = 0; i < all.length; i += batch) batches.push(all.slice(i, i + batch));
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      for (let b = worker; b < batches.length; b += concurrency) {
        const response = await h.client.publish(h.definition.name, batches[b] as object[]);
        accepted += response.accepted;
        rejected += response.rejected;
      }
    }),
  );
  return { accepted, rejected };
}

async function count(h: PipelineHarness, sql: string): Promise<number> {
  const [row] = await h.clickhouse.query<{ n: string }>(sql);
  return Number(row?.n ?? 0);
}

// Both exactly-once clients the transformer and inference can run on (eos-client.ts).
describe.each(eosClients)("payments pipeline, end to end, exactly-once path on %s", (kafkaClient) => {
  let h: PipelineHarness;

  beforeAll(async () => {
    h = await startPipelineHarness({ base: "payments", kafkaClient });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it(`delivers each of ${eventCount} accepted events to predictions exactly once and dead-letters every poison record`, async () => {
    const good = events(eventCount, 11);
    const invalid = good.slice(0, 100).map((e, i) => ({ ...e, event_id: `invalid-${i}`, amount: "lots" }));
    const irisId = await h.registry.register(`${h.definition.name}-iris-value`, readSchema("iris-event.avsc"));
    const poison = paymentPoison(good[0] as PaymentEventRecord, h.rawSchemaId, irisId);
    const raw = pipelineTopics(h.definition.name).raw;

    const first = await publishAll(h, good.slice(0, eventCount / 2));
    await h.producer.send({ topic: raw, acks: -1, messages: poison.map((p) => p.message) });
    const second = await publishAll(h, good.slice(eventCount / 2));
    const refused = await h.client.publish(h.definition.name, invalid);

    expect(first.accepted + second.accepted).toBe(eventCount);
    expect(first.rejected + second.rejected).toBe(0);
    expect(refused.status).toBe(400);
    expect(refused.rejected).toBe(100);
    expect(refused.results[0]).toMatchObject({
      status: "rejected",
      errors: [{ field: "amount", message: 'must be a number, got "lots"' }],
    });

    const predictions = `${h.database}.predictions`;
    const where = `pipeline = '${h.definition.name}'`;
    await waitFor(
      "every accepted event in ClickHouse",
      async () =>
        (await count(h, `SELECT count() AS n FROM ${predictions} FINAL WHERE ${where}`)) >= eventCount
          ? true
          : undefined,
      240_000,
    );
    await waitFor(
      "every poison record in dead_letters",
      async () =>
        (await count(h, `SELECT count() AS n FROM ${h.database}.dead_letters WHERE ${where}`)) >= poison.length
          ? true
          : undefined,
      60_000,
    );

    // Exactly once, without FINAL: no row was stored twice.
    expect(await count(h, `SELECT count() AS n FROM ${predictions} WHERE ${where}`)).toBe(eventCount);
    const ids = await h.clickhouse.query<{ event_id: string }>(`SELECT event_id FROM ${predictions} WHERE ${where}`);
    expect(new Set(ids.map((r) => r.event_id))).toEqual(new Set(good.map((e) => e.event_id)));
    // Each record keeps the partition its raw key (the card, not its pseudonym) was sent to, so every
    // scored partition holds one raw partition's events in their order.
    const partitionOf = Partitioners.DefaultPartitioner();
    const partitionMetadata = Array.from({ length: h.definition.partitions }, (_, partitionId) => ({
      partitionId,
      leader: 0,
      partitionErrorCode: 0,
      replicas: [0],
      isr: [0],
    }));
    const rawPartition = new Map(
      good.map((e) => [
        e.event_id,
        partitionOf({ topic: raw, partitionMetadata, message: { key: e.card_id, value: null } }),
      ]),
    );
    const placed = await h.clickhouse.query<{ event_id: string; source_partition: number }>(
      `SELECT event_id, source_partition FROM ${predictions} WHERE ${where}`,
    );
    expect(new Set(rawPartition.values()).size).toBe(h.definition.partitions);
    expect(placed.filter((r) => Number(r.source_partition) !== rawPartition.get(r.event_id))).toEqual([]);

    const letters = await h.clickhouse.query<{
      error_code: string;
      key: string;
      original_topic: string;
      error_stage: string;
    }>(
      `SELECT error_code, key, original_topic, error_stage FROM ${h.database}.dead_letters WHERE ${where} ORDER BY key`,
    );
    // Dead letters of the transformer carry the hashed key (the card's pseudonym).
    const hmac = createSecretKey(h.personalDataKey);
    const expected = poison.map((p) => [pseudonymize(hmac, String(p.message.key)), p.code]);
    expected.sort((a, b) => String(a[0]).localeCompare(String(b[0])));
    expect(letters.map((l) => [l.key, l.error_code])).toEqual(expected);
    for (const letter of letters) expect(letter.original_topic).toBe(raw);
  });

  it("stores the scores that onnxruntime gives for the stored features", async () => {
    const sample = events(2000, 12);
    await publishAll(h, sample);
    const ids = sample.map((e) => `'${e.event_id}'`).join(",");
    const table = `${h.database}.predictions`;
    await waitFor(
      "the sample in ClickHouse",
      async () =>
        (await count(h, `SELECT count() AS n FROM ${table} FINAL WHERE event_id IN (${ids})`)) >= sample.length
          ? true
          : undefined,
      120_000,
    );
    const rows = await h.clickhouse.query<{
      feature_values: number[];
      probabilities: number[];
      label: string;
      model_version: number;
    }>(`SELECT feature_values, probabilities, label, model_version FROM ${table} FINAL WHERE event_id IN (${ids})`);
    const model = await loadModel(join(projectRoot, h.definition.model.directory, String(rows[0]?.model_version)));
    const width = model.manifest.input.width;
    const matrix = new Float32Array(rows.length * width);
    rows.forEach((row, r) => {
      matrix.set(row.feature_values, r * width);
    });
    const direct = await model.score(matrix, rows.length);
    rows.forEach((row, r) => {
      expect(row.label).toBe(direct.labels[r]);
      row.probabilities.forEach((p, c) => {
        expect(p).toBeCloseTo(direct.probabilities[r * 2 + c] as number, 12);
      });
    });
    await model.release();
  });

  it("dead-letters poison on the scored and labels topics instead of stopping the monitor", async () => {
    const topics = pipelineTopics(h.definition.name);
    await h.producer.send({
      topic: topics.scored,
      acks: -1,
      messages: [{ key: "bad-scored", value: Buffer.from("garbage") }],
    });
    await h.producer.send({
      topic: topics.labels,
      acks: -1,
      messages: [{ key: "bad-label", value: Buffer.from([0, 0, 0, 0, 1]) }],
    });
    const letters = await waitFor(
      "both in dead_letters",
      async () => {
        const rows = await h.clickhouse.query<{ key: string; error_stage: string; original_topic: string }>(
          `SELECT key, error_stage, original_topic FROM ${h.database}.dead_letters WHERE pipeline = '${h.definition.name}' AND key IN ('bad-scored', 'bad-label') ORDER BY key`,
        );
        return rows.length >= 2 ? rows : undefined;
      },
      60_000,
    );
    expect(letters).toEqual([
      { key: "bad-label", error_stage: "labels", original_topic: topics.labels },
      { key: "bad-scored", error_stage: "sink", original_topic: topics.scored },
    ]);
    // The sink goes on: a fresh event still reaches predictions.
    const [event] = events(1, 13);
    await h.client.publish(h.definition.name, [event as PaymentEventRecord]);
    await waitFor(
      "the next event stored",
      async () =>
        (await count(h, `SELECT count() AS n FROM ${h.database}.predictions WHERE event_id = '${event?.event_id}'`)) ===
        1
          ? true
          : undefined,
      60_000,
    );
  });
});
