// The SQL behind every console page, one builder per question. Pure: names reach here validated
// (known pipelines, features of the pipeline, integer times), and literals are still quoted.
// Runs on ClickHouse 18.16 too: no query parameters, no toStartOfInterval, no window functions.

/** A ClickHouse string literal. */
export function quote(text: string): string {
  return `'${text.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

export interface Scope {
  database: string;
  pipeline: string;
}

const where = (s: Scope) => `pipeline = ${quote(s.pipeline)}`;

/** The newest closed window's end (epoch seconds; 0 when none). */
export function newestWindowEnd(s: Scope): string {
  return `SELECT toUInt32(max(window_end)) AS window_end FROM ${s.database}.drift_metrics WHERE ${where(s)}`;
}

/**
 * The deciding statistic (stored as `drift:<name>`) of every feature, model version and window
 * ending after `sinceSeconds`: the heatmap's cells.
 */
export function driftDecisions(s: Scope, sinceSeconds: number): string {
  // Aliases never reuse a column's name: ClickHouse would read the alias in WHERE.
  return `SELECT feature, model_version, toUInt32(window_start) AS start_s, toUInt32(window_end) AS end_s,
    substring(statistic, 7) AS decided_by, value, threshold, drifted, sample_size, warm_up
FROM ${s.database}.drift_metrics FINAL
WHERE ${where(s)} AND statistic LIKE 'drift:%' AND window_end > toDateTime(${sinceSeconds})
ORDER BY feature, model_version, start_s`;
}

/** Every statistic of one feature's window, with its verdict. */
export function windowStatistics(s: Scope, version: number, feature: string, windowStart: number): string {
  return `SELECT statistic, value, threshold, drifted, sample_size, reference_size, toUInt32(window_end) AS window_end
FROM ${s.database}.drift_metrics FINAL
WHERE ${where(s)} AND model_version = ${version} AND feature = ${quote(feature)}
    AND window_start = toDateTime(${windowStart})
ORDER BY statistic`;
}

/** A feature's value in a `predictions` row; the prediction itself is the score. */
function featureValue(feature: string): string {
  return feature === "prediction" ? "score" : `feature_values[indexOf(feature_names, ${quote(feature)})]`;
}

/**
 * One value per event of a model version's window. `LIMIT 1 BY event_id` drops a replayed row
 * twice stored before merges, as FINAL would, but reads only the window's rows (FINAL merges the
 * whole pipeline's: 5× slower on a day of data).
 */
function windowValues(s: Scope, feature: string, version: number, windowStart: number, windowEnd: number): string {
  return `(SELECT event_id, ${featureValue(feature)} AS v FROM ${s.database}.predictions
WHERE ${where(s)} AND model_version = ${version}
    AND event_time >= toDateTime(${windowStart}) AND event_time < toDateTime(${windowEnd})
LIMIT 1 BY event_id)`;
}

/**
 * A numerical feature's window counted into the reference's bins: below the first edge, one
 * column per bin (the last one closed), above the last edge, and values that are not finite.
 */
export function numericalHistogram(
  s: Scope,
  version: number,
  feature: string,
  window: { start: number; end: number },
  edges: readonly number[],
): string {
  const last = edges.length - 2;
  const bins = edges.slice(0, -1).map((low, i) => {
    const high = edges[i + 1] as number;
    return `countIf(isFinite(v) AND v >= ${low} AND v ${i === last ? "<=" : "<"} ${high}) AS bin_${i}`;
  });
  return `SELECT count() AS total, countIf(isFinite(v) AND v < ${edges[0]}) AS below,
    ${bins.join(",\n    ")},
    countIf(isFinite(v) AND v > ${edges[edges.length - 1]}) AS above, countIf(NOT isFinite(v)) AS not_finite
FROM ${windowValues(s, feature, version, window.start, window.end)}`;
}

/** A categorical feature's window: events per category (numbers as the model saw them). */
export function categoricalHistogram(
  s: Scope,
  version: number,
  feature: string,
  window: { start: number; end: number },
): string {
  return `SELECT toString(v) AS category, count() AS events
FROM ${windowValues(s, feature, version, window.start, window.end)}
GROUP BY category ORDER BY category`;
}

/**
 * Model quality per window and version ending after `sinceSeconds` (realized, from labels), with
 * the labelled share and label delay the monitor stores beside the metrics.
 */
export function qualitySeries(s: Scope, sinceSeconds: number): string {
  return `SELECT model_version, toUInt32(window_start) AS window_start, metric, value, labelled, predictions
FROM ${s.database}.model_quality FINAL
WHERE ${where(s)} AND window_end > toDateTime(${sinceSeconds})
ORDER BY model_version, window_start, metric`;
}

/** Dead letters by the stage that refused them and the reason's code. */
export function deadLetterCounts(s: Scope): string {
  return `SELECT error_stage AS stage, error_code AS code, count() AS records, toUInt32(max(received_time)) AS last_seen
FROM ${s.database}.dead_letters FINAL
WHERE ${where(s)}
GROUP BY stage, code ORDER BY records DESC, stage, code`;
}

/** Dead letters per minute over the last hour (by the time the sink stored them). */
export function deadLettersPerMinute(s: Scope): string {
  return `SELECT toUInt32(toStartOfMinute(received_time)) AS minute, count() AS records
FROM ${s.database}.dead_letters FINAL
WHERE ${where(s)} AND received_time > now() - INTERVAL 1 HOUR
GROUP BY minute ORDER BY minute`;
}

/** The newest dead letters with their headers and original bytes. */
export function deadLetterSample(s: Scope, limit: number, code?: string): string {
  return `SELECT dlq_partition, dlq_offset, toUInt32(received_time) AS received_time, error_stage, error_code,
    error_message, original_topic, original_partition, original_offset, key, value_base64
FROM ${s.database}.dead_letters FINAL
WHERE ${where(s)}${code === undefined ? "" : ` AND error_code = ${quote(code)}`}
ORDER BY received_time DESC, dlq_partition, dlq_offset DESC
LIMIT ${limit}`;
}

/** Scored events of the last hour (by insert time) and ingest → scored latency percentiles. */
export function recentLatency(s: Scope): string {
  return `SELECT count() AS events, quantileExact(0.5)(ingest_to_score_ms) AS p50_ms,
    quantileExact(0.99)(ingest_to_score_ms) AS p99_ms
FROM ${s.database}.predictions
WHERE ${where(s)} AND insert_time > now() - INTERVAL 1 HOUR`;
}

/** Rows each table holds for the pipeline. */
export function tableRows(s: Scope): string {
  const tables = ["predictions", "shadow_predictions", "labels", "drift_metrics", "model_quality", "dead_letters"];
  return tables
    .map((table) => `SELECT ${quote(table)} AS name, count() AS rows FROM ${s.database}.${table} WHERE ${where(s)}`)
    .join("\nUNION ALL\n");
}

/** Versions that scored in the last day, by role, with their volume and newest score. */
export function versionsInUse(s: Scope): string {
  return `SELECT model_version, model_role, count() AS scored, toUInt32(max(insert_time)) AS last_scored
FROM ${s.database}.predictions
WHERE ${where(s)} AND insert_time > now() - INTERVAL 1 DAY
GROUP BY model_version, model_role
UNION ALL
SELECT model_version, 'shadow' AS model_role, count() AS scored, toUInt32(max(insert_time)) AS last_scored
FROM ${s.database}.shadow_predictions
WHERE ${where(s)} AND insert_time > now() - INTERVAL 1 DAY
GROUP BY model_version`;
}

/** The registry's audit trail, newest first. */
export function modelEvents(s: Scope, limit: number): string {
  return `SELECT version, kind, from_state, to_state, weight, actor, reason, event_time_ms, evidence
FROM ${s.database}.model_events FINAL
WHERE ${where(s)}
ORDER BY event_time_ms DESC, source_partition, source_offset DESC
LIMIT ${limit}`;
}
