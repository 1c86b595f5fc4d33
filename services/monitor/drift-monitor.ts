// Windowed drift monitoring of one pipeline: scored events are grouped into event-time windows per
// model version; each closed window is compared with that version's training reference, feature by
// feature and for the prediction, in O(bins) memory per feature. Results go to ClickHouse
// (`drift_metrics`) and Prometheus; a feature that drifts for N windows in a row raises an alert on
// `<pipeline>.alerts`, and a matching "resolved" event follows after M clean windows.
//
// It reads no topic of its own: the predictions sink hands it each batch's rows after their insert,
// so every scored record is decoded once; the sink waits for the batch before, not for this one, so
// drift statistics overlap the next fetch and insert. Open windows live in memory:
// after a restart the sink resumes from its committed offsets, so windows that were open at the
// crash are computed from the records after it only (their rows are replaced when recomputed). Run
// one monitor per pipeline: windows are not merged across instances.

import { join } from "node:path";
import { AlertBook } from "../shared/alert-state.ts";
import type { ClickHouse } from "../shared/clickhouse/client.ts";
import { encodeRows } from "../shared/clickhouse/row-binary.ts";
import { describeError } from "../shared/errors.ts";
import { createAvroCodec, parseAvroSchema } from "../shared/kafka/avro-codec.ts";
import type { Message, Producer } from "../shared/kafka/client.ts";
import type { SchemaRegistryClient } from "../shared/kafka/registry.ts";
import type { Logger } from "../shared/logger.ts";
import { featureNames, type PipelineDefinition, pipelineTopics, warmUpOf } from "../shared/pipeline/definition.ts";
import { withBackoff } from "../shared/retry.ts";
import { readSchema } from "../shared/schemas.ts";
import { type DriftThresholds, defaultThresholds } from "./drift/thresholds.ts";
import type { MonitorMetrics } from "./metrics.ts";
import { driftMetricsTable } from "./rows.ts";
import {
  addToWindow,
  type DriftDecision,
  type DriftInput,
  evaluateWindow,
  featureThresholds,
  openWindowState,
  type WindowState,
} from "./windowing/evaluation.ts";
import { loadVersionReference, predictionFeature, type VersionReference } from "./windowing/reference.ts";
import { type ClosedWindow, WindowTracker } from "./windowing/windows.ts";

export type { DriftInput };

export interface DriftMonitor {
  /**
   * Queues a partition's stored rows: they are added to their windows, and the windows that close
   * are stored, after the rows queued earlier. Resolves when the earlier rows are done (rejects if
   * they failed), so a caller runs at most one batch ahead. `caughtUp`: the rows end the partition
   * as read so far (its lag is 0); only then may the partition count as idle when it goes quiet.
   */
  observe(partition: number, rows: readonly DriftInput[], caughtUp?: boolean): Promise<void>;
  /**
   * The partitions the sink now reads, each with whether it was read to its end: windows wait for
   * the ones not heard from yet, and forget the ones another monitor took over.
   */
  assign(partitions: ReadonlyArray<{ partition: number; caughtUp: boolean }>): void;
  /** Resolves when every queued batch is done. */
  settle(): Promise<void>;
  readonly lastError: string | undefined;
}

export function createDriftMonitor(deps: {
  registry: SchemaRegistryClient;
  clickhouse: ClickHouse;
  producer: Producer;
  database: string;
  logger: Logger;
  metrics: MonitorMetrics;
  definition: PipelineDefinition;
  modelsRoot: string;
  /** Longest wait between retries of a failed drift_metrics insert (MONITOR_MAX_BACKOFF_MS, as the sinks). */
  maxBackoffMs: number;
  thresholds?: DriftThresholds;
  now?: () => number;
  /** After each closed window: the model version and the monitored features that drifted (the retraining policy). */
  onWindowClosed?: (version: number, window: { windowStart: number; driftedFeatures: string[] }) => Promise<void>;
  /**
   * "shadow": the rows are shadow versions' scores of events the deciding version saw too, so only
   * the prediction is compared (the inputs' drift is the deciding version's rows); no alerts and no
   * gauges, which speak for what decides.
   */
  role?: "decision" | "shadow";
}): DriftMonitor {
  const { definition } = deps;
  const pipeline = definition.name;
  const topics = pipelineTopics(pipeline);
  const monitoring = definition.monitoring;
  const baseThresholds = deps.thresholds ?? defaultThresholds;
  const thresholdsFor = (feature: string) => featureThresholds(baseThresholds, monitoring, feature);
  const names = featureNames(definition);
  const now = deps.now ?? Date.now;
  const shadow = deps.role === "shadow";
  const log = deps.logger.child({ module: shadow ? "shadow-drift" : "drift", pipeline });
  const codec = createAvroCodec(deps.registry.resolve);
  const alertType = parseAvroSchema(readSchema("alert-event.avsc"));
  let alertSchemaId: number | undefined;
  const references = new Map<number, VersionReference | null>();
  const alerts = new AlertBook(monitoring.alertAfterWindows, monitoring.resolveAfterWindows);
  const warmUp = warmUpOf(definition);
  /** Until when (event time) the rolling features warm up: the pipeline's first stored event plus their window. */
  let warmUpUntilMs: number | undefined;
  let lastError: string | undefined;

  function reference(version: number): VersionReference | undefined {
    if (!references.has(version)) {
      try {
        const dir = join(deps.modelsRoot, definition.model.directory, String(version));
        const loaded = loadVersionReference(dir, names, monitoring.features, monitoring.bins);
        references.set(version, shadow ? predictionOnly(loaded) : loaded);
      } catch (error) {
        log.error(
          { version, error: describeError(error) },
          "no reference for this model version; its events are not monitored",
        );
        references.set(version, null);
      }
    }
    return references.get(version) ?? undefined;
  }

  const tracker = new WindowTracker<WindowState>(
    {
      sizeMs: monitoring.windowSeconds * 1000,
      slideMs: (monitoring.slideSeconds ?? monitoring.windowSeconds) * 1000,
      allowedLatenessMs: monitoring.allowedLatenessSeconds * 1000,
      idleMs: 30_000,
    },
    (group) => openWindowState(reference(Number(group)) as VersionReference),
  );

  function addRecord(record: DriftInput, partition: string): void {
    if (!reference(record.model_version)) return;
    const added = tracker.add(
      String(record.model_version),
      record.event_time_ms,
      (state) => addToWindow(state, record),
      partition,
      now(),
    );
    if (!added) deps.metrics.lateEvents.inc({ pipeline });
  }

  /** Alert transitions of one window, in order, as messages for the alerts topic. */
  async function alertMessages(
    window: ClosedWindow<WindowState>,
    decisions: DriftDecision[],
    messages: Message[],
  ): Promise<void> {
    if (shadow) return;
    for (const decision of decisions) {
      const change = alerts.observe(decision.feature, decision.drifted);
      deps.metrics.driftDetected.set({ pipeline, feature: decision.feature }, decision.drifted ? 1 : 0);
      if (!change) continue;
      alertSchemaId ??= await deps.registry.register(`${topics.alerts}-value`, readSchema("alert-event.avsc"));
      const event = {
        pipeline,
        feature: decision.feature,
        status: change.transition,
        model_name: window.state.reference.modelName,
        model_version: window.state.reference.version,
        window_start: window.start,
        window_end: window.end,
        statistic: decision.statistic,
        value: decision.value,
        threshold: decision.threshold,
        consecutive_windows: change.run,
        alert_time: now(),
      };
      messages.push({ key: decision.feature, value: codec.encode(alertSchemaId, alertType, event) });
      deps.metrics.alerts.inc({ pipeline, status: change.transition });
      log.warn(
        { feature: decision.feature, status: change.transition, window: new Date(window.start).toISOString() },
        "drift alert",
      );
    }
  }

  /**
   * The pipeline's first event, from what is stored (the rows handed here are stored already), so a
   * restarted monitor draws the same line; read once.
   */
  async function warmUpLine(): Promise<number> {
    if (warmUpUntilMs === undefined) {
      const [row] = await withBackoff(
        () =>
          deps.clickhouse.query<{ first: string }>(
            `SELECT toString(min(event_time_ms)) AS first FROM ${deps.database}.predictions WHERE pipeline = '${pipeline}'`,
          ),
        { maxBackoffMs: deps.maxBackoffMs, onRetry: (error) => (lastError = describeError(error)) },
      );
      warmUpUntilMs = Number(row?.first ?? 0) + warmUp.seconds * 1000;
    }
    return warmUpUntilMs;
  }

  /** Stores the windows that closed with one insert, then sends their alerts in one request. */
  async function closeWindows(): Promise<void> {
    const computedAtSeconds = Math.floor(now() / 1000);
    const windows = [...tracker.advance(now())];
    const warm =
      windows.length > 0 && warmUp.seconds > 0
        ? { untilMs: await warmUpLine(), features: new Set(warmUp.features) }
        : undefined;
    const closed = windows.map((window) => ({
      window,
      ...evaluateWindow(window, { pipeline, monitoring, thresholdsFor, computedAtSeconds, warmUp: warm }),
    }));
    const rows = closed.flatMap((c) => c.rows);
    if (rows.length > 0) {
      await withBackoff(
        () => deps.clickhouse.insertRowBinary(`${deps.database}.drift_metrics`, encodeRows(driftMetricsTable, rows)),
        {
          maxBackoffMs: deps.maxBackoffMs,
          onRetry: (error) => {
            lastError = describeError(error);
          },
        },
      );
      lastError = undefined;
    }
    const messages: Message[] = [];
    for (const { window, rows: windowRows, decisions } of closed) {
      for (const r of windowRows) {
        if (!shadow) deps.metrics.driftStatistic.set({ pipeline, feature: r.feature, statistic: r.statistic }, r.value);
      }
      deps.metrics.windowsClosed.inc({ pipeline });
      await alertMessages(window, decisions, messages);
      await deps.onWindowClosed?.(window.state.reference.version, {
        windowStart: window.start,
        driftedFeatures: decisions.filter((d) => d.drifted && d.feature !== predictionFeature).map((d) => d.feature),
      });
    }
    if (messages.length > 0) await deps.producer.send({ topic: topics.alerts, acks: -1, messages });
    deps.metrics.openWindows.set({ pipeline }, tracker.openWindows);
  }

  // Partitions' batches arrive side by side; windows are updated and closed one batch at a time,
  // while the sink goes on with its next batch: at most one batch waits here besides the running one.
  let queue: Promise<void> = Promise.resolve();

  function observeNow(partition: number, rows: readonly DriftInput[], caughtUp: boolean): Promise<void> {
    const key = String(partition);
    for (const row of rows) {
      try {
        addRecord(row, key);
      } catch (error) {
        // A stored row the statistics cannot use (e.g. a feature vector of another length).
        log.debug({ error: describeError(error) }, "row not monitored");
      }
    }
    tracker.setCaughtUp(key, caughtUp);
    return closeWindows();
  }

  /** Runs `step` after everything queued so far; returns what was queued before it. */
  function enqueue(step: () => void | Promise<void>): Promise<void> {
    const earlier = queue;
    queue = earlier.then(step);
    // A failure reaches the next caller (and every later one), which fails its batch.
    queue.catch((error: unknown) => {
      lastError = describeError(error);
    });
    return earlier;
  }

  return {
    get lastError() {
      return lastError;
    },
    observe: (partition, rows, caughtUp = true) => enqueue(() => observeNow(partition, rows, caughtUp)),
    assign(partitions) {
      const sources = partitions.map((p) => ({ source: String(p.partition), caughtUp: p.caughtUp }));
      void enqueue(() => tracker.setSources(sources, now())).catch(() => undefined);
    },
    settle: () => queue.catch(() => undefined),
  };
}

/** A version's reference reduced to its prediction (a shadow's rows carry no features). */
function predictionOnly(reference: VersionReference): VersionReference {
  const profile = reference.profiles.get(predictionFeature);
  return {
    ...reference,
    profiles: new Map(profile ? [[predictionFeature, profile]] : []),
    columns: new Map([[predictionFeature, -1]]),
  };
}
