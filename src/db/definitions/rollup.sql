-- The rollup: one table, one bucket rule, one counting function. Every writer of
-- usagectl_rollup (the fold, the correction trigger, the backfill, the recount behind
-- boundary registration and doctor --repair) counts rows with usagectl_count(), and doctor
-- compares with it. Why every read is exact at any instant, each lock protocol, and the
-- test that fails when one breaks: docs/design.md.
--
-- A definition file: `migrate` installs it (with the others, in one transaction) whenever
-- it differs from what the database has; `doctor` names any function or trigger that
-- differs from it, and `doctor --repair` installs it again.

-- The model a token event is priced by ('' for every other event type).
CREATE OR REPLACE FUNCTION usagectl_model_key(p_type text, p_metadata jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$
    SELECT CASE WHEN p_type IN ('ai_tokens_input', 'ai_tokens_output')
                THEN coalesce(left(p_metadata ->> 'model', 200), '')
                ELSE '' END
$f$;

-- THE folded predicate: the rows the rollup counts. A row without a number predates the
-- sequence (the backfill counted it); a numbered row is counted once the fold's watermark
-- reaches it. Every other row is read raw. usagectl's Rust code uses this function too.
-- Keep it one SQL expression that names each argument once: the planner inlines it, so
-- `usagectl_seq > watermark` bounds an index scan even when the watermark is a subquery
-- (usagectl_org_usage's).
CREATE OR REPLACE FUNCTION usagectl_is_folded(p_seq bigint, p_watermark bigint) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$
    SELECT p_seq IS NULL OR p_seq <= p_watermark
$f$;

-- THE bucket rule: the bucket an event of p_org at p_at is counted in. A bucket is a UTC
-- day, cut at the org's registered billing period boundaries that fall inside it; it is
-- named by its first instant (the day's midnight, or the boundary).
CREATE OR REPLACE FUNCTION usagectl_bucket(p_org text, p_at timestamptz) RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE AS $f$
    SELECT coalesce(max(b.boundary), date_trunc('day', p_at, 'UTC'))
      FROM usagectl_boundaries b
     WHERE b.org_id = p_org AND b.boundary > date_trunc('day', p_at, 'UTC') AND b.boundary <= p_at
$f$;

-- THE counting function: a set of rows counted into buckets, in key order (every writer
-- takes the rollup's row locks in this order, so no two of them deadlock). p_rows is an
-- array of usage_events rows; declared anyarray so that no function depends on the
-- table's row type (`partition adopt` replaces the table with a partitioned one, and a
-- function dropped then would fail a session that had it planned).
CREATE OR REPLACE FUNCTION usagectl_count(p_rows anyarray)
RETURNS TABLE (org_id text, bucket timestamptz, event_type text, model text, events bigint,
               quantity bigint, first_event timestamptz, last_event timestamptz)
LANGUAGE sql STABLE AS $f$
    SELECT r.org_id, usagectl_bucket(r.org_id, r.created_at), r.event_type,
           usagectl_model_key(r.event_type, r.metadata), count(*),
           coalesce(sum(r.quantity), 0)::bigint, min(r.created_at), max(r.created_at)
      FROM unnest(p_rows) r
     GROUP BY 1, 2, 3, 4
     ORDER BY 1, 2, 3, 4
$f$;

-- Count the folded rows of one UTC day (of one org, or of every org when p_org is NULL)
-- afresh. The caller holds the watermark row FOR UPDATE (the recount protocol: no fold
-- and no correction runs meanwhile, and this statement's snapshot sees every correction
-- that committed before it). Returns the events counted.
CREATE OR REPLACE FUNCTION usagectl_recount(p_org text, p_day date) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $f$
DECLARE
    v_w bigint := (SELECT f.watermark FROM usagectl_fold_state f);
    v_events bigint;
BEGIN
    -- an archived day's rows are in a file: the rollup is all there is of them
    PERFORM usagectl_require_raw(p_day::timestamp AT TIME ZONE 'UTC', (p_day + 1)::timestamp AT TIME ZONE 'UTC');
    DELETE FROM usagectl_rollup r WHERE r.day = p_day AND (p_org IS NULL OR r.org_id = p_org);
    WITH c AS (
        INSERT INTO usagectl_rollup (org_id, bucket, event_type, model, events, quantity, first_event, last_event)
        SELECT c.* FROM usagectl_count(ARRAY(
                   SELECT e FROM usage_events e
                    WHERE (p_org IS NULL OR e.org_id = p_org)
                      AND e.created_at >= p_day::timestamp AT TIME ZONE 'UTC'
                      AND e.created_at < (p_day + 1)::timestamp AT TIME ZONE 'UTC'
                      AND usagectl_is_folded(e.usagectl_seq, v_w))) c
        RETURNING events)
    SELECT coalesce(sum(c.events), 0)::bigint INTO v_events FROM c;
    RETURN v_events;
END
$f$;

-- A correction: the folded rows of p_old leave their buckets and the folded rows of p_new
-- join theirs, netted per bucket and applied in key order. A bucket left empty goes; one
-- that lost its first or last event has them measured again. A day the backfill has still
-- to count needs nothing more: the backfill recounts it whole under the recount protocol,
-- after this transaction or before it (and then this applies its delta to that count).
CREATE OR REPLACE FUNCTION usagectl_rollup_apply(p_old anyarray, p_new anyarray)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $f$
DECLARE
    v_w bigint;
    g record;
    r record;
BEGIN
    -- the correction protocol: share the watermark row the fold and the recounts take FOR
    -- UPDATE, so the rows it calls folded stay so until this transaction ends
    SELECT f.watermark INTO v_w FROM usagectl_fold_state f FOR SHARE;
    FOR g IN
        SELECT c.org_id, c.bucket, c.event_type, c.model,
               sum(s.sign * c.events)::bigint AS events, sum(s.sign * c.quantity)::bigint AS quantity,
               min(c.first_event) FILTER (WHERE s.sign > 0) AS add_first,
               max(c.last_event) FILTER (WHERE s.sign > 0) AS add_last,
               min(c.first_event) FILTER (WHERE s.sign < 0) AS sub_first,
               max(c.last_event) FILTER (WHERE s.sign < 0) AS sub_last
          FROM (SELECT -1 AS sign, p_old AS rows UNION ALL SELECT 1, p_new) s
         CROSS JOIN LATERAL usagectl_count(ARRAY(
                   SELECT x FROM unnest(s.rows) x
                    WHERE usagectl_is_folded(x.usagectl_seq, v_w))) c
         GROUP BY 1, 2, 3, 4
         ORDER BY 1, 2, 3, 4
    LOOP
        IF g.add_first IS NOT NULL THEN
            INSERT INTO usagectl_rollup AS u (org_id, bucket, event_type, model, events, quantity,
                                              first_event, last_event)
            VALUES (g.org_id, g.bucket, g.event_type, g.model, g.events, g.quantity, g.add_first, g.add_last)
            ON CONFLICT (org_id, bucket, event_type, model) DO UPDATE
                SET events = u.events + EXCLUDED.events, quantity = u.quantity + EXCLUDED.quantity,
                    first_event = least(u.first_event, EXCLUDED.first_event),
                    last_event = greatest(u.last_event, EXCLUDED.last_event)
            RETURNING u.events, u.first_event, u.last_event INTO r;
        ELSE
            UPDATE usagectl_rollup u SET events = u.events + g.events, quantity = u.quantity + g.quantity
             WHERE u.org_id = g.org_id AND u.bucket = g.bucket AND u.event_type = g.event_type
               AND u.model = g.model
            RETURNING u.events, u.first_event, u.last_event INTO r;
            CONTINUE WHEN NOT FOUND; -- drift: usagectl doctor reports it
        END IF;
        IF r.events <= 0 THEN
            DELETE FROM usagectl_rollup u
             WHERE u.org_id = g.org_id AND u.bucket = g.bucket AND u.event_type = g.event_type
               AND u.model = g.model;
        ELSIF (g.sub_first <= r.first_event OR g.sub_last >= r.last_event)
              -- an archived day's first and last events are in its file: kept as they were
              AND NOT EXISTS (SELECT 1 FROM usagectl_archived_in(g.bucket, g.bucket + interval '1 microsecond')) THEN
            UPDATE usagectl_rollup u SET first_event = c.first_event, last_event = c.last_event
              FROM usagectl_count(ARRAY(
                       SELECT e FROM usage_events e
                        WHERE e.org_id = g.org_id AND e.event_type = g.event_type
                          AND e.created_at >= g.bucket
                          AND e.created_at < date_trunc('day', g.bucket, 'UTC') + interval '24 hours'
                          AND usagectl_is_folded(e.usagectl_seq, v_w))) c
             WHERE c.bucket = g.bucket AND c.model = g.model
               AND u.org_id = g.org_id AND u.bucket = g.bucket AND u.event_type = g.event_type
               AND u.model = g.model;
        END IF;
    END LOOP;
END
$f$;

-- The correction triggers: an UPDATE or a DELETE of usage_events, applied as one correction.
CREATE OR REPLACE FUNCTION usagectl_rollup_updated() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $f$
BEGIN
    PERFORM usagectl_rollup_apply(ARRAY(SELECT o::usage_events FROM usagectl_old_rows o),
                                  ARRAY(SELECT n::usage_events FROM usagectl_new_rows n));
    -- a key follows its event (a key another event holds: unique_violation, as the index
    -- on a heap would raise)
    IF to_regclass('usagectl_event_keys') IS NOT NULL
       AND EXISTS (SELECT 1 FROM usagectl_old_rows o WHERE o.idempotency_key IS NOT NULL
                   UNION ALL SELECT 1 FROM usagectl_new_rows n WHERE n.idempotency_key IS NOT NULL) THEN
        DELETE FROM usagectl_event_keys k USING usagectl_old_rows o
         WHERE o.idempotency_key IS NOT NULL AND k.org_id = o.org_id
           AND k.idempotency_key = o.idempotency_key AND k.event_id = o.id;
        INSERT INTO usagectl_event_keys (org_id, idempotency_key, event_id)
        SELECT n.org_id, n.idempotency_key, n.id FROM usagectl_new_rows n
         WHERE n.idempotency_key IS NOT NULL
         ORDER BY 1, 2;
    END IF;
    RETURN NULL;
END
$f$;

-- A DELETE by `usagectl archive` (usagectl.archiving set to the month in its
-- transaction, the month in state deleting) removes rows the rollup must keep counting:
-- their figures stay, recorded in usagectl_archive_totals by the same transaction.
CREATE OR REPLACE FUNCTION usagectl_rollup_deleted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $f$
DECLARE
    v_month date := nullif(current_setting('usagectl.archiving', true), '')::date;
    v_from timestamptz := '-infinity'::timestamptz;
    v_to timestamptz := '-infinity'::timestamptz;
BEGIN
    -- nested: the archives table is younger than the first install of this trigger
    IF v_month IS NOT NULL THEN
        IF EXISTS (SELECT 1 FROM usagectl_archives a WHERE a.month = v_month AND a.state = 'deleting') THEN
            v_from := v_month::timestamp AT TIME ZONE 'UTC';
            v_to := (v_month + interval '1 month')::timestamp AT TIME ZONE 'UTC';
        END IF;
    END IF;
    PERFORM usagectl_rollup_apply(ARRAY(SELECT o::usage_events FROM usagectl_old_rows o
                                         WHERE NOT (o.created_at >= v_from AND o.created_at < v_to)),
                                  '{}'::usage_events[]);
    -- a key goes with its event (an archived one too: a month restored claims them again)
    IF to_regclass('usagectl_event_keys') IS NOT NULL THEN
        DELETE FROM usagectl_event_keys k USING usagectl_old_rows o
         WHERE o.idempotency_key IS NOT NULL AND k.org_id = o.org_id
           AND k.idempotency_key = o.idempotency_key AND k.event_id = o.id;
    END IF;
    RETURN NULL;
END
$f$;

-- TRUNCATE of usage_events: no event is left; the boundaries stay registered.
CREATE OR REPLACE FUNCTION usagectl_rollup_truncated() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $f$
BEGIN
    TRUNCATE usagectl_rollup, usagectl_rollup_backfill;
    IF to_regclass('usagectl_event_keys') IS NOT NULL THEN
        TRUNCATE usagectl_event_keys;
    END IF;
    RETURN NULL;
END
$f$;

CREATE OR REPLACE TRIGGER usagectl_rollup_update AFTER UPDATE ON usage_events
    REFERENCING OLD TABLE AS usagectl_old_rows NEW TABLE AS usagectl_new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION usagectl_rollup_updated();
CREATE OR REPLACE TRIGGER usagectl_rollup_delete AFTER DELETE ON usage_events
    REFERENCING OLD TABLE AS usagectl_old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION usagectl_rollup_deleted();
CREATE OR REPLACE TRIGGER usagectl_rollup_truncate AFTER TRUNCATE ON usage_events
    FOR EACH STATEMENT EXECUTE FUNCTION usagectl_rollup_truncated();

-- The highest event number every row at or below which is committed or rolled back: the
-- number handed out last, once every transaction that was writing usage_events (or any of
-- its partitions) when it was read has ended. Waits at most p_max_wait (55P03 after it).
CREATE OR REPLACE FUNCTION usagectl_settled_seq(p_max_wait interval) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $f$
DECLARE
    v_started timestamptz := clock_timestamp();
    v_last bigint;
    v_called boolean;
    v_tables oid[];
    v_writers text[];
BEGIN
    SELECT s.last_value, s.is_called INTO v_last, v_called FROM usagectl_event_seq s;
    IF NOT v_called THEN
        v_last := v_last - 1;
    END IF;
    v_tables := ARRAY(SELECT 'usage_events'::regclass::oid
                      UNION ALL
                      SELECT i.inhrelid FROM pg_inherits i WHERE i.inhparent = 'usage_events'::regclass);
    SELECT array_agg(DISTINCT l.virtualtransaction) INTO v_writers
      FROM pg_locks l
     WHERE l.locktype = 'relation' AND l.relation = ANY (v_tables)
       AND l.database = (SELECT d.oid FROM pg_database d WHERE d.datname = current_database())
       AND l.mode = 'RowExclusiveLock' AND l.granted
       AND l.pid IS DISTINCT FROM pg_backend_pid();
    WHILE v_writers IS NOT NULL AND EXISTS (SELECT 1 FROM pg_locks l
                                             WHERE l.locktype = 'relation' AND l.relation = ANY (v_tables)
                                               AND l.virtualtransaction = ANY (v_writers)) LOOP
        IF clock_timestamp() - v_started > p_max_wait THEN
            RAISE EXCEPTION 'waited % for transactions writing to usage_events to end (pids %)', p_max_wait,
                (SELECT string_agg(DISTINCT coalesce(l.pid::text, 'prepared'), ', ')
                   FROM pg_locks l WHERE l.locktype = 'relation' AND l.relation = ANY (v_tables)
                    AND l.virtualtransaction = ANY (v_writers))
                USING ERRCODE = '55P03';
        END IF;
        PERFORM pg_sleep(0.005);
    END LOOP;
    RETURN v_last;
END
$f$;

-- The fold: count the rows numbered (watermark, L] into the rollup and move the watermark
-- to L, where L is usagectl_settled_seq() (every row up to it is committed or gone). The
-- fold protocol: the watermark row FOR UPDATE, so corrections and recounts wait for it and
-- it for them. In slices of at most 100000 numbers, so its memory stays bounded.
CREATE OR REPLACE FUNCTION usagectl_fold(p_max_wait interval DEFAULT '30 seconds')
RETURNS TABLE (r_from bigint, r_to bigint, r_events bigint, r_waited interval)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public
SET plan_cache_mode = force_custom_plan AS $f$
DECLARE
    v_started timestamptz := clock_timestamp();
    v_last bigint;
    v_waited interval;
    v_w bigint;
    v_at bigint;
    v_to bigint;
    v_events bigint := 0;
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
    -- the lock order every writer of the rollup follows: usage_events, then the watermark
    -- row, then the rollup (see docs/design.md)
    LOCK TABLE usage_events IN ACCESS SHARE MODE;
    SELECT f.watermark INTO v_w FROM usagectl_fold_state f FOR UPDATE;
    IF v_last <= v_w THEN
        RETURN QUERY SELECT v_w, v_w, 0::bigint, v_waited;
        RETURN;
    END IF;
    v_at := v_w;
    WHILE v_at < v_last LOOP
        v_to := least(v_at + 100000, v_last);
        WITH c AS MATERIALIZED (
                 SELECT * FROM usagectl_count(ARRAY(
                     SELECT e FROM usage_events e WHERE e.usagectl_seq > v_at AND e.usagectl_seq <= v_to))),
             up AS (
                 INSERT INTO usagectl_rollup AS u (org_id, bucket, event_type, model, events, quantity,
                                                   first_event, last_event)
                 SELECT c.* FROM c
                 ON CONFLICT (org_id, bucket, event_type, model) DO UPDATE
                     SET events = u.events + EXCLUDED.events, quantity = u.quantity + EXCLUDED.quantity,
                         first_event = least(u.first_event, EXCLUDED.first_event),
                         last_event = greatest(u.last_event, EXCLUDED.last_event))
        SELECT v_events + coalesce(sum(c.events), 0) INTO v_events FROM c;
        v_at := v_to;
    END LOOP;
    UPDATE usagectl_fold_state SET watermark = v_last, folded_at = now(), folded_events = v_events;
    RETURN QUERY SELECT v_w, v_last, v_events, v_waited;
END
$f$;

-- Register the billing period boundaries that fall inside UTC days (periods in zones off
-- UTC) of the periods of p_org (every org with settings when NULL) overlapping
-- [p_from, p_to], and recount each one's org and day: from then on the day is two buckets
-- and a period that starts or ends there reads no raw rows. Found without a lock (a run
-- with nothing new, what cron sees almost every minute, takes none); registered under the
-- recount protocol. Returns how many were new.
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
    SELECT array_agg(n.org_id ORDER BY n.org_id, n.at), array_agg(n.at ORDER BY n.org_id, n.at)
      INTO v_orgs, v_ats
      FROM (SELECT DISTINCT o.org_id, x.at
              FROM (SELECT DISTINCT s.org_id FROM usagectl_org_settings s
                     WHERE p_org IS NULL OR s.org_id = p_org) o
             CROSS JOIN LATERAL usagectl_periods(o.org_id, p_from, p_to) p
             CROSS JOIN LATERAL (VALUES (p.period_start), (p.period_end)) x(at)
             WHERE isfinite(x.at) AND x.at <> date_trunc('day', x.at, 'UTC')
               AND NOT EXISTS (SELECT 1 FROM usagectl_boundaries r
                                WHERE r.org_id = o.org_id AND r.boundary = x.at)
               -- an archived day cannot be counted afresh: a period edge there reads raw
               -- rows, and says the month is archived
               AND NOT EXISTS (SELECT 1 FROM usagectl_archived_in(date_trunc('day', x.at, 'UTC'),
                                                                  date_trunc('day', x.at, 'UTC') + interval '1 day'))) n;
    IF v_orgs IS NULL THEN
        RETURN 0;
    END IF;
    LOCK TABLE usage_events IN ACCESS SHARE MODE;
    PERFORM 1 FROM usagectl_fold_state FOR UPDATE;
    FOR i IN 1 .. cardinality(v_orgs) LOOP
        INSERT INTO usagectl_boundaries (org_id, boundary) VALUES (v_orgs[i], v_ats[i])
        ON CONFLICT (org_id, boundary) DO NOTHING;
        IF FOUND THEN
            PERFORM usagectl_recount(v_orgs[i], (v_ats[i] AT TIME ZONE 'UTC')::date);
            v_new := v_new + 1;
        END IF;
    END LOOP;
    RETURN v_new;
END
$f$;
REVOKE EXECUTE ON FUNCTION usagectl_recount(text, date) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION usagectl_rollup_apply(anyarray, anyarray) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION usagectl_register_boundaries(text, timestamptz, timestamptz) FROM PUBLIC;

-- Whether reads may use the rollup: the caller may read it, and no day waits for the
-- backfill (while one does, every read is raw).
CREATE OR REPLACE FUNCTION usagectl_rollup_ready() RETURNS boolean
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, public AS $f$
BEGIN
    IF NOT (has_table_privilege('usagectl_rollup', 'SELECT')
            AND has_table_privilege('usagectl_rollup_backfill', 'SELECT')
            AND has_table_privilege('usagectl_fold_state', 'SELECT')
            AND has_table_privilege('usagectl_boundaries', 'SELECT')) THEN
        RETURN false;
    END IF;
    RETURN NOT EXISTS (SELECT 1 FROM usagectl_rollup_backfill WHERE NOT done);
END
$f$;

-- Each org reads its own rows of the rollup when a role is scoped to it (as usage_events).
-- Created when missing (CREATE POLICY locks the rollup against its readers: not on every
-- install).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_policies
                    WHERE tablename = 'usagectl_rollup' AND policyname = 'usagectl rollup per org') THEN
        CREATE POLICY "usagectl rollup per org" ON usagectl_rollup
            FOR SELECT USING (org_id = current_setting('app.current_org_id', true));
    END IF;
END
$$;
