// The replay route's refusals, through fastify's inject(): the scope, the body, the pipeline.
// The replay itself runs on the real stack (test/integration/dlq-replay.test.ts).
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { buildIngestApp, type IngestPipeline } from "../../../services/producer/app.ts";
import { createProducerMetrics } from "../../../services/producer/metrics.ts";
import { createEventValidator } from "../../../services/producer/validation.ts";
import { createKey, type KeyStore, RateLimiter } from "../../../services/shared/auth/api-keys.ts";
import { parseAvroSchema } from "../../../services/shared/kafka/avro-codec.ts";
import type { ReplayReport } from "../../../services/shared/kafka/dead-letter-replay.ts";
import type { ReplayRequest } from "../../../services/shared/kafka/replay-plan.ts";
import { createRegistry } from "../../../services/shared/metrics.ts";
import { getPipeline } from "../../../services/shared/pipelines/index.ts";
import { readSchema } from "../../../services/shared/schemas.ts";

const definition = getPipeline("payments");
const schema = readSchema(definition.schema) as Parameters<typeof createEventValidator>[1];
const type = parseAvroSchema(schema);
const pipeline: IngestPipeline = {
  definition,
  topic: "payments.raw",
  schemaId: 1,
  type,
  validate: createEventValidator(type, schema),
};

function report(request: ReplayRequest): ReplayReport {
  return {
    pipeline: "payments",
    deadLetterTopic: "payments.dlq",
    replayableTopics: ["payments.raw"],
    dryRun: request.dryRun,
    read: 3,
    replayed: 2,
    skipped: { code: 1, since: 0, notReplayable: {}, unknownOrigin: 0, superseded: 0, originalGone: 0 },
    stillFailing: { method: "decode-check", count: 0, byCode: {}, notYetProcessed: 0 },
    dedupeWindowSeconds: 3600,
  };
}

function build(options: { auth?: boolean; replay?: (request: ReplayRequest) => Promise<ReplayReport> } = {}) {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino(
    { level: "info" },
    new Writable({
      write(chunk, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    }),
  );
  const publisher = createKey({ name: "publisher", pipelines: ["payments"], ratePerSecond: 10 });
  const operator = createKey({ name: "operator", pipelines: ["payments"], ratePerSecond: 10, scopes: ["replay"] });
  const elsewhere = createKey({ name: "iris operator", pipelines: ["iris"], ratePerSecond: 10, scopes: ["replay"] });
  const store: KeyStore = { keys: [publisher.entry, operator.entry, elsewhere.entry] };
  const requests: ReplayRequest[] = [];
  const registry = createRegistry("producer");
  const app = buildIngestApp({
    pipelines: new Map([["payments", pipeline]]),
    auth: options.auth === false ? undefined : { store: () => store, limiter: new RateLimiter() },
    sender: { send: async () => undefined, pendingRecords: 0, oldestPendingMs: 0, flush: async () => undefined },
    limits: {
      maxBodyBytes: 10_000,
      maxEvents: 10,
      maxPendingRecords: 100,
      sendTimeoutMs: 1000,
      maxEventLoopDelayMs: 0,
    },
    metrics: createProducerMetrics(registry),
    registry,
    readiness: { notReadyReason: () => undefined },
    logger,
    replay: async (_pipeline, request) => {
      requests.push(request);
      return options.replay ? options.replay(request) : report(request);
    },
  });
  return { app, lines, requests, keys: { publisher, operator, elsewhere } };
}

let current: ReturnType<typeof build> | undefined;
afterEach(async () => {
  await current?.app.close();
  current = undefined;
});

function post(
  built: ReturnType<typeof build>,
  body: unknown,
  key?: string,
  path = "/v1/pipelines/payments/dlq/replay",
) {
  return built.app.inject({
    method: "POST",
    url: path,
    headers: {
      "content-type": "application/json",
      ...(key ? { authorization: `Bearer ${key}` } : {}),
    },
    payload: typeof body === "string" ? body : JSON.stringify(body),
  });
}

describe("POST /v1/pipelines/:pipeline/dlq/replay", () => {
  it("runs the replay for a key with the replay scope and answers its report", async () => {
    current = build();
    const response = await post(current, { code: "SCHEMA_NOT_FOUND", dryRun: true }, current.keys.operator.key);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ dryRun: true, replayed: 2, skipped: { code: 1 } });
    expect(current.requests).toEqual([
      { codes: ["SCHEMA_NOT_FOUND"], since: undefined, dryRun: true, waitSeconds: 30 },
    ]);
  });

  it("refuses a key without the replay scope with 403 naming the scope, logs it, and replays nothing", async () => {
    current = build();
    const response = await post(current, {}, current.keys.publisher.key);
    expect(response.statusCode).toBe(403);
    expect(response.json()).toMatchObject({ error: "FORBIDDEN" });
    expect(response.json().message).toContain("replay scope");
    expect(current.requests).toEqual([]);
    const logged = current.lines.find((l) => l.msg === "dead-letter replay refused");
    expect(logged).toMatchObject({ pipeline: "payments", keyId: current.keys.publisher.entry.id });
    expect(JSON.stringify(current.lines)).not.toContain(current.keys.publisher.key);
  });

  it("refuses a replay key of another pipeline, and requests without a valid key", async () => {
    current = build();
    const other = await post(current, {}, current.keys.elsewhere.key);
    expect(other.statusCode).toBe(403);
    expect(other.json().message).toContain("replay the dead letters of payments");
    expect((await post(current, {})).statusCode).toBe(401);
    expect((await post(current, {}, "ssk_00000000_notakey")).statusCode).toBe(401);
    expect(current.requests).toEqual([]);
  });

  it.each([
    [{ code: "NOPE" }, "code"],
    [{ since: "last week" }, "since"],
    [{ dryRun: "true" }, "dryRun"],
    [{ waitSeconds: -3 }, "waitSeconds"],
    [{ codes: ["SCHEMA_NOT_FOUND"] }, "codes"],
    ["{not json", "(body)"],
    [[1, 2], "(body)"],
  ])("answers 400 naming the field for %j", async (body, field) => {
    current = build();
    const response = await post(current, body, current.keys.operator.key);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ error: "REQUEST_INVALID", field });
    expect(response.json().message).toContain(field === "(body)" ? "body" : field);
    expect(current.requests).toEqual([]);
  });

  it("takes an empty body as the defaults", async () => {
    current = build();
    const response = await current.app.inject({
      method: "POST",
      url: "/v1/pipelines/payments/dlq/replay",
      headers: { authorization: `Bearer ${current.keys.operator.key}` },
    });
    expect(response.statusCode).toBe(200);
    expect(current.requests).toEqual([{ codes: undefined, since: undefined, dryRun: false, waitSeconds: 30 }]);
  });

  it("answers 404 for an unknown pipeline", async () => {
    current = build();
    const response = await post(current, {}, current.keys.operator.key, "/v1/pipelines/nope/dlq/replay");
    expect(response.statusCode).toBe(404);
  });

  it("is open without API keys, as the ingest route is on loopback", async () => {
    current = build({ auth: false });
    expect((await post(current, {})).statusCode).toBe(200);
  });

  it("answers 503 when the replay fails, and 409 while another replay of the pipeline runs", async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    current = build({
      replay: async (request) => {
        if (request.dryRun) throw new Error("broker gone");
        await gate;
        return report(request);
      },
    });
    const key = current.keys.operator.key;
    expect((await post(current, { dryRun: true }, key)).statusCode).toBe(503);
    const slow = post(current, {}, key);
    // The first request is inside the replay once the hook has recorded it.
    while (current.requests.length < 2) await new Promise((resolve) => setImmediate(resolve));
    expect((await post(current, {}, key)).statusCode).toBe(409);
    release();
    expect((await slow).statusCode).toBe(200);
  });
});
