-- Billing periods per org (anchor day, IANA time zone) and time-boxed grants.
--
-- An org's settings as a history: each row is in force from effective_from (the first
-- settings of an org without events: -infinity, i.e. for all its periods) until the next
-- row's. A change for an org with events is in force from the end of its current period,
-- so no period is cut short or counted twice. An org without rows has anchor day 1 in
-- UTC: calendar months, as before.
CREATE TABLE IF NOT EXISTS usagectl_org_settings (
    org_id text NOT NULL,
    effective_from timestamptz NOT NULL,
    anchor_day smallint NOT NULL CHECK (anchor_day BETWEEN 1 AND 31),
    time_zone text NOT NULL CHECK (time_zone <> ''),
    set_at timestamptz NOT NULL DEFAULT now(),
    set_by text NOT NULL DEFAULT current_user,
    set_by_os text,
    PRIMARY KEY (org_id, effective_from)
);

-- Grants: one metric's limit raised by amount for the billing period of org_id that
-- contains period_start (the period's first instant when it was granted). Append-only:
-- a revoke is a row of usagectl_grant_revocations, and a trigger refuses UPDATE, DELETE
-- and TRUNCATE of both tables.
CREATE TABLE IF NOT EXISTS usagectl_grants (
    id bigserial PRIMARY KEY,
    org_id text NOT NULL,
    metric text NOT NULL CHECK (metric IN ('csv_uploads', 'csv_rows', 'analyses', 'chat_messages',
                                           'ai_tokens', 'mapping_profiles')),
    amount bigint NOT NULL CHECK (amount > 0),
    period_start timestamptz NOT NULL,
    period_end timestamptz NOT NULL CHECK (period_end > period_start),
    reason text NOT NULL CHECK (btrim(reason) <> ''),
    granted_at timestamptz NOT NULL DEFAULT now(),
    granted_by text NOT NULL DEFAULT current_user,
    granted_by_os text
);
CREATE INDEX IF NOT EXISTS usagectl_grants_org ON usagectl_grants (org_id, period_start);
CREATE TABLE IF NOT EXISTS usagectl_grant_revocations (
    grant_id bigint PRIMARY KEY REFERENCES usagectl_grants (id),
    reason text NOT NULL CHECK (btrim(reason) <> ''),
    revoked_at timestamptz NOT NULL DEFAULT now(),
    revoked_by text NOT NULL DEFAULT current_user,
    revoked_by_os text
);
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
LANGUAGE sql STABLE SET search_path = pg_catalog AS $f$
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

-- The period `--month YYYY-MM` names: the one that contains the anchor instant of that
-- month under the settings in force then (the regular period starting in the month, in
-- the org's zone).
CREATE OR REPLACE FUNCTION usagectl_period_in_month(p_org text, p_year integer, p_month integer,
                                                    OUT period_start timestamptz, OUT period_end timestamptz,
                                                    OUT anchor_day integer, OUT time_zone text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $f$
DECLARE
    v_at timestamptz := usagectl_anchor_instant(p_year, p_month, 1, 'UTC');
    v_candidate timestamptz;
    r record;
BEGIN
    FOR r IN SELECT s.effective_from, s.anchor_day, s.time_zone FROM usagectl_org_settings s
              WHERE s.org_id = p_org ORDER BY s.effective_from LOOP
        v_candidate := usagectl_anchor_instant(p_year, p_month, r.anchor_day, r.time_zone);
        IF r.effective_from <= v_candidate THEN
            v_at := v_candidate;
        END IF;
    END LOOP;
    SELECT p.period_start, p.period_end, p.anchor_day, p.time_zone
      INTO period_start, period_end, anchor_day, time_zone
      FROM usagectl_period(p_org, v_at) p;
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
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $f$
    SELECT g.metric, sum(g.amount)::bigint
      FROM usagectl_grants g
     WHERE g.org_id = p_org AND g.period_start >= p_start AND g.period_start < p_end
       AND NOT EXISTS (SELECT 1 FROM usagectl_grant_revocations r WHERE r.grant_id = g.id)
     GROUP BY g.metric
$f$;

-- record --enforce within the org's billing period: the org lock, then (under it) the
-- period that contains the event's instant, the limit plus the period's grants for
-- p_metric, the usage (all time up to the period's end when p_all_time) and the insert, in
-- one call. p_limit is the tier or override limit (never -1: an unlimited metric is not
-- checked). migration 8's usagectl_record_enforced (a UTC month passed by the caller)
-- stays for usagectl builds before this one.
CREATE OR REPLACE FUNCTION usagectl_record_in_period(
    p_org text, p_type text, p_quantity integer, p_metadata jsonb, p_created_at timestamptz,
    p_key text, p_metric text, p_counted_types text[], p_all_time boolean, p_limit bigint)
RETURNS TABLE (r_outcome text, r_current bigint, r_limit bigint, r_period_start timestamptz,
               r_period_end timestamptz, r_id uuid, r_org_id text, r_event_type text,
               r_quantity integer, r_metadata jsonb, r_created_at timestamptz, r_idempotency_key text)
LANGUAGE plpgsql SET search_path = pg_catalog, public AS $f$
DECLARE
    v_outcome text := 'inserted';
    v_at timestamptz := coalesce(p_created_at, now());
    v_start timestamptz;
    v_end timestamptz;
    v_limit bigint;
    v_current bigint;
    v_allowed boolean;
    v_row usage_events%ROWTYPE;
BEGIN
    PERFORM usagectl_lock_org(p_org);
    IF p_key IS NOT NULL THEN
        SELECT * INTO v_row FROM usage_events e WHERE e.org_id = p_org AND e.idempotency_key = p_key;
        IF FOUND THEN
            v_outcome := 'duplicate';
        END IF;
    END IF;
    IF v_outcome = 'inserted' THEN
        SELECT p.period_start, p.period_end INTO v_start, v_end FROM usagectl_period(p_org, v_at) p;
        v_limit := p_limit + coalesce((SELECT g.granted FROM usagectl_granted(p_org, v_start, v_end) g
                                        WHERE g.metric = p_metric), 0);
        SELECT c.current, c.allowed INTO v_current, v_allowed
          FROM usagectl_quota_check(p_org, p_counted_types, CASE WHEN p_all_time THEN NULL ELSE v_start END,
                                    v_end, v_limit, p_quantity) c;
        IF NOT v_allowed THEN
            v_outcome := 'refused';
        ELSE
            INSERT INTO usage_events AS e (org_id, event_type, quantity, metadata, created_at, idempotency_key)
            VALUES (p_org, p_type, p_quantity, p_metadata, v_at, p_key)
            ON CONFLICT (org_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
            RETURNING e.* INTO v_row;
            IF NOT FOUND THEN
                SELECT * INTO v_row FROM usage_events e
                 WHERE e.org_id = p_org AND e.idempotency_key = p_key;
                v_outcome := 'duplicate';
            END IF;
        END IF;
    END IF;
    RETURN QUERY SELECT v_outcome, v_current, v_limit, v_start, v_end, v_row.id, v_row.org_id,
        v_row.event_type, v_row.quantity, v_row.metadata, v_row.created_at, v_row.idempotency_key;
END
$f$
