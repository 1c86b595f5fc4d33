// Scored records and dead letters as ClickHouse rows. Pure.
// ClickHouse 18.16 fills columns left out of a JSONEachRow insert with the type's zero, not with
// their DEFAULT expression, so every column is sent, times included.

import { StreamscoreError } from "../shared/errors.ts";
import type { KafkaMessage } from "../shared/kafka/client.ts";
import { headerText } from "../shared/kafka/dead-letter.ts";
import type { ScoredRecord } from "../shared/pipeline/records.ts";

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
    original_partition: Number(header("x-original-partition") || -1),
    original_offset: header("x-original-offset") || "-1",
    key: message.key?.toString("utf8") ?? "",
    value_base64: message.value?.toString("base64") ?? "",
  };
}

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
