-- Quality deltas by window: for each labelled event-time window of pipeline ${PIPELINE} (default
-- payments), each model version's quality metrics beside the champion's of the same window, as
-- the monitor computed them into model_quality.
--
-- Reading it: one row per window, metric and version that is not the window's reference version
-- (the version with the most labelled predictions in that window, normally the champion).
-- `value` and `reference_value` are the newest computation of each (argMax by computed_at),
-- `delta` = value − reference_value: positive means this version did better on that window's
-- labels (for error metrics such as brier, lower is better). `labelled` says how many labels each
-- figure rests on. Realized quality only (kind = 'realized'), not the estimates made before labels.
SELECT
    window_start,
    metric,
    model_version,
    value,
    labelled,
    reference_version,
    reference_value,
    reference_labelled,
    value - reference_value AS delta
FROM
(
    SELECT
        window_start,
        metric,
        model_version,
        argMax(value, computed_at) AS value,
        argMax(labelled, computed_at) AS labelled
    FROM ${DATABASE}.model_quality
    WHERE pipeline = '${PIPELINE}' AND kind = 'realized'
    GROUP BY window_start, metric, model_version
)
ALL INNER JOIN
(
    SELECT
        window_start,
        metric,
        argMax(model_version, labelled) AS reference_version,
        argMax(value, labelled) AS reference_value,
        max(labelled) AS reference_labelled
    FROM
    (
        SELECT
            window_start,
            metric,
            model_version,
            argMax(value, computed_at) AS value,
            argMax(labelled, computed_at) AS labelled
        FROM ${DATABASE}.model_quality
        WHERE pipeline = '${PIPELINE}' AND kind = 'realized'
        GROUP BY window_start, metric, model_version
    )
    GROUP BY window_start, metric
) USING (window_start, metric)
WHERE model_version != reference_version
ORDER BY window_start, metric, model_version
