-- Latency by model version and role: how long events of pipeline ${PIPELINE} (default payments)
-- took from the ingest API to being scored, per deciding version and role, over the last 24 hours.
--
-- Reading it: one row per model version and role. `events` counts decisions; `p50_ms`, `p99_ms`
-- and `max_ms` describe score_time − ingest_time in milliseconds (the raw record's Kafka timestamp
-- to the moment its micro-batch was scored). A canary or a new champion whose p99 is well above
-- the previous version's costs latency: a heavier model, or one that loads slowly. Quantiles are
-- exact up to 8192 events per group and sampled above.
SELECT
    model_version,
    model_role,
    count() AS events,
    quantiles(0.5, 0.99)(score_time_ms - ingest_time_ms) AS latency_quantiles,
    latency_quantiles[1] AS p50_ms,
    latency_quantiles[2] AS p99_ms,
    max(score_time_ms - ingest_time_ms) AS max_ms
FROM ${DATABASE}.predictions FINAL
WHERE pipeline = '${PIPELINE}' AND event_time >= now() - INTERVAL 24 HOUR
GROUP BY model_version, model_role
ORDER BY model_version, model_role
