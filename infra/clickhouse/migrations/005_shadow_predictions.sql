-- Shadow models' scores: one row per (event, shadow version), never a decision. A table of its own
-- because predictions keeps one row per event (its key is the event id).
CREATE TABLE IF NOT EXISTS ${DATABASE}.shadow_predictions
(
    event_id String,
    pipeline String,
    entity String,
    event_time DateTime('UTC'),
    event_time_ms UInt64,
    ingest_time_ms UInt64,
    score_time_ms UInt64,
    insert_time DateTime('UTC') DEFAULT now(),
    model_name String,
    model_version UInt32,
    model_role String DEFAULT 'shadow',
    label String,
    score Float64,
    class_labels Array(String),
    probabilities Array(Float64),
    source_partition UInt16,
    source_offset UInt64
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(event_time)
ORDER BY (pipeline, model_version, event_id)
SETTINGS index_granularity = 8192;
