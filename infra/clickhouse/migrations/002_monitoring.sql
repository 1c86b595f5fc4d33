-- Drift statistics per closed event-time window, feature (or "prediction") and statistic.
-- A window recomputed (e.g. after late events) replaces the earlier row: newest computed_at wins.
CREATE TABLE IF NOT EXISTS ${DATABASE}.drift_metrics
(
    pipeline String,
    model_name String,
    model_version UInt32,
    window_start DateTime('UTC'),
    window_end DateTime('UTC'),
    feature String,
    feature_type String,
    statistic String,
    value Float64,
    threshold Float64,
    drifted UInt8,
    sample_size UInt64,
    reference_size UInt64,
    computed_at DateTime('UTC')
)
ENGINE = ReplacingMergeTree(computed_at)
PARTITION BY toYYYYMM(window_start)
ORDER BY (pipeline, model_version, feature, statistic, window_start, window_end);

-- Ground truth as it arrives on <pipeline>.labels, joined to predictions by event id in queries.
CREATE TABLE IF NOT EXISTS ${DATABASE}.labels
(
    pipeline String,
    event_id String,
    label String,
    label_time DateTime('UTC'),
    label_time_ms UInt64,
    source_partition UInt16,
    source_offset UInt64
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(label_time)
ORDER BY (pipeline, event_id);

-- Model quality per event-time window and model version, from the predictions that have labels.
CREATE TABLE IF NOT EXISTS ${DATABASE}.model_quality
(
    pipeline String,
    model_name String,
    model_version UInt32,
    window_start DateTime('UTC'),
    window_end DateTime('UTC'),
    metric String,
    value Float64,
    labelled UInt64,
    predictions UInt64,
    computed_at DateTime('UTC')
)
ENGINE = ReplacingMergeTree(computed_at)
PARTITION BY toYYYYMM(window_start)
ORDER BY (pipeline, model_version, metric, window_start, window_end);
