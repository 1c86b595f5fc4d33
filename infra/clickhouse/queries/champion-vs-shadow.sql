-- Champion vs shadow: per five-minute window of event time and shadow version of pipeline
-- ${PIPELINE} (default payments), how the shadow would have decided beside the model that did.
--
-- Reading it: one row per window and shadow version. `events` counts events both scored;
-- `agreement_rate` is the share where the shadow's label equals the decision's label;
-- `score_correlation` is Pearson's correlation of the two scores (nan when either is constant);
-- `mean_score_difference` is the mean of shadow score − decision score. A shadow that agrees
-- almost always and correlates near 1 decides as the champion does; a low agreement with good
-- labelled quality (see canary-vs-champion-quality) is a candidate worth promoting. FINAL on
-- both tables counts a replayed event once.
SELECT
    toStartOfFiveMinute(event_time) AS window_start,
    shadow_version,
    count() AS events,
    avg(shadow_label = decided_label) AS agreement_rate,
    corr(shadow_score, decided_score) AS score_correlation,
    avg(shadow_score - decided_score) AS mean_score_difference
FROM
(
    SELECT pipeline, event_id, event_time, label AS decided_label, score AS decided_score
    FROM ${DATABASE}.predictions FINAL
    WHERE pipeline = '${PIPELINE}'
)
ALL INNER JOIN
(
    SELECT pipeline, event_id, model_version AS shadow_version, label AS shadow_label, score AS shadow_score
    FROM ${DATABASE}.shadow_predictions FINAL
    WHERE pipeline = '${PIPELINE}'
) USING (pipeline, event_id)
GROUP BY window_start, shadow_version
ORDER BY window_start, shadow_version
