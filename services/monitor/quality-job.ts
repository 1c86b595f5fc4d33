// Model quality per event-time window, from the predictions whose ground truth has arrived. The
// join happens in ClickHouse, where every prediction already is: labels can arrive hours late, and
// keeping predictions in the monitor's memory until then would not be bounded. Every run recomputes
// the windows of the look-back period (a window's row is replaced as more labels arrive), and counts
// the predictions still without a label once they are older than the label timeout.
// Binary classifiers also get their quality estimated from the calibrated scores alone (kind
// 'estimated', metric names prefixed estimated_), for every window with predictions, so a window
// has a figure before its labels come and keeps it beside the realized one afterwards, which shows
// how good the estimate was.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { ClickHouse } from "../shared/clickhouse/client.ts";
import { describeError } from "../shared/errors.ts";
import type { Logger } from "../shared/logger.ts";
import { type ModelManifest, readManifest } from "../shared/model/manifest.ts";
import type { ClosedWindow } from "../shared/model/retraining.ts";
import type { PipelineDefinition } from "../shared/pipeline/definition.ts";
import type { MonitorMetrics } from "./metrics.ts";
import {
  type Calibrator,
  type EstimationRow,
  estimateBinaryQuality,
  fitCalibrator,
} from "./windowing/estimated-quality.ts";
import { type LabelledPrediction, qualityMetrics } from "./windowing/quality.ts";

interface JoinedRow {
  model_name: string;
  model_version: number;
  window_start: number;
  predicted: string;
  actual: string;
  score: number;
  delay_ms: number;
}

interface ScoredRow {
  model_version: number;
  window_start: number;
  predicted: string;
  score: number;
  n: string;
}

interface CountRow {
  model_name: string;
  model_version: number;
  window_start: number;
  predictions: string;
}

/** What a stored quality figure is: computed from labels, or estimated before them. */
export type QualityKind = "realized" | "estimated";

/** The metric name an estimate is stored under (the sorting key keeps it apart from the realized one). */
export const estimatedMetric = (metric: string) => `estimated_${metric}`;

interface QualityRow {
  pipeline: string;
  model_name: string;
  model_version: number;
  window_start: number;
  window_end: number;
  metric: string;
  value: number;
  labelled: number;
  predictions: number;
  computed_at: number;
  kind: QualityKind;
}

function quantile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const position = p * (sorted.length - 1);
  const lower = Math.floor(position);
  const a = sorted[lower] as number;
  const b = sorted[Math.min(lower + 1, sorted.length - 1)] as number;
  return a + (position - lower) * (b - a);
}

export interface QualityJob {
  runOnce(): Promise<number>;
  start(intervalMs: number): void;
  stop(): void;
}

export function createQualityJob(deps: {
  /** After each run: per model version, its windows' metrics, oldest first (the retraining policy). */
  onQuality?: (version: number, windows: ClosedWindow[]) => Promise<void>;
  /** After each run, once onQuality has seen every version: all of them together (promotion compares two). */
  onQualityRun?: (byVersion: ReadonlyMap<number, ClosedWindow[]>) => Promise<void>;
  clickhouse: ClickHouse;
  database: string;
  definition: PipelineDefinition;
  modelsRoot: string;
  logger: Logger;
  metrics: MonitorMetrics;
  lookbackHours: number;
  labelTimeoutSeconds: number;
  now?: () => number;
}): QualityJob {
  const pipeline = deps.definition.name;
  const windowMs = deps.definition.monitoring.windowSeconds * 1000;
  const now = deps.now ?? Date.now;
  const manifests = new Map<number, ModelManifest | null>();
  const calibrators = new Map<number, Calibrator | null>();
  let timer: NodeJS.Timeout | undefined;

  function manifest(version: number): ModelManifest | undefined {
    if (!manifests.has(version)) {
      try {
        manifests.set(version, readManifest(join(deps.modelsRoot, deps.definition.model.directory, String(version))));
      } catch {
        manifests.set(version, null);
      }
    }
    return manifests.get(version) ?? undefined;
  }

  // Fitted once per version on the labelled rows of its reference-sample.json (its raw scores and
  // true labels); none for a multi-class model or a version without a labelled reference.
  function calibrator(version: number): Calibrator | undefined {
    if (!calibrators.has(version)) {
      const positive = manifest(version)?.positiveClass;
      let fitted: Calibrator | null = null;
      if (positive !== undefined) {
        try {
          const dir = join(deps.modelsRoot, deps.definition.model.directory, String(version));
          const sample = JSON.parse(readFileSync(join(dir, "reference-sample.json"), "utf8")) as {
            labels?: Array<number | string>;
            predictions?: Array<number | string>;
          };
          const scores = (sample.predictions ?? []).map(Number);
          const labels = sample.labels ?? [];
          if (scores.length > 0 && scores.length === labels.length && scores.every(Number.isFinite)) {
            fitted = fitCalibrator(
              scores,
              labels.map((l) => String(l) === positive),
            );
          }
        } catch (error) {
          deps.logger.warn(
            { pipeline, version, error: describeError(error) },
            "no labelled reference to calibrate quality estimates",
          );
        }
      }
      calibrators.set(version, fitted);
    }
    return calibrators.get(version) ?? undefined;
  }

  async function runOnce(): Promise<number> {
    const db = deps.database;
    const since = now() - deps.lookbackHours * 3_600_000;
    const window = `toUInt32(intDiv(event_time_ms, ${windowMs}) * ${windowMs / 1000})`;
    // Decisions and shadow scores alike: a shadow version gets quality rows of its own, as if it had
    // decided (versions are unique per pipeline, so the rows of different roles never mix).
    const columns = "event_id, model_name, model_version, event_time_ms, label, score";
    const scored = `SELECT ${columns} FROM ${db}.predictions FINAL WHERE pipeline = '${pipeline}' AND event_time_ms >= ${since}
      UNION ALL SELECT ${columns} FROM ${db}.shadow_predictions FINAL WHERE pipeline = '${pipeline}' AND event_time_ms >= ${since}`;
    const predictions = `SELECT event_id, model_name, model_version, event_time_ms, label AS predicted, score, ${window} AS window_start
      FROM (${scored})`;
    const joined = await deps.clickhouse.query<JoinedRow>(
      `SELECT model_name, model_version, window_start, predicted, actual, score, toInt64(label_time_ms) - toInt64(event_time_ms) AS delay_ms
       FROM (${predictions}) ANY INNER JOIN
            (SELECT event_id, label AS actual, label_time_ms FROM ${db}.labels FINAL WHERE pipeline = '${pipeline}') USING event_id`,
    );
    const counts = await deps.clickhouse.query<CountRow>(
      `SELECT model_name, model_version, ${window} AS window_start, count() AS predictions
       FROM (${scored})
       GROUP BY model_name, model_version, window_start`,
    );
    // Every prediction's label and score, for the versions whose quality can be estimated, counted
    // per distinct pair: exact, and far fewer rows than predictions for models with few distinct
    // scores (trees), no more for the others.
    const estimable = [...new Set(counts.map((c) => Number(c.model_version)))].filter((v) => calibrator(v));
    const scoredByWindow = new Map<string, EstimationRow[]>();
    if (estimable.length > 0) {
      const scoredRows = await deps.clickhouse.query<ScoredRow>(
        `SELECT model_version, window_start, predicted, score, count() AS n FROM (${predictions})
         WHERE model_version IN (${estimable.join(", ")})
         GROUP BY model_version, window_start, predicted, score`,
      );
      for (const row of scoredRows) {
        const version = Number(row.model_version);
        const key = `${version}/${row.window_start}`;
        const list = scoredByWindow.get(key) ?? [];
        list.push({
          predictedPositive: row.predicted === manifest(version)?.positiveClass,
          score: Number(row.score),
          count: Number(row.n),
        });
        scoredByWindow.set(key, list);
      }
    }
    const byWindow = new Map<string, JoinedRow[]>();
    for (const row of joined) {
      const key = `${row.model_version}/${row.window_start}`;
      const list = byWindow.get(key) ?? [];
      list.push(row);
      byWindow.set(key, list);
    }
    const computedAt = Math.floor(now() / 1000);
    const rows: QualityRow[] = [];
    for (const count of counts) {
      const version = Number(count.model_version);
      const start = Number(count.window_start);
      const labelled = byWindow.get(`${version}/${start}`) ?? [];
      const total = Number(count.predictions);
      const model = manifest(version);
      const metrics: Record<string, number> = { labelled_share: labelled.length / total };
      if (model && labelled.length > 0) {
        const pairs: LabelledPrediction[] = labelled.map((r) => ({
          predicted: r.predicted,
          actual: r.actual,
          score: Number(r.score),
        }));
        const task = { positiveClass: model.positiveClass, classes: model.classLabels };
        Object.assign(
          metrics,
          qualityMetrics(task.positiveClass === undefined ? pairs.map(({ score: _, ...p }) => p) : pairs, task),
        );
        const delays = labelled.map((r) => Number(r.delay_ms)).sort((a, b) => a - b);
        metrics.label_delay_p50_ms = quantile(delays, 0.5);
        metrics.label_delay_p95_ms = quantile(delays, 0.95);
      }
      // Labels that never came: counted once the window is older than the label timeout.
      if ((start + deps.definition.monitoring.windowSeconds) * 1000 < now() - deps.labelTimeoutSeconds * 1000) {
        metrics.unlabelled = total - labelled.length;
      }
      const estimated: Record<string, number> = {};
      const scoredInWindow = scoredByWindow.get(`${version}/${start}`);
      const versionCalibrator = calibrator(version);
      if (versionCalibrator && scoredInWindow && scoredInWindow.length > 0) {
        for (const [metric, value] of Object.entries(estimateBinaryQuality(scoredInWindow, versionCalibrator))) {
          estimated[estimatedMetric(metric)] = value;
        }
      }
      for (const [kind, values] of [
        ["realized", metrics],
        ["estimated", estimated],
      ] as const) {
        for (const [metric, value] of Object.entries(values)) {
          if (!Number.isFinite(value)) continue;
          rows.push({
            pipeline,
            model_name: count.model_name,
            model_version: version,
            window_start: start,
            window_end: start + deps.definition.monitoring.windowSeconds,
            metric,
            value,
            labelled: labelled.length,
            predictions: total,
            computed_at: computedAt,
            // Always sent: ClickHouse 18.16 fills a column left out of a JSON insert with '', not its DEFAULT.
            kind,
          });
        }
      }
    }
    // The retraining policy and Prometheus read realized quality only.
    const realized = rows.filter((r) => r.kind === "realized");
    if (rows.length > 0) await deps.clickhouse.insertRows(`${db}.model_quality`, rows);
    if (deps.onQuality || deps.onQualityRun) {
      // Per version, its windows oldest first, each with every metric and the labels it rests on.
      const byVersion = new Map<number, Map<number, Record<string, { value: number; labelled: number }>>>();
      for (const r of realized) {
        const windows = byVersion.get(r.model_version) ?? new Map();
        byVersion.set(r.model_version, windows);
        windows.set(r.window_start, {
          ...windows.get(r.window_start),
          [r.metric]: { value: r.value, labelled: r.labelled },
        });
      }
      const all = new Map<number, ClosedWindow[]>();
      for (const [version, windows] of byVersion) {
        const ordered = [...windows.entries()].sort((a, b) => a[0] - b[0]);
        const closed = ordered.map(([start, quality]) => ({ windowStart: start * 1000, driftedFeatures: [], quality }));
        all.set(version, closed);
        await deps.onQuality?.(version, closed);
      }
      await deps.onQualityRun?.(all);
    }
    // The newest window with labels stands for "now" in Prometheus.
    const newest = counts
      .filter((c) => byWindow.has(`${Number(c.model_version)}/${Number(c.window_start)}`))
      .sort((a, b) => Number(b.window_start) - Number(a.window_start))[0];
    if (newest) {
      for (const r of realized) {
        if (r.window_start === Number(newest.window_start) && r.model_version === Number(newest.model_version)) {
          deps.metrics.modelQuality.set({ pipeline, metric: r.metric }, r.value);
        }
      }
    }
    return rows.length;
  }

  return {
    runOnce,
    start(intervalMs) {
      timer = setInterval(() => {
        runOnce().catch((error: unknown) =>
          deps.logger.warn({ pipeline, error: describeError(error) }, "model quality run failed"),
        );
      }, intervalMs);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
    },
  };
}
