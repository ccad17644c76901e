-- What earlier builds defined and this one does not: dropped first, every time the
-- definitions are installed (a no-op once they are gone). A definition file; see rollup.sql.
DROP TRIGGER IF EXISTS usagectl_sides_delete ON usage_events;
DROP TRIGGER IF EXISTS usagectl_sides_update ON usage_events;
DROP TRIGGER IF EXISTS usagectl_sides_truncate ON usage_events;
DROP FUNCTION IF EXISTS usagectl_boundary_on_delete();
DROP FUNCTION IF EXISTS usagectl_boundary_on_update();
DROP FUNCTION IF EXISTS usagectl_boundary_on_truncate();
DROP FUNCTION IF EXISTS usagectl_boundary_recount_days(text[], timestamptz[]);
DROP FUNCTION IF EXISTS usagectl_boundary_recount(text, timestamptz);
DROP FUNCTION IF EXISTS usagectl_boundary_sides(text, timestamptz);
DROP FUNCTION IF EXISTS usagectl_rollup_on_delete() CASCADE;
DROP FUNCTION IF EXISTS usagectl_rollup_on_update() CASCADE;
DROP FUNCTION IF EXISTS usagectl_rollup_on_truncate() CASCADE;
DROP FUNCTION IF EXISTS usagectl_rollup_add(text, date, text, text, bigint, bigint, timestamptz, timestamptz);
DROP FUNCTION IF EXISTS usagectl_rollup_sub(text, date, text, text, bigint, bigint, timestamptz, timestamptz);
DROP FUNCTION IF EXISTS usagectl_usage_edges(text[], text[], timestamptz, timestamptz, timestamptz, timestamptz);
DROP FUNCTION IF EXISTS usagectl_record_enforced(text, text, integer, jsonb, timestamptz, text, text[], timestamptz, timestamptz, bigint);
DROP FUNCTION IF EXISTS usagectl_period_in_month(text, integer, integer);
DROP FUNCTION IF EXISTS usagectl_reserved(text, text);
DROP FUNCTION IF EXISTS usagectl_quota_check(text, text[], timestamptz, timestamptz, bigint, bigint);
DROP FUNCTION IF EXISTS usagectl_record_in_period(text, text, integer, jsonb, timestamptz, text, text, text[], boolean, bigint);
-- Functions this build defines with another result than an earlier build did (CREATE OR
-- REPLACE cannot change a result type): dropped here, created again by the files after.
DROP FUNCTION IF EXISTS usagectl_metrics();
DROP FUNCTION IF EXISTS usagectl_allowance(text, text, timestamptz, bigint);
DROP FUNCTION IF EXISTS usagectl_record(text, text, integer, jsonb, timestamptz, text);
