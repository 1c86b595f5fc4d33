// Scored records, dead letters and labels as ClickHouse rows, and the columns their RowBinary
// inserts name (the same names and types as the migrations; an integration test compares them with
// the server's system.columns). Pure.
// ClickHouse 18.16 fills columns left out of an insert with the type's zero, not with their
// DEFAULT expression, so every column is sent, times included.

import { rowBinaryTable } from "../shared/clickhouse/row-binary.ts";
import { StreamscoreError } from "../shared/errors.ts";
import type { KafkaMessage } from "../shared/kafka/client.ts";
import { headerText } from "../shared/kafka/dead-letter.ts";
import type { ModelEvent } from "../shared/model/lifecycle.ts";
import type { ScoredRecord } from "../shared/pipeline/records.ts";

const utc = "DateTime('UTC')";

function isProbability(value: number): boolean {
  return Number.isFinite(value) && value >= 0 && value <= 1;
}

/**
 * A scored record the sink can store: score and probabilities in [0, 1], finite features. Anything
 * else was not written by the inference service (JSON would turn NaN into null, which ClickHouse
 * refuses, and the batch would never insert), so it is dead-lettered.
 */
function checkScored(record: ScoredRecord): void {
  let problem: string | undefined;
  if (!isProbability(record.score)) problem = `score ${record.score} is not a probability`;
  else if (!record.probabilities.every(isProbability)) problem = "a probability is outside [0, 1] or not a number";
  else if (!record.features.every(Number.isFinite)) problem = "a feature value is not a finite number";
  if (problem) throw new StreamscoreError("SCORED_RECORD_INVALID", `scored event ${record.event_id}: ${problem}`);
}

export function predictionRow(
  record: ScoredRecord,
  featureNames: readonly string[],
  partition: number,
  offset: string,
  nowMs: number,
) {
  checkScored(record);
  return {
    event_id: record.event_id,
    pipeline: record.pipeline,
    entity: record.entity,
    event_time: Math.floor(record.event_time / 1000),
    event_time_ms: record.event_time,
    ingest_time_ms: record.ingest_time,
    transform_time_ms: record.transform_time,
    score_time_ms: record.score_time,
    insert_time: Math.floor(nowMs / 1000),
    model_name: record.model_name,
    model_version: record.model_version,
    model_role: record.model_role ?? "champion",
    label: record.label,
    score: record.score,
    class_labels: record.class_labels,
    probabilities: record.probabilities,
    feature_names: featureNames,
    feature_values: record.features,
    source_partition: partition,
    source_offset: offset,
  };
}

export type PredictionRow = ReturnType<typeof predictionRow>;

/** Every column of streamscore.predictions but the MATERIALIZED one. */
export const predictionsTable = rowBinaryTable<PredictionRow>([
  { name: "event_id", type: "String" },
  { name: "pipeline", type: "String" },
  { name: "entity", type: "String" },
  { name: "event_time", type: utc },
  { name: "event_time_ms", type: "UInt64" },
  { name: "ingest_time_ms", type: "UInt64" },
  { name: "transform_time_ms", type: "UInt64" },
  { name: "score_time_ms", type: "UInt64" },
  { name: "insert_time", type: utc },
  { name: "model_name", type: "String" },
  { name: "model_version", type: "UInt32" },
  { name: "model_role", type: "String" },
  { name: "label", type: "String" },
  { name: "score", type: "Float64" },
  { name: "class_labels", type: "Array(String)" },
  { name: "probabilities", type: "Array(Float64)" },
  { name: "feature_names", type: "Array(String)" },
  { name: "feature_values", type: "Array(Float64)" },
  { name: "source_partition", type: "UInt16" },
  { name: "source_offset", type: "UInt64" },
]);

function integerOr(text: string, fallback: number): number {
  const value = Number(text);
  return text !== "" && Number.isInteger(value) && Math.abs(value) <= 0x7fffffff ? value : fallback;
}

export function deadLetterRow(pipeline: string, message: KafkaMessage, partition: number, nowMs: number) {
  const header = (name: string) => headerText(message.headers, name) ?? "";
  return {
    pipeline,
    dlq_partition: partition,
    dlq_offset: message.offset,
    received_time: Math.floor(nowMs / 1000),
    error_code: header("x-error-code"),
    error_message: header("x-error-message"),
    error_stage: header("x-error-stage"),
    original_topic: header("x-original-topic"),
    // Headers are text from any producer: what is not an integer is stored as -1.
    original_partition: integerOr(header("x-original-partition"), -1),
    original_offset: /^-?\d{1,18}$/.test(header("x-original-offset")) ? header("x-original-offset") : "-1",
    key: message.key?.toString("utf8") ?? "",
    value_base64: message.value?.toString("base64") ?? "",
  };
}

export const deadLettersTable = rowBinaryTable<ReturnType<typeof deadLetterRow>>([
  { name: "pipeline", type: "String" },
  { name: "dlq_partition", type: "UInt16" },
  { name: "dlq_offset", type: "UInt64" },
  { name: "received_time", type: utc },
  { name: "error_code", type: "String" },
  { name: "error_message", type: "String" },
  { name: "error_stage", type: "String" },
  { name: "original_topic", type: "String" },
  { name: "original_partition", type: "Int32" },
  { name: "original_offset", type: "Int64" },
  { name: "key", type: "String" },
  { name: "value_base64", type: "String" },
]);

export type DeadLetterRow = ReturnType<typeof deadLetterRow>;

export interface LabelRecord {
  event_id: string;
  label: string;
  label_time: number;
}

export function labelRow(pipeline: string, label: LabelRecord, partition: number, offset: string) {
  return {
    pipeline,
    event_id: label.event_id,
    label: label.label,
    label_time: Math.floor(label.label_time / 1000),
    label_time_ms: label.label_time,
    source_partition: partition,
    source_offset: offset,
  };
}

export const labelsTable = rowBinaryTable<ReturnType<typeof labelRow>>([
  { name: "pipeline", type: "String" },
  { name: "event_id", type: "String" },
  { name: "label", type: "String" },
  { name: "label_time", type: utc },
  { name: "label_time_ms", type: "UInt64" },
  { name: "source_partition", type: "UInt16" },
  { name: "source_offset", type: "UInt64" },
]);

/** streamscore.drift_metrics, whose rows the drift monitor builds. */
export const driftMetricsTable = rowBinaryTable<object>([
  { name: "pipeline", type: "String" },
  { name: "model_name", type: "String" },
  { name: "model_version", type: "UInt32" },
  { name: "window_start", type: utc },
  { name: "window_end", type: utc },
  { name: "feature", type: "String" },
  { name: "feature_type", type: "String" },
  { name: "statistic", type: "String" },
  { name: "value", type: "Float64" },
  { name: "threshold", type: "Float64" },
  { name: "drifted", type: "UInt8" },
  { name: "sample_size", type: "UInt64" },
  { name: "reference_size", type: "UInt64" },
  { name: "computed_at", type: utc },
  { name: "warm_up", type: "UInt8" },
]);

export type LabelRow = ReturnType<typeof labelRow>;

/** What a shadow's row leaves out: the features are on the decision's row already. */
const decisionOnly = ["transform_time_ms", "feature_names", "feature_values"] as const;

/** A shadow model's score as a `shadow_predictions` row: a prediction row without the features. */
export function shadowPredictionRow(record: ScoredRecord, partition: number, offset: string, nowMs: number) {
  const { transform_time_ms, feature_names, feature_values, ...row } = predictionRow(
    record,
    [],
    partition,
    offset,
    nowMs,
  );
  return { ...row, model_role: record.model_role ?? "shadow" };
}

export type ShadowPredictionRow = ReturnType<typeof shadowPredictionRow>;

export const shadowPredictionsTable = rowBinaryTable<ShadowPredictionRow>(
  predictionsTable.columns.filter((c) => !(decisionOnly as readonly string[]).includes(c.name)),
);

/** A model registry event as a `model_events` row (version 0 and empty states for "none"). */
export function modelEventRow(event: ModelEvent, partition: number, offset: string) {
  return {
    pipeline: event.pipeline,
    event_id: event.eventId,
    change_id: event.changeId,
    version: event.version ?? 0,
    kind: event.kind,
    from_state: event.fromState ?? "",
    to_state: event.toState ?? "",
    weight: event.weight ?? 0,
    actor: event.actor,
    reason: event.reason,
    event_time: Math.floor(event.at / 1000),
    event_time_ms: event.at,
    evidence: JSON.stringify(event.evidence),
    source_partition: partition,
    source_offset: offset,
  };
}

export type ModelEventRow = ReturnType<typeof modelEventRow>;

export const modelEventsTable = rowBinaryTable<ModelEventRow>([
  { name: "pipeline", type: "String" },
  { name: "event_id", type: "String" },
  { name: "change_id", type: "String" },
  { name: "version", type: "UInt32" },
  { name: "kind", type: "String" },
  { name: "from_state", type: "String" },
  { name: "to_state", type: "String" },
  { name: "weight", type: "Float64" },
  { name: "actor", type: "String" },
  { name: "reason", type: "String" },
  { name: "event_time", type: utc },
  { name: "event_time_ms", type: "UInt64" },
  { name: "evidence", type: "String" },
  { name: "source_partition", type: "UInt16" },
  { name: "source_offset", type: "UInt64" },
]);
