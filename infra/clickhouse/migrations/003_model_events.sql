-- The model registry's audit trail: every event of <pipeline>.model-events (registry changes,
-- refused requests, retraining requests), stored by the monitor, never updated. version 0 and empty
-- states mean "none"; evidence is the JSON the change was based on.
CREATE TABLE IF NOT EXISTS ${DATABASE}.model_events
(
    pipeline String,
    event_id String,
    change_id String,
    version UInt32,
    kind String,
    from_state String,
    to_state String,
    weight Float64,
    actor String,
    reason String,
    event_time DateTime('UTC'),
    event_time_ms UInt64,
    evidence String,
    source_partition UInt16,
    source_offset UInt64
)
ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(event_time)
ORDER BY (pipeline, source_partition, source_offset);
