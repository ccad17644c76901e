-- Billing periods in zones off UTC (Asia/Kathmandu: 18:15 UTC) start and end inside UTC
-- days, and the read path read those partial days from the raw rows: for a whale with its
-- rows spread over the table, every read of its period paid for every org's rows in those
-- hours. The boundary rollup splits the UTC day of each registered period boundary into
-- the part before it and the part from it on, per event type and model, so a period's
-- partial days are read like its whole days: rollup rows plus the rows the fold has not
-- reached. Only the fold, the registration and the UPDATE/DELETE/TRUNCATE triggers write
-- it: the web app's inserts pay nothing. A boundary that is not registered (a window that
-- is not a period, a period `maintain` has not reached) is read raw, as before: exact
-- either way, only slower.

-- the boundaries counted: every row here has its two sides in usagectl_boundary_usage
CREATE TABLE IF NOT EXISTS usagectl_boundaries (
    org_id text NOT NULL,
    boundary timestamptz NOT NULL,
    -- the start of the boundary's UTC day
    day_start timestamptz GENERATED ALWAYS AS (date_trunc('day', boundary AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') STORED,
    registered_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, boundary),
    CHECK (boundary > day_start AND boundary < day_start + interval '24 hours')
);
-- the read path looks a boundary up by its instant (every org at once for status --all)
CREATE INDEX IF NOT EXISTS usagectl_boundaries_at ON usagectl_boundaries (boundary);

-- the rows the daily rollup counts (folded: numbered up to the watermark, or from before
-- the numbering) of the boundary's UTC day, before it (after_boundary false) and from it
-- on (true); no row for a side with no events
CREATE TABLE IF NOT EXISTS usagectl_boundary_usage (
    org_id text NOT NULL,
    boundary timestamptz NOT NULL,
    after_boundary boolean NOT NULL,
    event_type text NOT NULL,
    model text NOT NULL,
    events bigint NOT NULL,
    quantity bigint NOT NULL,
    first_event timestamptz NOT NULL,
    last_event timestamptz NOT NULL,
    PRIMARY KEY (org_id, boundary, after_boundary, event_type, model),
    FOREIGN KEY (org_id, boundary) REFERENCES usagectl_boundaries ON DELETE CASCADE
);
-- one org at a time for a role scoped to it, like the daily rollup (migration 7)
ALTER TABLE usagectl_boundary_usage ENABLE ROW LEVEL SECURITY;
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_policies
                   WHERE tablename = 'usagectl_boundary_usage' AND policyname = 'usagectl boundary rollup per org') THEN
        CREATE POLICY "usagectl boundary rollup per org" ON usagectl_boundary_usage
            FOR SELECT USING (org_id = current_setting('app.current_org_id', true));
    END IF;
END
$$;

-- THE side rule: the folded rows (numbered up to the watermark, or from before the
-- numbering) of p_org's UTC day of p_boundary, on their side of it (from it on: after),
-- per event type and model. The recount writes it, doctor compares the rollup with it.
CREATE OR REPLACE FUNCTION usagectl_boundary_sides(p_org text, p_boundary timestamptz)
RETURNS TABLE (after_boundary boolean, event_type text, model text, events bigint, quantity bigint,
               first_event timestamptz, last_event timestamptz)
LANGUAGE sql STABLE SET search_path = pg_catalog, public AS $f$
    SELECT e.created_at >= p_boundary, e.event_type, usagectl_model_key(e.event_type, e.metadata),
           count(*), sum(e.quantity)::bigint, min(e.created_at), max(e.created_at)
      FROM usage_events e
     WHERE e.org_id = p_org
       AND e.created_at >= date_trunc('day', p_boundary AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
       AND e.created_at < (date_trunc('day', p_boundary AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') + interval '24 hours'
       AND (e.usagectl_seq IS NULL OR e.usagectl_seq <= (SELECT f.watermark FROM usagectl_fold_state f))
     GROUP BY 1, 2, 3
$f$;

-- Count one registered boundary's two sides afresh. The caller holds the watermark row
-- (shared or for update); the boundary's own row is locked here, so two corrections
-- recounting one boundary take turns.
CREATE OR REPLACE FUNCTION usagectl_boundary_recount(p_org text, p_boundary timestamptz) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $f$
BEGIN
    PERFORM 1 FROM usagectl_boundaries b WHERE b.org_id = p_org AND b.boundary = p_boundary FOR UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    DELETE FROM usagectl_boundary_usage u WHERE u.org_id = p_org AND u.boundary = p_boundary;
    INSERT INTO usagectl_boundary_usage (org_id, boundary, after_boundary, event_type, model, events,
                                         quantity, first_event, last_event)
    SELECT p_org, p_boundary, s.after_boundary, s.event_type, s.model, s.events, s.quantity,
           s.first_event, s.last_event
      FROM usagectl_boundary_sides(p_org, p_boundary) s;
END
$f$;

-- Register the period boundaries inside UTC days of p_org's periods overlapping [p_from,
-- p_to] (every org with billing settings when p_org is NULL), counting each new one from
-- the raw rows; returns how many were new. Serialised with the fold and the correction
-- triggers (the watermark row for update). Nothing while a backfill is pending: the
-- rollup is not read then, and the backfill does not count boundaries.
CREATE OR REPLACE FUNCTION usagectl_register_boundaries(p_org text, p_from timestamptz, p_to timestamptz)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $f$
DECLARE
    v_orgs text[];
    v_ats timestamptz[];
    v_new integer := 0;
BEGIN
    IF EXISTS (SELECT 1 FROM usagectl_rollup_backfill WHERE NOT done) THEN
        RETURN 0;
    END IF;
    -- the boundaries not registered yet, found without a lock (a run with nothing new, what
    -- cron sees almost every minute, takes none)
    SELECT array_agg(n.org_id ORDER BY n.org_id, n.at), array_agg(n.at ORDER BY n.org_id, n.at)
      INTO v_orgs, v_ats
      FROM (SELECT DISTINCT o.org_id, x.at
              FROM (SELECT DISTINCT s.org_id FROM usagectl_org_settings s
                     WHERE p_org IS NULL OR s.org_id = p_org) o
             CROSS JOIN LATERAL usagectl_periods(o.org_id, p_from, p_to) p
             CROSS JOIN LATERAL (VALUES (p.period_start), (p.period_end)) x(at)
             WHERE isfinite(x.at) AND x.at <> date_trunc('day', x.at, 'UTC')
               AND NOT EXISTS (SELECT 1 FROM usagectl_boundaries r
                                WHERE r.org_id = o.org_id AND r.boundary = x.at)) n;
    IF v_orgs IS NULL THEN
        RETURN 0;
    END IF;
    -- serialised with the fold and the correction triggers while each is counted
    PERFORM 1 FROM usagectl_fold_state FOR UPDATE;
    FOR i IN 1 .. cardinality(v_orgs) LOOP
        INSERT INTO usagectl_boundaries (org_id, boundary) VALUES (v_orgs[i], v_ats[i])
        ON CONFLICT (org_id, boundary) DO NOTHING;
        IF FOUND THEN
            PERFORM usagectl_boundary_recount(v_orgs[i], v_ats[i]);
            v_new := v_new + 1;
        END IF;
    END LOOP;
    RETURN v_new;
END
$f$;

-- Corrections: every registered boundary of the (org, UTC day) pairs a statement's folded
-- old or new rows fall in is counted afresh from the raw rows, which the statement has
-- changed by then (rows the fold has not reached are on neither side yet: the fold counts
-- them as they are then). The triggers fire after the daily rollup's (by name), so a
-- correction takes the daily rollup's rows before a boundary's, as doctor --repair does.
CREATE OR REPLACE FUNCTION usagectl_boundary_recount_days(p_orgs text[], p_days timestamptz[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $f$
DECLARE
    g record;
BEGIN
    FOR g IN SELECT DISTINCT b.org_id, b.boundary
               FROM usagectl_boundaries b JOIN unnest(p_orgs, p_days) t(org_id, day)
                 ON b.org_id = t.org_id AND b.day_start = t.day
              ORDER BY 1, 2 LOOP
        PERFORM usagectl_boundary_recount(g.org_id, g.boundary);
    END LOOP;
END
$f$;

CREATE OR REPLACE FUNCTION usagectl_boundary_on_delete() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $f$
DECLARE
    v_w bigint;
    v_orgs text[];
    v_days timestamptz[];
BEGIN
    SELECT f.watermark INTO v_w FROM usagectl_fold_state f FOR SHARE;
    SELECT array_agg(d.org_id), array_agg(d.day) INTO v_orgs, v_days
      FROM (SELECT DISTINCT o.org_id, date_trunc('day', o.created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS day
              FROM usagectl_old_rows o
             WHERE o.usagectl_seq IS NULL OR o.usagectl_seq <= v_w) d;
    PERFORM usagectl_boundary_recount_days(v_orgs, v_days);
    RETURN NULL;
END
$f$;

CREATE OR REPLACE FUNCTION usagectl_boundary_on_update() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $f$
DECLARE
    v_w bigint;
    v_orgs text[];
    v_days timestamptz[];
BEGIN
    SELECT f.watermark INTO v_w FROM usagectl_fold_state f FOR SHARE;
    SELECT array_agg(d.org_id), array_agg(d.day) INTO v_orgs, v_days
      FROM (SELECT DISTINCT r.org_id, date_trunc('day', r.created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS day
              FROM (SELECT o.org_id, o.created_at, o.usagectl_seq FROM usagectl_old_rows o
                    UNION ALL
                    SELECT n.org_id, n.created_at, n.usagectl_seq FROM usagectl_new_rows n) r
             WHERE r.usagectl_seq IS NULL OR r.usagectl_seq <= v_w) d;
    PERFORM usagectl_boundary_recount_days(v_orgs, v_days);
    RETURN NULL;
END
$f$;

CREATE OR REPLACE FUNCTION usagectl_boundary_on_truncate() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $f$
BEGIN
    -- the boundaries stay registered, with no events on either side
    DELETE FROM usagectl_boundary_usage;
    RETURN NULL;
END
$f$;

-- The fold (migration 20), now also counting the registered boundaries' sides: the rows
-- numbered (watermark, L] into the rollup, L being usagectl_settled_seq() (migration 19):
-- the sequence's last value when the fold starts, once every transaction that was writing
-- usage_events then has ended (what CREATE INDEX CONCURRENTLY waits for), so no row
-- numbered <= L can still commit later. It takes no table lock: inserts never wait for it.
-- UPDATE and DELETE triggers share-lock the watermark row, the fold locks it for update: a
-- correction is applied either to a folded row (by its trigger) or before the fold reads
-- it, never both.
CREATE OR REPLACE FUNCTION usagectl_fold(p_max_wait interval DEFAULT interval '30 seconds')
RETURNS TABLE (r_from bigint, r_to bigint, r_events bigint, r_waited interval)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public SET plan_cache_mode = force_custom_plan AS $f$
DECLARE
    v_started timestamptz := clock_timestamp();
    v_last bigint;
    v_waited interval;
    v_w bigint;
    v_events bigint;
    v_message text;
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'usagectl_fold() needs READ COMMITTED isolation (it must see what commits while it waits)'
            USING ERRCODE = '25001';
    END IF;
    BEGIN
        v_last := usagectl_settled_seq(p_max_wait);
    EXCEPTION WHEN lock_not_available THEN
        GET STACKED DIAGNOSTICS v_message = MESSAGE_TEXT;
        RAISE EXCEPTION 'usagectl_fold() %', v_message
            USING ERRCODE = '55P03',
                  HINT = 'a transaction that inserted into usage_events is still open; reads stay exact meanwhile';
    END;
    v_waited := clock_timestamp() - v_started;
    -- serialised with other folds, the registration and the UPDATE/DELETE triggers
    SELECT f.watermark INTO v_w FROM usagectl_fold_state f FOR UPDATE;
    IF v_last <= v_w THEN
        RETURN QUERY SELECT v_w, v_w, 0::bigint, v_waited;
        RETURN;
    END IF;
    -- groups in key order, like every other writer of the rollup
    WITH agg AS MATERIALIZED (
        SELECT e.org_id, (e.created_at AT TIME ZONE 'UTC')::date AS day, e.event_type,
               usagectl_model_key(e.event_type, e.metadata) AS model,
               count(*) AS n, sum(e.quantity)::bigint AS q, min(e.created_at) AS f, max(e.created_at) AS l
          FROM usage_events e
         WHERE e.usagectl_seq > v_w AND e.usagectl_seq <= v_last
         GROUP BY 1, 2, 3, 4
         ORDER BY 1, 2, 3, 4),
    up AS (
        INSERT INTO usagectl_daily_usage AS d (org_id, day, event_type, model, events, quantity, first_event, last_event)
        SELECT agg.org_id, agg.day, agg.event_type, agg.model, agg.n, agg.q, agg.f, agg.l FROM agg
        ON CONFLICT (org_id, day, event_type, model) DO UPDATE
            SET events = d.events + EXCLUDED.events,
                quantity = d.quantity + EXCLUDED.quantity,
                first_event = least(d.first_event, EXCLUDED.first_event),
                last_event = greatest(d.last_event, EXCLUDED.last_event))
    SELECT coalesce(sum(agg.n), 0)::bigint INTO v_events FROM agg;
    -- the same rows on their side of each registered boundary of their org and UTC day
    INSERT INTO usagectl_boundary_usage AS u (org_id, boundary, after_boundary, event_type, model, events,
                                              quantity, first_event, last_event)
    SELECT b.org_id, b.boundary, e.created_at >= b.boundary, e.event_type,
           usagectl_model_key(e.event_type, e.metadata), count(*), sum(e.quantity)::bigint,
           min(e.created_at), max(e.created_at)
      FROM usage_events e
      JOIN usagectl_boundaries b ON b.org_id = e.org_id AND e.created_at >= b.day_start
                                AND e.created_at < b.day_start + interval '24 hours'
     WHERE e.usagectl_seq > v_w AND e.usagectl_seq <= v_last
     GROUP BY 1, 2, 3, 4, 5
     ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (org_id, boundary, after_boundary, event_type, model) DO UPDATE
        SET events = u.events + EXCLUDED.events,
            quantity = u.quantity + EXCLUDED.quantity,
            first_event = least(u.first_event, EXCLUDED.first_event),
            last_event = greatest(u.last_event, EXCLUDED.last_event);
    UPDATE usagectl_fold_state SET watermark = v_last, folded_at = now(), folded_events = v_events;
    RETURN QUERY SELECT v_w, v_last, v_events, v_waited;
END
$f$;

-- The read path's partial UTC days, [p_from, p_lo) and [p_hi, p_to) (migration 20): for an
-- org whose boundary p_from (or p_to) is registered, the boundary rollup's side plus the
-- org's rows the fold has not reached; for every other org the raw rows, planned without
-- bitmap scans (a bitmap of a whale's rows is as large as its whole history). One
-- snapshot with the caller (STABLE), so the watermark, the boundary rollup and the rows
-- above the watermark agree.
CREATE OR REPLACE FUNCTION usagectl_usage_edges(p_orgs text[], p_types text[], p_from timestamptz,
                                                p_lo timestamptz, p_hi timestamptz, p_to timestamptz)
RETURNS TABLE (org_id text, event_type text, day date, model text, events bigint, quantity bigint,
               first_event timestamptz, last_event timestamptz)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, public SET plan_cache_mode = force_custom_plan SET enable_bitmapscan = off AS $f$
DECLARE
    v_seen bigint;
    v_at_from text[] := '{}'::text[];
    v_at_to text[] := '{}'::text[];
BEGIN
    IF has_table_privilege('usagectl_boundaries', 'SELECT')
       AND has_table_privilege('usagectl_boundary_usage', 'SELECT') THEN
        IF p_from < p_lo THEN
            SELECT coalesce(array_agg(b.org_id), '{}'::text[]) INTO v_at_from FROM usagectl_boundaries b
             WHERE b.boundary = p_from AND (p_orgs IS NULL OR b.org_id = ANY (p_orgs));
        END IF;
        IF p_hi < p_to THEN
            SELECT coalesce(array_agg(b.org_id), '{}'::text[]) INTO v_at_to FROM usagectl_boundaries b
             WHERE b.boundary = p_to AND (p_orgs IS NULL OR b.org_id = ANY (p_orgs));
        END IF;
    END IF;
    IF cardinality(v_at_from) > 0 OR cardinality(v_at_to) > 0 THEN
        SELECT f.watermark INTO v_seen FROM usagectl_fold_state f;
        RETURN QUERY
        SELECT r.org_id, r.event_type, r.day, r.model, sum(r.events)::bigint, sum(r.quantity)::bigint,
               min(r.first_event), max(r.last_event)
          FROM (
            SELECT u.org_id, u.event_type, (u.boundary AT TIME ZONE 'UTC')::date AS day, u.model,
                   u.events, u.quantity, u.first_event, u.last_event
              FROM usagectl_boundary_usage u
             WHERE ((u.boundary = p_from AND u.after_boundary AND u.org_id = ANY (v_at_from))
                    OR (u.boundary = p_to AND NOT u.after_boundary AND u.org_id = ANY (v_at_to)))
               AND (p_types IS NULL OR u.event_type = ANY (p_types))
            UNION ALL
            SELECT e.org_id, e.event_type, (e.created_at AT TIME ZONE 'UTC')::date,
                   usagectl_model_key(e.event_type, e.metadata), 1::bigint, e.quantity::bigint,
                   e.created_at, e.created_at
              FROM usage_events e
             WHERE e.usagectl_seq > v_seen AND (p_types IS NULL OR e.event_type = ANY (p_types))
               AND ((e.org_id = ANY (v_at_from) AND e.created_at >= p_from AND e.created_at < p_lo)
                    OR (e.org_id = ANY (v_at_to) AND e.created_at >= p_hi AND e.created_at < p_to))
          ) r
         GROUP BY 1, 2, 3, 4;
    END IF;
    -- every other org: when only registered orgs were asked for, nothing is left to read
    IF p_orgs IS NOT NULL AND p_orgs <@ v_at_from AND p_orgs <@ v_at_to THEN
        RETURN;
    END IF;
    RETURN QUERY
    SELECT r.org_id, r.event_type, (r.created_at AT TIME ZONE 'UTC')::date,
           usagectl_model_key(r.event_type, r.metadata), count(*)::bigint,
           coalesce(sum(r.quantity), 0)::bigint, min(r.created_at), max(r.created_at)
      FROM (
        SELECT e.org_id, e.event_type, e.metadata, e.quantity, e.created_at
          FROM usage_events e
         WHERE (p_orgs IS NULL OR e.org_id = ANY (p_orgs)) AND (p_types IS NULL OR e.event_type = ANY (p_types))
           AND e.created_at >= p_from AND e.created_at < p_lo
           AND NOT (p_orgs IS NOT NULL AND p_orgs <@ v_at_from) AND NOT (e.org_id = ANY (v_at_from))
        UNION ALL
        SELECT e.org_id, e.event_type, e.metadata, e.quantity, e.created_at
          FROM usage_events e
         WHERE (p_orgs IS NULL OR e.org_id = ANY (p_orgs)) AND (p_types IS NULL OR e.event_type = ANY (p_types))
           AND e.created_at >= p_hi AND e.created_at < p_to
           AND NOT (p_orgs IS NOT NULL AND p_orgs <@ v_at_to) AND NOT (e.org_id = ANY (v_at_to))
      ) r
     GROUP BY 1, 2, 3, 4;
END
$f$;

-- the counting functions are for the triggers, the fold's callers and the owner: a role
-- that could call them could hold the watermark row
REVOKE EXECUTE ON FUNCTION usagectl_boundary_recount(text, timestamptz) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION usagectl_boundary_recount_days(text[], timestamptz[]) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION usagectl_register_boundaries(text, timestamptz, timestamptz) FROM PUBLIC;

-- last: creating a trigger locks usage_events against inserts until the migration commits
-- (named usagectl_sides_*: they fire after migration 7's usagectl_rollup_* triggers)
CREATE OR REPLACE TRIGGER usagectl_sides_delete AFTER DELETE ON usage_events
    REFERENCING OLD TABLE AS usagectl_old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION usagectl_boundary_on_delete();
CREATE OR REPLACE TRIGGER usagectl_sides_update AFTER UPDATE ON usage_events
    REFERENCING OLD TABLE AS usagectl_old_rows NEW TABLE AS usagectl_new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION usagectl_boundary_on_update();
CREATE OR REPLACE TRIGGER usagectl_sides_truncate AFTER TRUNCATE ON usage_events
    FOR EACH STATEMENT EXECUTE FUNCTION usagectl_boundary_on_truncate();
