// The ingest API's bad-input catalogue: each case answered with its stated status, naming the
// problem, and none reaching Kafka (the raw topic's offsets are checked after every case). Slow
// and stalled uploads are closed within the request timeout; a gzip bomb costs no memory spike.

import type { AddressInfo } from "node:net";
import { connect, type Socket } from "node:net";
import { gzipSync } from "node:zlib";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildIngestApp } from "../../services/producer/app.ts";
import { paymentEvents } from "../../services/producer/generator/payments.ts";
import { createProducerMetrics } from "../../services/producer/metrics.ts";
import { createEventValidator } from "../../services/producer/validation.ts";
import { parseAvroSchema } from "../../services/shared/kafka/avro-codec.ts";
import { createBatchingSender } from "../../services/shared/kafka/batching-sender.ts";
import {
  type Admin,
  createIdempotentProducer,
  createKafka,
  type Producer,
} from "../../services/shared/kafka/client.ts";
import { createSchemaRegistry } from "../../services/shared/kafka/registry.ts";
import { ensureTopics } from "../../services/shared/kafka/topics.ts";
import { createLogger } from "../../services/shared/logger.ts";
import { createRegistry } from "../../services/shared/metrics.ts";
import { payments } from "../../services/shared/pipelines/payments.ts";
import { readSchema } from "../../services/shared/schemas.ts";
import { testConnectionConfig, uniqueName, waitFor } from "../helpers/integration.ts";

const maxBodyBytes = 1_048_576;
const maxEvents = 50;
const requestTimeoutMs = 1000;
/** A trickled body is cut at the first check (once a second) after the timeout; plus slack. */
const closedWithinMs = requestTimeoutMs + 1000 + 1500;
/** How much the process's peak RSS may grow while a 900 MB gzip bomb is refused. */
const bombRssBoundBytes = 64 * 1024 * 1024;

const config = testConnectionConfig();
const logger = createLogger({ name: "test", level: "silent" });
const kafka = createKafka(config, logger, "bad-input-http");
const schema = readSchema("payments-event.avsc") as Parameters<typeof createEventValidator>[1];
const type = parseAvroSchema(schema);
const topic = uniqueName("bad-input.raw");
const [good] = paymentEvents(1, 501);
const event = JSON.stringify(good);

interface Row {
  what: string;
  payload: string | Buffer;
  headers?: Record<string, string>;
  status: number;
  /** Must match the answer's message, or a rejected event's "field message". */
  names: RegExp;
}

const json = { "content-type": "application/json" };
const withField = (field: string, value: string) => event.replace(/}$/, `,"${field}":${value}}`);
const replaced = (field: string, value: string) =>
  event.replace(new RegExp(`"${field}":("[^"]*"|[^,}]*)`), `"${field}":${value}`);

const catalogue: Row[] = [
  {
    what: "a body over the size limit",
    payload: `[${event},"${"x".repeat(maxBodyBytes)}"]`,
    status: 413,
    names: /larger than 1048576 bytes/,
  },
  { what: "an empty body", payload: "", status: 400, names: /malformed JSON/ },
  { what: "malformed JSON", payload: event.slice(0, -1), status: 400, names: /malformed JSON/ },
  { what: "a NaN literal", payload: replaced("amount", "NaN"), status: 400, names: /malformed JSON/ },
  { what: "an Infinity literal", payload: replaced("amount", "Infinity"), status: 400, names: /malformed JSON/ },
  {
    what: "1e400 (parses to Infinity)",
    payload: replaced("amount", "1e400"),
    status: 400,
    names: /amount must be a finite number/,
  },
  {
    what: "a string for a number",
    payload: replaced("amount", '"12.5"'),
    status: 400,
    names: /amount must be a number, got "12.5"/,
  },
  {
    what: "a string for a boolean",
    payload: replaced("card_present", '"yes"'),
    status: 400,
    names: /card_present must be true or false/,
  },
  {
    what: "a number for a string",
    payload: replaced("card_id", "7"),
    status: 400,
    names: /card_id must be a string, got 7/,
  },
  {
    what: "an unparseable timestamp",
    payload: replaced("event_time", '"soon"'),
    status: 400,
    names: /event_time must be epoch milliseconds or an ISO-8601 time/,
  },
  {
    what: "a missing required field",
    payload: event.replace(/"merchant_id":"[^"]*",/, ""),
    status: 400,
    names: /merchant_id is required/,
  },
  {
    what: "an unknown field",
    payload: withField("colour", '"red"'),
    status: 400,
    names: /colour is not a field of this pipeline's schema/,
  },
  {
    what: "a duplicate field",
    payload: withField("amount", "1000000"),
    status: 400,
    names: /field \$\.amount appears more than once/,
  },
  {
    what: "a duplicate field written with an escape",
    payload: withField("\\u0061mount", "1"),
    status: 400,
    names: /field \$\.amount appears more than once/,
  },
  {
    what: "deep nesting",
    payload: `[${"[".repeat(5000)}${"]".repeat(5000)}]`,
    status: 400,
    names: /nesting deeper than 8 levels at \$\[0\]/,
  },
  {
    what: "a nested object for a field",
    payload: replaced("merchant_id", '{"a":{"b":1}}'),
    status: 400,
    names: /merchant_id must be a string, got an object/,
  },
  {
    what: "a huge array of events",
    payload: `[${Array(maxEvents + 1)
      .fill(event)
      .join(",")}]`,
    status: 413,
    names: /51 events in one request; the limit is 50/,
  },
  {
    what: "a huge array in a field",
    payload: replaced("merchant_id", `[${Array(50_000).fill(1).join(",")}]`),
    status: 400,
    names: /merchant_id must be a string, got an array/,
  },
  {
    what: "an event that is not an object",
    payload: "[1]",
    status: 400,
    names: /\(event\) must be a JSON object, got 1/,
  },
  {
    what: "invalid UTF-8",
    payload: Buffer.concat([Buffer.from(event.slice(0, 20)), Buffer.from([0xc3, 0x28]), Buffer.from(event.slice(20))]),
    status: 400,
    names: /not valid UTF-8/,
  },
  {
    what: "NDJSON with a duplicate field on line 2",
    payload: `${event}\n${withField("amount", "1")}`,
    headers: { "content-type": "application/x-ndjson" },
    status: 400,
    names: /line 2: field \$\.amount appears more than once/,
  },
  {
    what: "a form content type",
    payload: "event_id=1",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    status: 415,
    names: /Content-Type must be/,
  },
  {
    what: "text/plain",
    payload: event,
    headers: { "content-type": "text/plain" },
    status: 415,
    names: /Content-Type must be/,
  },
  {
    what: "an unsupported Content-Encoding",
    payload: event,
    headers: { ...json, "content-encoding": "br" },
    status: 415,
    names: /Content-Encoding br is not supported/,
  },
  {
    what: "a body that claims gzip but is not",
    payload: event,
    headers: { ...json, "content-encoding": "gzip" },
    status: 400,
    names: /not valid gzip/,
  },
];

async function recordsOnTopic(admin: Admin): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.reduce((sum, o) => sum + Number(o.high) - Number(o.low), 0);
}

/** Resolves with the time the server closed the socket, and what it answered, if anything. */
function closing(socket: Socket): Promise<{ at: number; answer: string }> {
  let answer = "";
  socket.on("data", (chunk: Buffer) => {
    answer += chunk.toString();
  });
  socket.on("error", () => undefined);
  return new Promise((resolve) => socket.on("close", () => resolve({ at: performance.now(), answer })));
}

describe("bad input to the ingest API", () => {
  let producer: Producer;
  let admin: Admin;
  let api: FastifyInstance;
  let port: number;

  beforeAll(async () => {
    admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, [{ topic, partitions: 3 }]);
    const schemaId = await createSchemaRegistry(config).register(`${topic}-value`, schema);
    producer = createIdempotentProducer(kafka);
    await producer.connect();
    const registry = createRegistry("test");
    api = buildIngestApp({
      pipelines: new Map([
        ["payments", { definition: payments, topic, schemaId, type, validate: createEventValidator(type, schema) }],
      ]),
      sender: createBatchingSender(producer, { lingerMs: 2, maxBatchRecords: 1000, timeoutMs: 5000 }),
      limits: { maxBodyBytes, maxEvents, maxPendingRecords: 1000, sendTimeoutMs: 5000, requestTimeoutMs },
      metrics: createProducerMetrics(registry),
      registry,
      readiness: { notReadyReason: () => undefined },
      logger,
    });
    await api.listen({ host: "127.0.0.1", port: 0 });
    port = (api.server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await api?.close();
    await producer?.disconnect();
    await admin?.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin?.disconnect();
  });

  const post = (payload: string | Buffer, headers: Record<string, string> = json) =>
    api.inject({ method: "POST", url: "/v1/pipelines/payments/events", payload, headers });

  it.each(catalogue.map((row) => [row.what, row] as const))(
    "answers %s with its status, naming the problem, writing nothing",
    async (_, row) => {
      const before = await recordsOnTopic(admin);
      const response = await post(row.payload, row.headers);
      expect(response.statusCode).toBe(row.status);
      const body = response.json() as {
        message?: string;
        results?: Array<{ errors?: Array<{ field: string; message: string }> }>;
      };
      const named =
        body.message ??
        (body.results ?? []).flatMap((r) => (r.errors ?? []).map((e) => `${e.field} ${e.message}`)).join("; ");
      expect(named).toMatch(row.names);
      expect(await recordsOnTopic(admin)).toBe(before);
    },
  );

  it("writes a good event (the check above sees records when there are any)", async () => {
    const before = await recordsOnTopic(admin);
    const response = await post(event);
    expect(response.statusCode).toBe(200);
    expect(await recordsOnTopic(admin)).toBe(before + 1);
  });

  it(`refuses a 900 MB gzip bomb with 413 while peak RSS grows by less than ${bombRssBoundBytes / 2 ** 20} MiB`, async () => {
    // Concatenated gzip members: 90 × 10 MB of zeros in about 900 kB, under the body limit.
    const member = gzipSync(Buffer.alloc(10_000_000));
    const bomb = Buffer.concat(Array(90).fill(member));
    expect(bomb.length).toBeLessThan(maxBodyBytes);
    const peakBefore = process.resourceUsage().maxRSS * 1024;
    const before = await recordsOnTopic(admin);
    const response = await post(bomb, { ...json, "content-encoding": "gzip" });
    expect(response.statusCode).toBe(413);
    expect(response.json().message).toMatch(/decompressed body is larger than 1048576 bytes/);
    expect(process.resourceUsage().maxRSS * 1024 - peakBefore).toBeLessThan(bombRssBoundBytes);
    expect(await recordsOnTopic(admin)).toBe(before);
  });

  it.each([
    ["a stalled upload (part of the body, then silence)", 0],
    ["a trickled upload (one byte every 100 ms)", 100],
  ])(`closes %s within ${closedWithinMs} ms`, async (_, everyMs) => {
    const before = await recordsOnTopic(admin);
    const socket = connect({ host: "127.0.0.1", port });
    const closed = closing(socket);
    const startedAt = performance.now();
    socket.write(
      `POST /v1/pipelines/payments/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${event.length * 2}\r\n\r\n${event.slice(0, 40)}`,
    );
    let sent = 40;
    const trickle =
      everyMs > 0
        ? setInterval(() => {
            if (!socket.destroyed && sent < event.length) socket.write(event.charAt(sent++));
          }, everyMs)
        : undefined;
    try {
      const { at, answer } = await waitFor("the server to close the upload", () => closed, closedWithinMs + 5000);
      expect(at - startedAt).toBeLessThan(closedWithinMs);
      // Either a 408 before the close, or (idle socket timeout) no answer at all: never a 2xx.
      expect(answer === "" || answer.startsWith("HTTP/1.1 408")).toBe(true);
    } finally {
      clearInterval(trickle);
      socket.destroy();
    }
    expect(await recordsOnTopic(admin)).toBe(before);
  });
});
