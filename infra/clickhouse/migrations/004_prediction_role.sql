-- Which role made a prediction's decision: champion, or canary for the canary's share of entities.
ALTER TABLE ${DATABASE}.predictions ADD COLUMN model_role String DEFAULT 'champion' AFTER model_version;
