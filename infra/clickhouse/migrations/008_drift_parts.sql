-- Drift windows spread over several monitor instances per pipeline. Each instance keeps, per
-- partition it owns, its part of every open window; `drift_progress` says per partition how far its
-- owner has read (newest event time, whether it is read to its end, when it last heard an event) and
-- up to which window end its parts are final ("sealed"). Partition -1 holds the closer's mark: every
-- window ending at or before `sealed_through` is closed. Times are epoch milliseconds;
-- -9007199254740991 stands for "none yet". Newest `updated_at` wins.
CREATE TABLE IF NOT EXISTS ${DATABASE}.drift_progress
(
    pipeline String,
    role String,
    partition Int32,
    max_event_time Int64,
    sealed_through Int64,
    caught_up UInt8,
    heard_at Int64,
    owner String,
    updated_at Int64
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (pipeline, role, partition);

-- A partition's sealed part of one window, waiting for the instance that closes the window (the
-- owner of partition 0) to merge it with the other partitions' parts: a JSON snapshot of its bin
-- counts, moments and quantile sketches. Only written while a pipeline's partitions are spread over
-- instances; a part rewritten (after a crash) replaces the earlier copy.
CREATE TABLE IF NOT EXISTS ${DATABASE}.drift_parts
(
    pipeline String,
    role String,
    model_version UInt32,
    window_start Int64,
    window_end Int64,
    partition Int32,
    events UInt64,
    state String,
    written_at Int64
)
ENGINE = ReplacingMergeTree(written_at)
PARTITION BY intDiv(window_end, 2592000000)
ORDER BY (pipeline, role, window_end, model_version, window_start, partition);
