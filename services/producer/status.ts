// `npm run cli -- status`: the stack and the pipeline on one screen. Collecting asks each part on
// its own, bounded in time, and keeps what failed as a reason: a part that does not answer shows
// as such and the rest of the screen still comes. Rendering is pure, from the collected data.
import { type ClickHouse, createClickHouse } from "../shared/clickhouse/client.ts";
import type { ConnectionConfig } from "../shared/connection-settings.ts";
import { describeError } from "../shared/errors.ts";
import type { Kafka } from "../shared/kafka/client.ts";
import { describeKafkaCluster } from "../shared/kafka/cluster-info.ts";

export type Part<T> = { ok: true; value: T } | { ok: false; error: string };

export interface ServiceState {
  name: string;
  url: string;
  /** Not part of every stack (the console): absent is no fault. */
  optional: boolean;
  /** Ready, not ready (with the service's reason), or not answering at all. */
  state: Part<{ ready: boolean; reason?: string }>;
}

export interface LagRow {
  pipeline: string;
  topic: string;
  records: number;
}

export interface DriftRow {
  pipeline: string;
  modelVersion: number;
  /** Epoch seconds. */
  windowStart: number;
  windowEnd: number;
  feature: string;
  statistic: string;
  value: number;
  threshold: number;
  drifted: boolean;
}

export interface AlertRow {
  name: string;
  severity: string;
  state: string;
  summary: string;
  activeAt: string;
}

export interface StatusData {
  /** Epoch milliseconds when collected. */
  at: number;
  stack: {
    kafka: Part<{ brokers: number; topics: number }> & { where: string };
    registry: Part<{ subjects: number }> & { where: string };
    clickhouse: Part<{ version: string }> & { where: string };
    prometheus: Part<Record<string, never>> & { where: string };
  };
  services: ServiceState[];
  lag: Part<LagRow[]>;
  drift: Part<DriftRow[]>;
  alerts: Part<AlertRow[]>;
  tables: Part<Array<{ table: string; rows: number }>> & { database: string };
}

export interface StatusTargets {
  config: ConnectionConfig;
  kafka: Kafka;
  prometheusUrl: string;
  services: Array<{ name: string; url: string; optional: boolean }>;
  timeoutMs: number;
}

async function attempt<T>(run: () => Promise<T>): Promise<Part<T>> {
  try {
    return { ok: true, value: await run() };
  } catch (error) {
    // fetch says only "fetch failed"; the socket error in its cause says why.
    const message = describeError(error);
    const cause = (error as { cause?: unknown }).cause;
    const detail = cause && !message.includes(describeError(cause)) ? ` (${describeError(cause)})` : "";
    return { ok: false, error: `${message}${detail}`.replace(/\s+/g, " ").trim() };
  }
}

async function getJson(url: string, timeoutMs: number, headers: Record<string, string> = {}): Promise<unknown> {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers });
  if (!response.ok) throw new Error(`HTTP ${response.status} from ${url}`);
  return response.json();
}

async function readiness(url: string, timeoutMs: number): Promise<{ ready: boolean; reason?: string }> {
  const response = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(timeoutMs) });
  if (response.ok) return { ready: true };
  const body = (await response.json().catch(() => ({}))) as { reason?: unknown };
  return { ready: false, reason: typeof body.reason === "string" ? body.reason : `HTTP ${response.status}` };
}

async function prometheusQuery(base: string, query: string, timeoutMs: number) {
  const body = (await getJson(`${base}/api/v1/query?query=${encodeURIComponent(query)}`, timeoutMs)) as {
    data?: { result?: Array<{ metric: Record<string, string>; value: [number, string] }> };
  };
  return body.data?.result ?? [];
}

const driftSql = (database: string) => `
SELECT pipeline, model_version, toUInt32(window_start) AS start_s, toUInt32(window_end) AS end_s,
       feature, statistic, value, threshold, drifted
FROM ${database}.drift_metrics FINAL
WHERE (pipeline, window_end) IN (SELECT pipeline, max(window_end) FROM ${database}.drift_metrics GROUP BY pipeline)
ORDER BY pipeline, model_version, feature, statistic`;

async function clickhouseParts(clickhouse: ClickHouse, database: string, timeoutMs: number) {
  const bounded = <T>(promise: Promise<T>) =>
    Promise.race([
      promise,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs).unref(),
      ),
    ]);
  const version = await attempt(() =>
    bounded(clickhouse.query<{ v: string }>("SELECT version() AS v").then((rows) => ({ version: rows[0]?.v ?? "?" }))),
  );
  if (!version.ok) return { version, tables: version, drift: version };
  const tables = await attempt(async () => {
    const names = await bounded(
      clickhouse.query<{ name: string }>(`SELECT name FROM system.tables WHERE database = '${database}' ORDER BY name`),
    );
    const counts = await bounded(
      clickhouse.query<{ table: string; rows: string }>(
        `SELECT table, sum(rows) AS rows FROM system.parts WHERE database = '${database}' AND active GROUP BY table`,
      ),
    );
    const byTable = new Map(counts.map((c) => [c.table, Number(c.rows)]));
    return names
      .filter((n) => !n.name.startsWith(".inner"))
      .map((n) => ({ table: n.name, rows: byTable.get(n.name) ?? 0 }));
  });
  const drift = await attempt(async () => {
    const rows = await bounded(
      clickhouse.query<{
        pipeline: string;
        model_version: number | string;
        start_s: number | string;
        end_s: number | string;
        feature: string;
        statistic: string;
        value: number;
        threshold: number;
        drifted: number | string;
      }>(driftSql(database)),
    );
    return rows.map(
      (r): DriftRow => ({
        pipeline: r.pipeline,
        modelVersion: Number(r.model_version),
        windowStart: Number(r.start_s),
        windowEnd: Number(r.end_s),
        feature: r.feature,
        statistic: r.statistic,
        value: Number(r.value),
        threshold: Number(r.threshold),
        drifted: Number(r.drifted) === 1,
      }),
    );
  });
  return { version, tables, drift };
}

export async function collectStatus(targets: StatusTargets): Promise<StatusData> {
  const { config, timeoutMs } = targets;
  const database = config.CLICKHOUSE_DATABASE;
  const registryHeaders: Record<string, string> =
    config.SCHEMA_REGISTRY_USERNAME && config.SCHEMA_REGISTRY_PASSWORD
      ? {
          authorization: `Basic ${Buffer.from(`${config.SCHEMA_REGISTRY_USERNAME}:${config.SCHEMA_REGISTRY_PASSWORD}`).toString("base64")}`,
        }
      : {};
  const clickhouse = createClickHouse(config);
  const prometheus = targets.prometheusUrl.replace(/\/$/, "");
  try {
    const [kafka, registry, clickhouseResult, prometheusReady, services, lag, alerts] = await Promise.all([
      attempt(() => describeKafkaCluster(targets.kafka, timeoutMs)),
      attempt(async () => ({
        subjects: ((await getJson(`${config.SCHEMA_REGISTRY_URL}/subjects`, timeoutMs, registryHeaders)) as unknown[])
          .length,
      })),
      clickhouseParts(clickhouse, database, timeoutMs),
      attempt(async () => {
        const response = await fetch(`${prometheus}/-/ready`, { signal: AbortSignal.timeout(timeoutMs) });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        return {} as Record<string, never>;
      }),
      Promise.all(
        targets.services.map(async (s) => ({ ...s, state: await attempt(() => readiness(s.url, timeoutMs)) })),
      ),
      attempt(async () =>
        (
          await prometheusQuery(prometheus, "sum by (pipeline, topic) (streamscore_consumer_lag_records)", timeoutMs)
        ).map((r) => ({
          pipeline: r.metric.pipeline ?? "",
          topic: r.metric.topic ?? "",
          records: Number(r.value[1]),
        })),
      ),
      attempt(async () => {
        const body = (await getJson(`${prometheus}/api/v1/alerts`, timeoutMs)) as {
          data?: {
            alerts?: Array<{
              labels: Record<string, string>;
              annotations?: Record<string, string>;
              state: string;
              activeAt?: string;
            }>;
          };
        };
        return (body.data?.alerts ?? []).map((a) => ({
          name: a.labels.alertname ?? "?",
          severity: a.labels.severity ?? "",
          state: a.state,
          summary: a.annotations?.summary ?? "",
          activeAt: a.activeAt ?? "",
        }));
      }),
    ]);
    return {
      at: Date.now(),
      stack: {
        kafka: { ...kafka, where: config.KAFKA_BROKERS.join(",") },
        registry: { ...registry, where: config.SCHEMA_REGISTRY_URL },
        clickhouse: { ...clickhouseResult.version, where: config.CLICKHOUSE_URL },
        prometheus: { ...prometheusReady, where: prometheus },
      },
      services,
      lag,
      drift: clickhouseResult.drift,
      alerts,
      tables: { ...clickhouseResult.tables, database },
    };
  } finally {
    await clickhouse.close().catch(() => undefined);
  }
}

export interface DriftVerdict {
  pipeline: string;
  modelVersion: number;
  windowStart: number;
  windowEnd: number;
  feature: string;
  drifted: boolean;
  /** The deciding statistic and its value against the threshold, when the monitor wrote one. */
  statistic?: string;
  value?: number;
  threshold?: number;
}

/**
 * One verdict per pipeline, model version and feature of the last closed window: the monitor's
 * deciding-statistic row (`drift:<statistic>`) where there is one, else any statistic over its
 * threshold (rows written before the deciding row existed).
 */
export function driftVerdicts(rows: readonly DriftRow[]): DriftVerdict[] {
  const groups = new Map<string, DriftRow[]>();
  for (const row of rows) {
    const key = `${row.pipeline}\u0000${row.modelVersion}\u0000${row.feature}`;
    const list = groups.get(key) ?? [];
    list.push(row);
    groups.set(key, list);
  }
  const verdicts: DriftVerdict[] = [];
  for (const list of groups.values()) {
    const first = list[0] as DriftRow;
    const deciding = list.find((r) => r.statistic.startsWith("drift:"));
    const base = {
      pipeline: first.pipeline,
      modelVersion: first.modelVersion,
      windowStart: first.windowStart,
      windowEnd: first.windowEnd,
      feature: first.feature,
    };
    if (deciding) {
      verdicts.push({
        ...base,
        drifted: deciding.drifted,
        statistic: deciding.statistic.slice("drift:".length),
        value: deciding.value,
        threshold: deciding.threshold,
      });
    } else {
      const fired = list.find((r) => r.drifted);
      verdicts.push({
        ...base,
        drifted: fired !== undefined,
        ...(fired ? { statistic: fired.statistic, value: fired.value, threshold: fired.threshold } : {}),
      });
    }
  }
  return verdicts.sort(
    (a, b) =>
      a.pipeline.localeCompare(b.pipeline) || a.modelVersion - b.modelVersion || a.feature.localeCompare(b.feature),
  );
}

/** Whether every part of the stack answered (services are reported, not judged: they may be off). */
export function stackHealthy(data: StatusData): boolean {
  return Object.values(data.stack).every((part) => part.ok);
}

const utcTime = (epochSeconds: number) => new Date(epochSeconds * 1000).toISOString().slice(11, 16);
const number = (n: number) => n.toLocaleString("en-US");
const pad = (text: string, width: number) => text.padEnd(width);
const round = (n: number) => (Math.abs(n) >= 100 ? n.toFixed(0) : Number(n.toPrecision(3)).toString());

export function renderStatus(data: StatusData): string {
  const lines: string[] = [];
  lines.push(`streamscore status at ${new Date(data.at).toISOString().replace("T", " ").slice(0, 19)} UTC`);

  lines.push("", "Stack");
  const stack = data.stack;
  const stackLine = (label: string, part: Part<unknown> & { where: string }, detail: (value: never) => string) =>
    part.ok
      ? `  up    ${pad(label, 12)} ${part.where}  ${detail(part.value as never)}`.trimEnd()
      : `  DOWN  ${pad(label, 12)} ${part.where}  unreachable: ${part.error}`;
  lines.push(
    stackLine(
      "Kafka",
      stack.kafka,
      (v: { brokers: number; topics: number }) => `${v.brokers} broker(s), ${v.topics} topics`,
    ),
    stackLine("Registry", stack.registry, (v: { subjects: number }) => `${v.subjects} subjects`),
    stackLine("ClickHouse", stack.clickhouse, (v: { version: string }) => `version ${v.version}`),
    stackLine("Prometheus", stack.prometheus, () => ""),
  );

  lines.push("", "Services (/readyz)");
  for (const service of data.services) {
    const state = service.state;
    const text = state.ok
      ? state.value.ready
        ? "ready"
        : `NOT READY: ${state.value.reason ?? "no reason given"}`
      : service.optional
        ? "not running (optional)"
        : `NOT RUNNING: ${state.error}`;
    const mark = state.ok && state.value.ready ? "ok" : service.optional && !state.ok ? "--" : "!!";
    lines.push(`  ${pad(mark, 4)}  ${pad(service.name, 12)} ${pad(service.url, 24)} ${text}`);
  }

  lines.push("", "Consumer lag (records, from Prometheus)");
  if (!data.lag.ok) lines.push(`  unavailable: ${data.lag.error}`);
  else if (data.lag.value.length === 0)
    lines.push("  no consumer reports lag (no consumer running, or not scraped yet)");
  else {
    const rows = [...data.lag.value].sort(
      (a, b) => a.pipeline.localeCompare(b.pipeline) || a.topic.localeCompare(b.topic),
    );
    const width = Math.max(...rows.map((r) => r.topic.length));
    for (const row of rows) lines.push(`  ${pad(row.topic, width)}  ${number(Math.round(row.records))}`);
  }

  lines.push("", "Drift (last closed window)");
  if (!data.drift.ok) lines.push(`  unavailable: ${data.drift.error}`);
  else if (data.drift.value.length === 0) lines.push("  no closed window yet");
  else {
    const verdicts = driftVerdicts(data.drift.value);
    const byWindow = new Map<string, DriftVerdict[]>();
    for (const v of verdicts) {
      const key = `${v.pipeline} model v${v.modelVersion}, window ${utcTime(v.windowStart)}–${utcTime(v.windowEnd)} UTC`;
      byWindow.set(key, [...(byWindow.get(key) ?? []), v]);
    }
    for (const [window, list] of byWindow) {
      const drifted = list.filter((v) => v.drifted);
      lines.push(`  ${window}: ${drifted.length} of ${list.length} features drifted`);
      for (const v of drifted) {
        const evidence =
          v.statistic !== undefined && v.value !== undefined && v.threshold !== undefined
            ? ` (${v.statistic} ${round(v.value)}, threshold ${round(v.threshold)})`
            : "";
        lines.push(`    DRIFTED ${v.feature}${evidence}`);
      }
    }
  }

  lines.push("", "Alerts (Prometheus)");
  if (!data.alerts.ok) lines.push(`  unavailable: ${data.alerts.error}`);
  else {
    const firing = data.alerts.value.filter((a) => a.state === "firing");
    const pending = data.alerts.value.length - firing.length;
    if (firing.length === 0) lines.push("  none firing");
    for (const alert of firing) {
      const since = alert.activeAt ? ` since ${alert.activeAt.slice(11, 16)} UTC` : "";
      lines.push(
        `  FIRING ${pad(alert.severity || "-", 9)} ${alert.name}${alert.summary ? `: ${alert.summary}` : ""}${since}`,
      );
    }
    if (pending > 0) lines.push(`  ${pending} pending`);
  }

  lines.push("", `ClickHouse tables (${data.tables.database}, rows)`);
  if (!data.tables.ok) lines.push(`  unavailable: ${data.tables.error}`);
  else if (data.tables.value.length === 0) lines.push("  no tables (migrations not applied: npm run db:migrate)");
  else {
    const width = Math.max(...data.tables.value.map((t) => t.table.length));
    for (const t of data.tables.value) lines.push(`  ${pad(t.table, width)}  ${number(t.rows)}`);
  }
  return lines.join("\n");
}
