// The pure parts of `npm run models -- retrain`: which window of events to train on, how the
// labelled rows are split into train and holdout, what they look like as the trainer's CSV, which
// version number comes next, and the holdout metrics the validation gate compares. No I/O, so each
// rule is unit-tested on its own.
import { createHash } from "node:crypto";
import { type LabelledPrediction, qualityMetrics } from "../../services/monitor/windowing/quality.ts";
import { StreamscoreError } from "../../services/shared/errors.ts";
import type { CandidateMetrics } from "../../services/shared/model/retraining.ts";
import type { PipelineDefinition } from "../../services/shared/pipeline/definition.ts";

const hourMs = 3_600_000;

function refuse(message: string): never {
  throw new StreamscoreError("REQUEST_INVALID", message);
}

export interface TimeWindow {
  /** Inclusive, ms since the epoch. */
  since: number;
  /** Exclusive, ms since the epoch. */
  until: number;
}

// A date alone means UTC midnight; a time needs its zone, because a bare local time would train on a
// different window depending on where the command runs.
const isoInstant = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2}))?$/;

function instant(flag: string, value: string): number {
  const ms = isoInstant.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) {
    refuse(`--${flag} "${value}" is not a date or a date-time with its zone (e.g. 2026-12-07 or 2026-12-07T10:00Z)`);
  }
  return ms;
}

/**
 * The event-time window to export: `--since`/`--until` as given, a missing end filled with `hours`
 * (default `defaultHours`) from the other, and neither meaning the last `hours` before `now`.
 */
export function parseWindow(
  options: { since?: string; until?: string; hours?: string },
  now: number,
  defaultHours = 24,
): TimeWindow {
  if (options.since !== undefined && options.until !== undefined && options.hours !== undefined) {
    refuse("give --hours or both --since and --until, not all three");
  }
  let hours = defaultHours;
  if (options.hours !== undefined) {
    hours = Number(options.hours);
    if (options.hours.trim() === "" || !Number.isFinite(hours) || hours <= 0) {
      refuse(`--hours must be a positive number of hours, got "${options.hours}"`);
    }
  }
  const until = options.until !== undefined ? instant("until", options.until) : undefined;
  const since = options.since !== undefined ? instant("since", options.since) : undefined;
  const window =
    since !== undefined && until !== undefined
      ? { since, until }
      : since !== undefined
        ? { since, until: Math.min(now, since + hours * hourMs) }
        : { since: (until ?? now) - hours * hourMs, until: until ?? now };
  if (window.since >= now) refuse(`the window starts at ${new Date(window.since).toISOString()}, in the future`);
  if (window.until <= window.since) {
    refuse(
      `the window is empty: --until ${new Date(window.until).toISOString()} is not after --since ${new Date(window.since).toISOString()}`,
    );
  }
  return { since: Math.round(window.since), until: Math.round(window.until) };
}

/** Where an event falls in [0, 1): the first 32 bits of the SHA-256 of its id. */
export function eventBucket(eventId: string): number {
  return createHash("sha256").update(eventId).digest().readUInt32BE(0) / 2 ** 32;
}

/**
 * Train and holdout by a hash of the event id: the same event lands on the same side in every run,
 * whatever the window or the row order, so a re-run on overlapping data never fits a row it once
 * held out, and both models are measured on rows neither was fitted on.
 */
export function splitByEventId<Row extends { eventId: string }>(
  rows: readonly Row[],
  holdoutShare: number,
): { train: Row[]; holdout: Row[] } {
  if (!Number.isFinite(holdoutShare) || holdoutShare <= 0 || holdoutShare >= 1) {
    refuse(`the holdout share must be above 0 and below 1, got ${holdoutShare}`);
  }
  const train: Row[] = [];
  const holdout: Row[] = [];
  for (const row of rows) (eventBucket(row.eventId) < holdoutShare ? holdout : train).push(row);
  return { train, holdout };
}

/** A labelled row as the trainer uses it: features in the definition's order, the label as a class index. */
export interface LabelledRow {
  eventId: string;
  eventTime: number;
  features: number[];
  label: number;
}

/** A row as exported from ClickHouse (64-bit integers arrive as strings). */
export interface ExportedRow {
  event_id: string;
  event_time_ms: string | number;
  feature_names: string[];
  feature_values: number[];
  actual: string;
}

export interface PreparedRows {
  rows: LabelledRow[];
  /** Rows left out, by why: a feature of the definition missing (an older definition) or a label the model has no class for. */
  skipped: { missingFeature: number; unknownLabel: number };
}

/** Rows in the definition's feature order with class-index labels; rows that cannot be used are counted, not guessed. */
export function prepareRows(
  exported: readonly ExportedRow[],
  order: readonly string[],
  classLabels: readonly string[],
): PreparedRows {
  const expected = order.join("\u0000");
  const rows: LabelledRow[] = [];
  const skipped = { missingFeature: 0, unknownLabel: 0 };
  for (const row of exported) {
    const label = classLabels.indexOf(row.actual);
    if (label < 0) {
      skipped.unknownLabel += 1;
      continue;
    }
    let features: number[] | undefined = row.feature_values;
    if (row.feature_names.join("\u0000") !== expected || row.feature_values.length !== order.length) {
      const byName = new Map(row.feature_names.map((name, i) => [name, row.feature_values[i]]));
      const mapped = order.map((name) => byName.get(name));
      features = mapped.every((v): v is number => typeof v === "number") ? mapped : undefined;
    }
    if (!features?.every(Number.isFinite)) {
      skipped.missingFeature += 1;
      continue;
    }
    rows.push({ eventId: row.event_id, eventTime: Number(row.event_time_ms), features: [...features], label });
  }
  return { rows, skipped };
}

/** The trainer's CSV: the feature names then `label`, one row per line; numbers in their shortest exact spelling. */
export function toCsv(order: readonly string[], rows: readonly LabelledRow[]): string {
  for (const name of order) {
    if (!/^[A-Za-z0-9_]+$/.test(name)) refuse(`feature name "${name}" cannot be a CSV column`);
  }
  const lines = [[...order, "label"].join(",")];
  for (const row of rows) lines.push(`${row.features.join(",")},${row.label}`);
  return `${lines.join("\n")}\n`;
}

/** Counts per class index, to refuse a split that lacks a class before anything is trained. */
export function classCounts(rows: readonly LabelledRow[], classes: number): number[] {
  const counts = new Array<number>(classes).fill(0);
  for (const row of rows) counts[row.label] = (counts[row.label] ?? 0) + 1;
  return counts;
}

/** The next version number: above every folder on disk and every version the registry knows (a number is never reused). */
export function nextVersion(onDisk: readonly number[], registered: readonly number[]): number {
  return Math.max(0, ...onDisk, ...registered) + 1;
}

/** A holdout segment: the rows where a one-hot column is 1 (payments: each channel). */
export interface Segment {
  name: string;
  column: number;
}

/**
 * The segments the gate checks for regressions: one per category of each one-hot feature of the
 * definition, found by column name in the feature order. The retraining policy's own words for
 * payments are "lose at most δ on any channel", and channel is its one-hot feature.
 */
export function segmentsOf(definition: Pick<PipelineDefinition, "features">, order: readonly string[]): Segment[] {
  const segments: Segment[] = [];
  for (const feature of definition.features) {
    if (feature.kind !== "one-hot") continue;
    for (const category of feature.categories) {
      const column = order.indexOf(`${feature.name}_${category}`);
      if (column >= 0) segments.push({ name: `${feature.name}=${category}`, column });
    }
  }
  return segments;
}

/**
 * A segment is compared only when the holdout holds at least this many events of every class in
 * it: with a handful of positives one event moves a segment's AUC by more than the gate's δ, and
 * label noise alone would reject good candidates (or pass bad ones).
 */
export const minSegmentClassRows = 20;

/** The segments with enough events of every class to compare, and the others with their class counts. */
export function comparableSegments(
  rows: readonly LabelledRow[],
  segments: readonly Segment[],
  classes: number,
  minClassRows = minSegmentClassRows,
): { compared: Segment[]; skipped: Array<{ name: string; classCounts: number[] }> } {
  const compared: Segment[] = [];
  const skipped: Array<{ name: string; classCounts: number[] }> = [];
  for (const segment of segments) {
    const counts = classCounts(
      rows.filter((row) => row.features[segment.column] === 1),
      classes,
    );
    if (counts.every((n) => n >= minClassRows)) compared.push(segment);
    else skipped.push({ name: segment.name, classCounts: counts });
  }
  return { compared, skipped };
}

/** What a model said about each holdout row. */
export interface HoldoutScores {
  labels: readonly string[];
  /** rows × classes, columns in `classLabels` order. */
  probabilities: ArrayLike<number>;
}

function finite(metrics: Record<string, number>): Record<string, number> {
  // A metric undefined on the rows (AUC of a segment with one class) is left out, as the monitor does,
  // so the gate never compares NaN.
  return Object.fromEntries(Object.entries(metrics).filter(([, v]) => Number.isFinite(v)));
}

/** The monitor's quality metrics on the holdout, overall and per segment, in the gate's form. */
export function holdoutMetrics(
  rows: readonly LabelledRow[],
  scores: HoldoutScores,
  task: { classLabels: readonly string[]; positiveClass?: string },
  segments: readonly Segment[],
): CandidateMetrics {
  if (scores.labels.length !== rows.length) {
    refuse(`${scores.labels.length} scores for ${rows.length} holdout rows`);
  }
  const classes = task.classLabels.length;
  const positive = task.positiveClass === undefined ? -1 : task.classLabels.indexOf(task.positiveClass);
  const pairs: LabelledPrediction[] = rows.map((row, i) => ({
    predicted: scores.labels[i] as string,
    actual: task.classLabels[row.label] as string,
    ...(positive >= 0 ? { score: scores.probabilities[i * classes + positive] as number } : {}),
  }));
  const qualityTask = { positiveClass: task.positiveClass, classes: task.classLabels };
  const overall = finite(qualityMetrics(pairs, qualityTask));
  const bySegment: Record<string, Record<string, number>> = {};
  for (const segment of segments) {
    const inside = pairs.filter((_, i) => rows[i]?.features[segment.column] === 1);
    if (inside.length > 0) bySegment[segment.name] = finite(qualityMetrics(inside, qualityTask));
  }
  return { overall, segments: bySegment };
}
