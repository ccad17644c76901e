-- The seed's three endpoint bodies (summary, limits, quota status) of one org, as
-- `usagectl summary|limits|status --org ORG -o json` print them, for the web app's API
-- (api.sql: usagectl.summary_json, limits_json, quota_status_json). Each composes the
-- rules that exist (the period, the limit, the grants, the read path, the status rule);
-- what only a body needs is here, each beside the Rust it must equal, and a test
-- compares every body with the command's output. A definition file; see rollup.sql.

-- An instant as usagectl's JSON writes it (chrono's RFC 3339, `Z`, the fraction in 3 or
-- 6 digits and none when whole: time::fmt_utc).
CREATE OR REPLACE FUNCTION usagectl_json_time(p_at timestamptz) RETURNS text
LANGUAGE sql STABLE AS $f$
    SELECT to_char(p_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
           || CASE WHEN u.us = 0 THEN ''
                   WHEN u.us % 1000 = 0 THEN '.' || lpad((u.us / 1000)::text, 3, '0')
                   ELSE '.' || lpad(u.us::text, 6, '0') END
           || 'Z'
      FROM (SELECT (extract(microseconds FROM p_at)::bigint % 1000000) AS us) u
$f$;

-- THE projection (quota::projected_exhaustion): at the rate so far in [p_start, p_end),
-- the instant `p_limit` is reached; NULL when unlimited, reached, nothing used yet, or not
-- before the period ends. Whole seconds elapsed, the rest in double precision, rounded up
-- to a whole second, as the Rust does.
CREATE OR REPLACE FUNCTION usagectl_projection(p_current bigint, p_limit bigint, p_start timestamptz,
                                               p_end timestamptz, p_now timestamptz)
RETURNS timestamptz
LANGUAGE sql STABLE AS $f$
    SELECT p_now + x.secs::bigint * interval '1 second'
      FROM (SELECT ceil(CASE WHEN s.elapsed = 0 THEN 0
                             ELSE (p_limit - p_current)::float8 / (p_current::float8 / s.elapsed) END) AS secs
              FROM (SELECT trunc(extract(epoch FROM p_now - p_start))::float8 AS elapsed) s
             WHERE p_limit <> -1 AND p_current > 0 AND p_current < p_limit
               AND p_now > p_start AND p_now < p_end) x
     -- before the period ends (asked before the instant is made: a limit far above the rate
     -- would lie past the last date there is)
     WHERE x.secs::numeric * 1000000 < extract(epoch FROM p_end - p_now) * 1000000
$f$;

-- THE rule for "usagectl has seen this org" (queries::org_is_known): an event, billing
-- settings, a tier assignment, an override, a grant, an alert rule or a Stripe mapping,
-- asked of the tables the caller may read, as the caller (row-level security applies), as
-- the Rust rule asks them.
CREATE OR REPLACE FUNCTION usagectl_org_known(p_org text) RETURNS boolean
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, public AS $f$
DECLARE
    t text;
    v_found boolean;
BEGIN
    FOREACH t IN ARRAY ARRAY['usagectl_org_tiers', 'usagectl_org_limit_overrides', 'usagectl_org_settings',
                             'usagectl_grants', 'usagectl_alert_rules', 'usagectl_stripe_customers',
                             'usagectl_rollup', 'usage_events'] LOOP
        IF coalesce(has_column_privilege(to_regclass(t), 'org_id', 'SELECT'), false) THEN
            EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE org_id = $1)', t) INTO v_found USING p_org;
            IF v_found THEN
                RETURN true;
            END IF;
        END IF;
    END LOOP;
    RETURN false;
END
$f$;

-- Each metric of p_org in its billing period containing p_at, in usagectl_metrics()'s
-- order: the usage (the period's, all time up to its end for an all-time metric), the
-- limit with this period's grants, where the limit comes from (override, tier,
-- default_tier, or grant when grants raise it) and what the grants add: quota::Effective
-- and app::quotas::read_org_quota.
CREATE OR REPLACE FUNCTION usagectl_metric_uses(p_org text, p_at timestamptz)
RETURNS TABLE (n bigint, metric text, monthly boolean, unit text, current bigint,
               limit_value bigint, limit_source text, granted bigint, by_type jsonb)
LANGUAGE sql STABLE AS $f$
    WITH p AS (SELECT * FROM usagectl_period(p_org, p_at)),
    used AS (
        SELECT u.event_type, sum(u.quantity)::bigint AS quantity
          FROM p, usagectl_usage(p_org, NULL, p.period_start, p.period_end) u
         GROUP BY 1
        UNION ALL
        -- all time up to the period's end (event_type NULL: no event type is)
        SELECT NULL, coalesce(sum(u.quantity), 0)::bigint
          FROM p, usagectl_usage(p_org, ARRAY['mapping_profile_created'], NULL, p.period_end) u),
    m AS (
        SELECT m.*,
               usagectl_base_limit(p_org, m.metric) AS base,
               CASE WHEN EXISTS (SELECT 1 FROM usagectl_org_limit_overrides o
                                  WHERE o.org_id = p_org AND o.metric = m.metric) THEN 'override'
                    WHEN EXISTS (SELECT 1 FROM usagectl_org_tiers t WHERE t.org_id = p_org) THEN 'tier'
                    ELSE 'default_tier' END AS source,
               coalesce((SELECT g.granted FROM p, usagectl_granted(p_org, p.period_start, p.period_end) g
                          WHERE g.metric = m.metric), 0) AS granted
          FROM usagectl_metrics() WITH ORDINALITY AS m(metric, event_types, monthly, label, unit, n))
    SELECT m.n, m.metric, m.monthly, m.unit,
           CASE WHEN m.monthly
                THEN (SELECT coalesce(sum(u.quantity), 0) FROM used u WHERE u.event_type = ANY (m.event_types))
                ELSE (SELECT u.quantity FROM used u WHERE u.event_type IS NULL) END::bigint,
           CASE WHEN m.base <> -1 AND m.granted > 0 THEN m.base + m.granted ELSE m.base END,
           CASE WHEN m.base <> -1 AND m.granted > 0 THEN 'grant' ELSE m.source END,
           CASE WHEN m.base <> -1 AND m.granted > 0 THEN m.granted ELSE 0 END,
           (SELECT coalesce(jsonb_object_agg(u.event_type, u.quantity), '{}'::jsonb) FROM used u
             WHERE u.event_type = ANY (m.event_types))
      FROM m
     ORDER BY m.n
$f$;

-- The period fields every quota body carries (period::Period): `period` is
-- "current_month" for a calendar month in UTC, "current_period" otherwise (both contain
-- p_at, the instant the body is of).
CREATE OR REPLACE FUNCTION usagectl_period_json(p_org text, p_at timestamptz) RETURNS jsonb
LANGUAGE sql STABLE AS $f$
    SELECT jsonb_build_object(
               'period', CASE WHEN p.time_zone = 'UTC' AND p.anchor_day = 1
                                   AND p.period_start = date_trunc('month', p.period_start, 'UTC')
                                   AND p.period_end = date_trunc('month', p.period_start, 'UTC')
                                                      + interval '1 month'
                              THEN 'current_month' ELSE 'current_period' END,
               'period_start', usagectl_json_time(p.period_start),
               'period_end', usagectl_json_time(p.period_end),
               'time_zone', p.time_zone,
               'anchor_day', p.anchor_day,
               'period_local_start', to_char(p.period_start AT TIME ZONE p.time_zone, 'YYYY-MM-DD"T"HH24:MI:SS'),
               'period_local_end', to_char(p.period_end AT TIME ZONE p.time_zone, 'YYYY-MM-DD"T"HH24:MI:SS'))
      FROM usagectl_period(p_org, p_at) p
$f$;

-- The tier p_org is counted under and whether it was assigned (quota::LimitConfig::effective).
CREATE OR REPLACE FUNCTION usagectl_tier_json(p_org text) RETURNS jsonb
LANGUAGE sql STABLE AS $f$
    SELECT jsonb_build_object('tier', coalesce(t.tier, 'trial'),
                              'tier_source', CASE WHEN t.tier IS NULL THEN 'default' ELSE 'assigned' END)
      FROM (SELECT 1) one LEFT JOIN usagectl_org_tiers t ON t.org_id = p_org
$f$;

-- `usagectl limits --org ORG -o json` at p_at (app::limits::LimitsReport).
CREATE OR REPLACE FUNCTION usagectl_limits_body(p_org text, p_at timestamptz) RETURNS jsonb
LANGUAGE sql STABLE AS $f$
    SELECT jsonb_build_object('org_id', p_org)
           || usagectl_tier_json(p_org)
           || jsonb_build_object('limits', (
                  SELECT jsonb_object_agg(u.metric,
                             jsonb_build_object(
                                 'current', u.current,
                                 'limit', u.limit_value,
                                 'within_limit', u.limit_value = -1 OR u.current < u.limit_value,
                                 'unit', u.unit,
                                 'limit_source', u.limit_source,
                                 'granted', u.granted,
                                 'projected_limit_reached_at',
                                 CASE WHEN u.monthly
                                      THEN usagectl_json_time(usagectl_projection(
                                               u.current, u.limit_value, p.period_start, p.period_end, p_at)) END)
                             || CASE WHEN u.metric = 'ai_tokens'
                                     THEN jsonb_build_object('breakdown', jsonb_build_object(
                                              'input_tokens', coalesce((u.by_type ->> 'ai_tokens_input')::bigint, 0),
                                              'output_tokens', coalesce((u.by_type ->> 'ai_tokens_output')::bigint, 0)))
                                     ELSE '{}'::jsonb END)
                    FROM usagectl_metric_uses(p_org, p_at) u, usagectl_period(p_org, p_at) p))
           || usagectl_period_json(p_org, p_at)
           || jsonb_build_object('known_org', usagectl_org_known(p_org))
$f$;

-- `usagectl status --org ORG -o json` at p_at with the warning threshold p_warn_at
-- (cmd::status::OrgStatus, quota::evaluate): the worst limited metric is the last of the
-- highest state and share used; the message names the metrics behind the state, in
-- usagectl_metrics()'s order.
CREATE OR REPLACE FUNCTION usagectl_status_body(p_org text, p_at timestamptz, p_warn_at integer)
RETURNS jsonb
LANGUAGE sql STABLE AS $f$
    WITH u AS (
        SELECT m.*, usagectl_status(m.current, m.limit_value, p_warn_at) AS state,
               CASE usagectl_status(m.current, m.limit_value, p_warn_at)
                    WHEN 'over_limit' THEN 2 WHEN 'approaching_limit' THEN 1 ELSE 0 END AS rank,
               CASE WHEN m.limit_value = -1 THEN -1::float8
                    WHEN m.limit_value = 0 THEN CASE WHEN m.current > 0 THEN 'Infinity'::float8 ELSE 100 END
                    ELSE m.current::float8 * 100 / m.limit_value END AS pct,
               format('%s %s/%s', m.metric, m.current, m.limit_value) AS named
          FROM usagectl_metric_uses(p_org, p_at) m),
    s AS (SELECT coalesce(max(u.rank), 0) AS rank FROM u),
    w AS (SELECT * FROM u WHERE u.limit_value <> -1 ORDER BY u.rank DESC, u.pct DESC, u.n DESC LIMIT 1)
    SELECT jsonb_build_object(
               'org_id', p_org,
               'status', CASE s.rank WHEN 2 THEN 'over_limit' WHEN 1 THEN 'approaching_limit' ELSE 'ok' END,
               'message', CASE s.rank
                   WHEN 0 THEN 'Usage is within limits'
                   WHEN 1 THEN format('Approaching limit (%s%% or more used): %s', p_warn_at,
                                      (SELECT string_agg(u.named, ', ' ORDER BY u.n) FROM u WHERE u.rank = 1))
                   ELSE concat_ws('; ',
                       'Over limit: ' || (SELECT string_agg(u.named, ', ' ORDER BY u.n) FROM u
                                           WHERE u.rank = 2 AND u.current > u.limit_value),
                       'Limit reached: ' || (SELECT string_agg(u.named, ', ' ORDER BY u.n) FROM u
                                              WHERE u.rank = 2 AND u.current <= u.limit_value)) END,
               'worst_metric', (SELECT w.metric FROM w),
               'worst_current', (SELECT w.current FROM w),
               'worst_limit', (SELECT w.limit_value FROM w),
               'warn_at', p_warn_at,
               'known_org', usagectl_org_known(p_org))
           || usagectl_tier_json(p_org)
           || usagectl_period_json(p_org, p_at)
      FROM s
$f$;

-- `usagectl summary --org ORG --days N -o json` at p_at (app::summary::SummaryReport): the
-- events at or after p_at - N days (N x 24 hours: the CLI measures in UTC), future-dated
-- ones included, per event type.
CREATE OR REPLACE FUNCTION usagectl_summary_body(p_org text, p_days integer, p_at timestamptz)
RETURNS jsonb
LANGUAGE sql STABLE AS $f$
    WITH w AS (SELECT ((p_at AT TIME ZONE 'UTC') - make_interval(days => p_days)) AT TIME ZONE 'UTC' AS start),
    t AS (
        SELECT u.event_type, sum(u.events)::bigint AS events, sum(u.quantity)::bigint AS quantity,
               min(u.first_event) AS first_event, max(u.last_event) AS last_event
          FROM w, usagectl_usage(p_org, NULL, w.start, 'infinity') u
         GROUP BY 1)
    SELECT jsonb_build_object(
               'org_id', p_org,
               'period_days', p_days,
               'total_events', (SELECT coalesce(sum(t.events), 0) FROM t),
               'summary_by_type', (SELECT coalesce(jsonb_object_agg(t.event_type, jsonb_build_object(
                                       'count', t.events, 'total_quantity', t.quantity,
                                       'first_event', usagectl_json_time(t.first_event),
                                       'last_event', usagectl_json_time(t.last_event))), '{}'::jsonb)
                                     FROM t),
               'generated_at', usagectl_json_time(p_at),
               'period_start', usagectl_json_time(w.start),
               'known_org', usagectl_org_known(p_org))
      FROM w
$f$;
