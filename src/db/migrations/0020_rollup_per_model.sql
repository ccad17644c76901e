-- AI cost per org (issue 17) needs token counts per model. The daily rollup gains a model
-- dimension: the model a token event names, '' for every other event (and for a token
-- event that names none), so every other row of the rollup stays as it is. Only the fold
-- and the correction triggers write it: the web app's inserts pay nothing for it.

-- THE model rule: the model a row is counted under in the rollup and in `costs`. Only the
-- two token types carry one; a name longer than 200 characters (no price can be set for
-- it) is cut to 200, so a rollup key never outgrows a btree entry.
CREATE OR REPLACE FUNCTION usagectl_model_key(p_type text, p_metadata jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$
    SELECT CASE WHEN p_type IN ('ai_tokens_input', 'ai_tokens_output')
                THEN coalesce(left(p_metadata ->> 'model', 200), '')
                ELSE '' END
$f$;

-- serialised with the fold and the UPDATE/DELETE triggers (they lock this row first)
SELECT f.watermark FROM usagectl_fold_state f FOR UPDATE;
LOCK TABLE usagectl_daily_usage IN ACCESS EXCLUSIVE MODE;
ALTER TABLE usagectl_daily_usage ADD COLUMN IF NOT EXISTS model text NOT NULL DEFAULT '';
ALTER TABLE usagectl_daily_usage DROP CONSTRAINT IF EXISTS usagectl_daily_usage_pkey;
ALTER TABLE usagectl_daily_usage ADD CONSTRAINT usagectl_daily_usage_pkey
    PRIMARY KEY (org_id, day, event_type, model);
-- the token rows already counted are counted again, per model: the folded rows (numbered up
-- to the watermark, or from before the numbering); a day still waiting for its backfill is
-- overwritten by it, key by key, with the same figures
DELETE FROM usagectl_daily_usage WHERE event_type IN ('ai_tokens_input', 'ai_tokens_output');
INSERT INTO usagectl_daily_usage (org_id, day, event_type, model, events, quantity, first_event, last_event)
SELECT e.org_id, (e.created_at AT TIME ZONE 'UTC')::date, e.event_type,
       usagectl_model_key(e.event_type, e.metadata), count(*), sum(e.quantity)::bigint,
       min(e.created_at), max(e.created_at)
  FROM usage_events e
 WHERE e.event_type IN ('ai_tokens_input', 'ai_tokens_output')
   AND (e.usagectl_seq IS NULL OR e.usagectl_seq <= (SELECT f.watermark FROM usagectl_fold_state f))
 GROUP BY 1, 2, 3, 4;

DROP FUNCTION IF EXISTS usagectl_rollup_add(text, date, text, bigint, bigint, timestamptz, timestamptz);
DROP FUNCTION IF EXISTS usagectl_rollup_sub(text, date, text, bigint, bigint, timestamptz, timestamptz);

CREATE OR REPLACE FUNCTION usagectl_rollup_add(p_org text, p_day date, p_type text, p_model text,
                                               p_events bigint, p_quantity bigint,
                                               p_first timestamptz, p_last timestamptz)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $f$
BEGIN
    -- a day still waiting for its backfill is counted by the backfill
    PERFORM 1 FROM usagectl_rollup_backfill WHERE day = p_day AND NOT done FOR SHARE;
    IF FOUND THEN
        RETURN;
    END IF;
    INSERT INTO usagectl_daily_usage AS d (org_id, day, event_type, model, events, quantity, first_event, last_event)
    VALUES (p_org, p_day, p_type, p_model, p_events, p_quantity, p_first, p_last)
    ON CONFLICT (org_id, day, event_type, model) DO UPDATE
        SET events = d.events + EXCLUDED.events,
            quantity = d.quantity + EXCLUDED.quantity,
            first_event = least(d.first_event, EXCLUDED.first_event),
            last_event = greatest(d.last_event, EXCLUDED.last_event);
END
$f$;

-- a correction's subtraction; the first/last instants it recomputes are those of the rows
-- already folded (the caller holds the watermark row)
CREATE OR REPLACE FUNCTION usagectl_rollup_sub(p_org text, p_day date, p_type text, p_model text,
                                               p_events bigint, p_quantity bigint,
                                               p_first timestamptz, p_last timestamptz)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $f$
DECLARE
    r record;
BEGIN
    PERFORM 1 FROM usagectl_rollup_backfill WHERE day = p_day AND NOT done FOR SHARE;
    IF FOUND THEN
        RETURN;
    END IF;
    UPDATE usagectl_daily_usage
       SET events = events - p_events, quantity = quantity - p_quantity
     WHERE org_id = p_org AND day = p_day AND event_type = p_type AND model = p_model
    RETURNING events, first_event, last_event INTO r;
    IF NOT FOUND THEN
        RETURN; -- drift: usagectl doctor reports it
    END IF;
    IF r.events <= 0 THEN
        DELETE FROM usagectl_daily_usage
         WHERE org_id = p_org AND day = p_day AND event_type = p_type AND model = p_model;
    ELSIF p_first <= r.first_event OR p_last >= r.last_event THEN
        UPDATE usagectl_daily_usage
           SET (first_event, last_event) = (
               SELECT min(e.created_at), max(e.created_at) FROM usage_events e
                WHERE e.org_id = p_org AND e.event_type = p_type
                  AND usagectl_model_key(e.event_type, e.metadata) = p_model
                  AND e.created_at >= (p_day::timestamp AT TIME ZONE 'UTC')
                  AND e.created_at < ((p_day + 1)::timestamp AT TIME ZONE 'UTC')
                  AND (e.usagectl_seq IS NULL
                       OR e.usagectl_seq <= (SELECT f.watermark FROM usagectl_fold_state f)))
         WHERE org_id = p_org AND day = p_day AND event_type = p_type AND model = p_model;
    END IF;
END
$f$;

-- corrections: folded rows (numbered <= watermark, or from before the sequence) are
-- adjusted here, the others are left to the fold, which will read them as they are then
CREATE OR REPLACE FUNCTION usagectl_rollup_on_delete() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $f$
DECLARE
    g record;
    v_w bigint;
BEGIN
    SELECT f.watermark INTO v_w FROM usagectl_fold_state f FOR SHARE;
    FOR g IN SELECT o.org_id, (o.created_at AT TIME ZONE 'UTC')::date AS day, o.event_type,
                    usagectl_model_key(o.event_type, o.metadata) AS model,
                    count(*) AS n, sum(o.quantity)::bigint AS q, min(o.created_at) AS f, max(o.created_at) AS l
               FROM usagectl_old_rows o
              WHERE o.usagectl_seq IS NULL OR o.usagectl_seq <= v_w
              GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    LOOP
        PERFORM usagectl_rollup_sub(g.org_id, g.day, g.event_type, g.model, g.n, g.q, g.f, g.l);
    END LOOP;
    RETURN NULL;
END
$f$;

CREATE OR REPLACE FUNCTION usagectl_rollup_on_update() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $f$
DECLARE
    g record;
    v_w bigint;
BEGIN
    SELECT f.watermark INTO v_w FROM usagectl_fold_state f FOR SHARE;
    -- old and new groups together, in key order (old before new for the same key), so an
    -- UPDATE locks rollup rows in the same order as every other statement; a metadata
    -- change that names another model moves the tokens between the two models' rows
    FOR g IN SELECT * FROM (
                 SELECT o.org_id, (o.created_at AT TIME ZONE 'UTC')::date AS day, o.event_type,
                        usagectl_model_key(o.event_type, o.metadata) AS model, 0 AS step,
                        count(*) AS n, sum(o.quantity)::bigint AS q, min(o.created_at) AS f, max(o.created_at) AS l
                   FROM usagectl_old_rows o
                  WHERE o.usagectl_seq IS NULL OR o.usagectl_seq <= v_w
                  GROUP BY 1, 2, 3, 4
                 UNION ALL
                 SELECT n.org_id, (n.created_at AT TIME ZONE 'UTC')::date, n.event_type,
                        usagectl_model_key(n.event_type, n.metadata), 1,
                        count(*), sum(n.quantity)::bigint, min(n.created_at), max(n.created_at)
                   FROM usagectl_new_rows n
                  WHERE n.usagectl_seq IS NULL OR n.usagectl_seq <= v_w
                  GROUP BY 1, 2, 3, 4) groups
             ORDER BY groups.org_id, groups.day, groups.event_type, groups.model, groups.step
    LOOP
        IF g.step = 0 THEN
            PERFORM usagectl_rollup_sub(g.org_id, g.day, g.event_type, g.model, g.n, g.q, g.f, g.l);
        ELSE
            PERFORM usagectl_rollup_add(g.org_id, g.day, g.event_type, g.model, g.n, g.q, g.f, g.l);
        END IF;
    END LOOP;
    RETURN NULL;
END
$f$;

-- The fold (migration 11), now per model: count the rows numbered (watermark, L] into the rollup and move the watermark
-- to L, where L is the sequence's last value when the fold starts. Before counting it waits
-- until every transaction that held a write lock on usage_events at that moment has ended
-- (what CREATE INDEX CONCURRENTLY waits for), so no row numbered <= L can still commit
-- later. It takes no table lock: inserts never wait for it. UPDATE and DELETE triggers
-- share-lock the watermark row, the fold locks it for update: a correction is applied
-- either to a folded row (by its trigger) or before the fold reads it, never both.
CREATE OR REPLACE FUNCTION usagectl_fold(p_max_wait interval DEFAULT interval '30 seconds')
RETURNS TABLE (r_from bigint, r_to bigint, r_events bigint, r_waited interval)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public SET plan_cache_mode = force_custom_plan AS $f$
DECLARE
    v_started timestamptz := clock_timestamp();
    v_last bigint;
    v_called boolean;
    v_writers text[];
    v_waited interval;
    v_w bigint;
    v_events bigint;
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'usagectl_fold() needs READ COMMITTED isolation (it must see what commits while it waits)'
            USING ERRCODE = '25001';
    END IF;
    SELECT s.last_value, s.is_called INTO v_last, v_called FROM usagectl_event_seq s;
    IF NOT v_called THEN
        v_last := v_last - 1;
    END IF;
    SELECT array_agg(DISTINCT l.virtualtransaction) INTO v_writers
      FROM pg_locks l
     WHERE l.locktype = 'relation' AND l.relation = 'usage_events'::regclass
       AND l.database = (SELECT d.oid FROM pg_database d WHERE d.datname = current_database())
       AND l.mode = 'RowExclusiveLock' AND l.granted
       AND l.pid IS DISTINCT FROM pg_backend_pid();
    WHILE v_writers IS NOT NULL AND EXISTS (SELECT 1 FROM pg_locks l
                                             WHERE l.locktype = 'relation' AND l.relation = 'usage_events'::regclass
                                               AND l.virtualtransaction = ANY (v_writers)) LOOP
        IF clock_timestamp() - v_started > p_max_wait THEN
            RAISE EXCEPTION 'usagectl_fold() waited % for transactions writing to usage_events to end (pids %)',
                p_max_wait,
                (SELECT string_agg(DISTINCT coalesce(l.pid::text, 'prepared'), ', ')
                   FROM pg_locks l WHERE l.locktype = 'relation' AND l.relation = 'usage_events'::regclass
                    AND l.virtualtransaction = ANY (v_writers))
                USING ERRCODE = '55P03',
                      HINT = 'a transaction that inserted into usage_events is still open; reads stay exact meanwhile';
        END IF;
        PERFORM pg_sleep(0.005);
    END LOOP;
    v_waited := clock_timestamp() - v_started;
    -- serialised with other folds and with the UPDATE/DELETE triggers
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
    UPDATE usagectl_fold_state SET watermark = v_last, folded_at = now(), folded_events = v_events;
    RETURN QUERY SELECT v_w, v_last, v_events, v_waited;
END
$f$;

-- The read path's partial UTC days, [p_from, p_lo) and [p_hi, p_to), from the raw rows:
-- a billing period in a zone off UTC (Asia/Kathmandu: 18:15 UTC) starts and ends inside
-- UTC days. Planned without bitmap scans: a bitmap of an org's rows is as large as the
-- org's whole history, and when a day's rows are spread over the table the planner ANDs a
-- whale's (1M entries, 20 ms at 5M events) into a read of a few hours of rows (10,000 rows,
-- 2 ms through created_at alone); without bitmaps it reads those hours through the
-- created_at index, or a small org's rows through org_id. Custom plans: the bounds are
-- values to the planner.
CREATE OR REPLACE FUNCTION usagectl_usage_edges(p_orgs text[], p_types text[], p_from timestamptz,
                                                p_lo timestamptz, p_hi timestamptz, p_to timestamptz)
RETURNS TABLE (org_id text, event_type text, day date, model text, events bigint, quantity bigint,
               first_event timestamptz, last_event timestamptz)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, public SET plan_cache_mode = force_custom_plan SET enable_bitmapscan = off AS $f$
BEGIN
    RETURN QUERY
    SELECT r.org_id, r.event_type, (r.created_at AT TIME ZONE 'UTC')::date,
           usagectl_model_key(r.event_type, r.metadata), count(*)::bigint,
           coalesce(sum(r.quantity), 0)::bigint, min(r.created_at), max(r.created_at)
      FROM (
        SELECT e.org_id, e.event_type, e.metadata, e.quantity, e.created_at
          FROM usage_events e
         WHERE (p_orgs IS NULL OR e.org_id = ANY (p_orgs)) AND (p_types IS NULL OR e.event_type = ANY (p_types))
           AND e.created_at >= p_from AND e.created_at < p_lo
        UNION ALL
        SELECT e.org_id, e.event_type, e.metadata, e.quantity, e.created_at
          FROM usage_events e
         WHERE (p_orgs IS NULL OR e.org_id = ANY (p_orgs)) AND (p_types IS NULL OR e.event_type = ANY (p_types))
           AND e.created_at >= p_hi AND e.created_at < p_to
      ) r
     GROUP BY 1, 2, 3, 4;
END
$f$;

-- THE read path (migration 15's usagectl_usage_of), per model as well: usage per org, event
-- type, UTC day and model (usagectl_model_key) over [p_from, p_to) of the orgs in p_orgs
-- (NULL: every org; p_from NULL: since the beginning; p_types NULL: every type). Whole UTC
-- days come from the rollup plus the rows the fold has not reached yet, the partial days at
-- either end from the raw rows (usagectl_usage_edges()); one snapshot: a STABLE function's
-- statements, and those of the STABLE functions it calls, all read the calling statement's. SECURITY INVOKER: the caller's privileges and
-- RLS policies apply. Custom plans, so the planner sees the bounds, the orgs and the
-- watermark.
CREATE OR REPLACE FUNCTION usagectl_usage_by_model(p_orgs text[], p_types text[], p_from timestamptz, p_to timestamptz)
RETURNS TABLE (org_id text, event_type text, day date, model text, events bigint, quantity bigint,
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
        SELECT e.org_id, e.event_type, (e.created_at AT TIME ZONE 'UTC')::date,
               usagectl_model_key(e.event_type, e.metadata), count(*),
               coalesce(sum(e.quantity), 0)::bigint, min(e.created_at), max(e.created_at)
          FROM usage_events e
         WHERE (p_orgs IS NULL OR e.org_id = ANY (p_orgs)) AND (p_types IS NULL OR e.event_type = ANY (p_types))
           AND (p_from IS NULL OR e.created_at >= p_from) AND e.created_at < p_to
         GROUP BY 1, 2, 3, 4;
        RETURN;
    END IF;
    -- a STABLE function's statements all read the calling statement's snapshot, so this
    -- watermark agrees with the rollup the query below reads; as a value, it tells the
    -- planner how few rows lie above it
    SELECT f.watermark INTO v_seen FROM usagectl_fold_state f;
    RETURN QUERY
    SELECT u.org_id, u.event_type, u.day, u.model, sum(u.events)::bigint, sum(u.quantity)::bigint,
           min(u.first_event), max(u.last_event)
      FROM (
        SELECT d.org_id, d.event_type, d.day, d.model, d.events, d.quantity, d.first_event, d.last_event
          FROM usagectl_daily_usage d
         WHERE (p_orgs IS NULL OR d.org_id = ANY (p_orgs)) AND (p_types IS NULL OR d.event_type = ANY (p_types))
           AND d.day >= (v_lo AT TIME ZONE 'UTC')::date AND d.day < (v_hi AT TIME ZONE 'UTC')::date
        UNION ALL
        SELECT e.org_id, e.event_type, (e.created_at AT TIME ZONE 'UTC')::date,
               usagectl_model_key(e.event_type, e.metadata), 1::bigint,
               e.quantity::bigint, e.created_at, e.created_at
          FROM usage_events e
         WHERE e.usagectl_seq > v_seen
           AND (p_orgs IS NULL OR e.org_id = ANY (p_orgs)) AND (p_types IS NULL OR e.event_type = ANY (p_types))
           AND e.created_at >= v_lo AND e.created_at < v_hi
      ) u
     GROUP BY 1, 2, 3, 4;
    -- the partial days at either end (days the query above does not read, so no group of
    -- one statement is also a group of the other)
    IF p_from < v_lo OR v_hi < p_to THEN
        RETURN QUERY SELECT * FROM usagectl_usage_edges(p_orgs, p_types, p_from, v_lo, v_hi, p_to);
    END IF;
END
$f$;

-- usagectl_usage_of() keeps its signature and its grants: the read path above, summed over
-- the models
CREATE OR REPLACE FUNCTION usagectl_usage_of(p_orgs text[], p_types text[], p_from timestamptz, p_to timestamptz)
RETURNS TABLE (org_id text, event_type text, day date, events bigint, quantity bigint,
               first_event timestamptz, last_event timestamptz)
LANGUAGE sql STABLE SET search_path = pg_catalog, public AS $f$
    SELECT m.org_id, m.event_type, m.day, sum(m.events)::bigint, sum(m.quantity)::bigint,
           min(m.first_event), max(m.last_event)
      FROM usagectl_usage_by_model(p_orgs, p_types, p_from, p_to) m
     GROUP BY 1, 2, 3
$f$;
