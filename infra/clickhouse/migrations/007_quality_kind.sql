-- Quality estimated before the labels arrive (confidence-based, from calibrated scores) is stored
-- beside the realized quality: kind = 'estimated' or 'realized' (rows written before this
-- migration are realized ones). The estimated rows carry their own metric names (estimated_accuracy,
-- estimated_precision, estimated_recall, estimated_f1, estimated_roc_auc), because `kind` cannot
-- join the sorting key: ClickHouse (18.16 and current alike) refuses to add a column with a DEFAULT
-- to the ORDER BY in an ALTER, and without the DEFAULT the existing rows would read kind = ''. With
-- the same metric name, an estimate and the realized value of a window would share a sorting key,
-- and the ReplacingMergeTree would keep only the newer of the two.
ALTER TABLE ${DATABASE}.model_quality ADD COLUMN kind String DEFAULT 'realized' AFTER computed_at;
