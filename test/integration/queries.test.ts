// Every ready-made query in infra/clickhouse/queries runs on the real ClickHouse, against tables made
// by the production migrations and filled with a small data set whose answers are known by hand.
// The data set also holds what the queries must leave out or count once: another pipeline,
// rows outside the queries' time ranges, replayed predictions and labels, a redelivered dead
// letter and a drift window recomputed with a stale computation inserted last.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listQueries, renderQuery } from "../../services/monitor/queries.ts";
import { deadLetterRow, predictionRow, shadowPredictionRow } from "../../services/monitor/rows.ts";
import { type ClickHouse, createClickHouse } from "../../services/shared/clickhouse/client.ts";
import { migrate } from "../../services/shared/clickhouse/migrations.ts";
import { StreamscoreError } from "../../services/shared/errors.ts";
import type { KafkaMessage } from "../../services/shared/kafka/client.ts";
import { deadLetter } from "../../services/shared/kafka/dead-letter.ts";
import type { ScoredRecord } from "../../services/shared/pipeline/records.ts";
import { testConnectionConfig, uniqueName } from "../helpers/integration.ts";

const second = 1000;
const minute = 60 * second;
const hour = 60 * minute;
const day = 24 * hour;

const pipeline = "fake-payments";
const otherPipeline = "other-payments";

// Times are placed relative to the current hour so every row's hour bucket is known in advance:
// h1 and h2 are whole hours that ended more than an hour ago, inside every query's range.
const now = Date.now();
const thisHour = Math.floor(now / hour) * hour;
const h1 = thisHour - 3 * hour;
const h2 = thisHour - 2 * hour;

/** A ClickHouse DateTime('UTC') as JSON output shows it. */
function chTime(ms: number): string {
  return new Date(Math.floor(ms / second) * second).toISOString().slice(0, 19).replace("T", " ");
}
const seconds = (ms: number) => Math.floor(ms / second);
/** ClickHouse sends 64-bit integers as strings and nan as null. */
const num = (value: unknown) => (value === null ? Number.NaN : Number(value));
type Row = Record<string, unknown>;
/** ClickHouse sorts strings by bytes, not by locale. */
const byteOrder = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

// ---------------------------------------------------------------------------------------------
// Predictions and labels.

interface PredictionSpec {
  id: string;
  version: number;
  eventTime: number;
  predicted: "0" | "1";
  score: number;
  actual?: "0" | "1";
  labelDelayMs?: number;
  ingestToTransformMs?: number;
  ingestToScoreMs?: number;
  pipeline?: string;
  role?: "champion" | "canary";
}

const specs: PredictionSpec[] = [];
function add(spec: PredictionSpec) {
  specs.push(spec);
}

// h1, model 1: TP 3, FP 1, FN 2, TN 2 and 2 unlabelled; label delays (minutes) 1 2 3 4 4 6 8 8 —
// pairs of equal values where the quantiles fall, so any interpolation gives p50 = 4, p90 = p99 = 8.
const h1Outcomes: Array<["0" | "1", "0" | "1" | undefined]> = [
  ["1", "1"],
  ["1", "1"],
  ["1", "1"],
  ["1", "0"],
  ["0", "1"],
  ["0", "1"],
  ["0", "0"],
  ["0", "0"],
  ["0", undefined],
  ["0", undefined],
];
const h1Delays = [1, 2, 3, 4, 4, 6, 8, 8].map((m) => m * minute);
// h2, model 1: TP 1, FN 1, TN 1, 1 unlabelled. Model 2: TP 2, FP 2, FN 1, 1 unlabelled.
// Label delays over the hour's 8 labels (seconds): 10 20 30 40 40 60 80 80.
const h2Outcomes: Array<[number, "0" | "1", "0" | "1" | undefined]> = [
  [1, "1", "1"],
  [1, "0", "1"],
  [1, "0", "0"],
  [1, "0", undefined],
  [2, "1", "1"],
  [2, "1", "1"],
  [2, "1", "0"],
  [2, "1", "0"],
  [2, "0", "1"],
  [2, "0", undefined],
];
const h2Delays = [10, 20, 30, 40, 40, 60, 80, 80].map((s) => s * second);
// Scores by model and predicted label: model 1 gives 0.9 / 0.2, model 2 gives 0.7 / 0.1.
const scoreOf = (version: number, predicted: "0" | "1") =>
  version === 1 ? (predicted === "1" ? 0.9 : 0.2) : predicted === "1" ? 0.7 : 0.1;

{
  let delay = 0;
  h1Outcomes.forEach(([predicted, actual], i) => {
    add({
      id: `h1-${i}`,
      version: 1,
      eventTime: h1 + (5 + 4 * i) * minute,
      predicted,
      score: scoreOf(1, predicted),
      actual,
      labelDelayMs: actual === undefined ? undefined : h1Delays[delay++],
      // Slower than anything recent, but scored hours ago: outside slowest-events' last hour.
      ingestToScoreMs: i === 0 ? 60_000 : undefined,
    });
  });
  delay = 0;
  h2Outcomes.forEach(([version, predicted, actual], i) => {
    add({
      id: `h2-${i}`,
      version,
      eventTime: h2 + (5 + 4 * i) * minute,
      predicted,
      score: scoreOf(version, predicted),
      actual,
      labelDelayMs: actual === undefined ? undefined : h2Delays[delay++],
    });
  });
}

// Scored in the last hour by model 2, no labels yet: slowest-events' candidates. recent-2 is slowest.
const recentLatencies = [
  { ingestToScoreMs: 120, ingestToTransformMs: 30 },
  { ingestToScoreMs: 80, ingestToTransformMs: 20 },
  { ingestToScoreMs: 5000, ingestToTransformMs: 4200 },
  { ingestToScoreMs: 300, ingestToTransformMs: 100 },
  { ingestToScoreMs: 950, ingestToTransformMs: 900 },
];
recentLatencies.forEach((latency, i) => {
  add({
    id: `recent-${i}`,
    version: 2,
    eventTime: now - (30 - 5 * i) * minute,
    predicted: "0",
    score: 0.1,
    ...latency,
  });
});

// Model 3, ten days ago (outside every time range, so only score-distribution sees it): 101 scores
// 0.00, 0.01, ..., 1.00, so p10/p50/p90/p99 fall exactly on the scores 0.1, 0.5, 0.9, 0.99.
for (let i = 0; i <= 100; i += 1) {
  add({
    id: `v3-${i}`,
    version: 3,
    eventTime: now - 10 * day + i * second,
    predicted: i >= 50 ? "1" : "0",
    score: i / 100,
  });
}

// Another pipeline: labelled, recent and very slow. No query for fake-payments may see it.
add({
  id: "h1-8",
  pipeline: otherPipeline,
  version: 1,
  eventTime: h1 + 5 * minute,
  predicted: "1",
  score: 0.99,
  actual: "1",
  labelDelayMs: minute,
});
add({
  id: "other-recent",
  pipeline: otherPipeline,
  version: 2,
  eventTime: now - 10 * minute,
  predicted: "1",
  score: 0.99,
  ingestToScoreMs: 99_999,
});

const featureNames = ["amount", "hour_of_day"];

function predictionOf(spec: PredictionSpec) {
  const ingest = spec.eventTime + 200;
  const transform = ingest + (spec.ingestToTransformMs ?? 10);
  const record: ScoredRecord = {
    event_id: spec.id,
    pipeline: spec.pipeline ?? pipeline,
    entity: `card-${spec.id}`,
    event_time: spec.eventTime,
    ingest_time: ingest,
    transform_time: transform,
    score_time: ingest + (spec.ingestToScoreMs ?? 40),
    model_name: "payments-fraud",
    model_version: spec.version,
    label: spec.predicted,
    score: spec.score,
    class_labels: ["0", "1"],
    probabilities: [1 - spec.score, spec.score],
    features: [42.5, 13],
    model_role: spec.role,
  };
  const offset = spec.pipeline === lifecyclePipeline ? 1000 + lifecycleSpecs.indexOf(spec) : specs.indexOf(spec);
  return predictionRow(record, featureNames, 0, String(offset), record.score_time + 5);
}

function labelOf(spec: PredictionSpec) {
  const labelTime = spec.eventTime + (spec.labelDelayMs ?? 0);
  return {
    pipeline: spec.pipeline ?? pipeline,
    event_id: spec.id,
    label: spec.actual,
    label_time: seconds(labelTime),
    label_time_ms: labelTime,
    source_partition: 0,
    source_offset: spec.pipeline === lifecyclePipeline ? 1000 + lifecycleSpecs.indexOf(spec) : specs.indexOf(spec),
  };
}

const labelled = specs.filter((s) => s.actual !== undefined);

// ---------------------------------------------------------------------------------------------
// Dead letters, built the way the services build them.

interface DeadLetterSpec {
  pipeline: string;
  offset: number;
  stage: string;
  code: "CLEANING_REJECTED" | "MODEL_INPUT_INVALID" | "AVRO_DECODE_FAILED";
  message: string;
  received: number;
}

const deadLetterSpecs: DeadLetterSpec[] = [
  {
    pipeline,
    offset: 0,
    stage: "clean",
    code: "CLEANING_REJECTED",
    message: "amount is negative",
    received: now - 3 * hour,
  },
  {
    pipeline,
    offset: 1,
    stage: "clean",
    code: "CLEANING_REJECTED",
    message: "amount is not a number",
    received: now - 2 * hour,
  },
  {
    pipeline,
    offset: 2,
    stage: "clean",
    code: "CLEANING_REJECTED",
    message: "currency XYZ is unknown",
    received: now - hour,
  },
  {
    pipeline,
    offset: 3,
    stage: "score",
    code: "MODEL_INPUT_INVALID",
    message: "3 features, the model takes 4",
    received: now - 30 * minute,
  },
  // Received 30 hours ago: outside the last 24 hours.
  {
    pipeline,
    offset: 4,
    stage: "decode",
    code: "AVRO_DECODE_FAILED",
    message: "magic byte 7",
    received: now - 30 * hour,
  },
  {
    pipeline: otherPipeline,
    offset: 0,
    stage: "clean",
    code: "CLEANING_REJECTED",
    message: "amount is negative",
    received: now - 2 * hour,
  },
  {
    pipeline: otherPipeline,
    offset: 1,
    stage: "clean",
    code: "CLEANING_REJECTED",
    message: "card id is empty",
    received: now - 90 * minute,
  },
];

function deadLetterOf(spec: DeadLetterSpec) {
  const original: KafkaMessage = {
    key: Buffer.from("card-1"),
    value: Buffer.from([0, 0, 0, 0, 1, 2]),
    timestamp: String(spec.received),
    attributes: 0,
    offset: String(spec.offset + 100),
    headers: {},
  };
  const message = deadLetter(
    original,
    { topic: `${spec.pipeline}.raw`, partition: 1, offset: original.offset },
    spec.stage,
    new StreamscoreError(spec.code, spec.message),
  );
  return deadLetterRow(
    spec.pipeline,
    { ...original, ...message, offset: String(spec.offset) } as KafkaMessage,
    0,
    spec.received,
  );
}

// ---------------------------------------------------------------------------------------------
// Drift metrics: 5-minute windows; the last four ended in the last hour.

const windowMs = 5 * minute;
const lastWindowEnd = Math.floor(now / windowMs) * windowMs;
const recentEnds = [0, 1, 2, 3].map((k) => lastWindowEnd - k * windowMs);

interface DriftSpec {
  feature: string;
  statistic: "psi" | "ksPValue";
  windowEnd: number;
  value: number;
  computedAt?: number;
  pipeline?: string;
}

const isDrifted = (s: DriftSpec) => (s.statistic === "psi" ? s.value >= 0.1 : s.value <= 0.05);

const recentDrift: Record<string, { psi: number[]; ksPValue: number[] }> = {
  // Windows drifted: 1 0 1 1 → share 0.75, max PSI 0.3.
  amount: { psi: [0.3, 0.05, 0.28, 0.12], ksPValue: [0.01, 0.2, 0.3, 0.4] },
  // Same share as amount, lower max PSI: ranks second.
  card_age: { psi: [0.2, 0.01, 0.15, 0.11], ksPValue: [0.5, 0.5, 0.5, 0.5] },
  prediction: { psi: [0.15, 0.11, 0, 0], ksPValue: [0.3, 0.3, 0.3, 0.3] },
  hour_of_day: { psi: [0.02, 0.03, 0.01, 0.04], ksPValue: [0.5, 0.6, 0.04, 0.7] },
  merchant_category: { psi: [0.01, 0.02, 0.05, 0.03], ksPValue: [0.9, 0.9, 0.9, 0.9] },
};

const driftSpecs: DriftSpec[] = [];
for (const [feature, values] of Object.entries(recentDrift)) {
  for (const statistic of ["psi", "ksPValue"] as const) {
    values[statistic].forEach((value, k) => {
      driftSpecs.push({ feature, statistic, windowEnd: recentEnds[k] as number, value });
    });
  }
}
// Older windows of the last 24 hours: in drift-over-time, not in the last hour. merchant_category
// drifted hard then; counted in the last hour it would top the ranking.
for (const ago of [3, 6]) {
  driftSpecs.push({
    feature: "merchant_category",
    statistic: "psi",
    windowEnd: lastWindowEnd - ago * hour,
    value: 0.9,
  });
  driftSpecs.push({ feature: "amount", statistic: "psi", windowEnd: lastWindowEnd - ago * hour, value: 0.02 });
}
// Outside the last 24 hours, and another pipeline: in no result.
driftSpecs.push({ feature: "amount", statistic: "psi", windowEnd: lastWindowEnd - 30 * hour, value: 0.7 });
driftSpecs.push({
  feature: "amount",
  statistic: "psi",
  windowEnd: lastWindowEnd,
  value: 0.99,
  pipeline: otherPipeline,
});
// amount's second window, first computed as drifted; inserted after the newer computation, so
// only "newest computed_at wins" (not "last inserted wins") gives the expected answers.
const staleDrift: DriftSpec[] = [
  {
    feature: "amount",
    statistic: "psi",
    windowEnd: recentEnds[1] as number,
    value: 0.5,
    computedAt: (recentEnds[1] as number) + 10 * second,
  },
  {
    feature: "amount",
    statistic: "ksPValue",
    windowEnd: recentEnds[1] as number,
    value: 0.01,
    computedAt: (recentEnds[1] as number) + 10 * second,
  },
];

function driftRow(spec: DriftSpec) {
  return {
    pipeline: spec.pipeline ?? pipeline,
    model_name: "payments-fraud",
    model_version: 1,
    window_start: seconds(spec.windowEnd - windowMs),
    window_end: seconds(spec.windowEnd),
    feature: spec.feature,
    feature_type: spec.feature === "merchant_category" ? "categorical" : "numerical",
    statistic: spec.statistic,
    value: spec.value,
    threshold: spec.statistic === "psi" ? 0.1 : 0.05,
    drifted: isDrifted(spec) ? 1 : 0,
    sample_size: 250,
    reference_size: 10_000,
    computed_at: seconds(spec.computedAt ?? spec.windowEnd + 30 * second),
  };
}

// ---------------------------------------------------------------------------------------------
// Model quality per hour window. h1's precision and recall were each computed twice (4 labels,
// then 8); one newest computation is inserted first and the other last, so neither "first row"
// nor "last row" picks both right: only the newest computed_at does.

interface QualitySpec {
  metric: string;
  windowStart: number;
  value: number;
  labelled: number;
  predictions: number;
  computedAt: number;
  pipeline?: string;
  /** Inserted in a later insert (a part of its own). */
  late?: boolean;
  /** An estimate made before the labels (default: realized). */
  kind?: "estimated";
}

const qualitySpecs: QualitySpec[] = [
  { metric: "precision", windowStart: h1, value: 0.75, labelled: 8, predictions: 10, computedAt: h1 + 3 * hour },
  {
    metric: "precision",
    windowStart: h1,
    value: 0.5,
    labelled: 4,
    predictions: 10,
    computedAt: h1 + 2 * hour,
    late: true,
  },
  { metric: "recall", windowStart: h1, value: 0.3, labelled: 4, predictions: 10, computedAt: h1 + 2 * hour },
  {
    metric: "recall",
    windowStart: h1,
    value: 0.6,
    labelled: 8,
    predictions: 10,
    computedAt: h1 + 3 * hour,
    late: true,
  },
  { metric: "precision", windowStart: h2, value: 1, labelled: 3, predictions: 4, computedAt: h2 + 2 * hour },
  { metric: "recall", windowStart: h2, value: 0.5, labelled: 3, predictions: 4, computedAt: h2 + 2 * hour },
  // An estimate from scores: in no result, the queries read realized quality.
  {
    metric: "estimated_precision",
    windowStart: h2,
    value: 0.9,
    labelled: 0,
    predictions: 4,
    computedAt: h2 + hour,
    kind: "estimated",
  },
  // Eight days old, and another pipeline: in no result.
  { metric: "precision", windowStart: h1 - 8 * day, value: 0.1, labelled: 9, predictions: 9, computedAt: h1 - 7 * day },
  {
    metric: "precision",
    windowStart: h1,
    value: 0.01,
    labelled: 1,
    predictions: 1,
    computedAt: h1 + 4 * hour,
    pipeline: otherPipeline,
  },
];

function qualityRow(spec: QualitySpec) {
  return {
    pipeline: spec.pipeline ?? pipeline,
    model_name: "payments-fraud",
    model_version: 1,
    window_start: seconds(spec.windowStart),
    window_end: seconds(spec.windowStart + hour),
    metric: spec.metric,
    value: spec.value,
    labelled: spec.labelled,
    predictions: spec.predictions,
    computed_at: seconds(spec.computedAt),
    kind: spec.kind ?? "realized",
  };
}

// ---------------------------------------------------------------------------------------------
// Model lifecycle: a pipeline of its own whose champion (v1) and canary (v2) decide, while shadow
// v3 (and v4 on one event) score beside them. Two five-minute windows an hour ago: W1 holds ten
// labelled decisions, W2 two unlabelled ones.

const lifecyclePipeline = "lifecycle-payments";
const w1 = Math.floor((now - hour) / windowMs) * windowMs;
const w2 = w1 + windowMs;
// Champion v1 in W1: 6 labelled, 4 right (c3 and c5 wrong); canary v2: 4 labelled, all right.
const lifecycleSpecs: PredictionSpec[] = [
  ...(
    [
      ["1", "1"],
      ["0", "0"],
      ["0", "0"],
      ["1", "0"],
      ["0", "0"],
      ["0", "1"],
    ] as const
  ).map(([predicted, actual], i) => ({
    id: `c${i}`,
    pipeline: lifecyclePipeline,
    version: 1,
    role: "champion" as const,
    eventTime: w1 + (i + 1) * 10 * second,
    predicted,
    score: scoreOf(1, predicted),
    actual,
    labelDelayMs: minute,
    // c0 is the slow one: 100 ms from ingest to score, every other decision 40 ms.
    ingestToScoreMs: i === 0 ? 100 : undefined,
  })),
  ...(["1", "0", "0", "0"] as const).map((predicted, i) => ({
    id: `k${i}`,
    pipeline: lifecyclePipeline,
    version: 2,
    role: "canary" as const,
    eventTime: w1 + (i + 7) * 10 * second,
    predicted,
    score: scoreOf(2, predicted),
    actual: predicted,
    labelDelayMs: minute,
  })),
  ...(["0", "1"] as const).map((predicted, i) => ({
    id: `c${i + 6}`,
    pipeline: lifecyclePipeline,
    version: 1,
    role: "champion" as const,
    eventTime: w2 + (i + 1) * 10 * second,
    predicted,
    score: scoreOf(1, predicted),
  })),
];
// Shadow v3 on all twelve (disagreeing on c3, c5 and c7), v4 on c6 only; "x9" has a shadow score
// but no decision, so no comparison may count it.
const shadowScores: Array<[string, number, "0" | "1", number]> = [
  ["c0", 3, "1", 0.8],
  ["c1", 3, "0", 0.3],
  ["c2", 3, "0", 0.1],
  ["c3", 3, "0", 0.4],
  ["c4", 3, "0", 0.2],
  ["c5", 3, "1", 0.6],
  ["k0", 3, "1", 0.9],
  ["k1", 3, "0", 0.2],
  ["k2", 3, "0", 0.1],
  ["k3", 3, "0", 0.3],
  ["c6", 3, "0", 0.1],
  ["c7", 3, "0", 0.4],
  ["c6", 4, "1", 0.6],
  ["x9", 3, "1", 0.5],
];

function shadowRowOf([id, version, predicted, score]: (typeof shadowScores)[number]) {
  const decided = lifecycleSpecs.find((s) => s.id === id);
  const eventTime = decided?.eventTime ?? w1;
  return shadowPredictionRow(
    {
      event_id: id,
      pipeline: lifecyclePipeline,
      entity: `card-${id}`,
      event_time: eventTime,
      ingest_time: eventTime + 200,
      transform_time: eventTime + 210,
      score_time: eventTime + 240,
      model_name: "payments-fraud",
      model_version: version,
      label: predicted,
      score,
      class_labels: ["0", "1"],
      probabilities: [1 - score, score],
      features: [42.5, 13],
      model_role: "shadow",
    },
    0,
    String(shadowScores.findIndex((s) => s[0] === id && s[1] === version)),
    eventTime + 300,
  );
}

// Quality per version in W1 as the monitor computes it: accuracy and brier of v1 and v2; v2's
// accuracy was first computed on 2 labels (0.5) and later on 4 (1.0): the later one counts.
const lifecycleQuality: Array<{
  version: number;
  metric: string;
  value: number;
  labelled: number;
  computedAt: number;
  kind?: "estimated";
}> = [
  { version: 1, metric: "accuracy", value: 4 / 6, labelled: 6, computedAt: now - 20 * minute },
  // Estimates from scores are not compared: the delta query reads realized quality.
  {
    version: 2,
    metric: "estimated_accuracy",
    value: 0.7,
    labelled: 0,
    computedAt: now - 40 * minute,
    kind: "estimated",
  },
  {
    version: 1,
    metric: "estimated_accuracy",
    value: 0.8,
    labelled: 0,
    computedAt: now - 40 * minute,
    kind: "estimated",
  },
  { version: 2, metric: "accuracy", value: 0.5, labelled: 2, computedAt: now - 30 * minute },
  { version: 2, metric: "accuracy", value: 1, labelled: 4, computedAt: now - 20 * minute },
  { version: 1, metric: "brier", value: 0.2, labelled: 6, computedAt: now - 20 * minute },
  { version: 2, metric: "brier", value: 0.1, labelled: 4, computedAt: now - 20 * minute },
];

function lifecycleQualityRow(q: (typeof lifecycleQuality)[number]) {
  return {
    pipeline: lifecyclePipeline,
    model_name: "payments-fraud",
    model_version: q.version,
    window_start: seconds(w1),
    window_end: seconds(w1 + windowMs),
    metric: q.metric,
    value: q.value,
    labelled: q.labelled,
    predictions: q.version === 1 ? 6 : 4,
    computed_at: seconds(q.computedAt),
    kind: q.kind ?? "realized",
  };
}

/** Checks of the lifecycle queries, run against the lifecycle pipeline. */
const lifecycleChecks: Record<string, (rows: Row[]) => void> = {
  "champion-vs-shadow": (rows) => {
    const close = (value: number) => expect.closeTo(value, 9);
    expect(
      rows.map((r) => ({
        window_start: r.window_start,
        shadow_version: num(r.shadow_version),
        events: num(r.events),
        agreement_rate: num(r.agreement_rate),
        score_correlation: num(r.score_correlation),
        mean_score_difference: num(r.mean_score_difference),
      })),
    ).toEqual([
      // Pearson's r and the mean difference computed apart (Python's statistics module) from the
      // scores above; 8 of 10 labels agree.
      {
        window_start: chTime(w1),
        shadow_version: 3,
        events: 10,
        agreement_rate: 0.8,
        score_correlation: close(0.7083403856986458),
        mean_score_difference: close(0.03),
      },
      // Two points are always perfectly correlated; one point has no correlation (nan).
      {
        window_start: chTime(w2),
        shadow_version: 3,
        events: 2,
        agreement_rate: 0.5,
        score_correlation: close(1),
        mean_score_difference: close(-0.3),
      },
      {
        window_start: chTime(w2),
        shadow_version: 4,
        events: 1,
        // c6 was decided "0"; v4 says "1".
        agreement_rate: 0,
        score_correlation: Number.NaN,
        mean_score_difference: close(0.4),
      },
    ]);
  },

  "canary-vs-champion-quality": (rows) => {
    const close = (value: number) => expect.closeTo(value, 12);
    expect(
      rows.map((r) => ({
        model_version: num(r.model_version),
        model_role: r.model_role,
        labelled: num(r.labelled),
        correct: num(r.correct),
        accuracy: num(r.accuracy),
        reference_version: num(r.reference_version),
        z: num(r.z),
        p_value: num(r.p_value),
      })),
    ).toEqual([
      {
        model_version: 1,
        model_role: "champion",
        labelled: 6,
        correct: 4,
        accuracy: close(4 / 6),
        reference_version: 1,
        z: 0,
        p_value: 1,
      },
      // z = (1 − 4/6) / sqrt(0.8 · 0.2 · (1/4 + 1/6)); p = erfc(|z| / √2), both from Python's math module.
      {
        model_version: 2,
        model_role: "canary",
        labelled: 4,
        correct: 4,
        accuracy: 1,
        reference_version: 1,
        z: close(1.2909944487358056),
        p_value: close(0.19670560245894692),
      },
    ]);
  },

  "quality-delta-by-window": (rows) => {
    const close = (value: number) => expect.closeTo(value, 12);
    expect(
      rows.map((r) => ({
        window_start: r.window_start,
        metric: r.metric,
        model_version: num(r.model_version),
        value: num(r.value),
        labelled: num(r.labelled),
        reference_version: num(r.reference_version),
        reference_value: num(r.reference_value),
        delta: num(r.delta),
      })),
    ).toEqual([
      {
        window_start: chTime(w1),
        metric: "accuracy",
        model_version: 2,
        value: 1,
        labelled: 4,
        reference_version: 1,
        reference_value: close(4 / 6),
        delta: close(1 - 4 / 6),
      },
      {
        window_start: chTime(w1),
        metric: "brier",
        model_version: 2,
        value: 0.1,
        labelled: 4,
        reference_version: 1,
        reference_value: 0.2,
        delta: close(-0.1),
      },
    ]);
  },

  "latency-by-model-version": (rows) => {
    expect(
      rows.map((r) => ({
        model_version: num(r.model_version),
        model_role: r.model_role,
        events: num(r.events),
        p50_ms: num(r.p50_ms),
        max_ms: num(r.max_ms),
      })),
    ).toEqual([
      { model_version: 1, model_role: "champion", events: 8, p50_ms: 40, max_ms: 100 },
      { model_version: 2, model_role: "canary", events: 4, p50_ms: 40, max_ms: 40 },
    ]);
    // v1: seven decisions at 40 ms and one at 100 ms: p99 lies between them, however interpolated.
    const p99 = num(rows[0]?.p99_ms);
    expect(p99).toBeGreaterThanOrEqual(40);
    expect(p99).toBeLessThanOrEqual(100);
    expect(num(rows[1]?.p99_ms)).toBe(40);
  },
};

// ---------------------------------------------------------------------------------------------
// What each query must answer.

/** The hours the recent (unlabelled, model 2) events fall in: the last 30 minutes may span two. */
const recentHours = [
  ...new Set(specs.filter((s) => s.id.startsWith("recent-")).map((s) => Math.floor(s.eventTime / hour) * hour)),
];
const recentPerHour = (h: number) =>
  specs.filter((s) => s.id.startsWith("recent-") && Math.floor(s.eventTime / hour) * hour === h).length;

const checks: Record<string, (rows: Row[]) => void> = {
  "drift-over-time": (rows) => {
    // Newest computation per window, fake-payments only, windows that ended in the last 24 hours.
    const expected = driftSpecs
      .filter((s) => (s.pipeline ?? pipeline) === pipeline && s.windowEnd > now - day)
      .map((s) => ({
        feature: s.feature,
        statistic: s.statistic,
        window_end: chTime(s.windowEnd),
        value: s.value,
        drifted: isDrifted(s) ? 1 : 0,
      }))
      .sort(
        (a, b) =>
          byteOrder(a.feature, b.feature) ||
          byteOrder(a.statistic, b.statistic) ||
          byteOrder(a.window_end, b.window_end),
      );
    expect(
      rows.map((r) => ({
        feature: r.feature,
        statistic: r.statistic,
        window_end: r.window_end,
        value: num(r.value),
        drifted: num(r.drifted),
      })),
    ).toEqual(expected);
    // 5 features × 2 statistics × 4 recent windows, plus 2 older windows for 2 features.
    expect(rows).toHaveLength(44);
    const recomputed = rows.filter((r) => r.feature === "amount" && r.window_end === chTime(recentEnds[1] as number));
    expect(recomputed.map((r) => [r.statistic, num(r.value), num(r.drifted)])).toEqual([
      ["ksPValue", 0.2, 0],
      ["psi", 0.05, 0],
    ]);
  },

  "top-drifted-features-last-hour": (rows) => {
    expect(
      rows.map((r) => ({
        feature: r.feature,
        windows: num(r.windows),
        drifted_windows: num(r.drifted_windows),
        drifted_share: num(r.drifted_share),
        max_psi: num(r.max_psi),
        drifted_statistics: r.drifted_statistics,
      })),
    ).toEqual([
      {
        feature: "amount",
        windows: 4,
        drifted_windows: 3,
        drifted_share: 0.75,
        max_psi: 0.3,
        drifted_statistics: ["ksPValue", "psi"],
      },
      {
        feature: "card_age",
        windows: 4,
        drifted_windows: 3,
        drifted_share: 0.75,
        max_psi: 0.2,
        drifted_statistics: ["psi"],
      },
      {
        feature: "prediction",
        windows: 4,
        drifted_windows: 2,
        drifted_share: 0.5,
        max_psi: 0.15,
        drifted_statistics: ["psi"],
      },
      {
        feature: "hour_of_day",
        windows: 4,
        drifted_windows: 1,
        drifted_share: 0.25,
        max_psi: 0.04,
        drifted_statistics: ["ksPValue"],
      },
      {
        feature: "merchant_category",
        windows: 4,
        drifted_windows: 0,
        drifted_share: 0,
        max_psi: 0.05,
        drifted_statistics: [],
      },
    ]);
  },

  "score-distribution-by-model-version": (rows) => {
    const close = (value: number) => expect.closeTo(value, 9);
    expect(
      rows.map((r) => ({
        model_version: num(r.model_version),
        predictions: num(r.predictions),
        mean_score: num(r.mean_score),
        quantiles: [r.p10, r.p50, r.p90, r.p99].map(num),
        label_shares: r.label_shares,
      })),
    ).toEqual([
      // 9 × 0.2 and 5 × 0.9 (h1: 6 and 4, h2: 3 and 1); the replayed h1-0 counts once.
      {
        model_version: 1,
        predictions: 14,
        mean_score: close((9 * 0.2 + 5 * 0.9) / 14),
        quantiles: [0.2, 0.2, 0.9, 0.9].map(close),
        label_shares: [
          ["0", close(9 / 14)],
          ["1", close(5 / 14)],
        ],
      },
      // 7 × 0.1 (2 in h2, 5 recent) and 4 × 0.7.
      {
        model_version: 2,
        predictions: 11,
        mean_score: close((7 * 0.1 + 4 * 0.7) / 11),
        quantiles: [0.1, 0.1, 0.7, 0.7].map(close),
        label_shares: [
          ["0", close(7 / 11)],
          ["1", close(4 / 11)],
        ],
      },
      {
        model_version: 3,
        predictions: 101,
        mean_score: close(0.5),
        quantiles: [0.1, 0.5, 0.9, 0.99].map(close),
        label_shares: [
          ["0", close(50 / 101)],
          ["1", close(51 / 101)],
        ],
      },
    ]);
  },

  "precision-recall-by-hour": (rows) => {
    const pick = (r: Row) => ({
      hour: r.hour,
      model_version: num(r.model_version),
      predictions: num(r.predictions),
      labelled: num(r.labelled),
      labelled_share: num(r.labelled_share),
      tp: num(r.tp),
      fp: num(r.fp),
      fn: num(r.fn),
      tn: num(r.tn),
      precision: num(r.precision),
      recall: num(r.recall),
      f1: num(r.f1),
    });
    const close = (value: number) => expect.closeTo(value, 12);
    expect(rows.map(pick)).toEqual([
      {
        hour: chTime(h1),
        model_version: 1,
        predictions: 10,
        labelled: 8,
        labelled_share: 0.8,
        tp: 3,
        fp: 1,
        fn: 2,
        tn: 2,
        precision: 0.75,
        recall: 0.6,
        f1: close(2 / 3),
      },
      {
        hour: chTime(h2),
        model_version: 1,
        predictions: 4,
        labelled: 3,
        labelled_share: 0.75,
        tp: 1,
        fp: 0,
        fn: 1,
        tn: 1,
        precision: 1,
        recall: 0.5,
        f1: close(2 / 3),
      },
      {
        hour: chTime(h2),
        model_version: 2,
        predictions: 6,
        labelled: 5,
        labelled_share: close(5 / 6),
        tp: 2,
        fp: 2,
        fn: 1,
        tn: 0,
        precision: 0.5,
        recall: close(2 / 3),
        f1: close(4 / 7),
      },
      // The recent events have no label yet: nothing to divide by.
      ...recentHours.map((h) => ({
        hour: chTime(h),
        model_version: 2,
        predictions: recentPerHour(h),
        labelled: 0,
        labelled_share: 0,
        tp: 0,
        fp: 0,
        fn: 0,
        tn: 0,
        precision: Number.NaN,
        recall: Number.NaN,
        f1: Number.NaN,
      })),
    ]);
  },

  "slowest-events": (rows) => {
    // Only the five fake-payments events scored in the last hour, slowest first, the replayed
    // recent-2 once; h1-0 (60 s) and the other pipeline's 99.999 s event are left out.
    const expected = specs
      .filter((s) => s.id.startsWith("recent-"))
      .sort((a, b) => (b.ingestToScoreMs ?? 0) - (a.ingestToScoreMs ?? 0))
      .map((s) => ({
        event_id: s.id,
        ingest_to_score_ms: s.ingestToScoreMs,
        ingest_to_transform_ms: s.ingestToTransformMs,
        transform_to_score_ms: (s.ingestToScoreMs ?? 0) - (s.ingestToTransformMs ?? 0),
        event_time: chTime(s.eventTime),
        ingest_time: chTime(s.eventTime + 200),
        score_time: chTime(s.eventTime + 200 + (s.ingestToScoreMs ?? 0)),
        score_time_ms: s.eventTime + 200 + (s.ingestToScoreMs ?? 0),
      }));
    expect(expected[0]?.event_id).toBe("recent-2");
    expect(
      rows.map((r) => ({
        event_id: r.event_id,
        ingest_to_score_ms: num(r.ingest_to_score_ms),
        ingest_to_transform_ms: num(r.ingest_to_transform_ms),
        transform_to_score_ms: num(r.transform_to_score_ms),
        event_time: r.event_time,
        ingest_time: r.ingest_time,
        score_time: r.score_time,
        score_time_ms: num(r.score_time_ms),
      })),
    ).toEqual(expected);
  },

  "dlq-reasons": (rows) => {
    expect(
      rows.map((r) => ({
        pipeline: r.pipeline,
        error_stage: r.error_stage,
        error_code: r.error_code,
        dead_letters: num(r.dead_letters),
        first_seen: r.first_seen,
        last_seen: r.last_seen,
        latest_message: r.latest_message,
      })),
    ).toEqual([
      // Offset 1 was stored twice; the 30-hour-old decode failure is out of range.
      {
        pipeline,
        error_stage: "clean",
        error_code: "CLEANING_REJECTED",
        dead_letters: 3,
        first_seen: chTime(now - 3 * hour),
        last_seen: chTime(now - hour),
        latest_message: "currency XYZ is unknown",
      },
      {
        pipeline: otherPipeline,
        error_stage: "clean",
        error_code: "CLEANING_REJECTED",
        dead_letters: 2,
        first_seen: chTime(now - 2 * hour),
        last_seen: chTime(now - 90 * minute),
        latest_message: "card id is empty",
      },
      {
        pipeline,
        error_stage: "score",
        error_code: "MODEL_INPUT_INVALID",
        dead_letters: 1,
        first_seen: chTime(now - 30 * minute),
        last_seen: chTime(now - 30 * minute),
        latest_message: "3 features, the model takes 4",
      },
    ]);
  },

  "label-delay": (rows) => {
    const close = (value: number) => expect.closeTo(value, 12);
    const pick = (r: Row) => ({
      hour: r.hour,
      predictions: num(r.predictions),
      labelled: num(r.labelled),
      unlabelled_share: num(r.unlabelled_share),
      delays: [r.delay_p50_ms, r.delay_p90_ms, r.delay_p99_ms, r.delay_max_ms].map(num),
    });
    const [h1Row, h2Row, ...recent] = rows;
    expect(h1Row && pick(h1Row)).toEqual({
      hour: chTime(h1),
      predictions: 10,
      labelled: 8,
      unlabelled_share: close(0.2),
      delays: [4 * minute, 8 * minute, 8 * minute, 8 * minute].map(close),
    });
    expect(h2Row && pick(h2Row)).toEqual({
      hour: chTime(h2),
      predictions: 10,
      labelled: 8,
      unlabelled_share: close(0.2),
      delays: [40 * second, 80 * second, 80 * second, 80 * second].map(close),
    });
    // The recent hours: nothing labelled yet; the ten-day-old model 3 events are out of range.
    expect(recent.map((r) => [r.hour, num(r.predictions), num(r.labelled), num(r.unlabelled_share)])).toEqual(
      recentHours.map((h) => [chTime(h), recentPerHour(h), 0, 1]),
    );
  },

  "model-quality-over-time": (rows) => {
    expect(
      rows.map((r) => ({
        metric: r.metric,
        model_version: num(r.model_version),
        window_start: r.window_start,
        value: num(r.latest_value),
        labelled: num(r.latest_labelled),
        predictions: num(r.latest_predictions),
        computed_at: r.latest_computed_at,
      })),
    ).toEqual([
      // h1's values from their second computation (8 labels), not the first (4).
      {
        metric: "precision",
        model_version: 1,
        window_start: chTime(h1),
        value: 0.75,
        labelled: 8,
        predictions: 10,
        computed_at: chTime(h1 + 3 * hour),
      },
      {
        metric: "precision",
        model_version: 1,
        window_start: chTime(h2),
        value: 1,
        labelled: 3,
        predictions: 4,
        computed_at: chTime(h2 + 2 * hour),
      },
      {
        metric: "recall",
        model_version: 1,
        window_start: chTime(h1),
        value: 0.6,
        labelled: 8,
        predictions: 10,
        computed_at: chTime(h1 + 3 * hour),
      },
      {
        metric: "recall",
        model_version: 1,
        window_start: chTime(h2),
        value: 0.5,
        labelled: 3,
        predictions: 4,
        computed_at: chTime(h2 + 2 * hour),
      },
    ]);
  },
};

describe("ClickHouse analysis queries", () => {
  const database = uniqueName("queries");
  let clickhouse: ClickHouse;

  beforeAll(async () => {
    clickhouse = createClickHouse(testConnectionConfig());
    await migrate(clickhouse, database);
    const table = (name: string) => `${database}.${name}`;
    // Without merges the replays below stay as extra rows until the database is dropped: a
    // background merge could otherwise remove them and let a query without FINAL pass.
    for (const name of [
      "predictions",
      "labels",
      "dead_letters",
      "drift_metrics",
      "model_quality",
      "shadow_predictions",
    ]) {
      await clickhouse.command(`SYSTEM STOP MERGES ${table(name)}`);
    }
    await clickhouse.insertRows(table("predictions"), specs.map(predictionOf));
    await clickhouse.insertRows(table("labels"), labelled.map(labelOf));
    await clickhouse.insertRows(table("dead_letters"), deadLetterSpecs.map(deadLetterOf));
    await clickhouse.insertRows(table("drift_metrics"), driftSpecs.map(driftRow));
    await clickhouse.insertRows(table("model_quality"), qualitySpecs.filter((q) => !q.late).map(qualityRow));
    // Second deliveries, as after a crash between insert and commit: separate inserts, so they
    // land in parts of their own and only FINAL or argMax counts them once.
    const replayed = specs.filter(
      (s) => ["h1-0", "recent-2", "v3-7", "h2-4"].includes(s.id) && s.pipeline === undefined,
    );
    await clickhouse.insertRows(table("predictions"), replayed.map(predictionOf));
    await clickhouse.insertRows(table("labels"), labelled.slice(0, 2).map(labelOf));
    await clickhouse.insertRows(
      table("dead_letters"),
      deadLetterSpecs.filter((d) => d.pipeline === pipeline && d.offset === 1).map(deadLetterOf),
    );
    await clickhouse.insertRows(table("drift_metrics"), staleDrift.map(driftRow));
    await clickhouse.insertRows(table("model_quality"), qualitySpecs.filter((q) => q.late).map(qualityRow));
    // The lifecycle pipeline's rows, with a replayed decision and shadow score that FINAL must fold.
    await clickhouse.insertRows(table("predictions"), lifecycleSpecs.map(predictionOf));
    await clickhouse.insertRows(table("labels"), lifecycleSpecs.filter((s) => s.actual !== undefined).map(labelOf));
    await clickhouse.insertRows(table("shadow_predictions"), shadowScores.map(shadowRowOf));
    await clickhouse.insertRows(table("model_quality"), lifecycleQuality.map(lifecycleQualityRow));
    await clickhouse.insertRows(table("predictions"), lifecycleSpecs.slice(0, 1).map(predictionOf));
    await clickhouse.insertRows(table("shadow_predictions"), shadowScores.slice(0, 1).map(shadowRowOf));
  });

  afterAll(async () => {
    await clickhouse?.command(`DROP DATABASE IF EXISTS ${database}`);
    await clickhouse?.close();
  });

  it("has a check for every query file", () => {
    expect([...Object.keys(checks), ...Object.keys(lifecycleChecks)].sort()).toEqual(listQueries());
  });

  it("keeps the replays as extra rows, so the checks below prove the queries count them once", async () => {
    const count = async (name: string) =>
      Number(
        (
          await clickhouse.query<{ n: string }>(
            `SELECT count() AS n FROM ${database}.${name} WHERE pipeline != '${lifecyclePipeline}'`,
          )
        )[0]?.n,
      );
    expect(await count("predictions")).toBe(specs.length + 4);
    expect(await count("labels")).toBe(labelled.length + 2);
    expect(await count("dead_letters")).toBe(deadLetterSpecs.length + 1);
    expect(await count("drift_metrics")).toBe(driftSpecs.length + staleDrift.length);
    const lifecycleRows = async (name: string) =>
      Number(
        (
          await clickhouse.query<{ n: string }>(
            `SELECT count() AS n FROM ${database}.${name} WHERE pipeline = '${lifecyclePipeline}'`,
          )
        )[0]?.n,
      );
    expect(await lifecycleRows("predictions")).toBe(lifecycleSpecs.length + 1);
    expect(await lifecycleRows("shadow_predictions")).toBe(shadowScores.length + 1);
  });

  it.each(listQueries())("%s", async (name) => {
    const lifecycle = lifecycleChecks[name];
    const check = lifecycle ?? checks[name];
    if (!check) throw new Error(`no check for query ${name}: add one to test/integration/queries.test.ts`);
    const rows = await clickhouse.query<Row>(
      renderQuery(name, { database, pipeline: lifecycle ? lifecyclePipeline : pipeline }),
    );
    check(rows);
  });
});
