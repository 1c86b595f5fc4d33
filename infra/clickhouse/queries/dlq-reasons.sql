-- Dead-letter reasons: why records were dead-lettered in the last 24 hours, for every pipeline.
--
-- Reading it: one row per pipeline, stage (where the record failed: decode, clean, score, sink)
-- and error code (from the closed list in services/shared/errors.ts), most frequent first.
-- `dead_letters` counts the records, `first_seen` and `last_seen` bound when they arrived and
-- `latest_message` is the error message of the newest one (by arrival time, then DLQ position).
-- The records themselves (key, base64 value, original topic/partition/offset) are in dead_letters.
-- FINAL counts a dead letter stored twice (the sink replayed its batch) once.
SELECT
    pipeline,
    error_stage,
    error_code,
    count() AS dead_letters,
    min(received_time) AS first_seen,
    max(received_time) AS last_seen,
    argMax(error_message, (received_time, dlq_partition, dlq_offset)) AS latest_message
FROM ${DATABASE}.dead_letters FINAL
WHERE received_time >= now() - INTERVAL 24 HOUR
GROUP BY pipeline, error_stage, error_code
ORDER BY dead_letters DESC, pipeline, error_stage, error_code
