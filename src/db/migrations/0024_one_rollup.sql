-- One rollup instead of two: usagectl_rollup counts events per org, bucket, event type and
-- model, where a bucket is a UTC day cut at the org's registered billing period
-- boundaries (named by its first instant). It replaces the daily rollup and the boundary
-- rollup. This step runs in one transaction with the installation of the definitions
-- (the functions and triggers that keep the new table exact replace the old ones), under
-- a brief exclusive lock on usage_events, taken first (before any lock on a table a
-- reader of usage_events goes on to read, so no reader can hold usage_events and wait for
-- this step): no correction is ever applied to one table and not the other, and no reader
-- sees half of either set.
--
-- The data step is self-contained SQL (it calls no function a later build may change):
-- each day of the daily rollup becomes the day's bucket, and the boundary registrations
-- are dropped. `migrate` registers them again right after, under the new rule; until
-- then a period edge inside a UTC day is read from the raw rows, which is exact.
LOCK TABLE usage_events IN ACCESS EXCLUSIVE MODE;
CREATE TABLE usagectl_rollup (
    org_id text NOT NULL,
    bucket timestamptz NOT NULL,
    day date NOT NULL GENERATED ALWAYS AS ((bucket AT TIME ZONE 'UTC')::date) STORED,
    event_type text NOT NULL,
    model text NOT NULL,
    events bigint NOT NULL,
    quantity bigint NOT NULL,
    first_event timestamptz NOT NULL,
    last_event timestamptz NOT NULL,
    PRIMARY KEY (org_id, bucket, event_type, model)
);
CREATE INDEX usagectl_rollup_day ON usagectl_rollup (day);
ALTER TABLE usagectl_rollup ENABLE ROW LEVEL SECURITY;
-- the functions and triggers the definitions installed, as the catalog shows each (doctor
-- compares them), and the build whose definitions they are
CREATE TABLE usagectl_definitions (
    object text PRIMARY KEY,
    hash text NOT NULL,
    build text NOT NULL,
    installed_at timestamptz NOT NULL DEFAULT now(),
    installed_by text NOT NULL DEFAULT current_user
);
-- no fold or correction is under way (each would hold usage_events), and none starts
-- before this transaction ends
INSERT INTO usagectl_rollup (org_id, bucket, event_type, model, events, quantity, first_event, last_event)
SELECT d.org_id, d.day::timestamp AT TIME ZONE 'UTC', d.event_type, d.model, d.events, d.quantity,
       d.first_event, d.last_event
  FROM usagectl_daily_usage d;
DROP TABLE usagectl_boundary_usage;
DELETE FROM usagectl_boundaries;
DROP TABLE usagectl_daily_usage;
