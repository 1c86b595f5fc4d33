// What each console page shows, read from ClickHouse (as the analyst), Prometheus and the services'
// own endpoints. A source that does not answer makes its part of the page "unavailable"; the rest
// still renders.
import { join } from "node:path";
import { AlertBook } from "../shared/alert-state.ts";
import type { ClickHouse } from "../shared/clickhouse/client.ts";
import { describeError } from "../shared/errors.ts";
import type { Logger } from "../shared/logger.ts";
import { type FeatureProfile, readManifest } from "../shared/model/manifest.ts";
import { type PipelineDefinition, warmUpOf } from "../shared/pipeline/definition.ts";
import { viewBytes } from "./dead-letter-view.ts";
import type { ConsoleMetrics } from "./metrics.ts";
import type { Prometheus } from "./prometheus.ts";
import * as sql from "./queries.ts";

export interface ConsoleDataDeps {
  clickhouse: ClickHouse;
  database: string;
  prometheus: Prometheus;
  /** Service name → base URL of its /healthz and /readyz. */
  services: Record<string, string>;
  modelsRoot: string;
  driftHours: number;
  metrics: ConsoleMetrics;
  logger: Logger;
}

/** A part of a page: its data, or why it could not be read. */
export type Part<T> = { ok: true; data: T } | { ok: false; error: string };

const num = (value: unknown) => (value === null || value === undefined ? Number.NaN : Number(value));

export function createConsoleData(deps: ConsoleDataDeps) {
  const { clickhouse, prometheus, metrics } = deps;
  const log = deps.logger.child({ module: "console-data" });

  async function read<T>(source: string, what: () => Promise<T>): Promise<Part<T>> {
    const end = metrics.sourceSeconds.startTimer({ source });
    try {
      return { ok: true, data: await what() };
    } catch (error) {
      metrics.sourceFailures.inc({ source });
      log.warn({ source, err: describeError(error) }, "a console data source failed");
      return { ok: false, error: `${source} unavailable: ${describeError(error)}` };
    } finally {
      end();
    }
  }
  const query = <Row>(text: string) => read("clickhouse", () => clickhouse.query<Row>(text));
  const scope = (p: PipelineDefinition): sql.Scope => ({ database: deps.database, pipeline: p.name });

  async function since(p: PipelineDefinition): Promise<number> {
    const [row] = await clickhouse.query<{ window_end: number }>(sql.newestWindowEnd(scope(p)));
    const newest = num(row?.window_end) || Math.floor(Date.now() / 1000);
    return newest - deps.driftHours * 3600;
  }

  async function probe(url: string): Promise<{ healthy: boolean; ready: boolean; reason?: string }> {
    const get = async (path: string) => {
      const response = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(1500) });
      return { status: response.status, body: (await response.json().catch(() => ({}))) as { reason?: string } };
    };
    try {
      const [health, ready] = await Promise.all([get("/healthz"), get("/readyz")]);
      return { healthy: health.status === 200, ready: ready.status === 200, reason: ready.body.reason };
    } catch (error) {
      return { healthy: false, ready: false, reason: describeError(error) };
    }
  }

  const promVector = (promql: string) => read("prometheus", () => prometheus.query(promql));

  return {
    async overview(p: PipelineDefinition) {
      const selector = `pipeline="${p.name}"`;
      const [services, stageRates, ingestRate, lag, deadLetterRate, alerts, latency, rows, deadLettersPerMinute] =
        await Promise.all([
          read("service", async () =>
            Promise.all(
              Object.entries(deps.services).map(async ([name, url]) => ({ name, url, ...(await probe(url)) })),
            ),
          ),
          promVector(`sum by (service) (rate(streamscore_records_in_total{${selector}}[1m]))`),
          promVector(`sum(rate(streamscore_ingest_events_total{${selector}}[1m]))`),
          promVector(`sum by (topic) (streamscore_consumer_lag_records{${selector}})`),
          promVector(`sum(rate(streamscore_dead_lettered_total{${selector}}[5m])) * 60`),
          read("prometheus", async () =>
            (await prometheus.alerts()).filter((a) => !a.labels.pipeline || a.labels.pipeline === p.name),
          ),
          query<{ events: string; p50_ms: number; p99_ms: number }>(sql.recentLatency(scope(p))),
          query<{ name: string; rows: string }>(sql.tableRows(scope(p))),
          query<{ minute: number; records: string }>(sql.deadLettersPerMinute(scope(p))),
        ]);
      const latencyRow = latency.ok ? latency.data[0] : undefined;
      return {
        services,
        eventsPerSecond: mapPart(stageRates, (samples) => [
          ...(ingestRate.ok ? ingestRate.data.map((s) => ({ stage: "ingest", value: s.value })) : []),
          ...samples.map((s) => ({ stage: s.labels.service ?? "?", value: s.value })),
        ]),
        lag: mapPart(lag, (samples) => samples.map((s) => ({ topic: s.labels.topic ?? "?", records: s.value }))),
        deadLettersPerMinute: mapPart(deadLetterRate, (samples) => samples[0]?.value ?? 0),
        storedDeadLettersPerMinute: mapPart(deadLettersPerMinute, (r) =>
          r.map((x) => ({ minute: num(x.minute), records: num(x.records) })),
        ),
        alerts,
        // Percentiles of no events are not 0 ms: they are unknown.
        latency: mapPart(latency, () => {
          const events = num(latencyRow?.events);
          return {
            events,
            p50Ms: events > 0 ? num(latencyRow?.p50_ms) : null,
            p99Ms: events > 0 ? num(latencyRow?.p99_ms) : null,
          };
        }),
        rows: mapPart(rows, (r) =>
          r.map((x) => ({ table: x.name, rows: num(x.rows) })).sort((a, b) => a.table.localeCompare(b.table)),
        ),
      };
    },

    async drift(p: PipelineDefinition) {
      const from = await read("clickhouse", () => since(p));
      if (!from.ok) return { cells: from, alerts: from };
      const cells = await query<{
        feature: string;
        model_version: number;
        start_s: number;
        end_s: number;
        decided_by: string;
        value: number;
        threshold: number;
        drifted: number;
        sample_size: string;
        warm_up: number;
      }>(sql.driftDecisions(scope(p), from.data));
      const data = mapPart(cells, (rows) =>
        rows.map((r) => ({
          feature: r.feature,
          version: num(r.model_version),
          windowStart: num(r.start_s),
          windowEnd: num(r.end_s),
          statistic: r.decided_by,
          value: num(r.value),
          threshold: num(r.threshold),
          drifted: num(r.drifted) === 1,
          sampleSize: num(r.sample_size),
          warmUp: num(r.warm_up) === 1,
        })),
      );
      return {
        cells: data,
        warmUp: warmUpOf(p),
        alerts: mapPart(data, (rows) =>
          replayAlerts(rows, p.monitoring.alertAfterWindows, p.monitoring.resolveAfterWindows),
        ),
      };
    },

    async driftWindow(p: PipelineDefinition, version: number, feature: string, windowStart: number) {
      const statistics = await query<{
        statistic: string;
        value: number;
        threshold: number;
        drifted: number;
        sample_size: string;
        reference_size: string;
        window_end: number;
      }>(sql.windowStatistics(scope(p), version, feature, windowStart));
      if (!statistics.ok) return { statistics, histogram: statistics };
      const windowEnd = num(statistics.data[0]?.window_end) || windowStart + p.monitoring.windowSeconds;
      const window = { start: windowStart, end: windowEnd };
      const profile = read("model", async () => referenceProfile(p, version, feature));
      const histogram = await profile.then(async (ref) => {
        if (!ref.ok) return ref;
        return histogramAgainst(ref.data, (text) => clickhouse.query(text), scope(p), version, feature, window);
      });
      return {
        window,
        statistics: mapPart(statistics, (rows) =>
          rows.map((r) => ({
            statistic: r.statistic,
            value: num(r.value),
            threshold: num(r.threshold),
            drifted: num(r.drifted) === 1,
            sampleSize: num(r.sample_size),
            referenceSize: num(r.reference_size),
          })),
        ),
        histogram,
      };
    },

    async quality(p: PipelineDefinition) {
      const from = await read("clickhouse", () => since(p));
      if (!from.ok) return { series: from };
      const series = await query<{
        model_version: number;
        window_start: number;
        metric: string;
        value: number;
        labelled: string;
        predictions: string;
      }>(sql.qualitySeries(scope(p), from.data));
      return {
        series: mapPart(series, (rows) =>
          rows.map((r) => ({
            version: num(r.model_version),
            windowStart: num(r.window_start),
            metric: r.metric,
            value: num(r.value),
            labelled: num(r.labelled),
            predictions: num(r.predictions),
          })),
        ),
      };
    },

    async models(p: PipelineDefinition) {
      const [inUse, events] = await Promise.all([
        query<{ model_version: number; model_role: string; scored: string; last_scored: number }>(
          sql.versionsInUse(scope(p)),
        ),
        query<{
          version: number;
          kind: string;
          from_state: string;
          to_state: string;
          weight: number;
          actor: string;
          reason: string;
          event_time_ms: string;
          evidence: string;
        }>(sql.modelEvents(scope(p), 200)),
      ]);
      return {
        inUse: mapPart(inUse, (rows) =>
          rows
            .map((r) => ({
              version: num(r.model_version),
              role: r.model_role,
              scored: num(r.scored),
              lastScored: num(r.last_scored),
            }))
            .sort((a, b) => a.version - b.version || a.role.localeCompare(b.role)),
        ),
        events: mapPart(events, (rows) =>
          rows.map((r) => ({
            version: num(r.version),
            kind: r.kind,
            fromState: r.from_state,
            toState: r.to_state,
            weight: num(r.weight),
            actor: r.actor,
            reason: r.reason,
            time: num(r.event_time_ms),
            evidence: r.evidence,
          })),
        ),
      };
    },

    async deadLetters(p: PipelineDefinition, options: { code?: string; limit: number }) {
      const [counts, sample] = await Promise.all([
        query<{ stage: string; code: string; records: string; last_seen: number }>(sql.deadLetterCounts(scope(p))),
        query<{
          dlq_partition: number;
          dlq_offset: string;
          received_time: number;
          error_stage: string;
          error_code: string;
          error_message: string;
          original_topic: string;
          original_partition: number;
          original_offset: string;
          key: string;
          value_base64: string;
        }>(sql.deadLetterSample(scope(p), options.limit, options.code)),
      ]);
      return {
        counts: mapPart(counts, (rows) =>
          rows.map((r) => ({ stage: r.stage, code: r.code, records: num(r.records), lastSeen: num(r.last_seen) })),
        ),
        sample: mapPart(sample, (rows) =>
          rows.map((r) => ({
            dlq: `${r.dlq_partition}/${r.dlq_offset}`,
            receivedTime: num(r.received_time),
            headers: {
              "x-error-stage": r.error_stage,
              "x-error-code": r.error_code,
              "x-error-message": r.error_message,
              "x-original-topic": r.original_topic,
              "x-original-partition": String(r.original_partition),
              "x-original-offset": r.original_offset,
            },
            key: r.key,
            value: viewBytes(Buffer.from(r.value_base64, "base64")),
          })),
        ),
      };
    },
  };

  function referenceProfile(p: PipelineDefinition, version: number, feature: string): FeatureProfile {
    const manifest = readManifest(join(deps.modelsRoot, p.model.directory, String(version)));
    const profile = feature === "prediction" ? manifest.profile.prediction : manifest.profile.features[feature];
    if (!profile) throw new Error(`version ${version}'s training profile has no feature ${feature}`);
    return profile;
  }
}

export type ConsoleData = ReturnType<typeof createConsoleData>;

function mapPart<T, U>(part: Part<T>, f: (data: T) => U): Part<U> {
  return part.ok ? { ok: true, data: f(part.data) } : part;
}

export interface HistogramBin {
  label: string;
  reference: number;
  window: number;
  windowCount: number;
}

/** The window's shares beside the training profile's, on the profile's own bins (or categories). */
async function histogramAgainst(
  profile: FeatureProfile,
  run: (text: string) => Promise<Array<Record<string, unknown>>>,
  scope: sql.Scope,
  version: number,
  feature: string,
  window: { start: number; end: number },
): Promise<Part<{ type: string; total: number; bins: HistogramBin[] }>> {
  try {
    if (profile.type === "categorical") {
      const rows = await run(sql.categoricalHistogram(scope, version, feature, window));
      const counts = new Map(rows.map((r) => [String(r.category), num(r.events)]));
      const total = [...counts.values()].reduce((a, b) => a + b, 0);
      const categories = [...new Set([...Object.keys(profile.frequencies), ...counts.keys()])].sort();
      return {
        ok: true,
        data: {
          type: "categorical",
          total,
          bins: categories.map((c) => ({
            label: c,
            reference: profile.frequencies[c] ?? 0,
            windowCount: counts.get(c) ?? 0,
            window: total > 0 ? (counts.get(c) ?? 0) / total : 0,
          })),
        },
      };
    }
    const edges = profile.quantileEdges;
    const [row] = await run(sql.numericalHistogram(scope, version, feature, window, edges));
    const total = num(row?.total);
    const share = (count: number) => (total > 0 ? count / total : 0);
    const format = (x: number) => Number(x.toPrecision(4)).toString();
    const bins: HistogramBin[] = [
      { label: `< ${format(edges[0] as number)}`, reference: 0, windowCount: num(row?.below) },
      ...profile.binShares.map((reference, i) => ({
        label: `${format(edges[i] as number)} – ${format(edges[i + 1] as number)}`,
        reference,
        windowCount: num(row?.[`bin_${i}`]),
      })),
      { label: `> ${format(edges[edges.length - 1] as number)}`, reference: 0, windowCount: num(row?.above) },
      { label: "not finite", reference: 0, windowCount: num(row?.not_finite) },
    ].map((b) => ({ ...b, window: share(b.windowCount) }));
    return { ok: true, data: { type: "numerical", total, bins } };
  } catch (error) {
    return { ok: false, error: `clickhouse unavailable: ${describeError(error)}` };
  }
}

export interface AlertMark {
  feature: string;
  version: number;
  transition: "firing" | "resolved";
  windowEnd: number;
}

/** Alerts fired and resolved, replayed from the windows' verdicts with the monitor's own rule. */
export function replayAlerts(
  cells: ReadonlyArray<{ feature: string; version: number; windowEnd: number; drifted: boolean }>,
  fireAfter: number,
  resolveAfter: number,
): AlertMark[] {
  const books = new Map<number, AlertBook>();
  const marks: AlertMark[] = [];
  const ordered = [...cells].sort((a, b) => a.windowEnd - b.windowEnd || a.feature.localeCompare(b.feature));
  for (const cell of ordered) {
    let book = books.get(cell.version);
    if (!book) {
      book = new AlertBook(fireAfter, resolveAfter);
      books.set(cell.version, book);
    }
    const change = book.observe(cell.feature, cell.drifted);
    if (change)
      marks.push({
        feature: cell.feature,
        version: cell.version,
        transition: change.transition,
        windowEnd: cell.windowEnd,
      });
  }
  return marks;
}
