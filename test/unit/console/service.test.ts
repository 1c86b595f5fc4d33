import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ConsoleData } from "../../../services/console/data.ts";
import { createConsoleMetrics } from "../../../services/console/metrics.ts";
import { buildConsoleApp } from "../../../services/console/service.ts";
import { createRegistry } from "../../../services/shared/metrics.ts";
import { getPipeline } from "../../../services/shared/pipelines/index.ts";

// The routes' own logic (validation, refusals, pages, assets); the data behind them is read from
// the real stack in test/integration/console.test.ts.
const calls: unknown[][] = [];
const record =
  (name: string) =>
  async (...args: unknown[]) => {
    calls.push([name, ...args]);
    return { ok: true };
  };
const data = {
  overview: record("overview"),
  drift: record("drift"),
  driftWindow: record("driftWindow"),
  quality: record("quality"),
  models: record("models"),
  deadLetters: record("deadLetters"),
} as unknown as ConsoleData;

const logs: Array<Record<string, unknown>> = [];
const logger = pino({ level: "info" }, { write: (line: string) => logs.push(JSON.parse(line)) });
let ready: string | undefined = "ClickHouse does not answer";
const registry = createRegistry("console");
const app = buildConsoleApp({
  data,
  pipelines: [getPipeline("payments"), getPipeline("iris")],
  logger,
  metrics: createConsoleMetrics(registry),
  registry,
  notReadyReason: () => ready,
});

beforeAll(() => app.ready());
afterAll(() => app.close());

describe("console routes", () => {
  it("sends / to the first pipeline's overview", async () => {
    const response = await app.inject("/");
    expect(response.statusCode).toBe(302);
    expect(response.headers.location).toBe("/pipelines/payments/overview");
  });

  it("serves each page and its script, and uPlot from node_modules", async () => {
    const page = await app.inject("/pipelines/iris/drift");
    expect(page.statusCode).toBe(200);
    expect(page.headers["content-type"]).toMatch(/text\/html/);
    expect(page.body).toContain('data-pipeline="iris"');
    for (const asset of [
      "/assets/pages/drift.js",
      "/assets/lib.js",
      "/assets/console.css",
      "/assets/vendor/uPlot.iife.min.js",
    ]) {
      const response = await app.inject(asset);
      expect(response.statusCode, asset).toBe(200);
      expect(response.body.length, asset).toBeGreaterThan(100);
    }
  });

  it("refuses an unknown pipeline, page or path with 404 naming it, and logs the refusal", async () => {
    const pipeline = await app.inject("/api/pipelines/nope/drift");
    expect(pipeline.statusCode).toBe(404);
    expect(pipeline.json()).toEqual({ error: 'unknown pipeline "nope"; known: payments, iris', field: "pipeline" });
    expect((await app.inject("/pipelines/payments/secrets")).json().field).toBe("page");
    expect((await app.inject("/etc/passwd")).statusCode).toBe(404);
    expect(logs.some((l) => l.msg === "console refused a request" && l.field === "pipeline")).toBe(true);
  });

  it("refuses a bad window query with 400 naming the parameter", async () => {
    const cases: Array<[string, string]> = [
      ["feature=amount&start=600", "version"],
      ["version=x&feature=amount&start=600", "version"],
      ["version=1&feature=amount&start=-5", "start"],
      ["version=1&feature=nope&start=600", "feature"],
      ["version=1&start=600", "feature"],
    ];
    for (const [query, field] of cases) {
      const response = await app.inject(`/api/pipelines/payments/drift/window?${query}`);
      expect(response.statusCode, query).toBe(400);
      expect(response.json().field, query).toBe(field);
      expect(response.json().error, query).toContain(field);
    }
    const dead = await app.inject("/api/pipelines/payments/dead-letters?code=x;DROP");
    expect(dead.statusCode).toBe(400);
    expect(dead.json().field).toBe("code");
  });

  it("passes a valid window query on, typed", async () => {
    calls.length = 0;
    const response = await app.inject("/api/pipelines/payments/drift/window?version=2&feature=prediction&start=600");
    expect(response.statusCode).toBe(200);
    const [name, pipeline, ...rest] = calls[0] ?? [];
    expect(name).toBe("driftWindow");
    expect((pipeline as { name: string }).name).toBe("payments");
    expect(rest).toEqual([2, "prediction", 600]);
  });

  it("is not ready while ClickHouse does not answer, and says why", async () => {
    ready = "ClickHouse does not answer";
    const down = await app.inject("/readyz");
    expect(down.statusCode).toBe(503);
    expect(down.json().reason).toBe("ClickHouse does not answer");
    ready = undefined;
    expect((await app.inject("/readyz")).statusCode).toBe(200);
  });

  it("counts requests by route and status", async () => {
    await app.inject("/api/pipelines/payments/quality");
    const text = await registry.metrics();
    expect(text).toMatch(
      /streamscore_console_requests_total\{route="\/api\/pipelines\/:pipeline\/quality",status="200",service="console"\} [1-9]/,
    );
  });
});
