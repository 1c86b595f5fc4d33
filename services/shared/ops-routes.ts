// /healthz, /readyz and /metrics, on any fastify app: the service's own API or a small ops server.
import Fastify, { type FastifyInstance } from "fastify";
import type { Registry } from "./metrics.ts";

export interface Readiness {
  /** Undefined when ready; otherwise why not. */
  notReadyReason(): string | undefined;
}

export function registerOpsRoutes(app: FastifyInstance, registry: Registry, readiness: Readiness): void {
  app.get("/healthz", async () => ({ status: "ok" }));
  app.get("/readyz", async (_request, reply) => {
    const reason = readiness.notReadyReason();
    if (reason) return reply.code(503).send({ status: "not ready", reason });
    return { status: "ready" };
  });
  app.get("/metrics", async (_request, reply) => {
    reply.header("content-type", registry.contentType);
    return registry.metrics();
  });
}

/** A server with only the ops routes, for services without an HTTP API of their own. */
export function buildOpsServer(registry: Registry, readiness: Readiness): FastifyInstance {
  const app = Fastify({ logger: false });
  registerOpsRoutes(app, registry, readiness);
  return app;
}
