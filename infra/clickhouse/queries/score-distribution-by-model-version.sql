-- Score distribution by model version: how each model version of pipeline ${PIPELINE} (default
-- payments) scores, over everything stored.
--
-- Reading it: one row per model version. `predictions` is the number of scored events, `mean_score`
-- and `p10` .. `p99` describe `score` (probability of the positive class for a binary model, of
-- the predicted class for a multi-class one), and `label_shares` lists each predicted label with its share of the
-- version's predictions, e.g. [('0',0.97),('1',0.03)]. Two versions side by side show a shift
-- after a model swap. FINAL counts an event stored twice (a replay after a crash) once.
-- Quantiles are exact up to 8192 predictions per version and label, sampled above.
SELECT
    model_version,
    sum(label_predictions) AS predictions,
    sum(label_score_sum) / predictions AS mean_score,
    quantilesMerge(0.1, 0.5, 0.9, 0.99)(label_score_quantiles) AS score_quantiles,
    score_quantiles[1] AS p10,
    score_quantiles[2] AS p50,
    score_quantiles[3] AS p90,
    score_quantiles[4] AS p99,
    arrayMap(pair -> (pair.1, pair.2 / predictions), arraySort(groupArray((label, label_predictions)))) AS label_shares
FROM
(
    -- Grouped by label first: ClickHouse 18.16's sumMap takes no String keys, so the label
    -- shares come from per-label counts, and the score quantiles from merged per-label states.
    SELECT
        model_version,
        label,
        count() AS label_predictions,
        sum(score) AS label_score_sum,
        quantilesState(0.1, 0.5, 0.9, 0.99)(score) AS label_score_quantiles
    FROM ${DATABASE}.predictions FINAL
    WHERE pipeline = '${PIPELINE}'
    GROUP BY model_version, label
)
GROUP BY model_version
ORDER BY model_version
