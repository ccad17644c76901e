-- Billing periods and grants: the period rule, the periods a window spans, the grant rule,
-- and the triggers that keep the grant tables append-only. (A definition file: `migrate`
-- installs it whenever it differs from what the database has; see docs/design.md.)

CREATE OR REPLACE FUNCTION usagectl_append_only() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public AS $f$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused (revoke a grant with usagectl grant revoke)',
        TG_TABLE_NAME, TG_OP USING ERRCODE = '42501';
END
$f$;
CREATE OR REPLACE TRIGGER usagectl_grants_append_only
    BEFORE UPDATE OR DELETE ON usagectl_grants FOR EACH ROW EXECUTE FUNCTION usagectl_append_only();
CREATE OR REPLACE TRIGGER usagectl_grants_no_truncate
    BEFORE TRUNCATE ON usagectl_grants FOR EACH STATEMENT EXECUTE FUNCTION usagectl_append_only();
CREATE OR REPLACE TRIGGER usagectl_grant_revocations_append_only
    BEFORE UPDATE OR DELETE ON usagectl_grant_revocations FOR EACH ROW EXECUTE FUNCTION usagectl_append_only();
CREATE OR REPLACE TRIGGER usagectl_grant_revocations_no_truncate
    BEFORE TRUNCATE ON usagectl_grant_revocations FOR EACH STATEMENT EXECUTE FUNCTION usagectl_append_only();

-- THE boundary rule: local midnight on the anchor day of (year, month) in the zone, the
-- anchor falling on the month's last day when the month is shorter (31 -> Feb 28/29, Apr
-- 30). PostgreSQL reads a local time inside a DST gap with the offset in force before the
-- gap, which is the first instant after it (America/Santiago: 00:00 that does not exist is
-- 01:00 -03); a local time that occurs twice is the later one.
CREATE OR REPLACE FUNCTION usagectl_anchor_instant(p_year integer, p_month integer, p_anchor integer,
                                                   p_zone text) RETURNS timestamptz
LANGUAGE sql STABLE AS $f$
    SELECT make_timestamp(p_year, p_month,
                          least(p_anchor, extract(day FROM make_date(p_year, p_month, 1)
                                                           + interval '1 month' - interval '1 day')::integer),
                          0, 0, 0) AT TIME ZONE p_zone
$f$;

-- THE period rule: the billing period [period_start, period_end) of p_org that contains
-- p_at, under the settings in force at p_at, and those settings. SECURITY DEFINER (as are
-- the period and grant functions below): any role that may read an org's events may know
-- its periods and what its grants add, without SELECT on the settings or grant tables. A period never crosses a
-- change of settings: the first period after a change runs from the change to the next
-- boundary of the new settings.
CREATE OR REPLACE FUNCTION usagectl_period(p_org text, p_at timestamptz,
                                           OUT period_start timestamptz, OUT period_end timestamptz,
                                           OUT anchor_day integer, OUT time_zone text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $f$
DECLARE
    v_from timestamptz := '-infinity'::timestamptz;
    v_until timestamptz;
    v_local timestamp;
    v_month date;
    v_start timestamptz;
BEGIN
    SELECT s.effective_from, s.anchor_day, s.time_zone INTO v_from, anchor_day, time_zone
      FROM usagectl_org_settings s
     WHERE s.org_id = p_org AND s.effective_from <= p_at
     ORDER BY s.effective_from DESC LIMIT 1;
    IF NOT FOUND THEN
        v_from := '-infinity'::timestamptz;
        anchor_day := 1;
        time_zone := 'UTC';
    END IF;
    SELECT min(s.effective_from) INTO v_until
      FROM usagectl_org_settings s WHERE s.org_id = p_org AND s.effective_from > p_at;
    v_local := p_at AT TIME ZONE time_zone;
    v_month := date_trunc('month', v_local)::date;
    v_start := usagectl_anchor_instant(extract(year FROM v_month)::integer,
                                       extract(month FROM v_month)::integer, anchor_day, time_zone);
    IF p_at < v_start THEN
        v_month := (v_month - interval '1 month')::date;
        v_start := usagectl_anchor_instant(extract(year FROM v_month)::integer,
                                           extract(month FROM v_month)::integer, anchor_day, time_zone);
    END IF;
    v_month := (v_month + interval '1 month')::date;
    period_start := greatest(v_start, v_from);
    period_end := least(usagectl_anchor_instant(extract(year FROM v_month)::integer,
                                                extract(month FROM v_month)::integer, anchor_day, time_zone),
                        coalesce(v_until, 'infinity'::timestamptz));
END
$f$;

-- Every period of p_org that overlaps [p_from, p_to], in order (for a batch whose rows
-- span periods).
CREATE OR REPLACE FUNCTION usagectl_periods(p_org text, p_from timestamptz, p_to timestamptz)
RETURNS TABLE (period_start timestamptz, period_end timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $f$
DECLARE
    v_at timestamptz := p_from;
BEGIN
    LOOP
        SELECT p.period_start, p.period_end INTO period_start, period_end FROM usagectl_period(p_org, v_at) p;
        RETURN NEXT;
        EXIT WHEN period_end > p_to OR period_end = 'infinity'::timestamptz;
        v_at := period_end;
    END LOOP;
END
$f$;

-- THE grant rule: what the grants not revoked add to each metric's limit in the period
-- [p_start, p_end) of p_org.
CREATE OR REPLACE FUNCTION usagectl_granted(p_org text, p_start timestamptz, p_end timestamptz)
RETURNS TABLE (metric text, granted bigint)
-- PL/pgSQL: a warm session keeps the statement's plan.
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $f$
BEGIN
    RETURN QUERY
    SELECT g.metric, sum(g.amount)::bigint
      FROM usagectl_grants g
     WHERE g.org_id = p_org AND g.period_start >= p_start AND g.period_start < p_end
       AND NOT EXISTS (SELECT 1 FROM usagectl_grant_revocations r WHERE r.grant_id = g.id)
     GROUP BY g.metric;
END
$f$;
