-- A pipeline that starts from empty state has rolling features (and a prediction reading them)
-- that count only the history seen so far: for the longest rolling window after its first event
-- they are stored with warm_up = 1 and never judged (drifted = 0), so a cold start is not drift.
ALTER TABLE ${DATABASE}.drift_metrics ADD COLUMN warm_up UInt8 DEFAULT 0 AFTER computed_at;
