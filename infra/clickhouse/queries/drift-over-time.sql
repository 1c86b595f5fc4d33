-- Drift over time: for pipeline ${PIPELINE} (default payments), every drift statistic of every
-- feature (and of the prediction itself, feature = 'prediction') per closed event-time window
-- that ended in the last 24 hours.
--
-- Reading it: one row per feature, statistic, model version and window, oldest window first.
-- `value` is the statistic (PSI, KS p-value, ...), `threshold` the level it was judged against and
-- `drifted` 1 when it crossed it; `sample_size` is the number of events in the window. A window
-- that was recomputed (late events) shows only its newest computation: FINAL keeps the row with
-- the highest computed_at, so a recomputation never shows up as a second row.
SELECT
    feature,
    statistic,
    model_version,
    window_start,
    window_end,
    value,
    threshold,
    drifted,
    sample_size,
    computed_at
FROM ${DATABASE}.drift_metrics FINAL
WHERE pipeline = '${PIPELINE}'
    AND window_end > now() - INTERVAL 24 HOUR
ORDER BY feature, statistic, model_version, window_start, window_end
