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
DROP FUNCTION IF EXISTS usagectl_count(usage_events[]);
DROP FUNCTION IF EXISTS usagectl_rollup_apply(usage_events[], usage_events[]);
-- Functions this build defines with another result than an earlier build did (CREATE OR
-- REPLACE cannot change a result type): dropped here when their result differs, created
-- again by the files after. Only then: a function dropped and created again is a new
-- object, and a web app session that had the old one planned would fail its next call.
DO $$
DECLARE
    f record;
BEGIN
    FOR f IN
        SELECT p.oid::regprocedure AS fn
          FROM (VALUES ('usagectl_metrics()',
                        ' -> TABLE(metric text, event_types text[], monthly boolean, label text, unit text)'),
                       ('usagectl_allowance(text, text, timestamptz, bigint)',
                        'p_org text, p_metric text, p_at timestamp with time zone, p_adding bigint, '
                        'OUT period_start timestamp with time zone, OUT period_end timestamp with time zone, '
                        'OUT limit_value bigint, OUT current bigint, OUT reserved bigint, OUT allowed boolean, '
                        'OUT message text -> record'),
                       ('usagectl_record(text, text, integer, jsonb, timestamptz, text)',
                        'p_org text, p_type text, p_quantity integer, p_metadata jsonb, '
                        'p_created_at timestamp with time zone, p_key text -> TABLE(r_outcome text, '
                        'r_metric text, r_current bigint, r_limit bigint, r_period_start timestamp with time zone, '
                        'r_period_end timestamp with time zone, r_message text, r_id uuid, r_org_id text, '
                        'r_event_type text, r_quantity integer, r_metadata jsonb, '
                        'r_created_at timestamp with time zone, r_idempotency_key text)')) w(sig, result)
          JOIN pg_proc p ON p.oid = to_regprocedure(w.sig)
         WHERE pg_get_function_arguments(p.oid) || ' -> ' || pg_get_function_result(p.oid) <> w.result
    LOOP
        EXECUTE format('DROP FUNCTION %s', f.fn);
    END LOOP;
END
$$;
