// The k6 scripts without k6: each file is an ES module that imports only k6's own modules and
// files next to it; each script declares bounded scenarios, the latency and failure thresholds, a
// default export and a handleSummary; and, run under Node with k6's modules stubbed, a script sends
// valid requests to BASE_URL only and checks that every event was accepted.
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import ts from "typescript";
import { afterAll, describe, expect, it } from "vitest";
import { bounds, durationSeconds, readSettings, type SummaryData, summarize } from "../../../load-tests/k6/common.js";
import { projectRoot } from "../../../services/shared/project.ts";

const k6Dir = join(projectRoot, "load-tests", "k6");
const files = readdirSync(k6Dir)
  .filter((f) => f.endsWith(".js"))
  .sort();
const expectedScripts = ["ingest-batches.js", "ingest-constant-rate.js", "ingest-ramping.js"];
const arrivalRateExecutors = ["constant-arrival-rate", "ramping-arrival-rate"];

interface Parsed {
  source: ts.SourceFile;
  imports: string[];
  dynamicImports: number;
  hasDefaultExport: boolean;
  exportedFunctions: string[];
  options?: ts.ObjectLiteralExpression;
}

function parse(file: string): Parsed {
  const source = ts.createSourceFile(
    file,
    readFileSync(join(k6Dir, file), "utf8"),
    ts.ScriptTarget.ES2022,
    true,
    ts.ScriptKind.JS,
  );
  const parsed: Parsed = { source, imports: [], dynamicImports: 0, hasDefaultExport: false, exportedFunctions: [] };
  const isExported = (node: ts.Node) =>
    ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
  const isDefault = (node: ts.Node) =>
    ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === ts.SyntaxKind.DefaultKeyword);
  for (const statement of source.statements) {
    if (ts.isImportDeclaration(statement) && ts.isStringLiteral(statement.moduleSpecifier)) {
      parsed.imports.push(statement.moduleSpecifier.text);
    }
    if (
      ts.isExportDeclaration(statement) &&
      statement.moduleSpecifier &&
      ts.isStringLiteral(statement.moduleSpecifier)
    ) {
      parsed.imports.push(statement.moduleSpecifier.text);
    }
    if (ts.isExportAssignment(statement) && !statement.isExportEquals) parsed.hasDefaultExport = true;
    if (ts.isFunctionDeclaration(statement) && isExported(statement)) {
      if (isDefault(statement)) parsed.hasDefaultExport = true;
      else if (statement.name) parsed.exportedFunctions.push(statement.name.text);
    }
    if (ts.isVariableStatement(statement) && isExported(statement)) {
      for (const declaration of statement.declarationList.declarations) {
        if (
          ts.isIdentifier(declaration.name) &&
          declaration.name.text === "options" &&
          declaration.initializer &&
          ts.isObjectLiteralExpression(declaration.initializer)
        ) {
          parsed.options = declaration.initializer;
        }
      }
    }
  }
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node)) {
      const callee = node.expression;
      if (callee.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(callee) && callee.text === "require")) {
        parsed.dynamicImports += 1;
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return parsed;
}

function property(object: ts.ObjectLiteralExpression, name: string): ts.PropertyAssignment | undefined {
  return object.properties.find(
    (p): p is ts.PropertyAssignment =>
      ts.isPropertyAssignment(p) && (ts.isIdentifier(p.name) || ts.isStringLiteral(p.name)) && p.name.text === name,
  );
}

function executorsIn(source: ts.SourceFile): string[] {
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (
      ts.isPropertyAssignment(node) &&
      ts.isIdentifier(node.name) &&
      node.name.text === "executor" &&
      ts.isStringLiteral(node.initializer)
    ) {
      found.push(node.initializer.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

const scratch = mkdtempSync(join(tmpdir(), "k6-scripts-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("k6 files", () => {
  it("include the three ingest scripts and the payload module", () => {
    expect(files).toEqual(expect.arrayContaining([...expectedScripts, "payloads.js"]));
    expect(files.filter((f) => parse(f).hasDefaultExport)).toEqual(expectedScripts);
  });

  it.each(files)("%s parses as an ES module", (file) => {
    const copy = join(scratch, file.replace(/\.js$/, ".mjs"));
    copyFileSync(join(k6Dir, file), copy);
    // `--check` compiles the file as a module (import/export syntax) without running it.
    execFileSync(process.execPath, ["--check", copy], { stdio: "pipe" });
    const diagnostics = (parse(file).source as ts.SourceFile & { parseDiagnostics?: ts.Diagnostic[] }).parseDiagnostics;
    expect(diagnostics ?? []).toEqual([]);
  });

  it.each(files)("%s imports only k6 modules and files next to it, statically", (file) => {
    const { imports, dynamicImports } = parse(file);
    expect(dynamicImports).toBe(0);
    for (const specifier of imports) {
      if (specifier.startsWith("./") || specifier.startsWith("../")) {
        expect(existsSync(resolve(dirname(join(k6Dir, file)), specifier)), `${file} imports ${specifier}`).toBe(true);
        expect(specifier.endsWith(".js")).toBe(true);
      } else {
        expect(specifier === "k6" || /^k6\/[a-z/-]+$/.test(specifier), `${file} imports ${specifier}`).toBe(true);
      }
    }
  });

  it.each(files.filter((f) => !expectedScripts.includes(f)))(
    "%s imports no k6 module, so Node can import it too",
    (file) => {
      expect(parse(file).imports.filter((s) => !s.startsWith("./"))).toEqual([]);
    },
  );

  describe.each(expectedScripts)("%s", (file) => {
    const parsed = parse(file);

    it("exports options with scenarios and the latency and failure thresholds", () => {
      expect(parsed.options, "export const options = { … }").toBeDefined();
      const options = parsed.options as ts.ObjectLiteralExpression;
      expect(property(options, "scenarios")).toBeDefined();
      const thresholds = property(options, "thresholds")?.initializer;
      expect(thresholds && ts.isObjectLiteralExpression(thresholds)).toBe(true);
      const object = thresholds as ts.ObjectLiteralExpression;
      const duration = property(object, "http_req_duration")?.initializer.getText(parsed.source) ?? "";
      expect(duration).toContain("p(95)<");
      expect(duration).toContain("p(99)<");
      expect(property(object, "http_req_failed")?.initializer.getText(parsed.source) ?? "").toContain("rate<");
      expect(executorsIn(parsed.source).length).toBeGreaterThan(0);
      for (const executor of executorsIn(parsed.source)) expect(arrivalRateExecutors).toContain(executor);
    });

    it("has a default export (the scenario function), setup and handleSummary", () => {
      expect(parsed.hasDefaultExport).toBe(true);
      expect(parsed.exportedFunctions).toEqual(expect.arrayContaining(["setup", "handleSummary"]));
    });
  });
});

function runScript(file: string, env: Record<string, string>, summaryData: SummaryData = { metrics: {} }) {
  const output = execFileSync(
    process.execPath,
    [
      join(projectRoot, "test", "helpers", "k6-stub-runner.ts"),
      join(k6Dir, file),
      JSON.stringify({ env, iterations: 3, summaryData }),
    ],
    { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
  );
  return JSON.parse(output) as {
    options: {
      scenarios: Record<
        string,
        { executor: string; maxVUs: number; duration?: string; stages?: { duration: string }[] }
      >;
      thresholds: Record<string, unknown>;
      summaryTrendStats: string[];
    };
    setupData: { runId: string };
    requests: Array<{ method: string; url: string; body?: string; headers?: Record<string, string> }>;
    checks: Array<{ name: string; ok: boolean }>;
    counters: Record<string, number>;
    summary: Record<string, string>;
  };
}

describe.each(expectedScripts)("%s run with k6 stubbed", (file) => {
  it("is bounded by default and sends valid requests to the loopback ingest API only", () => {
    const run = runScript(file, {});
    const scenarios = Object.values(run.options.scenarios);
    expect(scenarios.length).toBeGreaterThan(0);
    for (const scenario of scenarios) {
      expect(arrivalRateExecutors).toContain(scenario.executor);
      expect(scenario.maxVUs).toBeLessThanOrEqual(bounds.maxVUs);
      const seconds = scenario.duration
        ? durationSeconds(scenario.duration)
        : (scenario.stages ?? []).reduce((sum, stage) => sum + durationSeconds(stage.duration), 0);
      expect(seconds).toBeGreaterThan(0);
      expect(seconds).toBeLessThanOrEqual(90);
    }
    expect(run.options.summaryTrendStats).toContain("p(99)");
    expect(Object.keys(run.options.thresholds)).toEqual(
      expect.arrayContaining(["http_req_duration", "http_req_failed"]),
    );

    expect(run.requests[0]).toMatchObject({ method: "GET", url: "http://127.0.0.1:8080/v1/pipelines" });
    const posts = run.requests.filter((r) => r.method === "POST");
    expect(posts.length).toBe(scenarios.length * 2 * 3);
    for (const post of run.requests) expect(post.url.startsWith("http://127.0.0.1:8080/")).toBe(true);
    for (const post of posts) expect(post.url).toBe("http://127.0.0.1:8080/v1/pipelines/payments/events");

    const events = posts.flatMap((post) => {
      const body = post.body ?? "";
      if (post.headers?.["content-type"] === "application/x-ndjson") {
        return body.split("\n").map((line) => JSON.parse(line) as { event_id: string });
      }
      expect(post.headers?.["content-type"]).toBe("application/json");
      return ([] as Array<{ event_id: string }>).concat(JSON.parse(body));
    });
    expect(new Set(events.map((e) => e.event_id)).size).toBe(events.length);
    for (const event of events) expect(event.event_id.startsWith(run.setupData.runId)).toBe(true);

    expect(run.counters).toEqual({ ingest_events_accepted: events.length, ingest_events_sent: events.length });
    expect(new Set(run.checks.map((c) => c.name))).toEqual(new Set(["status is 200", "accepted equals events sent"]));
    expect(run.checks.every((c) => c.ok)).toBe(true);
  });

  it("takes BASE_URL, PIPELINE, RATE, DURATION and BATCH from the environment", () => {
    const run = runScript(file, {
      BASE_URL: "http://localhost:18080/",
      PIPELINE: "iris",
      RATE: "7",
      DURATION: "15s",
      BATCH: "4",
      RUN_ID: "fixed",
    });
    expect(run.setupData.runId).toBe("fixed");
    const posts = run.requests.filter((r) => r.method === "POST");
    for (const post of posts) expect(post.url).toBe("http://localhost:18080/v1/pipelines/iris/events");
    expect(posts[0]?.body).toContain("flower_id");
    for (const scenario of Object.values(run.options.scenarios)) {
      const s = scenario as { rate?: number; stages?: Array<{ target: number }>; duration?: string };
      expect(s.rate ?? Math.max(...(s.stages ?? []).map((stage) => stage.target))).toBe(7);
    }
    if (file === "ingest-batches.js") expect(run.counters.ingest_events_sent).toBe(2 * 2 * 3 * 4);
    else expect(Object.values(run.options.scenarios)[0]?.duration ?? "15s").toBe("15s");
  });

  it("refuses settings beyond the bounds instead of running unbounded", () => {
    expect(() => runScript(file, { MAX_VUS: String(bounds.maxVUs + 1) })).toThrow(/MAX_VUS/);
    expect(() => runScript(file, { DURATION: "2h" })).toThrow(/DURATION/);
  });

  it("writes a short text and JSON summary", () => {
    const run = runScript(file, { SUMMARY_DIR: "out" }, summaryData);
    const name = file.replace(/\.js$/, "");
    expect(Object.keys(run.summary).sort()).toEqual([`out/k6-${name}.json`, "stdout"]);
    expect(run.summary.stdout).toContain(`streamscore ${name}`);
    expect(JSON.parse(run.summary[`out/k6-${name}.json`] ?? "{}")).toMatchObject({
      script: name,
      eventsAccepted: 1200,
      thresholdsOk: false,
    });
  });
});

const summaryData: SummaryData = {
  state: { testRunDurationMs: 60_123 },
  metrics: {
    http_reqs: { values: { count: 1200, rate: 20 } },
    http_req_failed: { values: { rate: 0 }, thresholds: { "rate<0.01": { ok: true } } },
    http_req_duration: {
      values: { med: 2.5, "p(95)": 8.25, "p(99)": 420, max: 900 },
      thresholds: { "p(95)<300": { ok: true }, "p(99)<300": { ok: false } },
    },
    ingest_events_sent: { values: { count: 1200 } },
    ingest_events_accepted: { values: { count: 1200 } },
    checks: { values: { rate: 1 } },
  },
};

describe("settings and summary", () => {
  it("default to the loopback API, one minute and bounded VUs", () => {
    const settings = readSettings({});
    expect(settings).toMatchObject({
      baseUrl: "http://127.0.0.1:8080",
      pipeline: "payments",
      eventsUrl: "http://127.0.0.1:8080/v1/pipelines/payments/events",
      duration: "60s",
    });
    expect(settings.maxVUs).toBeLessThanOrEqual(bounds.maxVUs);
  });

  it.each([
    [{ RATE: "0" }, /RATE must be a positive number/],
    [{ RATE: String(bounds.maxRate + 1) }, /RATE is/],
    [{ BATCH: String(bounds.maxBatch + 1) }, /BATCH is/],
    [{ DURATION: "forever" }, /not a duration/],
    [{ BASE_URL: "127.0.0.1:8080" }, /BASE_URL must be/],
  ])("refuse %o", (env, message) => {
    expect(() => readSettings(env)).toThrow(message);
  });

  it("reads k6 durations", () => {
    expect(["90", "90s", "1m30s", "1h", "1500ms"].map(durationSeconds)).toEqual([90, 90, 90, 3600, 1.5]);
  });

  it("summarize names the failed thresholds", () => {
    const out = summarize(summaryData, "ingest-x", readSettings({}));
    expect(out.stdout).toBe(
      [
        "streamscore ingest-x — payments at http://127.0.0.1:8080, 60.1 s",
        "  requests    1200 (20.0/s), failed 0.00%",
        "  latency     p50 2.5 ms, p95 8.3 ms, p99 420.0 ms, max 900.0 ms",
        "  events      1200 sent, 1200 accepted",
        "  checks      100.00% passed",
        "  thresholds  FAILED: http_req_duration p(99)<300",
        "",
      ].join("\n"),
    );
  });
});
