// Runs a seeded generator against the ingest API at a target rate for a bounded time, in event
// time that follows the wall clock, and optionally publishes ground-truth labels.
import { setTimeout as sleep } from "node:timers/promises";
import type { IngestClient } from "../sdk.ts";
import type { DriftSpec } from "./drift.ts";
import { irisStream } from "./iris.ts";
import { paymentConcepts, paymentStream } from "./payments.ts";

export interface LabelRecord {
  event_id: string;
  label: string;
  label_time: number;
}

export interface GeneratorRun {
  pipeline: "payments" | "iris";
  /** Events sent per second of wall-clock time. */
  ratePerSecond: number;
  /**
   * Events per second of event time; lower than the send rate replays history faster than real
   * time (the run's last event is stamped about now). Defaults to the send rate.
   */
  eventRatePerSecond?: number;
  seconds: number;
  seed: number;
  /** Share of events whose ground truth is published (0..1). */
  labelRate?: number;
  drift?: DriftSpec;
  /** Events per request. */
  batchSize?: number;
  /** Requests in flight at once. */
  concurrency?: number;
  /** Called with each request's event count once it is answered or failed (a progress bar). */
  onSettled?: (events: number) => void;
}

export interface GeneratorResult {
  sent: number;
  accepted: number;
  rejected: number;
  failedRequests: number;
  labels: number;
  seconds: number;
}

/**
 * The event time of the run's first event: its last event, sent at the end of the run, is stamped
 * with about the wall-clock time it is sent at, so nothing lies in the future.
 */
export function eventStartTime(run: GeneratorRun, wallStart: number): number {
  const eventRate = run.eventRatePerSecond ?? run.ratePerSecond;
  const events = run.ratePerSecond * run.seconds;
  return Math.round(wallStart + run.seconds * 1000 - (events / eventRate) * 1000);
}

function streamFor(run: GeneratorRun, wallStart: number) {
  const options = {
    seed: run.seed,
    startTime: eventStartTime(run, wallStart),
    ratePerSecond: run.eventRatePerSecond ?? run.ratePerSecond,
    drift: run.drift,
    idPrefix: `${run.pipeline[0]}${wallStart.toString(36)}${run.seed}`,
  };
  // Cards of their own per run: a replay of history must not land on another run's card histories.
  return run.pipeline === "payments"
    ? paymentStream({ ...options, cardPrefix: `card${wallStart.toString(36)}` })
    : irisStream(options);
}

export async function runGenerator(
  client: IngestClient,
  run: GeneratorRun,
  publishLabels?: (labels: LabelRecord[]) => Promise<void>,
  wallStart = Date.now(),
): Promise<GeneratorResult> {
  return sendStream(
    client,
    run.pipeline,
    streamFor(run, wallStart),
    { ...run, count: Math.round(run.ratePerSecond * run.seconds), labelSampler: labelSampler(run.seed) },
    publishLabels,
    wallStart,
  );
}

/** The draws that decide which events get a published label: seeded, so a run's labels repeat. */
export function labelSampler(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

export interface SendOptions {
  /** Events taken from the stream and sent. */
  count: number;
  /** Events sent per second of wall-clock time. */
  ratePerSecond: number;
  /** Share of events whose ground truth is published (0..1). */
  labelRate?: number;
  labelSampler: () => number;
  batchSize?: number;
  concurrency?: number;
  onSettled?: (events: number) => void;
}

/**
 * Sends `count` events of a labelled stream to a pipeline's ingest route (any name the producer
 * serves, `name=definition` pipelines included), paced by the wall clock, and publishes the
 * sampled labels. The stream is left where it stopped, so a caller can send it in phases.
 */
export async function sendStream(
  client: IngestClient,
  pipeline: string,
  stream: Iterator<{ event: { event_id: string }; label: number }>,
  options: SendOptions,
  publishLabels?: (labels: LabelRecord[]) => Promise<void>,
  wallStart = Date.now(),
): Promise<GeneratorResult> {
  const startTime = wallStart;
  const batchSize = options.batchSize ?? Math.max(1, Math.min(500, Math.round(options.ratePerSecond / 10)));
  const total = options.count;
  const result: GeneratorResult = { sent: 0, accepted: 0, rejected: 0, failedRequests: 0, labels: 0, seconds: 0 };
  const inFlight = new Set<Promise<void>>();

  while (result.sent < total) {
    const events: object[] = [];
    const labels: LabelRecord[] = [];
    for (let i = 0; i < batchSize && result.sent < total; i += 1) {
      const { event, label } = stream.next().value as { event: { event_id: string }; label: number };
      events.push(event);
      if (options.labelSampler() < (options.labelRate ?? 0))
        labels.push({ event_id: event.event_id, label: String(label), label_time: Date.now() });
      result.sent += 1;
    }
    // Pace by the wall clock: event i is due at start + i / rate.
    const due = startTime + (result.sent / options.ratePerSecond) * 1000;
    const wait = due - Date.now();
    if (wait > 0) await sleep(wait);
    const request = client
      .publish(pipeline, events)
      .then(async (response) => {
        result.accepted += response.accepted;
        result.rejected += response.rejected;
        if (publishLabels && labels.length > 0) {
          await publishLabels(labels);
          result.labels += labels.length;
        }
      })
      .catch(() => {
        result.failedRequests += 1;
      })
      .finally(() => {
        inFlight.delete(request);
        options.onSettled?.(events.length);
      });
    inFlight.add(request);
    if (inFlight.size >= (options.concurrency ?? 8)) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  result.seconds = (Date.now() - startTime) / 1000;
  return result;
}

/**
 * Parses `field:kind:value@seconds`, e.g. `amount:mean-shift:150@30`,
 * `merchant_category:new-category:crypto@30` or, for payments, the concept drift
 * `label:concept:fuel-fraud@30`: drift from that many seconds into the run on.
 */
export function parseDrift(text: string, run: GeneratorRun, wallStart: number): DriftSpec {
  const match = /^([a-z_]+):(mean-shift|scale|new-category|concept):([^@]+)@(\d+)$/.exec(text);
  if (!match) throw new Error(`--drift: expected field:kind:value@seconds, got "${text}"`);
  const [, field = "", kind, value = "", at = "0"] = match;
  // Seconds into the run, mapped to the event time of the event sent then.
  const eventRate = run.eventRatePerSecond ?? run.ratePerSecond;
  const fromTime = eventStartTime(run, wallStart) + Math.round((Number(at) * run.ratePerSecond * 1000) / eventRate);
  if (kind === "new-category") return { kind, field, fromTime, category: value, share: 0.3 };
  if (kind === "concept") return conceptDrift(value, run.pipeline, fromTime, field);
  const number = Number(value);
  if (!Number.isFinite(number)) throw new Error(`--drift: "${value}" is not a number`);
  if (kind === "scale") return { kind, field, fromTime, factor: number, center: 0 };
  return { kind: "mean-shift", field, fromTime, shift: number };
}

/** A named concept drift of a pipeline's generator (payments: paymentConcepts), from `fromTime` on. */
export function conceptDrift(
  name: string,
  pipeline: string,
  fromTime: number,
  field = "label",
): Extract<DriftSpec, { kind: "concept" }> {
  if (field !== "label")
    throw new Error(`--drift: a concept drift changes the label, not "${field}" (label:concept:<name>)`);
  const concept = pipeline === "payments" ? paymentConcepts[name] : undefined;
  if (!concept) {
    const known = pipeline === "payments" ? Object.keys(paymentConcepts).join(", ") : "none";
    throw new Error(`--drift: no concept drift "${name}" for ${pipeline} (known: ${known})`);
  }
  return { kind: "concept", field, fromTime, name: concept.description, pattern: concept.pattern, label: 1, share: 1 };
}
