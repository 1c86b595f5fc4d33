-- Label delay: how long ground truth takes to arrive for pipeline ${PIPELINE} (default payments),
-- per hour of event time over the last 7 days, and how much is still missing.
--
-- Reading it: one row per hour. `predictions` counts scored events, `labelled` those with a label
-- and `unlabelled_share` the share still without one (it falls as labels arrive, so recent hours
-- are high). The delay is label_time_ms - event_time_ms, in milliseconds, over labelled events:
-- `delay_p50_ms`, `delay_p90_ms`, `delay_p99_ms` and `delay_max_ms` (0 in an hour with no label).
-- Quantiles are exact up to 8192 labels per hour, sampled above. FINAL counts a replayed
-- prediction or a redelivered label once.
SELECT
    toStartOfHour(event_time) AS hour,
    count() AS predictions,
    sum(has_label) AS labelled,
    1 - labelled / predictions AS unlabelled_share,
    quantilesIf(0.5, 0.9, 0.99)(delay_ms, has_label = 1) AS delay_quantiles_ms,
    delay_quantiles_ms[1] AS delay_p50_ms,
    delay_quantiles_ms[2] AS delay_p90_ms,
    delay_quantiles_ms[3] AS delay_p99_ms,
    maxIf(delay_ms, has_label = 1) AS delay_max_ms
FROM
(
    SELECT
        event_time,
        has_label,
        -- Signed: a label stamped before its event (clock skew) shows as a negative delay
        -- instead of wrapping around as UInt64.
        toInt64(label_time_ms) - toInt64(event_time_ms) AS delay_ms
    FROM
    (
        SELECT pipeline, event_id, event_time, event_time_ms
        FROM ${DATABASE}.predictions FINAL
        WHERE pipeline = '${PIPELINE}'
            AND event_time >= now() - INTERVAL 7 DAY
    )
    ANY LEFT JOIN
    (
        SELECT pipeline, event_id, label_time_ms, toUInt8(1) AS has_label
        FROM ${DATABASE}.labels FINAL
        WHERE pipeline = '${PIPELINE}'
    ) USING (pipeline, event_id)
)
GROUP BY hour
ORDER BY hour
