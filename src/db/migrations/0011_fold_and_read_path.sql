-- the fold's progress: every row with usagectl_seq <= watermark (and every row from before
-- the sequence, usagectl_seq IS NULL) is counted in usagectl_daily_usage; rows above it are not
CREATE TABLE IF NOT EXISTS usagectl_fold_state (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    watermark bigint NOT NULL,
    folded_at timestamptz NOT NULL DEFAULT now(),
    folded_events bigint NOT NULL DEFAULT 0
);
INSERT INTO usagectl_fold_state (watermark) VALUES (0) ON CONFLICT (id) DO NOTHING;

-- the switch, atomic under the brief lock ALTER TABLE takes (every insert in flight has
-- committed before it, every later one takes a number): rows without a number were counted
-- by the insert trigger or are left to the backfill, rows with one are left to the fold
ALTER TABLE usage_events ALTER COLUMN usagectl_seq SET DEFAULT nextval('usagectl_event_seq');
DROP TRIGGER IF EXISTS usagectl_rollup_insert ON usage_events;
DROP FUNCTION IF EXISTS usagectl_rollup_on_insert();

-- whether reads may use the rollup: this role can read it and its backfill is done
CREATE OR REPLACE FUNCTION usagectl_rollup_ready() RETURNS boolean
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, public AS $f$
BEGIN
    IF NOT (has_table_privilege('usagectl_daily_usage', 'SELECT')
            AND has_table_privilege('usagectl_rollup_backfill', 'SELECT')
            AND has_table_privilege('usagectl_fold_state', 'SELECT')) THEN
        RETURN false;
    END IF;
    RETURN NOT EXISTS (SELECT 1 FROM usagectl_rollup_backfill WHERE NOT done);
END
$f$;

-- THE read path: usage per org, event type and UTC day over [p_from, p_to) (p_from NULL:
-- since the beginning; p_org / p_types NULL: every org / type). Whole UTC days come from
-- the rollup plus the rows the fold has not reached yet, the partial days at either end
-- from the raw rows; one snapshot, so the watermark, the rollup and the rows it reads
-- agree. SECURITY INVOKER: the caller's privileges and RLS policies apply. Custom plans,
-- so the planner sees the bounds and the watermark (an index range of a few rows).
CREATE OR REPLACE FUNCTION usagectl_usage(p_org text, p_types text[], p_from timestamptz, p_to timestamptz)
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
         WHERE (p_org IS NULL OR e.org_id = p_org) AND (p_types IS NULL OR e.event_type = ANY (p_types))
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
         WHERE (p_org IS NULL OR d.org_id = p_org) AND (p_types IS NULL OR d.event_type = ANY (p_types))
           AND d.day >= (v_lo AT TIME ZONE 'UTC')::date AND d.day < (v_hi AT TIME ZONE 'UTC')::date
        UNION ALL
        SELECT e.org_id, e.event_type, (e.created_at AT TIME ZONE 'UTC')::date, 1::bigint,
               e.quantity::bigint, e.created_at, e.created_at
          FROM usage_events e
         WHERE e.usagectl_seq > v_seen
           AND (p_org IS NULL OR e.org_id = p_org) AND (p_types IS NULL OR e.event_type = ANY (p_types))
           AND e.created_at >= v_lo AND e.created_at < v_hi
        UNION ALL
        SELECT e.org_id, e.event_type, (e.created_at AT TIME ZONE 'UTC')::date, 1::bigint,
               e.quantity::bigint, e.created_at, e.created_at
          FROM usage_events e
         WHERE (p_org IS NULL OR e.org_id = p_org) AND (p_types IS NULL OR e.event_type = ANY (p_types))
           AND e.created_at >= p_from AND e.created_at < v_lo
        UNION ALL
        SELECT e.org_id, e.event_type, (e.created_at AT TIME ZONE 'UTC')::date, 1::bigint,
               e.quantity::bigint, e.created_at, e.created_at
          FROM usage_events e
         WHERE (p_org IS NULL OR e.org_id = p_org) AND (p_types IS NULL OR e.event_type = ANY (p_types))
           AND e.created_at >= v_hi AND e.created_at < p_to
      ) u
     GROUP BY 1, 2, 3;
END
$f$;

-- THE quota rule, for single records and batches: `current + adding <= limit`
CREATE OR REPLACE FUNCTION usagectl_quota_check(p_org text, p_types text[], p_from timestamptz,
                                                p_to timestamptz, p_limit bigint, p_adding bigint,
                                                OUT current bigint, OUT allowed boolean)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, public AS $f$
BEGIN
    SELECT coalesce(sum(u.quantity), 0)::bigint INTO current
      FROM usagectl_usage(p_org, p_types, p_from, p_to) u;
    allowed := current + p_adding <= p_limit;
END
$f$;

-- THE org lock: quota decisions for one org are serialised on its row in
-- usagectl_org_locks (created on the org's first enforced event; a racing creator wins)
CREATE OR REPLACE FUNCTION usagectl_lock_org(p_org text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, public AS $f$
BEGIN
    PERFORM 1 FROM usagectl_org_locks l WHERE l.org_id = p_org FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO usagectl_org_locks (org_id) VALUES (p_org) ON CONFLICT DO NOTHING;
        PERFORM 1 FROM usagectl_org_locks l WHERE l.org_id = p_org FOR UPDATE;
    END IF;
END
$f$;

CREATE OR REPLACE FUNCTION usagectl_record_enforced(
    p_org text, p_type text, p_quantity integer, p_metadata jsonb, p_created_at timestamptz,
    p_key text, p_counted_types text[], p_from timestamptz, p_to timestamptz, p_limit bigint)
RETURNS TABLE (r_outcome text, r_current bigint, r_id uuid, r_org_id text, r_event_type text,
               r_quantity integer, r_metadata jsonb, r_created_at timestamptz, r_idempotency_key text)
LANGUAGE plpgsql SET search_path = pg_catalog, public AS $f$
DECLARE
    v_outcome text := 'inserted';
    v_current bigint;
    v_allowed boolean;
    v_row usage_events%ROWTYPE;
BEGIN
    PERFORM usagectl_lock_org(p_org);
    -- a retry gets the stored event, unchecked and unchanged (also one that committed
    -- while this call waited for the lock)
    IF p_key IS NOT NULL THEN
        SELECT * INTO v_row FROM usage_events e WHERE e.org_id = p_org AND e.idempotency_key = p_key;
        IF FOUND THEN
            v_outcome := 'duplicate';
        END IF;
    END IF;
    IF v_outcome = 'inserted' THEN
        -- usage as it stands now that the lock is granted (each statement has a new snapshot)
        SELECT c.current, c.allowed INTO v_current, v_allowed
          FROM usagectl_quota_check(p_org, p_counted_types, p_from, p_to, p_limit, p_quantity) c;
        IF NOT v_allowed THEN
            v_outcome := 'refused';
        ELSE
            INSERT INTO usage_events AS e (org_id, event_type, quantity, metadata, created_at, idempotency_key)
            VALUES (p_org, p_type, p_quantity, p_metadata, coalesce(p_created_at, now()), p_key)
            ON CONFLICT (org_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
            RETURNING e.* INTO v_row;
            IF NOT FOUND THEN
                -- the key was stored meanwhile (by a retry, or a writer outside the lock)
                SELECT * INTO v_row FROM usage_events e
                 WHERE e.org_id = p_org AND e.idempotency_key = p_key;
                v_outcome := 'duplicate';
            END IF;
        END IF;
    END IF;
    RETURN QUERY SELECT v_outcome, v_current, v_row.id, v_row.org_id, v_row.event_type,
        v_row.quantity, v_row.metadata, v_row.created_at, v_row.idempotency_key;
END
$f$;

-- The fold: count the rows numbered (watermark, L] into the rollup and move the watermark
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
               count(*) AS n, sum(e.quantity)::bigint AS q, min(e.created_at) AS f, max(e.created_at) AS l
          FROM usage_events e
         WHERE e.usagectl_seq > v_w AND e.usagectl_seq <= v_last
         GROUP BY 1, 2, 3
         ORDER BY 1, 2, 3),
    up AS (
        INSERT INTO usagectl_daily_usage AS d (org_id, day, event_type, events, quantity, first_event, last_event)
        SELECT agg.org_id, agg.day, agg.event_type, agg.n, agg.q, agg.f, agg.l FROM agg
        ON CONFLICT (org_id, day, event_type) DO UPDATE
            SET events = d.events + EXCLUDED.events,
                quantity = d.quantity + EXCLUDED.quantity,
                first_event = least(d.first_event, EXCLUDED.first_event),
                last_event = greatest(d.last_event, EXCLUDED.last_event))
    SELECT coalesce(sum(agg.n), 0)::bigint INTO v_events FROM agg;
    UPDATE usagectl_fold_state SET watermark = v_last, folded_at = now(), folded_events = v_events;
    RETURN QUERY SELECT v_w, v_last, v_events, v_waited;
END
$f$;

-- a correction's subtraction; the first/last instants it recomputes are those of the rows
-- already folded (the caller holds the watermark row)
CREATE OR REPLACE FUNCTION usagectl_rollup_sub(p_org text, p_day date, p_type text, p_events bigint,
                                               p_quantity bigint, p_first timestamptz, p_last timestamptz)
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
     WHERE org_id = p_org AND day = p_day AND event_type = p_type
    RETURNING events, first_event, last_event INTO r;
    IF NOT FOUND THEN
        RETURN; -- drift: usagectl doctor reports it
    END IF;
    IF r.events <= 0 THEN
        DELETE FROM usagectl_daily_usage WHERE org_id = p_org AND day = p_day AND event_type = p_type;
    ELSIF p_first <= r.first_event OR p_last >= r.last_event THEN
        UPDATE usagectl_daily_usage
           SET (first_event, last_event) = (
               SELECT min(e.created_at), max(e.created_at) FROM usage_events e
                WHERE e.org_id = p_org AND e.event_type = p_type
                  AND e.created_at >= (p_day::timestamp AT TIME ZONE 'UTC')
                  AND e.created_at < ((p_day + 1)::timestamp AT TIME ZONE 'UTC')
                  AND (e.usagectl_seq IS NULL
                       OR e.usagectl_seq <= (SELECT f.watermark FROM usagectl_fold_state f)))
         WHERE org_id = p_org AND day = p_day AND event_type = p_type;
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
                    count(*) AS n, sum(o.quantity)::bigint AS q, min(o.created_at) AS f, max(o.created_at) AS l
               FROM usagectl_old_rows o
              WHERE o.usagectl_seq IS NULL OR o.usagectl_seq <= v_w
              GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    LOOP
        PERFORM usagectl_rollup_sub(g.org_id, g.day, g.event_type, g.n, g.q, g.f, g.l);
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
    -- UPDATE locks rollup rows in the same order as every other statement
    FOR g IN SELECT * FROM (
                 SELECT o.org_id, (o.created_at AT TIME ZONE 'UTC')::date AS day, o.event_type, 0 AS step,
                        count(*) AS n, sum(o.quantity)::bigint AS q, min(o.created_at) AS f, max(o.created_at) AS l
                   FROM usagectl_old_rows o
                  WHERE o.usagectl_seq IS NULL OR o.usagectl_seq <= v_w
                  GROUP BY 1, 2, 3
                 UNION ALL
                 SELECT n.org_id, (n.created_at AT TIME ZONE 'UTC')::date, n.event_type, 1,
                        count(*), sum(n.quantity)::bigint, min(n.created_at), max(n.created_at)
                   FROM usagectl_new_rows n
                  WHERE n.usagectl_seq IS NULL OR n.usagectl_seq <= v_w
                  GROUP BY 1, 2, 3) groups
             ORDER BY groups.org_id, groups.day, groups.event_type, groups.step
    LOOP
        IF g.step = 0 THEN
            PERFORM usagectl_rollup_sub(g.org_id, g.day, g.event_type, g.n, g.q, g.f, g.l);
        ELSE
            PERFORM usagectl_rollup_add(g.org_id, g.day, g.event_type, g.n, g.q, g.f, g.l);
        END IF;
    END LOOP;
    RETURN NULL;
END
$f$
