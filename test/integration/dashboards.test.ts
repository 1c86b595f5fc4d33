// The Grafana dashboards (infra/grafana/dashboards/*.json) and the alerting rules against what the
// services really export. The static part checks each file is a dashboard Grafana can load, wired
// to the provisioned data source and to the compose mounts. The live part runs the four services of
// a pipeline in this process, has the local Prometheus scrape them (a target file in the directory
// prometheus.yml's file_sd_configs watches), pushes payments with drift, poison records, repeats,
// late events and labels through them, and then requires every query of every panel to return at
// least one series, and every metric an alerting rule reads to be there with the labels it uses.
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { parse } from "yaml";
import { loadStackConfig, projectRoot } from "../../infra/local/config.ts";
import { applyDrift } from "../../services/producer/generator/drift.ts";
import {
  type LabelledPayment,
  type PaymentEventRecord,
  paymentStream,
} from "../../services/producer/generator/payments.ts";
import { createAvroCodec, parseAvroSchema } from "../../services/shared/kafka/avro-codec.ts";
import type { Registry } from "../../services/shared/metrics.ts";
import { buildOpsServer } from "../../services/shared/ops-routes.ts";
import { pipelineTopics } from "../../services/shared/pipeline/definition.ts";
import { readSchema } from "../../services/shared/schemas.ts";
import { uniqueName, waitFor } from "../helpers/integration.ts";
import { type PipelineHarness, type ServiceName, startPipelineHarness } from "../helpers/pipeline-harness.ts";
import { paymentPoison } from "../helpers/poison.ts";

const dashboardsDir = join(projectRoot, "infra", "grafana", "dashboards");
const provisioningDir = join(projectRoot, "infra", "grafana", "provisioning");
const dashboardFiles = readdirSync(dashboardsDir)
  .filter((f) => f.endsWith(".json"))
  .sort();

interface Target {
  refId?: string;
  expr?: string;
  datasource?: { type?: string; uid?: string };
}
interface Panel {
  id?: number;
  type?: string;
  title?: string;
  gridPos?: { x?: number; y?: number; w?: number; h?: number };
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
}
interface Dashboard {
  uid?: string;
  title?: string;
  schemaVersion?: number;
  panels?: Panel[];
  templating?: { list?: Array<{ name: string; query?: { query?: string } | string }> };
}

const dashboards = dashboardFiles.map((file) => ({
  file,
  dashboard: JSON.parse(readFileSync(join(dashboardsDir, file), "utf8")) as Dashboard,
}));

/** Grafana's own variables the panels may use; the live part substitutes them. */
const builtIns = new Set(["__rate_interval", "__interval", "__range"]);
const panelTypes = new Set(["timeseries", "stat", "gauge", "table", "state-timeline", "bargauge", "heatmap"]);

function variablesIn(expr: string): string[] {
  return [...expr.matchAll(/\$\{?(\w+)\}?/g)].map((m) => m[1] as string);
}

describe("Grafana dashboards: files", () => {
  const datasource = parse(readFileSync(join(provisioningDir, "datasources", "prometheus.yml"), "utf8")) as {
    datasources: Array<{ uid?: string; type: string }>;
  };
  const prometheusUid = datasource.datasources.find((d) => d.type === "prometheus")?.uid;

  it("there are the four dashboards, with distinct uids and titles", () => {
    expect(dashboardFiles).toEqual([
      "drift.json",
      "model-quality.json",
      "model-versions.json",
      "pipeline-overview.json",
    ]);
    const uids = dashboards.map((d) => d.dashboard.uid);
    expect(new Set(uids).size).toBe(dashboards.length);
    expect(new Set(dashboards.map((d) => d.dashboard.title)).size).toBe(dashboards.length);
  });

  it.each(dashboards)("$file is a Grafana dashboard on the provisioned Prometheus", ({ dashboard }) => {
    expect(prometheusUid).toBeTruthy();
    expect(dashboard.title).toMatch(/\S/);
    expect(dashboard.uid).toMatch(/^[a-z0-9-]{1,40}$/);
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    const panels = dashboard.panels ?? [];
    expect(panels.length).toBeGreaterThan(0);
    const defined = new Set((dashboard.templating?.list ?? []).map((v) => v.name));
    const problems: string[] = [];
    const ids = new Set<number>();
    for (const panel of panels) {
      const name = `panel ${panel.id} "${panel.title}"`;
      if (typeof panel.id !== "number" || ids.has(panel.id)) problems.push(`${name}: missing or repeated id`);
      ids.add(panel.id ?? -1);
      if (!panel.title) problems.push(`${name}: no title`);
      if (!panelTypes.has(panel.type ?? "")) problems.push(`${name}: type ${panel.type}`);
      const g = panel.gridPos;
      if (
        !g ||
        ![g.x, g.y, g.w, g.h].every((n) => Number.isInteger(n) && (n as number) >= 0) ||
        (g.w as number) < 1 ||
        (g.h as number) < 1 ||
        (g.x as number) + (g.w as number) > 24
      )
        problems.push(`${name}: gridPos ${JSON.stringify(g)}`);
      if (panel.datasource?.uid !== prometheusUid) problems.push(`${name}: data source ${panel.datasource?.uid}`);
      if (!panel.targets?.length) problems.push(`${name}: no targets`);
      for (const target of panel.targets ?? []) {
        if (!target.refId || !target.expr?.trim()) problems.push(`${name}: target without refId or expr`);
        if (target.datasource?.uid !== prometheusUid) problems.push(`${name}: target data source`);
        for (const v of variablesIn(target.expr ?? ""))
          if (!defined.has(v) && !builtIns.has(v)) problems.push(`${name}: undefined variable $${v}`);
      }
    }
    expect(problems).toEqual([]);
    // No two panels share a cell of the grid.
    const cells = new Set<string>();
    for (const { gridPos: g } of panels)
      for (let x = g?.x ?? 0; x < (g?.x ?? 0) + (g?.w ?? 0); x += 1)
        for (let y = g?.y ?? 0; y < (g?.y ?? 0) + (g?.h ?? 0); y += 1) {
          expect(cells.has(`${x},${y}`)).toBe(false);
          cells.add(`${x},${y}`);
        }
  });

  it("provisioning loads them from where docker compose mounts them", () => {
    const provider = parse(readFileSync(join(provisioningDir, "dashboards", "streamscore.yml"), "utf8")) as {
      providers: Array<{ type: string; options: { path: string } }>;
    };
    const path = provider.providers[0]?.options.path;
    expect(provider.providers[0]?.type).toBe("file");
    const compose = parse(readFileSync(join(projectRoot, "docker-compose.yml"), "utf8")) as {
      services: { grafana: { volumes: string[]; environment: Record<string, string> } };
    };
    const volumes = compose.services.grafana.volumes;
    expect(volumes).toContain(`./infra/grafana/dashboards:${path}:ro`);
    expect(volumes).toContain("./infra/grafana/provisioning:/etc/grafana/provisioning:ro");
    const home = compose.services.grafana.environment.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH ?? "";
    expect(dashboardFiles.map((f) => `${path}/${f}`)).toContain(home);
  });
});

// ---- live: the services, scraped by the local Prometheus ----

const endpoints = inject("endpoints");
const prometheusUrl = `http://127.0.0.1:${loadStackConfig().STACK_PROMETHEUS_PORT}`;
const windowMs = 300_000; // the payments pipeline's drift window

/**
 * Counters that get their first series from a failure (a batch retried, an insert retried): a
 * healthy run leaves them without series, so their targets may come back empty, provided the
 * scraped services declare the metric (Prometheus keeps each target's HELP/TYPE as metadata).
 */
const failureOnly = ["streamscore_errors_total", "streamscore_clickhouse_insert_retries_total"];

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

async function prometheus<T>(path: string): Promise<T> {
  const response = await fetch(`${prometheusUrl}${path}`);
  const body = (await response.json()) as { status: string; data: T; error?: string };
  if (body.status !== "success") throw new Error(`Prometheus ${path}: ${body.error}`);
  return body.data;
}

function query(expr: string): Promise<Sample[]> {
  return prometheus<{ result: Sample[] }>(`/api/v1/query?query=${encodeURIComponent(expr)}`).then((d) => d.result);
}

/** The directory the local Prometheus reads target files from, as its loaded config says. */
async function targetsDirectory(): Promise<string> {
  const config = parse((await prometheus<{ yaml: string }>("/api/v1/status/config")).yaml) as {
    scrape_configs: Array<{ job_name: string; file_sd_configs?: Array<{ files: string[] }> }>;
  };
  const pattern = config.scrape_configs.find((j) => j.job_name === "streamscore")?.file_sd_configs?.[0]?.files[0];
  if (!pattern?.endsWith("/*.json")) {
    throw new Error(
      "the Prometheus on the local stack has no file_sd_configs for job streamscore: it runs an older " +
        "infra/prometheus/prometheus.yml. Reload it (kill -HUP the pid in .stack/run/prometheus.pid) or restart the stack.",
    );
  }
  const flags = await prometheus<Record<string, string>>("/api/v1/status/flags");
  const file = flags["config.file"] ?? "";
  return dirname(isAbsolute(pattern) ? pattern : resolve(dirname(file), pattern));
}

function substitute(expr: string, values: Record<string, string>): string {
  return expr.replace(/\$\{?(\w+)\}?/g, (whole, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`no value for ${whole} in ${expr}`);
    return value;
  });
}

function metricNames(expr: string): string[] {
  return [...new Set([...expr.matchAll(/\b(streamscore_[a-z0-9_]+|up)\b/g)].map((m) => m[1] as string))];
}

function counterTotal(registry: Registry | undefined, name: string, labels: Record<string, string> = {}) {
  return async () => {
    const metric = await registry?.getSingleMetric(name)?.get();
    const total = (metric?.values ?? [])
      .filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))
      .reduce((sum, v) => sum + v.value, 0);
    return total > 0 ? total : undefined;
  };
}

describe.skipIf(endpoints.source !== "local-stack")(
  "Grafana dashboards and alert rules against the services' metrics in Prometheus (local stack only: it is the Prometheus that scrapes this process)",
  () => {
    let h: PipelineHarness;
    let targetsFile: string | undefined;
    const servers: Array<{ close(): Promise<unknown> }> = [];
    const instances: string[] = [];

    beforeAll(async () => {
      const directory = await targetsDirectory();
      h = await startPipelineHarness({ base: "payments" });
      // Each service's registry on a port of its own, as each runs in a process of its own in
      // production; the ingest API serves its own /metrics.
      const groups: Array<{ targets: string[]; labels: { service: ServiceName } }> = [];
      for (const service of ["transformer", "inference", "monitor"] as const) {
        const registry = h.metrics[service];
        if (!registry) throw new Error(`no ${service} metrics`);
        const server = buildOpsServer(registry, { notReadyReason: () => undefined });
        await server.listen({ host: "127.0.0.1", port: 0 });
        servers.push(server);
        const address = `127.0.0.1:${(server.server.address() as AddressInfo).port}`;
        groups.push({ targets: [address], labels: { service } });
      }
      groups.push({ targets: [new URL(h.ingestUrl).host], labels: { service: "producer" } });
      instances.push(...groups.flatMap((g) => g.targets));
      targetsFile = join(directory, `${uniqueName("dashboards")}.json`);
      writeFileSync(targetsFile, JSON.stringify(groups));
    });
    afterAll(async () => {
      // The targets go first: a service that stops while still listed would read as down.
      if (targetsFile) rmSync(targetsFile, { force: true });
      for (const server of servers) await server.close();
      await h?.stop();
    });

    it("every panel's query returns series, and every metric an alert reads is exported", async () => {
      const instanceMatch = instances.map((i) => i.replace(/\./g, "\\\\.")).join("|");
      await waitFor(
        "Prometheus scraping the test's four services",
        async () => {
          const up = await query(`up{job="streamscore", instance=~"${instanceMatch}"} == 1`);
          return up.length === instances.length ? true : undefined;
        },
        60_000,
      );

      // Payments from four windows back to now, with the amount shifted from the second window on:
      // the monitor closes drifted windows and raises its drift alert.
      const name = h.definition.name;
      const end = Math.floor(Date.now() / windowMs) * windowMs;
      const start = end - 4 * windowMs;
      const labelled: LabelledPayment[] = [];
      for (const item of paymentStream({ seed: 7, startTime: start, ratePerSecond: 2, idPrefix: uniqueName("g") })) {
        const time = item.event.event_time;
        if (time > Date.now() - 5_000) break;
        const drift = { kind: "mean-shift" as const, field: "amount", fromTime: start + windowMs, shift: 150 };
        applyDrift(item.event as unknown as Record<string, unknown>, time, drift, () => 0.5);
        labelled.push(item);
      }
      const events = labelled.map((l) => l.event);
      for (let i = 0; i < events.length; i += 500) {
        const response = await h.client.publish(name, events.slice(i, i + 500));
        expect(response.rejected).toBe(0);
      }
      // Repeats (dropped by the transformer), events that fail validation, and poison records.
      await h.client.publish(name, events.slice(0, 20));
      const refused = await h.client.publish(
        name,
        events.slice(0, 5).map((e, i) => ({ ...e, event_id: `invalid-${i}`, amount: "lots" })),
      );
      expect(refused.rejected).toBe(5);
      const topics = pipelineTopics(name);
      const irisId = await h.registry.register(`${name}-iris-value`, readSchema("iris-event.avsc"));
      const poison = paymentPoison(events[0] as PaymentEventRecord, h.rawSchemaId, irisId);
      await h.producer.send({ topic: topics.raw, acks: -1, messages: poison.map((p) => p.message) });

      // Labels for every event.
      const labelSchema = readSchema("label-event.avsc");
      const labelId = await h.registry.register(`${topics.labels}-value`, labelSchema);
      const codec = createAvroCodec(h.registry.resolve);
      const labelType = parseAvroSchema(labelSchema);
      for (let i = 0; i < labelled.length; i += 2000) {
        await h.producer.send({
          topic: topics.labels,
          acks: -1,
          messages: labelled.slice(i, i + 2000).map((t) => ({
            key: t.event.event_id,
            value: codec.encode(labelId, labelType, {
              event_id: t.event.event_id,
              label: String(t.label),
              label_time: t.event.event_time + 60_000,
            }),
          })),
        });
      }

      const monitor = h.metrics.monitor;
      await waitFor(
        "the monitor's drift alert for the shifted amount",
        counterTotal(monitor, "streamscore_drift_alerts_total", { status: "firing" }),
        180_000,
      );
      // The first window is closed by now: events in it arrive late.
      await h.client.publish(
        name,
        events.slice(0, 5).map((e, i) => ({ ...e, event_id: `late-${i}`, event_time: start + 1000 * i })),
      );
      await waitFor("late events counted", counterTotal(monitor, "streamscore_drift_late_events_total"), 60_000);

      await waitFor(
        "every prediction and label in ClickHouse",
        async () => {
          const [row] = await h.clickhouse.query<{ p: string; l: string }>(
            `SELECT (SELECT count() FROM ${h.database}.predictions FINAL WHERE pipeline = '${name}') AS p,
                    (SELECT count() FROM ${h.database}.labels FINAL WHERE pipeline = '${name}') AS l`,
          );
          return Number(row?.p) >= events.length && Number(row?.l) >= labelled.length ? true : undefined;
        },
        120_000,
      );
      await h.monitor?.qualityJobs()[0]?.runOnce();
      await waitFor("model quality of a labelled window", async () => {
        const metric = await monitor?.getSingleMetric("streamscore_model_quality")?.get();
        return metric?.values.some((v) => v.labels.metric === "accuracy") ? true : undefined;
      });

      // Every panel target, with the dashboard variables set to this pipeline.
      const values = { pipeline: name, statistic: "psi", __rate_interval: "1m", __interval: "15s", __range: "1h" };
      const targets = dashboards.flatMap(({ file, dashboard }) =>
        (dashboard.panels ?? []).flatMap((panel) =>
          (panel.targets ?? []).map((t) => ({
            where: `${file} "${panel.title}" ${t.refId}`,
            expr: substitute(t.expr ?? "", values),
          })),
        ),
      );
      const emptyTargets = async () => {
        const empty: Array<{ where: string; expr: string }> = [];
        for (const target of targets) if ((await query(target.expr)).length === 0) empty.push(target);
        return empty;
      };
      // Each rate() needs two scrapes after the series appeared; wait for them.
      let empty = await emptyTargets();
      await waitFor(
        "every panel query answered by Prometheus",
        async () => {
          empty = await emptyTargets();
          return empty.every((t) => metricNames(t.expr).some((m) => failureOnly.includes(m))) ? true : undefined;
        },
        60_000,
      ).catch(() => undefined);
      // Only a failure-only counter may leave a target empty, and the services must declare it.
      const unexplained: string[] = [];
      for (const target of empty) {
        const failures = metricNames(target.expr).filter((m) => failureOnly.includes(m));
        if (failures.length === 0) unexplained.push(`${target.where}: ${target.expr}`);
        for (const metric of failures) {
          const declared = await prometheus<unknown[]>(
            `/api/v1/targets/metadata?metric=${metric}&match_target=${encodeURIComponent(`{instance=~"${instanceMatch}"}`)}`,
          );
          if (declared.length === 0) unexplained.push(`${target.where}: ${metric} is exported by no service`);
        }
      }
      expect(unexplained).toEqual([]);
      expect(targets.length).toBeGreaterThan(30);

      // The dashboards' pipeline variable lists this pipeline.
      for (const { dashboard } of dashboards) {
        const variable = dashboard.templating?.list?.find((v) => v.name === "pipeline");
        const definition = typeof variable?.query === "string" ? variable.query : variable?.query?.query;
        const metric = definition?.match(/^label_values\((\w+), pipeline\)$/)?.[1];
        expect(metric).toBeDefined();
        const listed = await prometheus<string[]>(
          `/api/v1/label/pipeline/values?${new URLSearchParams({ "match[]": metric as string })}`,
        );
        expect(listed).toContain(name);
      }

      // Every metric an alerting rule reads, from this test's services, with every label the rule
      // groups by, matches on or names in its annotations.
      const rules = parse(
        readFileSync(join(projectRoot, "infra", "prometheus", "rules", "streamscore.yml"), "utf8"),
      ) as {
        groups: Array<{ rules: Array<{ alert: string; expr: string; annotations: Record<string, string> }> }>;
      };
      const missing: string[] = [];
      for (const rule of rules.groups.flatMap((g) => g.rules)) {
        const byLabels = [...rule.expr.matchAll(/\bby\s*\(([^)]*)\)/g)].flatMap((m) =>
          (m[1] as string).split(",").map((l) => l.trim()),
        );
        const annotationLabels = Object.values(rule.annotations).flatMap((a) =>
          [...a.matchAll(/\$labels\.(\w+)/g)].map((m) => m[1] as string),
        );
        for (const selector of rule.expr.matchAll(/\b(streamscore_[a-z0-9_]+|up)\b(\{[^}]*\})?/g)) {
          const metric = selector[1] as string;
          const matched = [...(selector[2] ?? "").matchAll(/(\w+)\s*(?:=~|!~|!=|=)/g)].map((m) => m[1] as string);
          const series = await query(`${metric}{instance=~"${instanceMatch}"}`);
          if (series.length === 0) {
            missing.push(`${rule.alert}: ${metric} has no series`);
            continue;
          }
          const has = (label: string) => series.some((s) => label in s.metric);
          for (const label of new Set([...matched, ...byLabels, ...(byLabels.length ? [] : annotationLabels)]))
            if (!has(label)) missing.push(`${rule.alert}: ${metric} has no label ${label}`);
        }
        for (const label of annotationLabels)
          if (byLabels.length > 0 && !byLabels.includes(label))
            missing.push(`${rule.alert}: annotation names ${label}, which the rule aggregates away`);
      }
      expect(missing).toEqual([]);
    }, 420_000);
  },
);
