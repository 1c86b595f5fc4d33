// The registry's HTTP routes without Kafka: the writer is an in-memory log with the same planning
// (lifecycle.ts), so what is checked here is the API's own job: who may change models, what it
// refuses and how, and that every refusal lands in the audit trail.
import Fastify from "fastify";
import { beforeEach, describe, expect, it } from "vitest";
import { registerModelRoutes } from "../../../services/inference/models-api.ts";
import type { InferenceService } from "../../../services/inference/service.ts";
import { createKey, type KeyStore } from "../../../services/shared/auth/api-keys.ts";
import { StreamscoreError } from "../../../services/shared/errors.ts";
import type { ModelLogWriter, NoticeRequest } from "../../../services/shared/kafka/model-log.ts";
import { createLogger } from "../../../services/shared/logger.ts";
import {
  type ChangeRequest,
  foldEvents,
  type ModelEvent,
  planChange,
} from "../../../services/shared/model/lifecycle.ts";
import type { ModelManifest } from "../../../services/shared/model/manifest.ts";

const logger = createLogger({ name: "test", level: "silent" });
const admin = createKey({ name: "ops", pipelines: ["shop"], ratePerSecond: 10, scopes: ["model-admin"] });
const publisher = createKey({ name: "app", pipelines: ["shop"], ratePerSecond: 10, scopes: ["publish"] });
const otherPipeline = createKey({ name: "other", pipelines: ["iris"], ratePerSecond: 10, scopes: ["model-admin"] });
const keyStore: KeyStore = { keys: [admin.entry, publisher.entry, otherPipeline.entry] };

let log: ModelEvent[];
let notices: NoticeRequest[];
let validated: string[];

function inMemoryWriter(pipeline: string): ModelLogWriter {
  const append = (fields: Omit<ModelEvent, "eventId" | "changeId" | "pipeline" | "at">): ModelEvent => {
    const event = { eventId: `e${log.length}`, changeId: `c${log.length}`, pipeline, at: log.length + 1, ...fields };
    log.push(event);
    return event;
  };
  return {
    async change(request: ChangeRequest) {
      let changes: ReturnType<typeof planChange>;
      try {
        changes = planChange(foldEvents(pipeline, log), request);
      } catch (error) {
        append({
          version: request.version ?? null,
          kind: "refused",
          fromState: null,
          toState: null,
          weight: null,
          actor: request.actor,
          reason: request.reason || "(none given)",
          evidence: { requested: request.action },
        });
        throw error;
      }
      const events = changes.map((c) =>
        append({ ...c, actor: request.actor, reason: request.reason, evidence: request.evidence ?? {} }),
      );
      return { events, deployment: foldEvents(pipeline, log) };
    },
    async notice(request) {
      notices.push(request);
      return append({ ...request, fromState: null, toState: null, weight: null, evidence: request.evidence ?? {} });
    },
  };
}

const service = {
  scorer: (pipeline: string) =>
    pipeline === "shop"
      ? {
          modelDir: "/models/shop",
          watcher: { deployment: foldEvents("shop", log) },
          roles: {
            roles: () => [{ version: 1, role: "champion" }],
            current: { source: "registry" },
            problem: undefined,
          },
        }
      : undefined,
} as unknown as InferenceService;

/** `null`: no key store configured. */
function app(store: KeyStore | null = keyStore) {
  const server = Fastify();
  registerModelRoutes(server, {
    service,
    keyStore: store ? () => store : undefined,
    writer: inMemoryWriter,
    validateVersion: async (dir) => {
      validated.push(dir);
      if (dir.endsWith("/9"))
        throw new StreamscoreError("MODEL_INVALID", "model.onnx does not match the manifest's sha256");
      return { version: Number(dir.split("/").pop()), name: "m" } as ModelManifest;
    },
    logger,
  });
  return server;
}

async function post(url: string, body: unknown, key?: string, store: KeyStore | null = keyStore) {
  const response = await app(store).inject({
    method: "POST",
    url,
    payload: body as object,
    headers: key ? { "x-api-key": key } : {},
  });
  return { status: response.statusCode, body: response.json() as { message?: string; error?: string } };
}

beforeEach(() => {
  log = [];
  notices = [];
  validated = [];
});

describe("model changes over HTTP", () => {
  it("registers, promotes, canaries and rolls back with a model-admin key, naming the key in the trail", async () => {
    expect((await post("/v1/pipelines/shop/models/1/register", { reason: "first" }, admin.key)).status).toBe(200);
    expect(validated).toEqual(["/models/shop/1"]);
    expect((await post("/v1/pipelines/shop/models/1/promote", { reason: "go" }, admin.key)).status).toBe(200);
    await post("/v1/pipelines/shop/models/2/register", { reason: "retrained" }, admin.key);
    await post("/v1/pipelines/shop/models/2/promote", { reason: "better" }, admin.key);
    const canary = await post("/v1/pipelines/shop/models/1/canary", { reason: "try", weight: 10 }, admin.key);
    expect(canary.status).toBe(200);
    const rollback = await post("/v1/pipelines/shop/models/rollback", { reason: "worse" }, admin.key);
    expect(rollback.status).toBe(409);
    expect(rollback.body.message).toContain("no earlier champion");
    const deployment = foldEvents("shop", log);
    expect(deployment.champion).toBe(2);
    expect(deployment.canary).toEqual({ version: 1, weight: 10 });
    expect(log.every((e) => e.actor === `key ${admin.entry.id} (ops)`)).toBe(true);
  });

  it("answers 401 without a key and 403 for a key without the scope or the pipeline, and audits each", async () => {
    expect((await post("/v1/pipelines/shop/models/1/promote", { reason: "x" })).status).toBe(401);
    const noScope = await post("/v1/pipelines/shop/models/1/promote", { reason: "x" }, publisher.key);
    expect(noScope).toEqual({
      status: 403,
      body: { error: "FORBIDDEN", message: "API key lacks the model-admin scope" },
    });
    const otherKey = await post("/v1/pipelines/shop/models/rollback", { reason: "x" }, otherPipeline.key);
    expect(otherKey.status).toBe(403);
    expect(notices.map((n) => [n.kind, n.version, n.actor])).toEqual([
      ["refused", 1, "anonymous 127.0.0.1"],
      ["refused", 1, `key ${publisher.entry.id}`],
      ["refused", null, `key ${otherPipeline.entry.id}`],
    ]);
    expect(notices[1]?.reason).toBe("promote refused: API key lacks the model-admin scope");
    expect(foldEvents("shop", log).versions.size).toBe(0);
  });

  it("refuses every change over HTTP, audited, when no key store is configured", async () => {
    const response = await post("/v1/pipelines/shop/models/1/register", { reason: "x" }, admin.key, null);
    expect(response.status).toBe(403);
    expect(response.body.message).toContain("INFERENCE_API_KEYS_FILE");
    expect(notices).toHaveLength(1);
  });

  it("names the field of a malformed request with 400, and an unknown action or pipeline with 404", async () => {
    const noReason = await post("/v1/pipelines/shop/models/1/promote", { reason: " " }, admin.key);
    expect(noReason).toEqual({
      status: 400,
      body: { error: "REQUEST_INVALID", message: "reason: a non-empty reason is required for every change" },
    });
    await post("/v1/pipelines/shop/models/1/register", { reason: "r" }, admin.key);
    await post("/v1/pipelines/shop/models/1/promote", { reason: "r" }, admin.key);
    await post("/v1/pipelines/shop/models/2/register", { reason: "r" }, admin.key);
    const noWeight = await post("/v1/pipelines/shop/models/2/canary", { reason: "r" }, admin.key);
    expect(noWeight.status).toBe(400);
    expect(noWeight.body.message).toMatch(/^weight:/);
    const badWeight = await post("/v1/pipelines/shop/models/2/canary", { reason: "r", weight: 100 }, admin.key);
    expect(badWeight.status).toBe(409);
    expect(badWeight.body.message).toMatch(/^weight:/);
    expect((await post("/v1/pipelines/shop/models/0/promote", { reason: "r" }, admin.key)).body.message).toBe(
      "version: expected a positive whole number",
    );
    expect((await post("/v1/pipelines/shop/models/1/explode", { reason: "r" }, admin.key)).status).toBe(404);
    expect((await post("/v1/pipelines/nope/models/1/promote", { reason: "r" }, admin.key)).status).toBe(404);
  });

  it("refuses to register a version whose files do not load, and a state change the registry forbids", async () => {
    const corrupt = await post("/v1/pipelines/shop/models/9/register", { reason: "r" }, admin.key);
    expect(corrupt.status).toBe(422);
    expect(corrupt.body.message).toContain("sha256");
    const unknown = await post("/v1/pipelines/shop/models/3/promote", { reason: "r" }, admin.key);
    expect(unknown.status).toBe(409);
    expect(unknown.body.message).toBe("version 3 is not registered in pipeline shop");
    // The refused change is in the trail too.
    expect(log.map((e) => e.kind)).toEqual(["refused"]);
  });

  it("lists the registry, the versions in use and the folders", async () => {
    await post("/v1/pipelines/shop/models/1/register", { reason: "r" }, admin.key);
    const response = await app().inject({ method: "GET", url: "/v1/pipelines/shop/models" });
    const body = response.json() as { versions: Array<{ version: number; state: string }>; inUse: unknown[] };
    expect(body.versions.map((v) => [v.version, v.state])).toEqual([[1, "registered"]]);
    expect(body.inUse).toEqual([{ version: 1, role: "champion" }]);
  });
});
