-- Model quality over time: the quality metrics the monitor computed for pipeline ${PIPELINE}
-- (default payments) per event-time window and model version, over the last 7 days (labels
-- arrive late, so quality lags drift by the label delay).
--
-- Reading it: one row per metric, model version and window, oldest window first. `latest_value`
-- is the metric (precision, recall, ...) from the newest computation of that window: a window is
-- recomputed as more labels arrive, and argMax by computed_at picks the latest one (the rows
-- FINAL would keep). `latest_labelled` of `latest_predictions` says how many of the window's
-- predictions had a label at that computation (`latest_computed_at`): few labels, noisy value.
-- Realized quality only (kind = 'realized'): the monitor's estimates from scores, stored before the
-- labels come under metric names estimated_*, are left out.
-- The aliases differ from the column names on purpose: `max(computed_at) AS computed_at` would
-- replace the column inside the argMax calls, and ClickHouse refuses an aggregate in an aggregate.
SELECT
    metric,
    model_version,
    window_start,
    window_end,
    argMax(value, computed_at) AS latest_value,
    argMax(labelled, computed_at) AS latest_labelled,
    argMax(predictions, computed_at) AS latest_predictions,
    max(computed_at) AS latest_computed_at
FROM ${DATABASE}.model_quality
WHERE pipeline = '${PIPELINE}'
    AND kind = 'realized'
    AND window_start >= now() - INTERVAL 7 DAY
GROUP BY metric, model_version, window_start, window_end
ORDER BY metric, model_version, window_start, window_end
