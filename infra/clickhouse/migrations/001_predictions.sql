-- One row per scored event. ReplacingMergeTree on (pipeline, event_id): a replay after a crash can
-- insert a row twice before the sink skips what it stored; merges keep one, and queries that must
-- count exactly use FINAL (or argMax by event_id). The source partition and offset let the sink
-- resume after the highest offset it stored.
CREATE TABLE IF NOT EXISTS ${DATABASE}.predictions
(
    event_id String,
    pipeline String,
    entity String,
    event_time DateTime('UTC'),
    event_time_ms UInt64,
    ingest_time_ms UInt64,
    transform_time_ms UInt64,
    score_time_ms UInt64,
    insert_time DateTime('UTC') DEFAULT now(),
    model_name String,
    model_version UInt32,
    label String,
    score Float64,
    class_labels Array(String),
    probabilities Array(Float64),
    feature_names Array(String),
    feature_values Array(Float64),
    ingest_to_score_ms Int64 MATERIALIZED toInt64(score_time_ms) - toInt64(ingest_time_ms),
    source_partition UInt16,
    source_offset UInt64
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(event_time)
ORDER BY (pipeline, event_id)
SETTINGS index_granularity = 8192;

-- Records that could not be processed, with the reason from their dead-letter headers.
CREATE TABLE IF NOT EXISTS ${DATABASE}.dead_letters
(
    pipeline String,
    dlq_partition UInt16,
    dlq_offset UInt64,
    received_time DateTime('UTC') DEFAULT now(),
    error_code String,
    error_message String,
    error_stage String,
    original_topic String,
    original_partition Int32,
    original_offset Int64,
    key String,
    value_base64 String
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(received_time)
ORDER BY (pipeline, dlq_partition, dlq_offset);
