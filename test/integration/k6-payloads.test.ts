// What the k6 scripts send is what the live ingest API accepts: batches from load-tests/k6/payloads.js,
// as a JSON array and as NDJSON, for payments and for iris, answered 200 with every event accepted
// and acknowledged by a real broker.
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildBatch, contentTypes, encodeBody } from "../../load-tests/k6/payloads.js";
import { buildIngestApp, type IngestPipeline } from "../../services/producer/app.ts";
import { createProducerMetrics } from "../../services/producer/metrics.ts";
import { createEventValidator } from "../../services/producer/validation.ts";
import { parseAvroSchema } from "../../services/shared/kafka/avro-codec.ts";
import { createBatchingSender } from "../../services/shared/kafka/batching-sender.ts";
import { createIdempotentProducer, createKafka, type Producer } from "../../services/shared/kafka/client.ts";
import { createSchemaRegistry } from "../../services/shared/kafka/registry.ts";
import { ensureTopics } from "../../services/shared/kafka/topics.ts";
import { createLogger } from "../../services/shared/logger.ts";
import { createRegistry } from "../../services/shared/metrics.ts";
import type { PipelineDefinition } from "../../services/shared/pipeline/definition.ts";
import { iris } from "../../services/shared/pipelines/iris.ts";
import { payments } from "../../services/shared/pipelines/payments.ts";
import { readSchema } from "../../services/shared/schemas.ts";
import { testConnectionConfig, uniqueName } from "../helpers/integration.ts";

const config = testConnectionConfig();
const logger = createLogger({ name: "test", level: "silent" });
const kafka = createKafka(config, logger, "k6-payloads-test");
const definitions: PipelineDefinition[] = [payments, iris];
const topics = new Map(definitions.map((d) => [d.name, uniqueName(`k6.${d.name}.raw`)]));

describe("k6 payloads on the live ingest API", () => {
  let producer: Producer;
  let api: FastifyInstance;

  beforeAll(async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      await ensureTopics(
        admin,
        [...topics.values()].map((topic) => ({ topic, partitions: 3 })),
      );
    } finally {
      await admin.disconnect();
    }
    const registry = createSchemaRegistry(config);
    const pipelines = new Map<string, IngestPipeline>();
    for (const definition of definitions) {
      const topic = topics.get(definition.name) ?? "";
      const schema = readSchema(definition.schema) as Parameters<typeof createEventValidator>[1];
      const type = parseAvroSchema(schema);
      pipelines.set(definition.name, {
        definition,
        topic,
        schemaId: await registry.register(`${topic}-value`, schema),
        type,
        validate: createEventValidator(type, schema),
      });
    }
    producer = createIdempotentProducer(kafka);
    await producer.connect();
    const metrics = createRegistry("test");
    api = buildIngestApp({
      pipelines,
      sender: createBatchingSender(producer, { lingerMs: 2, maxBatchRecords: 1000, timeoutMs: 5000 }),
      // The production defaults, as the scripts meet them.
      limits: { maxBodyBytes: 1_048_576, maxEvents: 5000, maxPendingRecords: 50_000, sendTimeoutMs: 10_000 },
      metrics: createProducerMetrics(metrics),
      registry: metrics,
      readiness: { notReadyReason: () => undefined },
      logger,
    });
  });
  afterAll(async () => {
    await api?.close();
    await producer?.disconnect();
  });

  it.each([
    ["payments", "json"],
    ["payments", "ndjson"],
    ["iris", "json"],
    ["iris", "ndjson"],
  ] as const)("accepts a %s batch as %s, every event", async (pipeline, format) => {
    const events = buildBatch({
      pipeline,
      seed: 1234,
      vu: 1,
      iteration: 0,
      size: 200,
      idPrefix: uniqueName("k6"),
      timeFormat: "mixed",
    });
    const response = await api.inject({
      method: "POST",
      url: `/v1/pipelines/${pipeline}/events`,
      payload: encodeBody(events, format),
      headers: { "content-type": contentTypes[format] },
    });
    expect(response.statusCode, response.body).toBe(200);
    const body = response.json() as { accepted: number; rejected: number; results: Array<{ eventId: string }> };
    expect(body.accepted).toBe(events.length);
    expect(body.rejected).toBe(0);
    expect(body.results.map((r) => r.eventId)).toEqual(events.map((e) => e.event_id));
  });

  it("accepts a single event as a JSON object, as the single-event scripts send it", async () => {
    const [event] = buildBatch({ size: 1, idPrefix: uniqueName("k6") });
    const response = await api.inject({
      method: "POST",
      url: "/v1/pipelines/payments/events",
      payload: JSON.stringify(event),
      headers: { "content-type": contentTypes.json },
    });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toMatchObject({ accepted: 1, rejected: 0 });
  });
});
