-- Precision and recall by hour: how well each model version of pipeline ${PIPELINE} (default
-- payments) did, per hour of event time over the last 24 hours, against the labels received so
-- far. The positive class is '1' (fraud in the payments pipeline).
--
-- Reading it: one row per hour and model version. `predictions` counts scored events,
-- `labelled` those with a label, `labelled_share` their ratio; TP, FP, FN and TN count labelled
-- events only (predicted '1' and labelled '1' is TP, predicted '1' and labelled otherwise FP, ...).
-- precision = TP / (TP + FP), recall = TP / (TP + FN), f1 their harmonic mean; each is nan when its
-- denominator is 0 (no positive predicted, or none labelled). Recent hours have few labels yet:
-- read them together with `labelled_share`. FINAL on both tables counts a replayed event or a
-- redelivered label once.
SELECT
    toStartOfHour(event_time) AS hour,
    model_version,
    count() AS predictions,
    sum(has_label) AS labelled,
    labelled / predictions AS labelled_share,
    countIf(has_label = 1 AND predicted = '1' AND actual = '1') AS tp,
    countIf(has_label = 1 AND predicted = '1' AND actual != '1') AS fp,
    countIf(has_label = 1 AND predicted != '1' AND actual = '1') AS fn,
    countIf(has_label = 1 AND predicted != '1' AND actual != '1') AS tn,
    tp / (tp + fp) AS precision,
    tp / (tp + fn) AS recall,
    2 * tp / (2 * tp + fp + fn) AS f1
FROM
(
    SELECT pipeline, event_id, event_time, model_version, label AS predicted
    FROM ${DATABASE}.predictions FINAL
    WHERE pipeline = '${PIPELINE}'
        AND event_time >= now() - INTERVAL 24 HOUR
)
-- ANY: one label per event. A prediction without a label gets has_label = 0 (the default value of
-- the right side's columns), which keeps it in `predictions` and out of the confusion matrix.
ANY LEFT JOIN
(
    SELECT pipeline, event_id, label AS actual, toUInt8(1) AS has_label
    FROM ${DATABASE}.labels FINAL
    WHERE pipeline = '${PIPELINE}'
) USING (pipeline, event_id)
GROUP BY hour, model_version
ORDER BY hour, model_version
