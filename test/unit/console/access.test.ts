import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createConsoleAccess } from "../../../services/console/access.ts";
import type { ConsoleData } from "../../../services/console/data.ts";
import { createConsoleMetrics } from "../../../services/console/metrics.ts";
import { buildConsoleApp } from "../../../services/console/service.ts";
import { createKey, type KeyStore } from "../../../services/shared/auth/api-keys.ts";
import { createRegistry } from "../../../services/shared/metrics.ts";
import { getPipeline } from "../../../services/shared/pipelines/index.ts";

// The console with CONSOLE_API_KEYS_FILE set: who may look at which pipeline, how a browser signs
// in, and that each refusal is logged. The data behind the pages is a stand-in here.
const viewer = createKey({ name: "viewer", pipelines: ["payments"], ratePerSecond: 10, scopes: ["console"] });
const publisher = createKey({ name: "publisher", pipelines: ["payments"], ratePerSecond: 10, scopes: ["publish"] });
const irisViewer = createKey({ name: "iris", pipelines: ["iris"], ratePerSecond: 10, scopes: ["console"] });
const store: KeyStore = { keys: [viewer.entry, publisher.entry, irisViewer.entry] };
const logs: Array<Record<string, unknown>> = [];
const logger = pino({ level: "info" }, { write: (line: string) => logs.push(JSON.parse(line)) });
const data = { drift: async () => ({ served: true }) } as unknown as ConsoleData;
const registry = createRegistry("console");
const app = buildConsoleApp({
  data,
  pipelines: [getPipeline("payments"), getPipeline("iris")],
  logger,
  metrics: createConsoleMetrics(registry),
  registry,
  access: createConsoleAccess(() => store, logger),
  notReadyReason: () => undefined,
});

beforeAll(() => app.ready());
afterAll(() => app.close());

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

describe("console access with API keys", () => {
  it("sends a browser without a key to the sign-in page, and answers an API call with 401", async () => {
    const page = await app.inject("/pipelines/payments/drift");
    expect(page.statusCode).toBe(302);
    expect(page.headers.location).toBe("/login?next=%2Fpipelines%2Fpayments%2Fdrift");
    const api = await app.inject("/api/pipelines/payments/drift");
    expect(api.statusCode).toBe(401);
    expect(api.json().error).toMatch(/missing API key/);
    expect(logs.some((l) => l.msg === "console refused a caller" && l.status === 401)).toBe(true);
  });

  it("refuses a key without the console scope, or for another pipeline, with 403 naming why", async () => {
    const unscoped = await app.inject({ url: "/api/pipelines/payments/drift", headers: bearer(publisher.key) });
    expect(unscoped.statusCode).toBe(403);
    expect(unscoped.json().error).toBe("API key lacks the console scope");
    const other = await app.inject({ url: "/api/pipelines/payments/drift", headers: bearer(irisViewer.key) });
    expect(other.statusCode).toBe(403);
    expect(other.json().error).toBe("API key may not view in the console payments");
    expect(logs.filter((l) => l.msg === "console refused a caller" && l.status === 403)).toHaveLength(2);
  });

  it("serves a caller with a console key for the pipeline", async () => {
    const ok = await app.inject({ url: "/api/pipelines/payments/drift", headers: { "x-api-key": viewer.key } });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ served: true });
  });

  it("signs a browser in with a cookie it cannot read, and refuses a bad key on the form", async () => {
    const bad = await app.inject({
      method: "POST",
      url: "/login",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      payload: `key=${encodeURIComponent(publisher.key)}&next=%2Fpipelines%2Fpayments%2Fdrift`,
    });
    expect(bad.statusCode).toBe(401);
    expect(bad.body).toContain("API key lacks the console scope");
    expect(bad.headers["set-cookie"]).toBeUndefined();
    const good = await app.inject({
      method: "POST",
      url: "/login",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      payload: `key=${encodeURIComponent(viewer.key)}&next=%2Fpipelines%2Fpayments%2Fdrift`,
    });
    expect(good.statusCode).toBe(302);
    expect(good.headers.location).toBe("/pipelines/payments/drift");
    const cookie = String(good.headers["set-cookie"]);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    const withCookie = await app.inject({
      url: "/api/pipelines/payments/drift",
      headers: { cookie: cookie.split(";")[0] as string },
    });
    expect(withCookie.statusCode).toBe(200);
  });

  it("goes back only to a path of this console after signing in", async () => {
    const elsewhere = await app.inject({
      method: "POST",
      url: "/login",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      payload: `key=${encodeURIComponent(viewer.key)}&next=${encodeURIComponent("//evil.example/")}`,
    });
    expect(elsewhere.headers.location).toBe("/");
  });

  it("leaves the sign-in page, assets and health endpoints open", async () => {
    for (const url of ["/login", "/assets/console.css", "/healthz", "/readyz"])
      expect((await app.inject(url)).statusCode, url).toBe(200);
  });
});
