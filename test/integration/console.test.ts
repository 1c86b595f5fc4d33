// The console in a real browser (Debian's Chromium) on a stack filled by the pipeline: ten windows
// of payments with drift injected into `amount` in the last four, labels for every other event and
// two poison records. Every page renders without console errors; the numbers shown equal SQL the
// test runs itself as the administrator; clicking a heatmap cell opens that window's histogram;
// a screenshot of each page lands in .stack/test-runs/console/.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadStackConfig } from "../../infra/local/config.ts";
import { createConsoleData } from "../../services/console/data.ts";
import { createConsoleMetrics } from "../../services/console/metrics.ts";
import { createPrometheus } from "../../services/console/prometheus.ts";
import { buildConsoleApp } from "../../services/console/service.ts";
import { applyDrift } from "../../services/producer/generator/drift.ts";
import { type LabelledPayment, paymentStream } from "../../services/producer/generator/payments.ts";
import { type ClickHouse, createClickHouse } from "../../services/shared/clickhouse/client.ts";
import { createAvroCodec, parseAvroSchema } from "../../services/shared/kafka/avro-codec.ts";
import { createLogger } from "../../services/shared/logger.ts";
import { createRegistry } from "../../services/shared/metrics.ts";
import { pipelineTopics } from "../../services/shared/pipeline/definition.ts";
import { projectRoot } from "../../services/shared/project.ts";
import { readSchema } from "../../services/shared/schemas.ts";
import { type LaunchedBrowser, launchChromium } from "../../tools/browser.ts";
import {
  testAnalystConfig,
  testConnectionConfig,
  testWriterConfig,
  uniqueName,
  waitFor,
} from "../helpers/integration.ts";
import { type PipelineHarness, startPipelineHarness } from "../helpers/pipeline-harness.ts";

const windowMs = 300_000;
const windows = 10;
const driftWindows = 4;
const screenshots = join(projectRoot, ".stack", "test-runs", "console");

/** A number as the pages print it (fmt in public/lib.js), read back. */
const shown = (text: string | null) => Number((text ?? "").replace(/,/g, ""));

describe("console in a real browser", () => {
  let h: PipelineHarness;
  /** Iris has no personal fields: its dead letters keep the original bytes. */
  let iris: PipelineHarness;
  let reader: ClickHouse;
  let browser: LaunchedBrowser;
  let base: string;
  let closeConsole: () => Promise<void>;
  const errors: string[] = [];
  let start = 0;
  let t0 = 0;

  beforeAll(async () => {
    // The monitor writes into `streamscore` as the restricted writer, so the console can read it as
    // the analyst, as it does on the local stack.
    h = await startPipelineHarness({ base: "payments", monitorClickHouse: testWriterConfig() });
    iris = await startPipelineHarness({
      base: "iris",
      monitorClickHouse: testWriterConfig(),
      services: ["transformer", "monitor"],
    });
    const day = 24 * 3_600_000;
    const evening = Math.floor(Date.now() / day) * day + 20 * 3_600_000;
    const end = evening <= Date.now() ? evening : evening - day;
    start = end - windows * windowMs;
    t0 = end - driftWindows * windowMs;
    const events: object[] = [];
    const labelled: LabelledPayment[] = [];
    for (const item of paymentStream({ seed: 5, startTime: start, ratePerSecond: 2, idPrefix: uniqueName("c") })) {
      if (item.event.event_time >= end) break;
      if (item.event.event_time >= t0)
        applyDrift(
          item.event as unknown as Record<string, unknown>,
          item.event.event_time,
          { kind: "mean-shift", field: "amount", fromTime: t0, shift: 150 },
          () => 0.5,
        );
      events.push(item.event);
      labelled.push(item);
    }
    for (let i = 0; i < events.length; i += 1000) await h.client.publish(h.definition.name, events.slice(i, i + 1000));
    const topics = pipelineTopics(h.definition.name);
    const labelSchema = readSchema("label-event.avsc");
    const labelId = await h.registry.register(`${topics.labels}-value`, labelSchema);
    const codec = createAvroCodec(h.registry.resolve);
    const labelType = parseAvroSchema(labelSchema);
    const truth = labelled.filter((_, i) => i % 2 === 0);
    await h.producer.send({
      topic: topics.labels,
      acks: -1,
      messages: truth.map((t) => ({
        key: t.event.event_id,
        value: codec.encode(labelId, labelType, {
          event_id: t.event.event_id,
          label: String(t.label),
          label_time: t.event.event_time + 60_000,
        }),
      })),
    });
    const poison = [
      { key: "poison", value: Buffer.from('{"not":"avro"}') },
      { key: "poison", value: Buffer.from([0, 0, 0, 0x7f, 0xff, 1, 2, 3]) },
    ];
    await h.producer.send({ topic: topics.raw, acks: -1, messages: poison });
    await iris.producer.send({ topic: pipelineTopics(iris.definition.name).raw, acks: -1, messages: poison });
    const count = async (sql: string) => Number((await h.clickhouse.query<{ n: string }>(sql))[0]?.n ?? 0);
    const p = `pipeline = '${h.definition.name}'`;
    await waitFor(
      "the windows before the last closed, every label and both dead letters stored",
      async () => {
        const [closed, labels, dead] = await Promise.all([
          count(`SELECT uniqExact(window_start) AS n FROM ${h.database}.drift_metrics WHERE ${p}`),
          count(`SELECT count() AS n FROM ${h.database}.labels FINAL WHERE ${p}`),
          count(
            `SELECT count() AS n FROM ${h.database}.dead_letters FINAL WHERE pipeline IN ('${h.definition.name}', '${iris.definition.name}')`,
          ),
        ]);
        return closed >= windows - 1 && labels >= truth.length && dead >= 4 ? true : undefined;
      },
      300_000,
    );
    await h.monitor?.qualityJobs()[0]?.runOnce();

    const analyst = testAnalystConfig();
    reader = createClickHouse(analyst ?? testConnectionConfig());
    const registry = createRegistry("console");
    const metrics = createConsoleMetrics(registry);
    const logger = createLogger({ name: "console-test", level: "warn" });
    const app = buildConsoleApp({
      data: createConsoleData({
        clickhouse: reader,
        database: h.database,
        prometheus: createPrometheus(`http://127.0.0.1:${loadStackConfig().STACK_PROMETHEUS_PORT}`),
        services: { producer: h.ingestUrl, transformer: "http://127.0.0.1:1" },
        modelsRoot: projectRoot,
        driftHours: 24,
        metrics,
        logger,
      }),
      pipelines: [h.definition, iris.definition],
      logger,
      metrics,
      registry,
      notReadyReason: () => undefined,
    });
    base = await app.listen({ host: "127.0.0.1", port: 0 });
    closeConsole = () => app.close();
    browser = await launchChromium();
    mkdirSync(screenshots, { recursive: true });
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    await closeConsole?.();
    await reader?.close();
    await iris?.stop();
    await h?.stop();
  });

  async function open(pageName: string, pipeline = h.definition.name): Promise<Page> {
    const page = await browser.context.newPage();
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(`${pageName}: ${m.text()}`);
    });
    page.on("pageerror", (e) => errors.push(`${pageName}: ${e.message}`));
    await page.goto(`${base}/pipelines/${pipeline}/${pageName}`);
    await page.waitForSelector("body[data-ready=true]", { timeout: 15_000 });
    return page;
  }

  const sql = async <Row>(text: string) => h.clickhouse.query<Row>(text);
  const p = () => `pipeline = '${h.definition.name}'`;

  it("overview: services, stored rows and the last hour's latency equal their sources", async () => {
    const page = await open("overview");
    await page.screenshot({ path: join(screenshots, "overview.png"), fullPage: true });
    const services = await page.locator("#services tbody tr").allInnerTexts();
    expect(services.find((s) => s.startsWith("producer"))).toMatch(/\bup\b.*\bready\b/);
    expect(services.find((s) => s.startsWith("transformer"))).toMatch(/\bdown\b/);
    const stored = new Map(
      (await page.locator("#rows tbody tr").allInnerTexts()).map((line) => {
        const [table = "", rows = ""] = line.split("\t");
        return [table.trim(), shown(rows)];
      }),
    );
    for (const table of ["predictions", "labels", "drift_metrics", "dead_letters"]) {
      const [row] = await sql<{ n: string }>(`SELECT count() AS n FROM ${h.database}.${table} WHERE ${p()}`);
      expect(stored.get(table), table).toBe(Number(row?.n));
    }
    const [latency] = await sql<{ n: string; p99: number }>(
      `SELECT count() AS n, quantileExact(0.99)(ingest_to_score_ms) AS p99 FROM ${h.database}.predictions
       WHERE ${p()} AND insert_time > now() - INTERVAL 1 HOUR`,
    );
    expect(shown(await page.locator("[data-figure=events]").textContent())).toBe(Number(latency?.n));
    expect(shown(await page.locator("[data-figure=p99]").textContent())).toBe(Number(latency?.p99));
    await page.close();
  });

  it("drift: the heatmap's cells are the stored verdicts, and a cell opens its window's histogram", async () => {
    const page = await open("drift");
    const verdicts = await sql<{ feature: string; window_start: number; drifted: number; value: number }>(
      `SELECT feature, toUInt32(window_start) AS window_start, drifted, value FROM ${h.database}.drift_metrics FINAL
       WHERE ${p()} AND statistic LIKE 'drift:%' AND model_version = 1`,
    );
    expect(verdicts.length).toBeGreaterThan(0);
    expect(await page.locator("#heatmap td.cell[data-window]").count()).toBe(verdicts.length);
    expect(await page.locator("#heatmap td.cell[data-drifted=true]").count()).toBe(
      verdicts.filter((v) => Number(v.drifted) === 1).length,
    );
    // The run is shorter than the rolling features' hour: they and the prediction are warming up.
    const [warm] = await sql<{ n: string }>(
      `SELECT count() AS n FROM ${h.database}.drift_metrics FINAL
       WHERE ${p()} AND statistic LIKE 'drift:%' AND model_version = 1 AND warm_up = 1 AND drifted = 0`,
    );
    expect(Number(warm?.n)).toBeGreaterThan(0);
    expect(await page.locator("#heatmap td.cell[data-warm-up=true]").count()).toBe(Number(warm?.n));
    expect(await page.locator("#heatmap td.cell[data-feature=card_txn_count_1h][data-warm-up=false]").count()).toBe(0);
    expect(shown(await page.locator("#drifted-count").textContent())).toBe(
      verdicts.filter((v) => Number(v.drifted) === 1).length,
    );
    // amount drifted in the injected windows, so its cell there is red and opens that window.
    const drifted = verdicts.find(
      (v) => v.feature === "amount" && Number(v.window_start) * 1000 >= t0 && Number(v.drifted) === 1,
    );
    expect(drifted).toBeDefined();
    await page.locator(`#heatmap td.cell[data-feature=amount][data-window="${drifted?.window_start}"]`).click();
    await page.waitForSelector("#histogram tbody tr");
    await page.waitForSelector("#histogram-chart canvas");
    const [events] = await sql<{ n: string }>(
      `SELECT count() AS n FROM ${h.database}.predictions FINAL WHERE ${p()} AND model_version = 1
       AND event_time >= toDateTime(${drifted?.window_start}) AND event_time < toDateTime(${Number(drifted?.window_start) + windowMs / 1000})`,
    );
    const counts = await page.locator("#histogram tbody tr td:nth-child(4)").allInnerTexts();
    expect(counts.reduce((sum, c) => sum + shown(c), 0)).toBe(Number(events?.n));
    const statistics = await sql<{ statistic: string; drifted: number }>(
      `SELECT statistic, drifted FROM ${h.database}.drift_metrics FINAL WHERE ${p()} AND model_version = 1
       AND feature = 'amount' AND window_start = toDateTime(${drifted?.window_start})`,
    );
    const rows = await page.locator("#window-statistics tbody tr").allInnerTexts();
    expect(rows).toHaveLength(statistics.length);
    expect(rows.find((r) => r.startsWith("drift:psi"))).toMatch(/drifted/);
    await page.screenshot({ path: join(screenshots, "drift.png"), fullPage: true });
    // A feature's name opens its statistic over time with the threshold.
    await page.locator("#heatmap th.feature", { hasText: /^amount$/ }).click();
    await page.waitForSelector("#feature-chart canvas");
    await page.screenshot({ path: join(screenshots, "drift-feature.png"), fullPage: true });
    await page.close();
  });

  it("quality: each window's metrics equal model_quality", async () => {
    const page = await open("quality");
    await page.screenshot({ path: join(screenshots, "quality.png"), fullPage: true });
    const rows = await sql<{ window_start: number; metric: string; value: number }>(
      `SELECT toUInt32(window_start) AS window_start, metric, value FROM ${h.database}.model_quality FINAL
       WHERE ${p()} AND model_version = 1 AND metric IN ('accuracy', 'roc_auc', 'estimated_accuracy')`,
    );
    expect(rows.length).toBeGreaterThan(0);
    const headers = await page.locator("#quality-v1 thead th").allInnerTexts();
    const lines = await page.locator("#quality-v1 tbody tr").all();
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      const cells = await line.locator("td").allInnerTexts();
      const when = Date.parse(`${cells[0]?.replace(" ", "T")}:00Z`) / 1000;
      // Realized from labels, and the estimate from the scores alone beside it.
      const columns: Array<[string, string]> = [
        ["accuracy", "accuracy"],
        ["roc_auc", "roc_auc"],
        ["estimated_accuracy", "est. accuracy"],
      ];
      expect(headers).toContain("est. accuracy");
      for (const [metric, header] of columns) {
        // A window with one class only has no ROC AUC: the page shows a dash.
        const stored = rows.find((r) => Number(r.window_start) === when && r.metric === metric);
        const cell = cells[headers.indexOf(header)] ?? "";
        if (stored === undefined) expect(cell, `${metric} at ${cells[0]}`).toBe("–");
        else expect(shown(cell), `${metric} at ${cells[0]}`).toBe(Number(Number(stored.value).toPrecision(4)));
      }
    }
    await page.close();
  });

  it("models: the versions in use and their volume equal predictions", async () => {
    const page = await open("models");
    await page.screenshot({ path: join(screenshots, "models.png"), fullPage: true });
    const [row] = await sql<{ n: string }>(
      `SELECT count() AS n FROM ${h.database}.predictions WHERE ${p()} AND model_version = 1
       AND model_role = 'champion' AND insert_time > now() - INTERVAL 1 DAY`,
    );
    const line = await page.locator("#versions tbody tr", { hasText: "champion" }).locator("td").allInnerTexts();
    expect(line[0]).toBe("v1");
    expect(shown(line[2] ?? "")).toBe(Number(row?.n));
    await page.close();
  });

  it("dead letters: counts by stage and reason equal dead_letters, and a record shows its bytes", async () => {
    const page = await open("dead-letters");
    const stored = await sql<{ code: string; n: string }>(
      `SELECT error_code AS code, count() AS n FROM ${h.database}.dead_letters FINAL WHERE ${p()} GROUP BY code`,
    );
    const lines = await page.locator("#dead-letter-counts tbody tr").all();
    expect(lines).toHaveLength(stored.length);
    for (const line of lines) {
      const cells = await line.locator("td").allInnerTexts();
      expect(shown(cells[2] ?? ""), cells[1]).toBe(Number(stored.find((s) => s.code === cells[1])?.n));
    }
    // Payments keeps no original bytes (personal fields): the record says where the original is.
    const records = page.locator("#dead-letter-sample details");
    expect(await records.count()).toBe(2);
    for (const record of await records.all()) await record.locator("summary").click();
    const withheld = await page.locator("p.withheld").allInnerTexts();
    expect(withheld).toHaveLength(2);
    expect(withheld[0]).toContain(`${pipelineTopics(h.definition.name).raw} partition`);
    await page.screenshot({ path: join(screenshots, "dead-letters.png"), fullPage: true });
    await page.close();

    const irisPage = await open("dead-letters", iris.definition.name);
    const irisRecords = irisPage.locator("#dead-letter-sample details");
    expect(await irisRecords.count()).toBe(2);
    for (const record of await irisRecords.all()) await record.locator("summary").click();
    const dumps = await irisPage.locator("pre.hex").allInnerTexts();
    expect(dumps.some((d) => d.startsWith("00000000  7b 22 6e 6f 74 22 3a 22 61 76 72 6f 22 7d"))).toBe(true);
    expect(dumps.some((d) => d.startsWith("00000000  00 00 00 7f ff 01 02 03"))).toBe(true);
    expect(await irisPage.locator("pre.json").textContent()).toContain('"not": "avro"');
    expect(await irisPage.locator("#dead-letter-sample").textContent()).toContain("schema id 32767");
    await irisPage.screenshot({ path: join(screenshots, "dead-letters-bytes.png"), fullPage: true });
    await irisPage.close();
  });

  it("no page logged an error in the browser", () => {
    expect(errors).toEqual([]);
  });
});
