// The console's HTTP app: pages, their JSON API and static assets (uPlot served from node_modules,
// so the pages work offline). Reads only; a bad request gets a 4xx naming what is wrong, logged.
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import fastifyCookie from "@fastify/cookie";
import fastifyStatic from "@fastify/static";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { z } from "zod";
import type { Logger } from "../shared/logger.ts";
import type { Registry } from "../shared/metrics.ts";
import { registerOpsRoutes } from "../shared/ops-routes.ts";
import type { PipelineDefinition } from "../shared/pipeline/definition.ts";
import { featureNames } from "../shared/pipeline/definition.ts";
import { type ConsoleAccess, sessionCookie } from "./access.ts";
import type { ConsoleData } from "./data.ts";
import type { ConsoleMetrics } from "./metrics.ts";
import { type PageName, pageNames, renderLogin, renderPage } from "./pages.ts";

export interface ConsoleDeps {
  data: ConsoleData;
  pipelines: readonly PipelineDefinition[];
  logger: Logger;
  metrics: ConsoleMetrics;
  registry: Registry;
  /** Who may look (CONSOLE_API_KEYS_FILE); open when not given. */
  access?: ConsoleAccess;
  /** Undefined when the console can answer (ClickHouse reachable); otherwise why not. */
  notReadyReason(): string | undefined;
}

const uplotDist = dirname(createRequire(import.meta.url).resolve("uplot/dist/uPlot.iife.min.js"));

const epochSeconds = z.coerce.number().int().min(0).max(4_102_444_800);
const windowQuery = z.object({
  version: z.coerce.number().int().positive(),
  feature: z.string().min(1),
  start: epochSeconds,
});
const deadLetterQuery = z.object({
  code: z
    .string()
    .regex(/^[A-Z0-9_]{1,64}$/, "must be an error code such as SCHEMA_NOT_FOUND")
    .optional(),
  limit: z.coerce.number().int().min(1).max(200).default(25),
});

class BadRequest extends Error {
  readonly status: 400 | 404;
  readonly field: string;
  constructor(status: 400 | 404, field: string, message: string) {
    super(message);
    this.status = status;
    this.field = field;
  }
}

function parseQuery<T>(schema: z.ZodType<T>, query: unknown): T {
  const parsed = schema.safeParse(query);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue?.path.join(".") || "query";
  throw new BadRequest(400, field, `query parameter ${field}: ${issue?.message ?? "invalid"}`);
}

export function buildConsoleApp(deps: ConsoleDeps): FastifyInstance {
  const log = deps.logger.child({ module: "console" });
  const byName = new Map(deps.pipelines.map((p) => [p.name, p]));
  const names = deps.pipelines.map((p) => p.name);
  const app = Fastify({ logger: false });

  const pipelineOf = (request: FastifyRequest<{ Params: { pipeline: string } }>) => {
    const pipeline = byName.get(request.params.pipeline);
    if (!pipeline)
      throw new BadRequest(
        404,
        "pipeline",
        `unknown pipeline "${request.params.pipeline}"; known: ${names.join(", ")}`,
      );
    return pipeline;
  };

  app.addHook("onResponse", async (request, reply) => {
    deps.metrics.requests.inc({ route: request.routeOptions.url ?? "unmatched", status: String(reply.statusCode) });
  });
  app.setErrorHandler((error: Error, request, reply: FastifyReply) => {
    if (error instanceof BadRequest) {
      log.warn({ url: request.url, field: error.field, status: error.status }, "console refused a request");
      return reply.code(error.status).send({ error: error.message, field: error.field });
    }
    log.error({ err: error, url: request.url }, "console request failed");
    return reply.code(500).send({ error: "internal error" });
  });
  app.setNotFoundHandler((request, reply) => {
    log.warn({ url: request.url }, "console refused a request for an unknown path");
    return reply.code(404).send({ error: `no such page or API: ${request.url.split("?")[0]}` });
  });

  registerOpsRoutes(app, deps.registry, deps);
  app.register(fastifyCookie);
  // A sign-in form posts url-encoded fields; nothing else here takes a body.
  app.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "string" }, (_request, body, done) =>
    done(null, Object.fromEntries(new URLSearchParams(String(body)))),
  );
  const open = new Set(["/healthz", "/readyz", "/metrics", "/login"]);
  app.addHook("preHandler", async (request, reply) => {
    const route = request.routeOptions.url ?? "";
    if (!deps.access || open.has(route) || route.startsWith("/assets/")) return;
    const pipeline = (request.params as { pipeline?: string } | undefined)?.pipeline;
    return deps.access.check(request, reply, pipeline);
  });
  app.get<{ Querystring: { next?: string } }>("/login", async (request, reply) =>
    reply.type("text/html; charset=utf-8").send(renderLogin(safeNext(request.query.next), undefined)),
  );
  app.post<{ Body: { key?: string; next?: string } }>("/login", async (request, reply) => {
    const key = String(request.body?.key ?? "").trim();
    const next = safeNext(request.body?.next);
    const refusal = deps.access?.refusal(key) ?? (deps.access ? undefined : "the console needs no key");
    if (refusal !== undefined) return reply.code(401).type("text/html; charset=utf-8").send(renderLogin(next, refusal));
    return reply.setCookie(sessionCookie, key, { path: "/", httpOnly: true, sameSite: "strict" }).redirect(next);
  });
  app.register(fastifyStatic, { root: join(import.meta.dirname, "public"), prefix: "/assets/" });
  app.register(fastifyStatic, { root: uplotDist, prefix: "/assets/vendor/", decorateReply: false });

  app.get("/", async (_request, reply) => reply.redirect(`/pipelines/${names[0]}/overview`));
  app.get<{ Params: { pipeline: string; page: string } }>("/pipelines/:pipeline/:page", async (request, reply) => {
    const pipeline = pipelineOf(request);
    const page = request.params.page as PageName;
    if (!pageNames.includes(page))
      throw new BadRequest(404, "page", `unknown page "${request.params.page}"; pages: ${pageNames.join(", ")}`);
    return reply.type("text/html; charset=utf-8").send(renderPage(page, pipeline.name, names));
  });

  app.get("/api/pipelines", async () =>
    deps.pipelines.map((p) => ({
      name: p.name,
      description: p.description,
      windowSeconds: p.monitoring.windowSeconds,
      features: [...monitoredFeatures(p), "prediction"],
    })),
  );
  app.get<{ Params: { pipeline: string } }>("/api/pipelines/:pipeline/overview", async (request) =>
    deps.data.overview(pipelineOf(request)),
  );
  app.get<{ Params: { pipeline: string } }>("/api/pipelines/:pipeline/drift", async (request) =>
    deps.data.drift(pipelineOf(request)),
  );
  app.get<{ Params: { pipeline: string } }>("/api/pipelines/:pipeline/drift/window", async (request) => {
    const pipeline = pipelineOf(request);
    const { version, feature, start } = parseQuery(windowQuery, request.query);
    const features = [...monitoredFeatures(pipeline), "prediction"];
    if (!features.includes(feature))
      throw new BadRequest(
        400,
        "feature",
        `query parameter feature: "${feature}" is not monitored in ${pipeline.name}`,
      );
    return deps.data.driftWindow(pipeline, version, feature, start);
  });
  app.get<{ Params: { pipeline: string } }>("/api/pipelines/:pipeline/quality", async (request) =>
    deps.data.quality(pipelineOf(request)),
  );
  app.get<{ Params: { pipeline: string } }>("/api/pipelines/:pipeline/models", async (request) =>
    deps.data.models(pipelineOf(request)),
  );
  app.get<{ Params: { pipeline: string } }>("/api/pipelines/:pipeline/dead-letters", async (request) => {
    const pipeline = pipelineOf(request);
    return deps.data.deadLetters(pipeline, parseQuery(deadLetterQuery, request.query));
  });
  return app;
}

/** Where to go after signing in: a path of this console only (never another origin). */
function safeNext(next: string | undefined): string {
  return next && /^\/(?!\/)[\w\-./?=&%]*$/.test(next) ? next : "/";
}

function monitoredFeatures(p: PipelineDefinition): string[] {
  return p.monitoring.features.length > 0 ? p.monitoring.features : featureNames(p);
}
