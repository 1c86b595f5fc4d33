// Runs a seeded generator against the ingest API at a target rate for a bounded time, in event
// time that follows the wall clock, and optionally publishes ground-truth labels.
import { setTimeout as sleep } from "node:timers/promises";
import type { IngestClient } from "../sdk.ts";
import type { DriftSpec } from "./drift.ts";
import { irisStream } from "./iris.ts";
import { paymentStream } from "./payments.ts";

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
  const startTime = wallStart;
  const stream = streamFor(run, startTime);
  const batchSize = run.batchSize ?? Math.max(1, Math.min(500, Math.round(run.ratePerSecond / 10)));
  const total = Math.round(run.ratePerSecond * run.seconds);
  const result: GeneratorResult = { sent: 0, accepted: 0, rejected: 0, failedRequests: 0, labels: 0, seconds: 0 };
  const inFlight = new Set<Promise<void>>();
  let labelRandom = run.seed;
  const nextRandom = () => {
    labelRandom = (labelRandom * 1103515245 + 12345) % 2147483648;
    return labelRandom / 2147483648;
  };

  while (result.sent < total) {
    const events: object[] = [];
    const labels: LabelRecord[] = [];
    for (let i = 0; i < batchSize && result.sent < total; i += 1) {
      const { event, label } = stream.next().value as { event: { event_id: string }; label: number };
      events.push(event);
      if (nextRandom() < (run.labelRate ?? 0))
        labels.push({ event_id: event.event_id, label: String(label), label_time: Date.now() });
      result.sent += 1;
    }
    // Pace by the wall clock: event i is due at start + i / rate.
    const due = startTime + (result.sent / run.ratePerSecond) * 1000;
    const wait = due - Date.now();
    if (wait > 0) await sleep(wait);
    const request = client
      .publish(run.pipeline, events)
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
        run.onSettled?.(events.length);
      });
    inFlight.add(request);
    if (inFlight.size >= (run.concurrency ?? 8)) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  result.seconds = (Date.now() - startTime) / 1000;
  return result;
}

/**
 * Parses `field:kind:value@seconds`, e.g. `amount:mean-shift:150@30` or
 * `merchant_category:new-category:crypto@30`: drift from that many seconds into the run on.
 */
export function parseDrift(text: string, run: GeneratorRun, wallStart: number): DriftSpec {
  const match = /^([a-z_]+):(mean-shift|scale|new-category):([^@]+)@(\d+)$/.exec(text);
  if (!match) throw new Error(`--drift: expected field:kind:value@seconds, got "${text}"`);
  const [, field = "", kind, value = "", at = "0"] = match;
  // Seconds into the run, mapped to the event time of the event sent then.
  const eventRate = run.eventRatePerSecond ?? run.ratePerSecond;
  const fromTime = eventStartTime(run, wallStart) + Math.round((Number(at) * run.ratePerSecond * 1000) / eventRate);
  if (kind === "new-category") return { kind, field, fromTime, category: value, share: 0.3 };
  const number = Number(value);
  if (!Number.isFinite(number)) throw new Error(`--drift: "${value}" is not a number`);
  if (kind === "scale") return { kind, field, fromTime, factor: number, center: 0 };
  return { kind: "mean-shift", field, fromTime, shift: number };
}
