-- Top drifted features in the last hour: which features of pipeline ${PIPELINE} (default
-- payments) drift most often, over the closed windows that ended in the last hour.
--
-- Reading it: one row per feature (the model's output appears as feature = 'prediction'), most
-- drifted first. `windows` counts the feature's windows (per model version), `drifted_windows`
-- those the monitor judged drifted (the row of its deciding statistic, `drift:<statistic>`; for
-- rows written without one, any statistic over its threshold), `drifted_share` their ratio (1 =
-- every window drifted). `max_psi` is the highest PSI seen (>= 0.1 warn, >= 0.25 alert; 0 when the
-- feature has no PSI rows) and `drifted_statistics` names the statistics that fired. Ties on the
-- share are broken by max_psi. FINAL keeps only the newest computation of a recomputed window.
SELECT
    feature,
    count() AS windows,
    sum(window_drifted) AS drifted_windows,
    drifted_windows / windows AS drifted_share,
    max(window_psi) AS max_psi,
    arraySort(groupUniqArrayArray(window_drifted_statistics)) AS drifted_statistics
FROM
(
    SELECT
        feature,
        model_version,
        window_start,
        window_end,
        if(countIf(statistic LIKE 'drift:%') > 0, maxIf(drifted, statistic LIKE 'drift:%'), max(drifted)) AS window_drifted,
        maxIf(value, statistic = 'psi') AS window_psi,
        groupArrayIf(statistic, drifted = 1 AND statistic NOT LIKE 'drift:%') AS window_drifted_statistics
    FROM ${DATABASE}.drift_metrics FINAL
    WHERE pipeline = '${PIPELINE}'
        AND window_end > now() - INTERVAL 1 HOUR
    GROUP BY feature, model_version, window_start, window_end
)
GROUP BY feature
ORDER BY drifted_share DESC, max_psi DESC, feature
