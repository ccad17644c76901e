-- How many runs of `alert run` have tried a delivery and left it for a later run. The wait
-- before the next run's try is 30 s after the first failed run, doubling per failed run, at
-- most an hour (alerts::wait_for_next_run); counting runs, not attempts, is what makes it so
-- (a run makes up to three attempts). A constant default: no rewrite of the outbox.
ALTER TABLE usagectl_alert_outbox ADD COLUMN IF NOT EXISTS failed_runs integer NOT NULL DEFAULT 0;
