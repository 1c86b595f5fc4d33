// The ingest API's answers on the real broker: per-event results, and the status codes for bad
// bodies, oversized requests, wrong content types, back-pressure and an unreachable Kafka.

import { mkdtempSync } from "node:fs";
import { type AddressInfo, connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import type { FastifyInstance } from "fastify";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildIngestApp, type IngestPipeline } from "../../services/producer/app.ts";
import { paymentEvents } from "../../services/producer/generator/payments.ts";
import { createProducerMetrics } from "../../services/producer/metrics.ts";
import { createEventValidator } from "../../services/producer/validation.ts";
import { createKey, RateLimiter } from "../../services/shared/auth/api-keys.ts";
import { watchKeyStore, writeKeyStore } from "../../services/shared/auth/key-store-file.ts";
import { createAvroCodec, parseAvroSchema } from "../../services/shared/kafka/avro-codec.ts";
import { createBatchingSender } from "../../services/shared/kafka/batching-sender.ts";
import { createIdempotentProducer, createKafka, type Producer } from "../../services/shared/kafka/client.ts";
import { createSchemaRegistry } from "../../services/shared/kafka/registry.ts";
import { ensureTopics } from "../../services/shared/kafka/topics.ts";
import { createLogger } from "../../services/shared/logger.ts";
import { createRegistry } from "../../services/shared/metrics.ts";
import { payments } from "../../services/shared/pipelines/payments.ts";
import { readSchema } from "../../services/shared/schemas.ts";
import { testConnectionConfig, uniqueName, waitFor } from "../helpers/integration.ts";

const config = testConnectionConfig();
const logger = createLogger({ name: "test", level: "silent" });
const kafka = createKafka(config, logger, "ingest-test");
const schema = readSchema("payments-event.avsc") as Parameters<typeof createEventValidator>[1];
const type = parseAvroSchema(schema);
const topic = uniqueName("ingest.raw");

function app(
  producer: Producer,
  limits: Partial<{
    maxPendingRecords: number;
    sendTimeoutMs: number;
    maxEventLoopDelayMs: number;
    pressureSampleMs: number;
  }> = {},
  schemaId = 1,
) {
  const registry = createRegistry("test");
  const pipeline: IngestPipeline = {
    definition: payments,
    topic,
    schemaId,
    type,
    validate: createEventValidator(type, schema),
  };
  return buildIngestApp({
    pipelines: new Map([["payments", pipeline]]),
    sender: createBatchingSender(producer, { lingerMs: 2, maxBatchRecords: 1000, timeoutMs: 2000 }),
    limits: { maxBodyBytes: 10_000, maxEvents: 20, maxPendingRecords: 1000, sendTimeoutMs: 3000, ...limits },
    metrics: createProducerMetrics(registry),
    registry,
    readiness: { notReadyReason: () => undefined },
    logger,
  });
}

describe("ingest API on a real broker", () => {
  let producer: Producer;
  let api: FastifyInstance;
  let schemaId: number;

  beforeAll(async () => {
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, [{ topic, partitions: 3 }]);
    await admin.disconnect();
    schemaId = await createSchemaRegistry(config).register(`${topic}-value`, schema);
    producer = createIdempotentProducer(kafka);
    await producer.connect();
    api = app(producer, {}, schemaId);
  });
  afterAll(async () => {
    await api?.close();
    await producer?.disconnect();
  });

  const post = (payload: string, contentType = "application/json", target = api) =>
    target.inject({
      method: "POST",
      url: "/v1/pipelines/payments/events",
      payload,
      headers: { "content-type": contentType },
    });

  it("answers per event, and what it accepted is in Kafka, decodable, keyed by card", async () => {
    const [a, b] = paymentEvents(2, 99);
    const response = await post(JSON.stringify([a, { ...b, amount: "NaN" }]));
    expect(response.statusCode).toBe(207);
    expect(response.json()).toEqual({
      accepted: 1,
      rejected: 1,
      results: [
        { index: 0, status: "accepted", eventId: a?.event_id },
        { index: 1, status: "rejected", errors: [{ field: "amount", message: 'must be a number, got "NaN"' }] },
      ],
    });
    const codec = createAvroCodec(createSchemaRegistry(config).resolve);
    const consumer = kafka.consumer({ groupId: uniqueName("ingest-check") });
    const seen: unknown[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        await codec.prepare(batch.messages.map((m) => m.value));
        for (const m of batch.messages) seen.push({ key: m.key?.toString(), value: codec.decode(m.value).record });
      },
    });
    await waitFor("the accepted event", () => (seen.length >= 1 ? true : undefined), 30_000);
    await consumer.disconnect();
    expect(seen).toEqual([{ key: a?.card_id, value: { ...a } }]);
  });

  it("takes NDJSON", async () => {
    const events = paymentEvents(3, 98);
    const response = await post(events.map((e) => JSON.stringify(e)).join("\n"), "application/x-ndjson");
    expect(response.statusCode).toBe(200);
    expect(response.json().accepted).toBe(3);
  });

  it.each([
    ["malformed JSON", "{oops", "application/json", 400, /malformed JSON/],
    ["an empty array", "[]", "application/json", 400, /no events/],
    [
      "more events than allowed",
      JSON.stringify(paymentEvents(21, 1)),
      "application/json",
      413,
      /21 events in one request; the limit is 20/,
    ],
    [
      "a body over the size limit",
      JSON.stringify({ pad: "x".repeat(20_000) }),
      "application/json",
      413,
      /larger than 10000 bytes/,
    ],
    ["a wrong content type", "event_id=1", "application/x-www-form-urlencoded", 415, /Content-Type must be/],
  ])("answers %s with %i naming the problem", async (_, payload, contentType, status, message) => {
    const response = await post(payload, contentType);
    expect(response.statusCode).toBe(status);
    expect(response.json().message).toMatch(message);
  });

  it("takes gzip bodies, stops a gzip bomb with 413 and refuses invalid UTF-8 with 400", async () => {
    const send = (payload: Buffer, headers: Record<string, string>) =>
      api.inject({
        method: "POST",
        url: "/v1/pipelines/payments/events",
        payload,
        headers: { "content-type": "application/json", ...headers },
      });
    const events = paymentEvents(2, 97);
    const zipped = await send(gzipSync(Buffer.from(JSON.stringify(events))), { "content-encoding": "gzip" });
    expect(zipped.statusCode).toBe(200);
    expect(zipped.json().accepted).toBe(2);
    const bomb = await send(gzipSync(Buffer.alloc(20_000_000, 32)), { "content-encoding": "gzip" });
    expect(bomb.statusCode).toBe(413);
    const latin1 = await send(Buffer.from('[{"event_id":"caf\xe9"}]', "latin1"), {});
    expect(latin1.statusCode).toBe(400);
    expect(latin1.json().message).toBe("the body is not valid UTF-8");
  });

  it("answers an unknown pipeline with 404", async () => {
    const response = await api.inject({
      method: "POST",
      url: "/v1/pipelines/nope/events",
      payload: "{}",
      headers: { "content-type": "application/json" },
    });
    expect(response.statusCode).toBe(404);
  });

  it("sheds load with 429 and Retry-After when too many events wait for Kafka", async () => {
    const tight = app(producer, { maxPendingRecords: 1 }, schemaId);
    const response = await post(JSON.stringify(paymentEvents(2, 3)), "application/json", tight);
    expect(response.statusCode).toBe(429);
    expect(response.headers["retry-after"]).toBe("1");
    await tight.close();
  });

  /** The API with a stand-in sender that counts its sends and reports a fixed queue. */
  function appCountingSends(queue: { pendingRecords: number; oldestPendingMs: number }) {
    const registry = createRegistry("test");
    const counted = { sends: 0, registry };
    const built = buildIngestApp({
      pipelines: new Map([
        ["payments", { definition: payments, topic, schemaId, type, validate: createEventValidator(type, schema) }],
      ]),
      sender: {
        send: async () => {
          counted.sends += 1;
        },
        ...queue,
        flush: async () => undefined,
      },
      limits: {
        maxBodyBytes: 10_000,
        maxEvents: 20,
        maxPendingRecords: 1000,
        sendTimeoutMs: 3000,
        maxQueueDelayMs: 1000,
      },
      metrics: createProducerMetrics(registry),
      registry,
      readiness: { notReadyReason: () => undefined },
      logger,
    });
    return { app: built, counted };
  }

  it("sheds load with 429 before parsing the body while the oldest event has waited too long for Kafka", async () => {
    const { app: stalled, counted } = appCountingSends({ pendingRecords: 1, oldestPendingMs: 1500 });
    // Not even valid JSON: the refusal comes before the body is parsed.
    const response = await post("{not json", "application/json", stalled);
    expect(response.statusCode).toBe(429);
    expect(response.headers["retry-after"]).toBe("1");
    expect(response.json().message).toMatch(/wait 1500 ms for Kafka/);
    expect(counted.sends).toBe(0);
    await stalled.close();
  });

  it("writes nothing for a client that gave up while its request waited, and counts it as 499", async () => {
    const { app: waiting, counted } = appCountingSends({ pendingRecords: 0, oldestPendingMs: 0 });
    // The request waits (as behind a busy event loop) until its client has closed the connection.
    let arrived: () => void = () => undefined;
    const inHandlerQueue = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    waiting.addHook("preHandler", async (request) => {
      const socket = request.raw.socket;
      arrived();
      if (!socket.destroyed) await new Promise((resolve) => socket.once("close", resolve));
    });
    await waiting.listen({ host: "127.0.0.1", port: 0 });
    const { port } = waiting.server.address() as AddressInfo;
    const body = JSON.stringify(paymentEvents(2, 9));
    const client = connect(port, "127.0.0.1");
    await new Promise((resolve) => client.once("connect", resolve));
    client.write(
      `POST /v1/pipelines/payments/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    const answer: Buffer[] = [];
    client.on("data", (chunk: Buffer) => answer.push(chunk));
    await inHandlerQueue;
    client.destroy();
    await waitFor("the refusal counted", async () =>
      (await counted.registry.metrics()).includes('status="499"') ? true : undefined,
    );
    expect(counted.sends).toBe(0);
    expect(answer).toEqual([]);
    await waiting.close();
  });

  it("refuses events with 503 and Retry-After while its event loop lags, and keeps answering /metrics", async () => {
    const pressed = app(producer, { maxEventLoopDelayMs: 20, pressureSampleMs: 200 }, schemaId);
    await pressed.ready();
    await new Promise((resolve) => setTimeout(resolve, 250));
    // A second of synchronous work. The delay histogram records it on its next tick, which libuv may run just
    // after the pressure sampler; so the sample that sees it can be the following one, up to 200 ms later.
    const until = Date.now() + 1000;
    while (Date.now() < until) {
      // busy, as a process short of CPU is
    }
    const [event] = paymentEvents(1, 5);
    const refused = await waitFor(
      "the event refused while the loop lags",
      async () => {
        const response = await post(JSON.stringify(event), "application/json", pressed);
        return response.statusCode === 503 ? response : undefined;
      },
      1000,
    );
    const metrics = await pressed.inject({ method: "GET", url: "/metrics" });
    expect(refused.statusCode).toBe(503);
    expect(refused.headers["retry-after"]).toBe("1");
    expect(refused.json()).toMatchObject({ error: "OVERLOADED" });
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).toMatch(/status="503"/);
    // Once the loop is idle again (a busy test machine may take a few samples) the same event goes through.
    const accepted = await waitFor(
      "the event accepted once the pressure is gone",
      async () => {
        const response = await post(JSON.stringify(event), "application/json", pressed);
        return response.statusCode === 503 ? undefined : response;
      },
      10_000,
    );
    expect(accepted.statusCode).toBe(200);
    await pressed.close();
  });

  it("answers 503 with Retry-After, never 2xx, when Kafka does not acknowledge", async () => {
    const unreachable = createIdempotentProducer(
      createKafka({ ...config, KAFKA_BROKERS: ["127.0.0.1:1"] }, logger, "down"),
    );
    const down = app(unreachable, { sendTimeoutMs: 1500 }, schemaId);
    const response = await post(JSON.stringify(paymentEvents(1, 4)), "application/json", down);
    expect(response.statusCode).toBe(503);
    expect(response.headers["retry-after"]).toBe("5");
    expect(response.json().message).toMatch(/may or may not have been written/);
    await down.close();
  });

  describe("ingest API keys", () => {
    let producer: Producer;
    let schemaId: number;
    const dir = mkdtempSync(join(tmpdir(), "keys-"));
    const file = join(dir, "keys.json");
    const writer = createKey({ name: "payments-writer", pipelines: ["payments"], ratePerSecond: 1000 });
    const irisOnly = createKey({ name: "iris-writer", pipelines: ["iris"], ratePerSecond: 1000 });
    const slow = createKey({ name: "slow", pipelines: ["*"], ratePerSecond: 2 });
    const logLines: string[] = [];
    let secured: FastifyInstance;

    beforeAll(async () => {
      writeKeyStore(file, { keys: [writer.entry, irisOnly.entry, slow.entry] });
      schemaId = await createSchemaRegistry(config).register(`${topic}-value`, schema);
      producer = createIdempotentProducer(kafka);
      await producer.connect();
      const registry = createRegistry("test");
      const capture = pino({ level: "info" }, { write: (line: string) => logLines.push(line) });
      secured = buildIngestApp({
        pipelines: new Map([
          ["payments", { definition: payments, topic, schemaId, type, validate: createEventValidator(type, schema) }],
        ]),
        auth: { store: watchKeyStore(file, () => {}), limiter: new RateLimiter() },
        sender: createBatchingSender(producer, { lingerMs: 2, maxBatchRecords: 1000, timeoutMs: 2000 }),
        limits: { maxBodyBytes: 100_000, maxEvents: 20, maxPendingRecords: 1000, sendTimeoutMs: 3000 },
        metrics: createProducerMetrics(registry),
        registry,
        readiness: { notReadyReason: () => undefined },
        logger: capture,
      });
    });
    afterAll(async () => {
      await secured?.close();
      await producer?.disconnect();
    });

    const post = (
      headers: Record<string, string>,
      url = "/v1/pipelines/payments/events",
      events = paymentEvents(1, 55),
    ) =>
      secured.inject({
        method: "POST",
        url,
        payload: JSON.stringify(events),
        headers: { "content-type": "application/json", ...headers },
      });

    it("denies, then grants, then denies again once the key is revoked", async () => {
      expect((await post({})).statusCode).toBe(401);
      expect((await post({ authorization: `Bearer ${writer.key.slice(0, -2)}xx` })).statusCode).toBe(401);
      expect((await post({}, `/v1/pipelines/payments/events?api_key=${writer.key}`)).statusCode).toBe(401);
      expect((await post({ "x-api-key": irisOnly.key })).statusCode).toBe(403);

      expect((await post({ authorization: `Bearer ${writer.key}` })).statusCode).toBe(200);
      expect((await post({ "x-api-key": writer.key })).statusCode).toBe(200);

      writeKeyStore(file, { keys: [{ ...writer.entry, revoked: true }, irisOnly.entry, slow.entry] });
      await waitFor(
        "the revocation to take effect",
        async () => ((await post({ authorization: `Bearer ${writer.key}` })).statusCode === 401 ? true : undefined),
        5000,
      );
    });

    it("limits each key to its rate with 429 and Retry-After", async () => {
      const first = await post({ authorization: `Bearer ${slow.key}` }, undefined, paymentEvents(2, 56));
      expect(first.statusCode).toBe(200);
      const second = await post({ authorization: `Bearer ${slow.key}` }, undefined, paymentEvents(2, 57));
      expect(second.statusCode).toBe(429);
      expect(Number(second.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    });

    it("logs refusals without the key", () => {
      const refusals = logLines.filter((line) => line.includes("refused"));
      expect(refusals.length).toBeGreaterThan(3);
      for (const key of [writer.key, irisOnly.key, slow.key]) {
        const secret = key.slice("ssk_12345678_".length);
        expect(logLines.filter((line) => line.includes(secret))).toEqual([]);
      }
    });
  });
});
