// The model registry over HTTP, on the inference API:
// - `GET /v1/pipelines/:pipeline/models`: every registered version with its state, the versions in
//   use here by role, the folders on disk.
// - `POST /v1/pipelines/:pipeline/models/:version/:action` with `{"reason": "...", "weight": 10}`,
//   action one of register, shadow, canary (weight in percent), promote, retire, reject;
//   `POST /v1/pipelines/:pipeline/models/rollback` with `{"reason": "..."}`.
// Changes need an API key with the model-admin scope for the pipeline. A refused caller gets 401 or
// 403 and the attempt is appended to the model log (the audit trail), as is every refused change.
import { join } from "node:path";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { type AuthResult, authenticate, type KeyStore, presentedKey } from "../shared/auth/api-keys.ts";
import { describeError, isStreamscoreError } from "../shared/errors.ts";
import type { ModelLogWriter } from "../shared/kafka/model-log.ts";
import type { Logger } from "../shared/logger.ts";
import { type ChangeRequest, type Deployment, type ModelAction, modelActions } from "../shared/model/lifecycle.ts";
import type { ModelManifest } from "../shared/model/manifest.ts";
import type { InferenceService } from "./service.ts";
import { versionsOnDisk } from "./serving.ts";

const versionActions = modelActions.filter((a) => a !== "rollback");

export interface ModelsApiDeps {
  service: InferenceService;
  /** Without a key store no change is taken over HTTP (the CLI is the local operator). */
  keyStore: (() => KeyStore) | undefined;
  writer(pipeline: string): ModelLogWriter;
  /** Loads a version folder as serving would (checksum, warm-up run) and returns its manifest. */
  validateVersion(versionDir: string): Promise<ModelManifest>;
  logger: Logger;
}

/** A deployment as JSON: versions newest first. */
export function deploymentView(deployment: Deployment) {
  return {
    champion: deployment.champion ?? null,
    canary: deployment.canary ?? null,
    shadows: deployment.shadows,
    versions: [...deployment.versions.values()]
      .sort((a, b) => b.version - a.version)
      .map((v) => ({
        version: v.version,
        state: v.state,
        weight: v.weight ?? null,
        registeredAt: new Date(v.registeredAt).toISOString(),
        changedAt: new Date(v.changedAt).toISOString(),
        changedBy: v.changedBy,
        reason: v.reason,
      })),
  };
}

class BadRequest extends Error {}

function parseBody(body: unknown, action: ModelAction): { reason: string; weight?: number } {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new BadRequest('body: expected {"reason": "why this change"}');
  }
  const { reason, weight } = body as { reason?: unknown; weight?: unknown };
  if (typeof reason !== "string" || reason.trim() === "") {
    throw new BadRequest("reason: a non-empty reason is required for every change");
  }
  if (action !== "canary") return { reason };
  if (typeof weight !== "number" || !Number.isFinite(weight)) {
    throw new BadRequest("weight: a canary needs its share of entities in percent, a number above 0 and below 100");
  }
  return { reason, weight };
}

export function registerModelRoutes(app: FastifyInstance, deps: ModelsApiDeps): void {
  const log = deps.logger.child({ module: "models-api" });

  function scorerOf(pipeline: string) {
    const scorer = deps.service.scorer(pipeline);
    if (!scorer) {
      throw Object.assign(new Error(`no pipeline named "${pipeline}"`), { statusCode: 404, code: "UNKNOWN_PIPELINE" });
    }
    return scorer;
  }

  /** The caller's name for the audit trail, or undefined after answering 401/403 (audited). */
  async function authorize(
    request: FastifyRequest,
    reply: FastifyReply,
    pipeline: string,
    attempt: { action: ModelAction; version: number | null },
  ): Promise<string | undefined> {
    const store = deps.keyStore?.();
    const result: AuthResult = store
      ? authenticate(store, presentedKey(request.headers), pipeline, "model-admin")
      : {
          ok: false,
          status: 403,
          reason: "model changes over HTTP need an API key store (INFERENCE_API_KEYS_FILE); use `npm run models`",
        };
    if (result.ok) return `key ${result.entry.id} (${result.entry.name})`;
    const actor = result.keyId ? `key ${result.keyId}` : `anonymous ${request.ip}`;
    log.warn({ pipeline, ...attempt, actor, status: result.status, error: result.reason }, "model change refused");
    await deps
      .writer(pipeline)
      .notice({
        kind: "refused",
        version: attempt.version,
        actor,
        reason: `${attempt.action} refused: ${result.reason}`,
        evidence: { requested: attempt.action, refusedBecause: result.reason, status: result.status },
      })
      .catch((error: unknown) => log.error({ error: describeError(error) }, "refusal could not be audited"));
    await reply.code(result.status).send({ error: "FORBIDDEN", message: result.reason });
    return undefined;
  }

  async function change(reply: FastifyReply, pipeline: string, request: ChangeRequest) {
    try {
      const { events, deployment } = await deps.writer(pipeline).change(request);
      return { pipeline, events, ...deploymentView(deployment) };
    } catch (error) {
      if (isStreamscoreError(error) && error.code === "MODEL_CHANGE_REFUSED") {
        return reply.code(409).send({ error: error.code, message: error.message });
      }
      if (isStreamscoreError(error) && error.code === "MODEL_CHANGE_CONFLICT") {
        return reply.code(409).header("retry-after", "1").send({ error: error.code, message: error.message });
      }
      throw error;
    }
  }

  app.get<{ Params: { pipeline: string } }>("/v1/pipelines/:pipeline/models", async (request) => {
    const scorer = scorerOf(request.params.pipeline);
    const deployment = scorer.watcher?.deployment;
    return {
      pipeline: request.params.pipeline,
      ...(deployment ? deploymentView(deployment) : { champion: null, canary: null, shadows: [], versions: [] }),
      inUse: scorer.roles.roles(),
      servedFrom: scorer.roles.current?.source ?? null,
      onDisk: versionsOnDisk(scorer.modelDir),
      problem: scorer.roles.problem ?? null,
    };
  });

  app.post<{ Params: { pipeline: string } }>("/v1/pipelines/:pipeline/models/rollback", async (request, reply) => {
    const { pipeline } = request.params;
    scorerOf(pipeline);
    const actor = await authorize(request, reply, pipeline, { action: "rollback", version: null });
    if (!actor) return reply;
    const { reason } = parseOrAnswer(request.body, "rollback", reply);
    if (reason === undefined) return reply;
    return change(reply, pipeline, { action: "rollback", actor, reason });
  });

  app.post<{ Params: { pipeline: string; version: string; action: string } }>(
    "/v1/pipelines/:pipeline/models/:version/:action",
    async (request, reply) => {
      const { pipeline } = request.params;
      const scorer = scorerOf(pipeline);
      const action = request.params.action as ModelAction;
      if (!(versionActions as readonly string[]).includes(action)) {
        return reply.code(404).send({
          error: "UNKNOWN_ACTION",
          message: `action: ${request.params.action} is not one of ${[...versionActions, "rollback (without a version)"].join(", ")}`,
        });
      }
      if (!/^[1-9]\d{0,8}$/.test(request.params.version)) {
        return reply.code(400).send({ error: "REQUEST_INVALID", message: "version: expected a positive whole number" });
      }
      const version = Number(request.params.version);
      const actor = await authorize(request, reply, pipeline, { action, version });
      if (!actor) return reply;
      const { reason, weight } = parseOrAnswer(request.body, action, reply);
      if (reason === undefined) return reply;
      let evidence: Record<string, unknown> | undefined;
      if (action === "register") {
        try {
          evidence = { manifest: await deps.validateVersion(join(scorer.modelDir, String(version))) };
        } catch (error) {
          return reply.code(422).send({
            error: "MODEL_INVALID",
            message: `version ${version} cannot be registered: ${describeError(error)}`,
          });
        }
      }
      return change(reply, pipeline, { action, version, weight, actor, reason, evidence });
    },
  );

  function parseOrAnswer(
    body: unknown,
    action: ModelAction,
    reply: FastifyReply,
  ): { reason?: string; weight?: number } {
    try {
      return parseBody(body, action);
    } catch (error) {
      if (!(error instanceof BadRequest)) throw error;
      void reply.code(400).send({ error: "REQUEST_INVALID", message: error.message });
      return {};
    }
  }
}
