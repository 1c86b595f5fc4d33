// The raw schema evolves while the pipeline runs. Every subject is BACKWARD; a compatible v2 (a
// new optional field) is registered mid-run and records written with v1 and v2 are processed side
// by side, each decoded with its writer's schema; an incompatible v3 is refused at registration,
// the service's set-up fails with a clear error and nothing reaches Kafka.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { paymentEvents } from "../../services/producer/generator/payments.ts";
import { parseAvroSchema } from "../../services/shared/kafka/avro-codec.ts";
import { encodeWireFormat } from "../../services/shared/kafka/wire-format.ts";
import { pipelineTopics } from "../../services/shared/pipeline/definition.ts";
import { setUpPipeline } from "../../services/shared/pipeline/setup.ts";
import { readSchema } from "../../services/shared/schemas.ts";
import { waitFor } from "../helpers/integration.ts";
import { type PipelineHarness, startPipelineHarness } from "../helpers/pipeline-harness.ts";

// Relative to schemas/, where pipeline definitions name their schema files.
const v2File = "../test/fixtures/schemas/payments-event-v2.avsc";
const v3File = "../test/fixtures/schemas/payments-event-v3-incompatible.avsc";

describe("raw schema evolution mid-run", () => {
  let h: PipelineHarness;

  beforeAll(async () => {
    h = await startPipelineHarness({ base: "payments" });
  });
  afterAll(async () => {
    await h?.stop();
  });

  const count = async (sql: string) => Number((await h.clickhouse.query<{ n: string }>(sql))[0]?.n ?? 0);
  const recordsOnRaw = async () => {
    const admin = h.kafka.admin();
    await admin.connect();
    try {
      const offsets = await admin.fetchTopicOffsets(pipelineTopics(h.definition.name).raw);
      return offsets.reduce((sum, o) => sum + Number(o.high) - Number(o.low), 0);
    } finally {
      await admin.disconnect();
    }
  };

  it("sets compatibility BACKWARD on every subject the pipeline registers", async () => {
    const topics = pipelineTopics(h.definition.name);
    for (const topic of [topics.raw, topics.features, topics.scored, topics.labels]) {
      const response = await fetch(`${h.config.SCHEMA_REGISTRY_URL}/config/${topic}-value`);
      expect(response.status).toBe(200);
      expect(((await response.json()) as { compatibilityLevel: string }).compatibilityLevel).toBe("BACKWARD");
    }
  });

  it("processes v1 and v2 records side by side once a compatible v2 is registered mid-run", async () => {
    const name = h.definition.name;
    const raw = pipelineTopics(name).raw;
    const events = paymentEvents(1500, 71, Date.now() - 3_600_000);
    const where = `pipeline = '${name}'`;
    const stored = () => count(`SELECT count() AS n FROM ${h.database}.predictions WHERE ${where}`);

    const first = await h.client.publish(name, events.slice(0, 500));
    expect(first.accepted).toBe(500);
    await waitFor("the v1 records stored", async () => ((await stored()) >= 500 ? true : undefined), 120_000);

    // What a producer with the new schema does at start-up: register it (same code path).
    const v2 = await setUpPipeline(h.kafka, h.registry, { ...h.definition, schema: v2File });
    expect(v2.raw).not.toBe(h.rawSchemaId);
    expect(await h.registry.latestId(`${raw}-value`)).toBe(v2.raw);
    const v2Type = parseAvroSchema(readSchema(v2File));
    await h.producer.send({
      topic: raw,
      acks: -1,
      messages: events.slice(500, 1000).map((e, i) => ({
        key: e.card_id,
        value: encodeWireFormat(v2.raw, v2Type.toBuffer({ ...e, loyalty_tier: i % 2 === 0 ? "gold" : null })),
      })),
    });
    // v1 producers go on unchanged.
    const third = await h.client.publish(name, events.slice(1000));
    expect(third.accepted).toBe(500);

    await waitFor("all 1,500 records stored", async () => ((await stored()) >= 1500 ? true : undefined), 120_000);
    expect(await stored()).toBe(1500);
    expect(await count(`SELECT uniqExact(event_id) AS n FROM ${h.database}.predictions WHERE ${where}`)).toBe(1500);
    expect(await count(`SELECT count() AS n FROM ${h.database}.dead_letters WHERE ${where}`)).toBe(0);
  });

  it("refuses an incompatible v3 at registration, and nothing reaches Kafka", async () => {
    const raw = pipelineTopics(h.definition.name).raw;
    const latest = await h.registry.latestId(`${raw}-value`);
    const before = await recordsOnRaw();
    const setUp = setUpPipeline(h.kafka, h.registry, { ...h.definition, schema: v3File });
    await expect(setUp).rejects.toMatchObject({
      code: "SCHEMA_INCOMPATIBLE",
      retriable: false,
      message: expect.stringMatching(new RegExp(`refused the schema for ${raw}-value as incompatible`)),
    });
    expect(await h.registry.latestId(`${raw}-value`)).toBe(latest);
    expect(await recordsOnRaw()).toBe(before);
  });
});
