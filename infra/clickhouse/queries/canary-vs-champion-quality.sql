-- Canary vs champion quality: on the labelled events of pipeline ${PIPELINE} (default payments),
-- the accuracy of each deciding version and role over the last 7 days, and a two-proportion
-- z-test of each version's accuracy against the best-labelled champion's.
--
-- Reading it: one row per model version and role (champion, canary). `labelled` counts its
-- decisions with a label, `correct` those whose predicted label equals the label, `accuracy` their
-- ratio. `z` = (accuracy − reference accuracy) / sqrt(p̂(1 − p̂)(1/n + 1/n_ref)) with p̂ the pooled
-- accuracy, and `p_value` its two-sided p-value, 1 − erf(|z| / √2); the reference row (the champion
-- version with the most labels) has z = 0 and p_value = 1. A canary with a p_value under 0.05 and
-- a lower accuracy is worse than the champion beyond chance: roll it back. Few labels: large
-- p-values whatever the difference. FINAL on both tables counts replays and redelivered labels once.
SELECT
    row.1 AS model_version,
    row.2 AS model_role,
    row.3 AS labelled,
    row.4 AS correct,
    correct / labelled AS accuracy,
    reference.1 AS reference_version,
    reference.3 / reference.2 AS reference_accuracy,
    (correct + reference.3) / (labelled + reference.2) AS pooled,
    (accuracy - reference_accuracy) / sqrt(pooled * (1 - pooled) * (1 / labelled + 1 / reference.2)) AS z,
    if(model_version = reference_version AND model_role = 'champion', 1,
        1 - erf(abs(z) / sqrt(2))) AS p_value
FROM
(
    -- One row per version and role, each beside the reference: the champion version with the most
    -- labelled decisions, as (version, labelled, correct).
    SELECT arrayJoin(groups) AS row, reference
    FROM
    (
        SELECT
            groupArray((model_version, model_role, labelled, correct)) AS groups,
            argMax((model_version, labelled, correct), if(model_role = 'champion', labelled, 0)) AS reference
        FROM
        (
            SELECT model_version, model_role, count() AS labelled, sum(predicted = actual) AS correct
            FROM
            (
                SELECT pipeline, event_id, model_version, model_role, label AS predicted
                FROM ${DATABASE}.predictions FINAL
                WHERE pipeline = '${PIPELINE}' AND event_time >= now() - INTERVAL 7 DAY
            )
            ALL INNER JOIN
            (
                SELECT pipeline, event_id, label AS actual
                FROM ${DATABASE}.labels FINAL
                WHERE pipeline = '${PIPELINE}'
            ) USING (pipeline, event_id)
            GROUP BY model_version, model_role
        )
    )
)
ORDER BY model_version, model_role
