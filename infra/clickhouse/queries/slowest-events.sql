-- Slowest events: the 20 events of pipeline ${PIPELINE} (default payments) scored in the last hour
-- that took longest from ingest (the producer's HTTP API accepted them) to score (the inference
-- service scored them).
--
-- Reading it: slowest first. `ingest_to_score_ms` is the whole in-pipeline latency, split into
-- `ingest_to_transform_ms` (raw topic + transformer) and `transform_to_score_ms` (features topic +
-- inference). The *_time columns are the same instants as UTC date-times (to the second); the
-- *_ms columns are epoch milliseconds. ingest_to_score_ms is a MATERIALIZED column: `SELECT *`
-- leaves it out, so it is named here. FINAL lists an event stored twice (a replay) once.
SELECT
    event_id,
    model_version,
    ingest_to_score_ms,
    toInt64(transform_time_ms) - toInt64(ingest_time_ms) AS ingest_to_transform_ms,
    toInt64(score_time_ms) - toInt64(transform_time_ms) AS transform_to_score_ms,
    event_time,
    toDateTime(intDiv(ingest_time_ms, 1000), 'UTC') AS ingest_time,
    toDateTime(intDiv(score_time_ms, 1000), 'UTC') AS score_time,
    insert_time,
    ingest_time_ms,
    transform_time_ms,
    score_time_ms
FROM ${DATABASE}.predictions FINAL
WHERE pipeline = '${PIPELINE}'
    AND score_time_ms >= toUInt64(toUnixTimestamp(now()) - 3600) * 1000
ORDER BY ingest_to_score_ms DESC, event_id
LIMIT 20
