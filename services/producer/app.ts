// The ingest HTTP API. `POST /v1/pipelines/:pipeline/events` takes one JSON event, a JSON array
// or NDJSON, validates each event against the pipeline's Avro schema, and answers per event.
// A 2xx means every accepted event was acknowledged by Kafka (acks=all); anything else is
// indeterminate for the events it names, and the client retries with the same event ids.
import underPressure from "@fastify/under-pressure";
import Fastify, { type FastifyInstance } from "fastify";
import { authenticate, type KeyEntry, type KeyStore, presentedKey, type RateLimiter } from "../shared/auth/api-keys.ts";
import type { AvroType } from "../shared/kafka/avro-codec.ts";
import type { BatchingSender } from "../shared/kafka/batching-sender.ts";
import type { Message } from "../shared/kafka/client.ts";
import type { ReplayReport } from "../shared/kafka/dead-letter-replay.ts";
import { parseReplayRequest, type ReplayRequest } from "../shared/kafka/replay-plan.ts";
import { encodeWireFormat } from "../shared/kafka/wire-format.ts";
import type { Logger } from "../shared/logger.ts";
import type { Registry } from "../shared/metrics.ts";
import { type Readiness, registerOpsRoutes } from "../shared/ops-routes.ts";
import type { PipelineDefinition } from "../shared/pipeline/definition.ts";
import { decodeBody, parseJsonBody, parseNdjsonBody } from "./body.ts";
import type { ProducerMetrics } from "./metrics.ts";
import type { EventValidator, FieldError } from "./validation.ts";

export interface IngestPipeline {
  definition: PipelineDefinition;
  topic: string;
  schemaId: number;
  type: AvroType;
  validate: EventValidator;
}

export interface IngestLimits {
  maxBodyBytes: number;
  maxEvents: number;
  maxPendingRecords: number;
  /**
   * Longest the oldest event waiting for Kafka may have waited before requests get 429 (default
   * 1000 ms): past it a new request would wait too, and likely time out and be sent again.
   */
  maxQueueDelayMs?: number;
  sendTimeoutMs: number;
  /** A request whose body has not fully arrived by then is cut off (default 15 s). */
  requestTimeoutMs?: number;
  /**
   * Mean event-loop delay (ms, over the last second) past which ingest requests get 503 before their
   * body is read (default 300); 0 turns the check off.
   */
  maxEventLoopDelayMs?: number;
  /** How often the event-loop delay is sampled (default 1000 ms). */
  pressureSampleMs?: number;
}

export type EventResult =
  | { index: number; status: "accepted"; eventId: string }
  | { index: number; status: "rejected"; errors: FieldError[] };

class SendTimeout extends Error {}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new SendTimeout(`no acknowledgement within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export interface IngestAuth {
  /** The key store in force (re-read when its file changes). */
  store(): KeyStore;
  limiter: RateLimiter;
}

const keyParameters = ["api_key", "apikey", "key", "token", "access_token"];

export function buildIngestApp(deps: {
  pipelines: ReadonlyMap<string, IngestPipeline>;
  /** Without it the API is open (local development on loopback). */
  auth?: IngestAuth;
  sender: BatchingSender;
  limits: IngestLimits;
  metrics: ProducerMetrics;
  registry: Registry;
  readiness: Readiness;
  logger: Logger;
  /** Sends a pipeline's dead letters back to its raw topic; without it the replay route answers 501. */
  replay?: (pipeline: IngestPipeline, request: ReplayRequest) => Promise<ReplayReport>;
}): FastifyInstance {
  // A slow or stalled upload is cut off instead of holding a connection and its buffer: a silent
  // socket after the timeout, a trickling one at the first check (once a second) after it. Node
  // checks request deadlines only with a headers timeout no longer than the request timeout, and
  // Fastify sets its requestTimeout after creating the server, so both go to the server itself.
  const requestTimeoutMs = deps.limits.requestTimeoutMs ?? 15_000;
  const app = Fastify({
    logger: false,
    bodyLimit: deps.limits.maxBodyBytes,
    requestTimeout: requestTimeoutMs,
    connectionTimeout: requestTimeoutMs,
    http: {
      requestTimeout: requestTimeoutMs,
      headersTimeout: requestTimeoutMs,
      connectionsCheckingInterval: Math.min(1000, requestTimeoutMs),
    },
  });
  const log = deps.logger.child({ module: "ingest" });

  app.removeAllContentTypeParsers();
  for (const type of ["application/json", "application/x-ndjson", "application/ndjson"]) {
    app.addContentTypeParser(
      type,
      { parseAs: "buffer", bodyLimit: deps.limits.maxBodyBytes },
      (_request, body, done) => {
        done(null, body);
      },
    );
  }
  app.setErrorHandler((error: { statusCode?: number; code?: string; message: string }, _request, reply) => {
    const status = error.statusCode ?? 500;
    if (status >= 500) log.error({ err: error }, "request failed");
    const messages: Record<number, string> = {
      413: `request body is larger than ${deps.limits.maxBodyBytes} bytes`,
      415: "Content-Type must be application/json or application/x-ndjson",
    };
    return reply.code(status).send({ error: error.code ?? "ERROR", message: messages[status] ?? error.message });
  });

  registerOpsRoutes(app, deps.registry, deps.readiness);

  app.get("/v1/pipelines", async () => ({
    pipelines: [...deps.pipelines.values()].map((p) => ({
      name: p.definition.name,
      topic: p.topic,
      schemaId: p.schemaId,
    })),
  }));

  registerReplayRoute(app);

  // The ingest route in a scope of its own, so only it sheds on pressure: /metrics and the health
  // routes keep answering while the API refuses events.
  app.register(async (ingest) => {
    registerIngestRoute(ingest);
  });

  function registerIngestRoute(ingest: FastifyInstance): void {
    const maxEventLoopDelayMs = deps.limits.maxEventLoopDelayMs ?? 300;
    if (maxEventLoopDelayMs > 0) {
      // A process short of CPU answers late and times clients out: past this delay it refuses new
      // requests at once, before reading their bodies, which is the cheapest answer it can give.
      ingest.register(underPressure, {
        maxEventLoopDelay: maxEventLoopDelayMs,
        sampleInterval: deps.limits.pressureSampleMs ?? 1000,
        pressureHandler: (request, reply, _type, value) => {
          const name = (request.params as { pipeline?: string }).pipeline ?? "";
          if (deps.pipelines.has(name)) deps.metrics.requests.inc({ pipeline: name, status: "503" });
          reply.code(503).header("retry-after", "1");
          // The plugin sends a returned value as the answer (its types only admit void).
          return {
            error: "OVERLOADED",
            message: `the API is overloaded (event-loop delay ${Math.round(value ?? 0)} ms, limit ${maxEventLoopDelayMs} ms); retry later`,
          } as never;
        },
      });
    }

    ingest.post<{ Params: { pipeline: string } }>("/v1/pipelines/:pipeline/events", async (request, reply) => {
      const pipeline = deps.pipelines.get(request.params.pipeline);
      if (!pipeline) {
        return reply
          .code(404)
          .send({ error: "UNKNOWN_PIPELINE", message: `no pipeline named "${request.params.pipeline}"` });
      }
      const name = pipeline.definition.name;
      // A client that gave up while its request waited here (timed out under load) gets no answer and
      // its events are not written: it sends them again, so writing them now would only add copies.
      const socket = request.raw.socket;
      if (socket?.destroyed === true || socket?.writable === false) {
        deps.metrics.requests.inc({ pipeline: name, status: "499" });
        reply.hijack();
        return reply;
      }
      const fail = (status: number, error: string, message: string, headers: Record<string, string> = {}) => {
        deps.metrics.requests.inc({ pipeline: name, status: String(status) });
        return reply.code(status).headers(headers).send({ error, message });
      };
      let rateEntry: KeyEntry | undefined;
      if (deps.auth) {
        const query = (request.query ?? {}) as Record<string, unknown>;
        if (keyParameters.some((k) => k in query)) {
          log.warn({ pipeline: name }, "API key sent in the URL refused");
          return fail(401, "UNAUTHORIZED", "API keys are not accepted in the URL; send Authorization: Bearer <key>");
        }
        const result = authenticate(deps.auth.store(), presentedKey(request.headers), name);
        if (!result.ok) {
          // The key id may be logged; the key itself never is.
          log.warn({ pipeline: name, keyId: result.keyId, reason: result.reason }, "ingest request refused");
          return fail(result.status, result.status === 401 ? "UNAUTHORIZED" : "FORBIDDEN", result.reason);
        }
        rateEntry = result.entry;
      }
      // Before the body is parsed: the cheapest refusal, while Kafka answers slower than events come.
      const queueDelayMs = deps.sender.oldestPendingMs;
      if (queueDelayMs > (deps.limits.maxQueueDelayMs ?? 1000)) {
        return fail(429, "BACK_PRESSURE", `events wait ${queueDelayMs} ms for Kafka; retry later`, {
          "retry-after": "1",
        });
      }
      const decoded = decodeBody(
        Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0),
        request.headers["content-encoding"],
        deps.limits.maxBodyBytes,
      );
      if (!decoded.ok) return fail(decoded.status, "BODY_REFUSED", decoded.message);
      const contentType = String(request.headers["content-type"] ?? "");
      const parsed = contentType.includes("ndjson") ? parseNdjsonBody(decoded.text) : parseJsonBody(decoded.text);
      if (!parsed.ok) return fail(400, parsed.error, parsed.message);
      if (parsed.events.length === 0) return fail(400, "NO_EVENTS", "the body holds no events");
      if (parsed.events.length > deps.limits.maxEvents) {
        return fail(
          413,
          "TOO_MANY_EVENTS",
          `${parsed.events.length} events in one request; the limit is ${deps.limits.maxEvents}`,
        );
      }
      if (rateEntry && deps.auth) {
        const wait = deps.auth.limiter.take(rateEntry, parsed.events.length, Date.now());
        if (wait > 0) {
          return fail(429, "RATE_LIMITED", `API key ${rateEntry.id} is over its ${rateEntry.ratePerSecond} events/s`, {
            "retry-after": String(wait),
          });
        }
      }
      if (deps.sender.pendingRecords + parsed.events.length > deps.limits.maxPendingRecords) {
        return fail(429, "BACK_PRESSURE", "too many events are waiting for Kafka; retry later", { "retry-after": "1" });
      }

      const results: EventResult[] = [];
      const messages: Message[] = [];
      parsed.events.forEach((event, index) => {
        const checked = pipeline.validate(event);
        if (!checked.ok) {
          results.push({ index, status: "rejected", errors: checked.errors });
          return;
        }
        const record = checked.record;
        const eventId = String(record[pipeline.definition.eventId]);
        messages.push({
          key: String(record[pipeline.definition.entityKey]),
          value: encodeWireFormat(pipeline.schemaId, pipeline.type.toBuffer(record)),
        });
        results.push({ index, status: "accepted", eventId });
      });
      const accepted = messages.length;
      const rejected = results.length - accepted;
      deps.metrics.events.inc({ pipeline: name, outcome: "rejected" }, rejected);

      if (accepted > 0) {
        const startedAt = performance.now();
        try {
          await withTimeout(deps.sender.send(pipeline.topic, messages), deps.limits.sendTimeoutMs);
        } catch (error) {
          log.warn({ pipeline: name, events: accepted, error: (error as Error).message }, "Kafka did not acknowledge");
          deps.metrics.events.inc({ pipeline: name, outcome: "unacknowledged" }, accepted);
          return fail(
            503,
            "KAFKA_UNAVAILABLE",
            "Kafka did not acknowledge the events; they may or may not have been written. Retry with the same event ids.",
            { "retry-after": "5" },
          );
        }
        deps.metrics.ackSeconds.observe({ pipeline: name }, (performance.now() - startedAt) / 1000);
        deps.metrics.events.inc({ pipeline: name, outcome: "accepted" }, accepted);
      }
      const status = rejected === 0 ? 200 : accepted === 0 ? 400 : 207;
      deps.metrics.requests.inc({ pipeline: name, status: String(status) });
      return reply.code(status).send({ accepted, rejected, results });
    });
  }

  /** Pipelines with a replay under way: a second one at once would send the same dead letters again. */
  const replaying = new Set<string>();

  function registerReplayRoute(api: FastifyInstance): void {
    api.post<{ Params: { pipeline: string } }>("/v1/pipelines/:pipeline/dlq/replay", async (request, reply) => {
      const pipeline = deps.pipelines.get(request.params.pipeline);
      if (!pipeline) {
        return reply
          .code(404)
          .send({ error: "UNKNOWN_PIPELINE", message: `no pipeline named "${request.params.pipeline}"` });
      }
      const name = pipeline.definition.name;
      if (deps.auth) {
        const result = authenticate(deps.auth.store(), presentedKey(request.headers), name, "replay");
        if (!result.ok) {
          log.warn({ pipeline: name, keyId: result.keyId, reason: result.reason }, "dead-letter replay refused");
          return reply
            .code(result.status)
            .send({ error: result.status === 401 ? "UNAUTHORIZED" : "FORBIDDEN", message: result.reason });
        }
      }
      const raw = Buffer.isBuffer(request.body) ? request.body.toString("utf8").trim() : "";
      let body: unknown = {};
      if (raw.length > 0) {
        try {
          body = JSON.parse(raw);
        } catch {
          return reply.code(400).send({ error: "REQUEST_INVALID", field: "(body)", message: "the body is not JSON" });
        }
      }
      if (typeof body !== "object" || body === null || Array.isArray(body)) {
        return reply
          .code(400)
          .send({ error: "REQUEST_INVALID", field: "(body)", message: "the body must be a JSON object" });
      }
      const parsed = parseReplayRequest(body, Date.now());
      if (!parsed.ok) {
        return reply
          .code(400)
          .send({ error: "REQUEST_INVALID", field: parsed.field, message: `${parsed.field}: ${parsed.message}` });
      }
      if (!deps.replay) {
        return reply.code(501).send({ error: "NOT_AVAILABLE", message: "dead-letter replay is not set up here" });
      }
      if (replaying.has(name)) {
        return reply
          .code(409)
          .send({ error: "REPLAY_RUNNING", message: `a replay of ${name} is under way; try again when it ends` });
      }
      replaying.add(name);
      // The connection timeout cuts off silent sockets, and a replay that waits for the transformer
      // is silent for a while: this request's socket gets a bound of its own.
      const socket = request.raw.socket as { setTimeout?: (ms: number) => void } | undefined;
      socket?.setTimeout?.((parsed.request.waitSeconds + 300) * 1000);
      try {
        const report = await deps.replay(pipeline, parsed.request);
        log.info(
          { pipeline: name, replayed: report.replayed, dryRun: report.dryRun, stillFailing: report.stillFailing.count },
          "dead letters replayed",
        );
        return reply.code(200).send(report);
      } catch (error) {
        log.error({ pipeline: name, err: error }, "dead-letter replay failed");
        return reply.code(503).send({
          error: "REPLAY_FAILED",
          message: `the replay did not finish (${(error as Error).message}); records already sent are de-duplicated when it is run again`,
        });
      } finally {
        replaying.delete(name);
      }
    });
  }

  return app;
}
