-- THE read path, for a set of orgs: usage per org, event type and UTC day over [p_from,
-- p_to) of the orgs in p_orgs (NULL: every org; p_from NULL: since the beginning; p_types
-- NULL: every type). Whole UTC days come from the rollup plus the rows the fold has not
-- reached yet, the partial days at either end from the raw rows; one snapshot. It is
-- migration 11's usagectl_usage() with an array of orgs, so that `status --all` reads the
-- orgs that share a billing period in one call instead of one call per org.
-- SECURITY INVOKER: the caller's privileges and RLS policies apply. Custom plans, so the
-- planner sees the bounds, the orgs and the watermark.
CREATE OR REPLACE FUNCTION usagectl_usage_of(p_orgs text[], p_types text[], p_from timestamptz, p_to timestamptz)
RETURNS TABLE (org_id text, event_type text, day date, events bigint, quantity bigint,
               first_event timestamptz, last_event timestamptz)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, public SET plan_cache_mode = force_custom_plan AS $f$
DECLARE
    v_seen bigint;
    v_lo timestamptz;
    v_hi timestamptz;
BEGIN
    IF p_to IS NULL THEN
        RAISE EXCEPTION 'usagectl_usage(): the window needs an end (p_to)' USING ERRCODE = '22004';
    END IF;
    -- the first UTC midnight at or after p_from, the last at or before p_to (24 hours, not
    -- '1 day', which would follow the session's time zone across a DST change)
    v_lo := CASE WHEN p_from IS NULL THEN '-infinity'::timestamptz
                 WHEN date_trunc('day', p_from, 'UTC') = p_from THEN p_from
                 ELSE date_trunc('day', p_from, 'UTC') + interval '24 hours' END;
    v_hi := date_trunc('day', p_to, 'UTC');
    IF v_lo >= v_hi OR NOT usagectl_rollup_ready() THEN
        RETURN QUERY
        SELECT e.org_id, e.event_type, (e.created_at AT TIME ZONE 'UTC')::date, count(*),
               coalesce(sum(e.quantity), 0)::bigint, min(e.created_at), max(e.created_at)
          FROM usage_events e
         WHERE (p_orgs IS NULL OR e.org_id = ANY (p_orgs)) AND (p_types IS NULL OR e.event_type = ANY (p_types))
           AND (p_from IS NULL OR e.created_at >= p_from) AND e.created_at < p_to
         GROUP BY 1, 2, 3;
        RETURN;
    END IF;
    -- a STABLE function's statements all read the calling statement's snapshot, so this
    -- watermark agrees with the rollup the query below reads; as a value, it tells the
    -- planner how few rows lie above it
    SELECT f.watermark INTO v_seen FROM usagectl_fold_state f;
    RETURN QUERY
    SELECT u.org_id, u.event_type, u.day, sum(u.events)::bigint, sum(u.quantity)::bigint,
           min(u.first_event), max(u.last_event)
      FROM (
        SELECT d.org_id, d.event_type, d.day, d.events, d.quantity, d.first_event, d.last_event
          FROM usagectl_daily_usage d
         WHERE (p_orgs IS NULL OR d.org_id = ANY (p_orgs)) AND (p_types IS NULL OR d.event_type = ANY (p_types))
           AND d.day >= (v_lo AT TIME ZONE 'UTC')::date AND d.day < (v_hi AT TIME ZONE 'UTC')::date
        UNION ALL
        SELECT e.org_id, e.event_type, (e.created_at AT TIME ZONE 'UTC')::date, 1::bigint,
               e.quantity::bigint, e.created_at, e.created_at
          FROM usage_events e
         WHERE e.usagectl_seq > v_seen
           AND (p_orgs IS NULL OR e.org_id = ANY (p_orgs)) AND (p_types IS NULL OR e.event_type = ANY (p_types))
           AND e.created_at >= v_lo AND e.created_at < v_hi
        UNION ALL
        SELECT e.org_id, e.event_type, (e.created_at AT TIME ZONE 'UTC')::date, 1::bigint,
               e.quantity::bigint, e.created_at, e.created_at
          FROM usage_events e
         WHERE (p_orgs IS NULL OR e.org_id = ANY (p_orgs)) AND (p_types IS NULL OR e.event_type = ANY (p_types))
           AND e.created_at >= p_from AND e.created_at < v_lo
        UNION ALL
        SELECT e.org_id, e.event_type, (e.created_at AT TIME ZONE 'UTC')::date, 1::bigint,
               e.quantity::bigint, e.created_at, e.created_at
          FROM usage_events e
         WHERE (p_orgs IS NULL OR e.org_id = ANY (p_orgs)) AND (p_types IS NULL OR e.event_type = ANY (p_types))
           AND e.created_at >= v_hi AND e.created_at < p_to
      ) u
     GROUP BY 1, 2, 3;
END
$f$;

-- usagectl_usage(org, ...) keeps its signature (the SQL of every caller, and older usagectl
-- builds): one org, or every org when NULL, through usagectl_usage_of()
CREATE OR REPLACE FUNCTION usagectl_usage(p_org text, p_types text[], p_from timestamptz, p_to timestamptz)
RETURNS TABLE (org_id text, event_type text, day date, events bigint, quantity bigint,
               first_event timestamptz, last_event timestamptz)
LANGUAGE sql STABLE SET search_path = pg_catalog, public AS $f$
    SELECT * FROM usagectl_usage_of(CASE WHEN p_org IS NULL THEN NULL ELSE ARRAY[p_org] END,
                                    p_types, p_from, p_to)
$f$;
