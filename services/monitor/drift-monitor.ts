// Windowed drift monitoring of one pipeline: scored events are grouped into event-time windows per
// model version; each closed window is compared with that version's training reference, feature by
// feature and for the prediction, in bounded memory per feature. Results go to ClickHouse
// (`drift_metrics`) and Prometheus; a feature that drifts for N windows in a row raises an alert on
// `<pipeline>.alerts`, and a matching "resolved" event follows after M clean windows.
//
// It reads no topic of its own: the predictions sink hands it each batch's rows after their insert,
// so every scored record is decoded once; the sink waits for the batch before, not for this one, so
// drift statistics overlap the next fetch and insert.
//
// Several instances can share a pipeline (scale-out on the scored topic's partitions): each keeps its
// partitions' parts of the open windows (partitioned-windows.ts), reports each partition's progress in
// `drift_progress`, and stores the parts the watermark sealed in `drift_parts`. The instance that owns
// partition 0 is the closer: it merges a window's parts (window-parts.ts, in partition order, so the
// statistics do not depend on who held what) once every partition has sealed it, stores the window,
// raises its alerts and moves the closed-through mark; a new closer goes on from that mark. A
// partition's parts are final in storage (or in a closed window) before its progress says sealed, and
// a new owner, after a crash or a rebalance, rebuilds the partition's open parts from the predictions
// stored since then. One instance owning every partition merges in memory and stores no parts.

import { hostname } from "node:os";
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
import { closerPartition, createDriftStore, type StoredProgress } from "./drift-store.ts";
import type { MonitorMetrics } from "./metrics.ts";
import { driftMetricsTable } from "./rows.ts";
import {
  addToWindow,
  type DriftDecision,
  type DriftInput,
  evaluateWindow,
  featureThresholds,
  type WindowState,
} from "./windowing/evaluation.ts";
import { PartitionedWindows, type RemoteSource, type SealedPart } from "./windowing/partitioned-windows.ts";
import { loadVersionReference, predictionFeature, type VersionReference } from "./windowing/reference.ts";
import { mergeParts, openPart, restorePart, snapshotPart } from "./windowing/window-parts.ts";
import type { ClosedWindow } from "./windowing/windows.ts";

export type { DriftInput };

/** How often an instance that shares its pipeline reports its progress and reads the others'. */
const shareIntervalMs = 1000;
/** A partition whose owner has not reported for this long holds the windows back (its owner may be gone). */
const ownerSilenceMs = 10_000;
/** Stored predictions read per query when a partition's open windows are rebuilt (by default). */
const defaultRebuildPageRows = 20_000;

export interface DriftMonitor {
  /**
   * Queues a partition's stored rows: they are added to their windows, and the windows that close
   * are stored, after the rows queued earlier. Resolves when the earlier rows are done (rejects if
   * they failed), so a caller runs at most one batch ahead. `caughtUp`: the rows end the partition
   * as read so far (its lag is 0); only then may the partition count as idle when it goes quiet.
   */
  observe(partition: number, rows: readonly DriftInput[], caughtUp?: boolean): Promise<void>;
  /**
   * The partitions the sink now reads, each with whether it was read to its end, and every
   * partition of the topic (when known): windows wait for the ones not heard from yet, the
   * partitions new here are rebuilt from what is stored, and the ones another instance took are
   * dropped.
   */
  assign(
    partitions: ReadonlyArray<{ partition: number; caughtUp: boolean }>,
    topicPartitions?: readonly number[],
  ): void;
  /** Resolves when every queued batch is done. */
  settle(): Promise<void>;
  /** Stops the timer that shares progress with other instances. */
  stop(): void;
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
  /** Names this instance in `drift_progress` (default: host and process id). */
  instance?: string;
  /** Stored predictions read per query when a partition's open windows are rebuilt. */
  rebuildPageRows?: number;
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
  let alerts = new AlertBook(monitoring.alertAfterWindows, monitoring.resolveAfterWindows);
  const warmUp = warmUpOf(definition);
  /** Until when (event time) the rolling features warm up: the pipeline's first stored event plus their window. */
  let warmUpUntilMs: number | undefined;
  let lastError: string | undefined;
  const sizeMs = monitoring.windowSeconds * 1000;
  const rebuildPageRows = deps.rebuildPageRows ?? defaultRebuildPageRows;
  const store = createDriftStore({
    clickhouse: deps.clickhouse,
    database: deps.database,
    pipeline,
    role: shadow ? "shadow" : "decision",
    sourceTable: shadow ? "shadow_predictions" : "predictions",
    owner: deps.instance ?? `${hostname()}/${process.pid}`,
    now,
  });
  // The error shows in readiness while a call is retried, and clears once one succeeds: ClickHouse
  // back after a restart must not leave the monitor unready until its next window closes.
  const retrying = async <T>(operation: () => Promise<T>): Promise<T> => {
    const result = await withBackoff(operation, {
      maxBackoffMs: deps.maxBackoffMs,
      onRetry: (error) => {
        lastError = describeError(error);
      },
    });
    lastError = undefined;
    return result;
  };

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

  const windows = new PartitionedWindows<WindowState>(
    {
      sizeMs,
      slideMs: (monitoring.slideSeconds ?? monitoring.windowSeconds) * 1000,
      allowedLatenessMs: monitoring.allowedLatenessSeconds * 1000,
      idleMs: 30_000,
    },
    (group, start, source) => openPart(reference(Number(group)) as VersionReference, start, source),
  );

  /** Every partition of the scored topic, once the sink said; until then, the ones owned here. */
  let topicPartitions: number[] | undefined;
  /** Per partition rebuilt from storage: the highest offset the rebuild read (the sink's later rows start after it). */
  const rebuiltThrough = new Map<number, bigint>();
  /** The other instances' progress, as last read. */
  let shared = new Map<number, StoredProgress>();
  let sharedReadAt = Number.NEGATIVE_INFINITY;
  let progressWrittenAt = Number.NEGATIVE_INFINITY;
  /** Windows ending at or before this are closed; read from storage when this instance becomes the closer. */
  let closedThrough: number | undefined;

  const owned = () => [...windows.progress().keys()].map(Number);
  const everyPartition = () => topicPartitions ?? owned();
  const sharing = () => topicPartitions?.some((p) => !windows.owns(String(p))) ?? false;
  const isCloser = () => topicPartitions === undefined || windows.owns(String(Math.min(...topicPartitions)));

  function addRecord(record: DriftInput, partition: string, live: boolean): void {
    if (!reference(record.model_version)) return;
    const added = windows.add(
      partition,
      String(record.model_version),
      record.event_time_ms,
      (state) => addToWindow(state, record),
      now(),
    );
    if (!added && live) deps.metrics.lateEvents.inc({ pipeline });
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
      const [row] = await retrying(() =>
        deps.clickhouse.query<{ first: string }>(
          `SELECT toString(min(event_time_ms)) AS first FROM ${deps.database}.predictions WHERE pipeline = '${pipeline}'`,
        ),
      );
      warmUpUntilMs = Number(row?.first ?? 0) + warmUp.seconds * 1000;
    }
    return warmUpUntilMs;
  }

  /** Stores closed windows with one insert, then sends their alerts in one request. */
  async function storeWindows(windowsToClose: ClosedWindow<WindowState>[]): Promise<void> {
    const computedAtSeconds = Math.floor(now() / 1000);
    const warm =
      windowsToClose.length > 0 && warmUp.seconds > 0
        ? { untilMs: await warmUpLine(), features: new Set(warmUp.features) }
        : undefined;
    const closed = windowsToClose.map((window) => ({
      window,
      ...evaluateWindow(window, { pipeline, monitoring, thresholdsFor, computedAtSeconds, warmUp: warm }),
    }));
    const rows = closed.flatMap((c) => c.rows);
    if (rows.length > 0) {
      await retrying(() =>
        deps.clickhouse.insertRowBinary(`${deps.database}.drift_metrics`, encodeRows(driftMetricsTable, rows)),
      );
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
  }

  /** On becoming the closer: where the last one stopped, and the alert states its windows left. */
  async function takeOverClosing(): Promise<number> {
    if (closedThrough !== undefined) return closedThrough;
    const progress = await retrying(() => store.readProgress());
    const through = progress.get(closerPartition)?.sealedThrough ?? Number.NEGATIVE_INFINITY;
    alerts = new AlertBook(monitoring.alertAfterWindows, monitoring.resolveAfterWindows);
    if (!shadow) {
      for (const { feature, drifted } of await retrying(() => store.decisions(through)))
        alerts.observe(feature, drifted);
    }
    closedThrough = through;
    return through;
  }

  /** How far every partition of the topic is sealed: here for the ones owned, as reported for the others. */
  function sealedEverywhere(): number {
    const local = windows.progress();
    const sealed = everyPartition().map(
      (p) => local.get(String(p))?.sealedThrough ?? shared.get(p)?.sealedThrough ?? Number.NEGATIVE_INFINITY,
    );
    return sealed.length > 0 ? Math.min(...sealed) : Number.NEGATIVE_INFINITY;
  }

  /**
   * The closer's step: every window sealed on all partitions is merged from its parts (the ones sealed
   * here now, and the ones other owners stored) and stored. Returns the parts sealed here that must
   * wait for other partitions.
   */
  async function closeSealed(sealed: SealedPart<WindowState>[]): Promise<SealedPart<WindowState>[]> {
    const from = await takeOverClosing();
    const through = sealedEverywhere();
    if (!(through > from)) return sealed;
    const parts = new Map<
      string,
      { version: number; start: number; end: number; byPartition: Map<number, WindowState> }
    >();
    const partsOf = (version: number, start: number, end: number) => {
      const key = `${start}\u0000${version}`;
      let entry = parts.get(key);
      if (!entry) {
        entry = { version, start, end, byPartition: new Map() };
        parts.set(key, entry);
      }
      return entry;
    };
    for (const part of await retrying(() => store.readParts(from, through))) {
      const ref = reference(part.version);
      if (!ref) continue;
      try {
        partsOf(part.version, part.start, part.end).byPartition.set(part.partition, restorePart(ref, part.snapshot));
      } catch (error) {
        // A part this version's reference cannot take (written under other monitoring settings) must
        // not stop every later window: the window closes without it, and the log says which.
        log.error(
          {
            version: part.version,
            window: new Date(part.start).toISOString(),
            partition: part.partition,
            error: describeError(error),
          },
          "stored drift window part left out",
        );
      }
    }
    const waiting: SealedPart<WindowState>[] = [];
    for (const part of sealed) {
      if (part.end > through) waiting.push(part);
      // A part rebuilt here replaces a copy its last owner stored before it crashed: the same records.
      else if (part.end > from)
        partsOf(Number(part.group), part.start, part.end).byPartition.set(Number(part.source), part.state);
    }
    const ready = [...parts.values()]
      .sort((a, b) => a.start - b.start || a.version - b.version)
      .map((w) => ({
        key: `${w.version}\u0000${w.start}`,
        start: w.start,
        end: w.end,
        state: mergeParts(
          reference(w.version) as VersionReference,
          w.start,
          [...w.byPartition].sort(([a], [b]) => a - b).map(([, state]) => state),
        ),
      }));
    await storeWindows(ready);
    closedThrough = through;
    return waiting;
  }

  /** Reads the other instances' progress (at most once per share interval). */
  async function readShared(wallNow: number): Promise<void> {
    if (wallNow - sharedReadAt < shareIntervalMs) return;
    shared = await retrying(() => store.readProgress());
    sharedReadAt = wallNow;
    const remote = new Map<string, RemoteSource>();
    for (const p of everyPartition()) {
      const reported = shared.get(p);
      remote.set(
        String(p),
        reported
          ? { ...reported, live: wallNow - reported.updatedAt <= ownerSilenceMs }
          : {
              maxEventTime: Number.NEGATIVE_INFINITY,
              seenAt: wallNow,
              caughtUp: false,
              sealedThrough: Number.NEGATIVE_INFINITY,
              live: false,
            },
      );
    }
    windows.setRemote(remote);
  }

  /** Writes the owned partitions' progress (and the closer's mark): when something was sealed, and regularly while shared. */
  async function reportProgress(wallNow: number, changed: boolean): Promise<void> {
    if (!changed && !(sharing() && wallNow - progressWrittenAt >= shareIntervalMs)) return;
    const rows = [...windows.progress()].map(([source, progress]) => ({ partition: Number(source), progress }));
    if (isCloser() && closedThrough !== undefined) {
      rows.push({
        partition: closerPartition,
        progress: {
          maxEventTime: Number.NEGATIVE_INFINITY,
          seenAt: wallNow,
          caughtUp: true,
          sealedThrough: closedThrough,
        },
      });
    }
    await retrying(() => store.writeProgress(rows));
    progressWrittenAt = wallNow;
  }

  /**
   * Moves the watermark and seals what it passed; the closer closes what every partition sealed, the
   * rest is stored for it; then the progress says so. In that order: what progress calls sealed is
   * always in a stored part or a closed window.
   */
  async function step(): Promise<void> {
    const wallNow = now();
    if (sharing()) await readShared(wallNow);
    const sealed = windows.advance(wallNow);
    const closedBefore = closedThrough;
    const waiting = isCloser() ? await closeSealed(sealed) : sealed;
    if (waiting.length > 0) {
      await retrying(() =>
        store.writeParts(
          waiting.map((part) => ({
            version: Number(part.group),
            start: part.start,
            end: part.end,
            partition: Number(part.source),
            snapshot: snapshotPart(part.state),
          })),
        ),
      );
    }
    await reportProgress(wallNow, sealed.length > 0 || closedThrough !== closedBefore);
    reportGauges();
  }

  /** What this instance holds of the pipeline's windows (the deciding rows'; a shadow's would overwrite them). */
  function reportGauges(): void {
    if (shadow) return;
    deps.metrics.openWindows.set({ pipeline }, windows.openWindows);
    deps.metrics.driftPartitions.set({ pipeline }, windows.progress().size);
    deps.metrics.driftCloser.set({ pipeline }, isCloser() ? 1 : 0);
    if (isCloser() && closedThrough !== undefined && Number.isFinite(closedThrough)) {
      deps.metrics.driftClosedThrough.set({ pipeline }, closedThrough / 1000);
    }
  }

  /**
   * A partition new here: its open parts again, from the predictions stored after what was sealed for
   * it, a page at a time (memory stays one page, whatever the rate and window length).
   */
  async function rebuild(partition: number, sealedThrough: number): Promise<void> {
    let through = -1n;
    let total = 0;
    for (;;) {
      const after = through;
      const rows = await retrying(() => store.storedInputs(partition, sealedThrough - sizeMs, after, rebuildPageRows));
      for (const row of rows) addRecord(row, String(partition), false);
      total += rows.length;
      const last = rows[rows.length - 1];
      if (last) through = BigInt(last.source_offset);
      if (rows.length < rebuildPageRows) break;
    }
    if (through >= 0n) rebuiltThrough.set(partition, through);
    if (total > 0) log.info({ partition, rows: total }, "rebuilt the partition's open windows from storage");
  }

  async function assignNow(
    partitions: ReadonlyArray<{ partition: number; caughtUp: boolean }>,
    all: readonly number[] | undefined,
  ): Promise<void> {
    const wallNow = now();
    // Unknown this time (the lag could not be read): the last known list stands.
    if (all && all.length > 0) topicPartitions = [...all].sort((a, b) => a - b);
    const fresh = partitions.filter((p) => !windows.owns(String(p.partition)));
    const stored = fresh.length > 0 ? await retrying(() => store.readProgress()) : new Map<number, StoredProgress>();
    const resume = new Map<number, { sealedThrough: number; maxEventTime: number }>();
    for (const { partition } of fresh) {
      const known = stored.get(partition);
      // A partition no instance reported yet (a pipeline monitored before drift_progress existed):
      // its newest window is rebuilt from storage.
      const newest = known ? undefined : await retrying(() => store.newestStoredEventTime(partition));
      resume.set(
        partition,
        known
          ? { sealedThrough: known.sealedThrough, maxEventTime: known.maxEventTime }
          : { sealedThrough: (newest ?? Number.NEGATIVE_INFINITY) - sizeMs, maxEventTime: Number.NEGATIVE_INFINITY },
      );
    }
    windows.assign(
      partitions.map(({ partition, caughtUp }) => ({
        source: String(partition),
        caughtUp,
        resume: resume.get(partition),
      })),
      wallNow,
    );
    for (const partition of rebuiltThrough.keys()) {
      if (!partitions.some((p) => p.partition === partition)) rebuiltThrough.delete(partition);
    }
    for (const [partition, { sealedThrough }] of resume) await rebuild(partition, sealedThrough);
    if (!isCloser()) closedThrough = undefined;
    sharedReadAt = Number.NEGATIVE_INFINITY;
    await reportProgress(wallNow, true);
    reportGauges();
  }

  // Partitions' batches arrive side by side; windows are updated and closed one batch at a time,
  // while the sink goes on with its next batch: at most one batch waits here besides the running one.
  let queue: Promise<void> = Promise.resolve();

  function observeNow(partition: number, rows: readonly DriftInput[], caughtUp: boolean): Promise<void> {
    const key = String(partition);
    const skipThrough = rebuiltThrough.get(partition);
    const last = rows[rows.length - 1]?.source_offset;
    // Past the rebuild's rows from this batch on (offsets grow): later batches need no check.
    if (skipThrough !== undefined && last !== undefined && BigInt(last) > skipThrough) rebuiltThrough.delete(partition);
    for (const row of rows) {
      // Rows the rebuild read already (stored between its query and this batch's hand-over).
      if (skipThrough !== undefined && row.source_offset !== undefined && BigInt(row.source_offset) <= skipThrough)
        continue;
      try {
        addRecord(row, key, true);
      } catch (error) {
        // A stored row the statistics cannot use (e.g. a feature vector of another length).
        log.debug({ error: describeError(error) }, "row not monitored");
      }
    }
    windows.setCaughtUp(key, caughtUp);
    return step();
  }

  /** Runs `step` after everything queued so far; returns what was queued before it. */
  function enqueue(work: () => void | Promise<void>): Promise<void> {
    const earlier = queue;
    queue = earlier.then(work);
    // A failure reaches the next caller (and every later one), which fails its batch.
    queue.catch((error: unknown) => {
      lastError = describeError(error);
    });
    return earlier;
  }

  // While partitions are shared, progress is reported and read, and windows closed, on a timer too:
  // another instance's partitions move the watermark without a batch arriving here.
  let ticking = false;
  const timer = setInterval(() => {
    if (!sharing() || ticking) return;
    ticking = true;
    void enqueue(step).catch(() => undefined);
    // `queue` is now this tick's step: the next tick waits until it is done.
    void queue
      .catch(() => undefined)
      .finally(() => {
        ticking = false;
      });
  }, shareIntervalMs);
  timer.unref();

  return {
    get lastError() {
      return lastError;
    },
    observe: (partition, rows, caughtUp = true) => enqueue(() => observeNow(partition, rows, caughtUp)),
    assign(partitions, all) {
      void enqueue(() => assignNow(partitions, all)).catch(() => undefined);
    },
    settle: () => queue.catch(() => undefined),
    stop: () => clearInterval(timer),
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
