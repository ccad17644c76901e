-- The schema a fresh `usagectl migrate` leaves (pg_dump --schema-only --no-owner
-- --no-privileges, normalised). Generated: do not edit; a test fails when it is
-- stale. Regenerate: USAGECTL_REGENERATE=1 cargo test --test it schema_snapshot

CREATE FUNCTION public.usagectl_anchor_instant(p_year integer, p_month integer, p_anchor integer, p_zone text) RETURNS timestamp with time zone
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog'
    AS $$
    SELECT make_timestamp(p_year, p_month,
                          least(p_anchor, extract(day FROM make_date(p_year, p_month, 1)
                                                           + interval '1 month' - interval '1 day')::integer),
                          0, 0, 0) AT TIME ZONE p_zone
$$;

CREATE FUNCTION public.usagectl_append_only() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'public'
    AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused (revoke a grant with usagectl grant revoke)',
        TG_TABLE_NAME, TG_OP USING ERRCODE = '42501';
END
$$;

CREATE FUNCTION public.usagectl_boundary_on_delete() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public'
    AS $$
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
$$;

CREATE FUNCTION public.usagectl_boundary_on_truncate() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public'
    AS $$
BEGIN
    -- the boundaries stay registered, with no events on either side
    DELETE FROM usagectl_boundary_usage;
    RETURN NULL;
END
$$;

CREATE FUNCTION public.usagectl_boundary_on_update() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public'
    AS $$
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
$$;

CREATE FUNCTION public.usagectl_boundary_recount(p_org text, p_boundary timestamp with time zone) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public'
    AS $$
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
$$;

CREATE FUNCTION public.usagectl_boundary_recount_days(p_orgs text[], p_days timestamp with time zone[]) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public'
    AS $$
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
$$;

CREATE FUNCTION public.usagectl_boundary_sides(p_org text, p_boundary timestamp with time zone) RETURNS TABLE(after_boundary boolean, event_type text, model text, events bigint, quantity bigint, first_event timestamp with time zone, last_event timestamp with time zone)
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog', 'public'
    AS $$
    SELECT e.created_at >= p_boundary, e.event_type, usagectl_model_key(e.event_type, e.metadata),
           count(*), sum(e.quantity)::bigint, min(e.created_at), max(e.created_at)
      FROM usage_events e
     WHERE e.org_id = p_org
       AND e.created_at >= date_trunc('day', p_boundary AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
       AND e.created_at < (date_trunc('day', p_boundary AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') + interval '24 hours'
       AND (e.usagectl_seq IS NULL OR e.usagectl_seq <= (SELECT f.watermark FROM usagectl_fold_state f))
     GROUP BY 1, 2, 3
$$;

CREATE FUNCTION public.usagectl_fold(p_max_wait interval DEFAULT '00:00:30'::interval) RETURNS TABLE(r_from bigint, r_to bigint, r_events bigint, r_waited interval)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public'
    SET plan_cache_mode TO 'force_custom_plan'
    AS $$
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
$$;

CREATE FUNCTION public.usagectl_granted(p_org text, p_start timestamp with time zone, p_end timestamp with time zone) RETURNS TABLE(metric text, granted bigint)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public'
    AS $$
    SELECT g.metric, sum(g.amount)::bigint
      FROM usagectl_grants g
     WHERE g.org_id = p_org AND g.period_start >= p_start AND g.period_start < p_end
       AND NOT EXISTS (SELECT 1 FROM usagectl_grant_revocations r WHERE r.grant_id = g.id)
     GROUP BY g.metric
$$;

CREATE FUNCTION public.usagectl_lock_org(p_org text) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'public'
    AS $$
BEGIN
    PERFORM 1 FROM usagectl_org_locks l WHERE l.org_id = p_org FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO usagectl_org_locks (org_id) VALUES (p_org) ON CONFLICT DO NOTHING;
        PERFORM 1 FROM usagectl_org_locks l WHERE l.org_id = p_org FOR UPDATE;
    END IF;
END
$$;

CREATE FUNCTION public.usagectl_model_key(p_type text, p_metadata jsonb) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT CASE WHEN p_type IN ('ai_tokens_input', 'ai_tokens_output')
                THEN coalesce(left(p_metadata ->> 'model', 200), '')
                ELSE '' END
$$;

CREATE FUNCTION public.usagectl_period(p_org text, p_at timestamp with time zone, OUT period_start timestamp with time zone, OUT period_end timestamp with time zone, OUT anchor_day integer, OUT time_zone text) RETURNS record
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public'
    AS $$
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
$$;

CREATE FUNCTION public.usagectl_period_in_month(p_org text, p_year integer, p_month integer, OUT period_start timestamp with time zone, OUT period_end timestamp with time zone, OUT anchor_day integer, OUT time_zone text) RETURNS record
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public'
    AS $$
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
$$;

CREATE FUNCTION public.usagectl_periods(p_org text, p_from timestamp with time zone, p_to timestamp with time zone) RETURNS TABLE(period_start timestamp with time zone, period_end timestamp with time zone)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public'
    AS $$
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
$$;

CREATE FUNCTION public.usagectl_quota_check(p_org text, p_types text[], p_from timestamp with time zone, p_to timestamp with time zone, p_limit bigint, p_adding bigint, OUT current bigint, OUT allowed boolean) RETURNS record
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'public'
    AS $$
BEGIN
    SELECT coalesce(sum(u.quantity), 0)::bigint INTO current
      FROM usagectl_usage(p_org, p_types, p_from, p_to) u;
    allowed := current + p_adding <= p_limit;
END
$$;

CREATE FUNCTION public.usagectl_record_enforced(p_org text, p_type text, p_quantity integer, p_metadata jsonb, p_created_at timestamp with time zone, p_key text, p_counted_types text[], p_from timestamp with time zone, p_to timestamp with time zone, p_limit bigint) RETURNS TABLE(r_outcome text, r_current bigint, r_id uuid, r_org_id text, r_event_type text, r_quantity integer, r_metadata jsonb, r_created_at timestamp with time zone, r_idempotency_key text)
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'public'
    AS $$
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
$$;

CREATE FUNCTION public.usagectl_record_in_period(p_org text, p_type text, p_quantity integer, p_metadata jsonb, p_created_at timestamp with time zone, p_key text, p_metric text, p_counted_types text[], p_all_time boolean, p_limit bigint) RETURNS TABLE(r_outcome text, r_current bigint, r_limit bigint, r_period_start timestamp with time zone, r_period_end timestamp with time zone, r_id uuid, r_org_id text, r_event_type text, r_quantity integer, r_metadata jsonb, r_created_at timestamp with time zone, r_idempotency_key text)
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'public'
    AS $$
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
$$;

CREATE FUNCTION public.usagectl_register_boundaries(p_org text, p_from timestamp with time zone, p_to timestamp with time zone) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public'
    AS $$
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
$$;

CREATE FUNCTION public.usagectl_rollup_add(p_org text, p_day date, p_type text, p_model text, p_events bigint, p_quantity bigint, p_first timestamp with time zone, p_last timestamp with time zone) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public'
    AS $$
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
$$;

CREATE FUNCTION public.usagectl_rollup_on_delete() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public'
    AS $$
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
$$;

CREATE FUNCTION public.usagectl_rollup_on_truncate() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public'
    AS $$
BEGIN
    TRUNCATE usagectl_daily_usage, usagectl_rollup_backfill;
    RETURN NULL;
END
$$;

CREATE FUNCTION public.usagectl_rollup_on_update() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public'
    AS $$
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
$$;

CREATE FUNCTION public.usagectl_rollup_ready() RETURNS boolean
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'public'
    AS $$
BEGIN
    IF NOT (has_table_privilege('usagectl_daily_usage', 'SELECT')
            AND has_table_privilege('usagectl_rollup_backfill', 'SELECT')
            AND has_table_privilege('usagectl_fold_state', 'SELECT')) THEN
        RETURN false;
    END IF;
    RETURN NOT EXISTS (SELECT 1 FROM usagectl_rollup_backfill WHERE NOT done);
END
$$;

CREATE FUNCTION public.usagectl_rollup_sub(p_org text, p_day date, p_type text, p_model text, p_events bigint, p_quantity bigint, p_first timestamp with time zone, p_last timestamp with time zone) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public'
    AS $$
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
$$;

CREATE FUNCTION public.usagectl_settled_seq(p_max_wait interval) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public'
    AS $$
DECLARE
    v_started timestamptz := clock_timestamp();
    v_last bigint;
    v_called boolean;
    v_writers text[];
BEGIN
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
            RAISE EXCEPTION 'waited % for transactions writing to usage_events to end (pids %)', p_max_wait,
                (SELECT string_agg(DISTINCT coalesce(l.pid::text, 'prepared'), ', ')
                   FROM pg_locks l WHERE l.locktype = 'relation' AND l.relation = 'usage_events'::regclass
                    AND l.virtualtransaction = ANY (v_writers))
                USING ERRCODE = '55P03';
        END IF;
        PERFORM pg_sleep(0.005);
    END LOOP;
    RETURN v_last;
END
$$;

CREATE FUNCTION public.usagectl_usage(p_org text, p_types text[], p_from timestamp with time zone, p_to timestamp with time zone) RETURNS TABLE(org_id text, event_type text, day date, events bigint, quantity bigint, first_event timestamp with time zone, last_event timestamp with time zone)
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog', 'public'
    AS $$
    SELECT * FROM usagectl_usage_of(CASE WHEN p_org IS NULL THEN NULL ELSE ARRAY[p_org] END,
                                    p_types, p_from, p_to)
$$;

CREATE FUNCTION public.usagectl_usage_by_model(p_orgs text[], p_types text[], p_from timestamp with time zone, p_to timestamp with time zone) RETURNS TABLE(org_id text, event_type text, day date, model text, events bigint, quantity bigint, first_event timestamp with time zone, last_event timestamp with time zone)
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'public'
    SET plan_cache_mode TO 'force_custom_plan'
    AS $$
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
$$;

CREATE FUNCTION public.usagectl_usage_edges(p_orgs text[], p_types text[], p_from timestamp with time zone, p_lo timestamp with time zone, p_hi timestamp with time zone, p_to timestamp with time zone) RETURNS TABLE(org_id text, event_type text, day date, model text, events bigint, quantity bigint, first_event timestamp with time zone, last_event timestamp with time zone)
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'public'
    SET plan_cache_mode TO 'force_custom_plan'
    SET enable_bitmapscan TO 'off'
    AS $$
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
$$;

CREATE FUNCTION public.usagectl_usage_of(p_orgs text[], p_types text[], p_from timestamp with time zone, p_to timestamp with time zone) RETURNS TABLE(org_id text, event_type text, day date, events bigint, quantity bigint, first_event timestamp with time zone, last_event timestamp with time zone)
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog', 'public'
    AS $$
    SELECT m.org_id, m.event_type, m.day, sum(m.events)::bigint, sum(m.quantity)::bigint,
           min(m.first_event), max(m.last_event)
      FROM usagectl_usage_by_model(p_orgs, p_types, p_from, p_to) m
     GROUP BY 1, 2, 3
$$;

CREATE TABLE public.usage_events (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    org_id text NOT NULL,
    event_type text NOT NULL,
    quantity integer DEFAULT 1 NOT NULL,
    metadata jsonb,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    idempotency_key text,
    usagectl_seq bigint
);

CREATE TABLE public.usagectl_alert_attempts (
    outbox_id text NOT NULL,
    attempt integer NOT NULL,
    at timestamp with time zone DEFAULT now() NOT NULL,
    http_status integer,
    error text,
    duration_ms integer NOT NULL
);

CREATE TABLE public.usagectl_alert_evaluation (
    id boolean DEFAULT true NOT NULL,
    last_run_at timestamp with time zone,
    CONSTRAINT usagectl_alert_evaluation_id_check CHECK (id)
);

CREATE TABLE public.usagectl_alert_outbox (
    id text NOT NULL,
    rule text NOT NULL,
    org_id text NOT NULL,
    type text NOT NULL,
    payload jsonb NOT NULL,
    decided_at timestamp with time zone DEFAULT now() NOT NULL,
    status text DEFAULT 'pending'::text NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    next_attempt_at timestamp with time zone DEFAULT now() NOT NULL,
    claimed_until timestamp with time zone,
    last_status integer,
    last_error text,
    finished_at timestamp with time zone,
    failed_runs integer DEFAULT 0 NOT NULL,
    CONSTRAINT usagectl_alert_outbox_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'delivered'::text, 'failed'::text]))),
    CONSTRAINT usagectl_alert_outbox_type_check CHECK ((type = ANY (ARRAY['usage.threshold_crossed'::text, 'usage.threshold_resolved'::text])))
);

CREATE TABLE public.usagectl_alert_rules (
    name text NOT NULL,
    webhook_url text NOT NULL,
    webhook_shown text NOT NULL,
    secret text NOT NULL,
    format text DEFAULT 'standard'::text NOT NULL,
    thresholds integer[] NOT NULL,
    metrics text[],
    org_id text,
    tier text,
    allow_insecure_http boolean DEFAULT false NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    created_by text DEFAULT CURRENT_USER NOT NULL,
    CONSTRAINT usagectl_alert_rules_check CHECK (((org_id IS NULL) OR (tier IS NULL))),
    CONSTRAINT usagectl_alert_rules_format_check CHECK ((format = ANY (ARRAY['standard'::text, 'slack'::text]))),
    CONSTRAINT usagectl_alert_rules_metrics_check CHECK ((metrics <@ ARRAY['csv_uploads'::text, 'csv_rows'::text, 'analyses'::text, 'chat_messages'::text, 'ai_tokens'::text, 'mapping_profiles'::text])),
    CONSTRAINT usagectl_alert_rules_name_check CHECK ((name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$'::text)),
    CONSTRAINT usagectl_alert_rules_secret_check CHECK ((secret ~~ 'whsec\_%'::text)),
    CONSTRAINT usagectl_alert_rules_thresholds_check CHECK (((cardinality(thresholds) > 0) AND (0 < ALL (thresholds)) AND (1000 >= ALL (thresholds))))
);

CREATE TABLE public.usagectl_alert_states (
    rule text NOT NULL,
    org_id text NOT NULL,
    metric text NOT NULL,
    threshold_pct integer NOT NULL,
    period_start timestamp with time zone NOT NULL,
    crossed boolean NOT NULL,
    current bigint NOT NULL,
    "limit" bigint NOT NULL,
    changed_at timestamp with time zone DEFAULT now() NOT NULL
);

CREATE TABLE public.usagectl_boundaries (
    org_id text NOT NULL,
    boundary timestamp with time zone NOT NULL,
    day_start timestamp with time zone GENERATED ALWAYS AS ((date_trunc('day'::text, (boundary AT TIME ZONE 'UTC'::text)) AT TIME ZONE 'UTC'::text)) STORED,
    registered_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT usagectl_boundaries_check CHECK (((boundary > day_start) AND (boundary < (day_start + '24:00:00'::interval))))
);

CREATE TABLE public.usagectl_boundary_usage (
    org_id text NOT NULL,
    boundary timestamp with time zone NOT NULL,
    after_boundary boolean NOT NULL,
    event_type text NOT NULL,
    model text NOT NULL,
    events bigint NOT NULL,
    quantity bigint NOT NULL,
    first_event timestamp with time zone NOT NULL,
    last_event timestamp with time zone NOT NULL
);

CREATE TABLE public.usagectl_daily_usage (
    org_id text NOT NULL,
    day date NOT NULL,
    event_type text NOT NULL,
    events bigint NOT NULL,
    quantity bigint NOT NULL,
    first_event timestamp with time zone NOT NULL,
    last_event timestamp with time zone NOT NULL,
    model text DEFAULT ''::text NOT NULL
);

CREATE SEQUENCE public.usagectl_event_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.usagectl_event_seq OWNED BY public.usage_events.usagectl_seq;

CREATE TABLE public.usagectl_fold_state (
    id boolean DEFAULT true NOT NULL,
    watermark bigint NOT NULL,
    folded_at timestamp with time zone DEFAULT now() NOT NULL,
    folded_events bigint DEFAULT 0 NOT NULL,
    CONSTRAINT usagectl_fold_state_id_check CHECK (id)
);

CREATE TABLE public.usagectl_grant_revocations (
    grant_id bigint NOT NULL,
    reason text NOT NULL,
    revoked_at timestamp with time zone DEFAULT now() NOT NULL,
    revoked_by text DEFAULT CURRENT_USER NOT NULL,
    revoked_by_os text,
    CONSTRAINT usagectl_grant_revocations_reason_check CHECK ((btrim(reason) <> ''::text))
);

CREATE TABLE public.usagectl_grants (
    id bigint NOT NULL,
    org_id text NOT NULL,
    metric text NOT NULL,
    amount bigint NOT NULL,
    period_start timestamp with time zone NOT NULL,
    period_end timestamp with time zone NOT NULL,
    reason text NOT NULL,
    granted_at timestamp with time zone DEFAULT now() NOT NULL,
    granted_by text DEFAULT CURRENT_USER NOT NULL,
    granted_by_os text,
    CONSTRAINT usagectl_grants_amount_check CHECK ((amount > 0)),
    CONSTRAINT usagectl_grants_check CHECK ((period_end > period_start)),
    CONSTRAINT usagectl_grants_metric_check CHECK ((metric = ANY (ARRAY['csv_uploads'::text, 'csv_rows'::text, 'analyses'::text, 'chat_messages'::text, 'ai_tokens'::text, 'mapping_profiles'::text]))),
    CONSTRAINT usagectl_grants_reason_check CHECK ((btrim(reason) <> ''::text))
);

CREATE SEQUENCE public.usagectl_grants_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.usagectl_grants_id_seq OWNED BY public.usagectl_grants.id;

CREATE TABLE public.usagectl_model_price_removals (
    model text NOT NULL,
    valid_from timestamp with time zone NOT NULL,
    input_per_mtok numeric(20,10) NOT NULL,
    output_per_mtok numeric(20,10) NOT NULL,
    set_at timestamp with time zone NOT NULL,
    set_by text NOT NULL,
    removed_at timestamp with time zone DEFAULT now() NOT NULL,
    removed_by text DEFAULT CURRENT_USER NOT NULL,
    removed_by_os text,
    reason text NOT NULL,
    CONSTRAINT usagectl_model_price_removals_reason_check CHECK ((btrim(reason) <> ''::text))
);

CREATE TABLE public.usagectl_model_prices (
    model text NOT NULL,
    valid_from timestamp with time zone NOT NULL,
    input_per_mtok numeric(20,10) NOT NULL,
    output_per_mtok numeric(20,10) NOT NULL,
    set_at timestamp with time zone DEFAULT now() NOT NULL,
    set_by text DEFAULT CURRENT_USER NOT NULL,
    CONSTRAINT usagectl_model_prices_input_per_mtok_check CHECK ((input_per_mtok >= (0)::numeric)),
    CONSTRAINT usagectl_model_prices_model_check CHECK (((btrim(model) <> ''::text) AND (length(model) <= 200))),
    CONSTRAINT usagectl_model_prices_output_per_mtok_check CHECK ((output_per_mtok >= (0)::numeric))
);

CREATE TABLE public.usagectl_org_limit_overrides (
    org_id text NOT NULL,
    metric text NOT NULL,
    limit_value bigint NOT NULL,
    set_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT usagectl_org_limit_overrides_limit_value_check CHECK ((limit_value >= '-1'::integer)),
    CONSTRAINT usagectl_org_limit_overrides_metric_check CHECK ((metric = ANY (ARRAY['csv_uploads'::text, 'csv_rows'::text, 'analyses'::text, 'chat_messages'::text, 'ai_tokens'::text, 'mapping_profiles'::text])))
);

CREATE TABLE public.usagectl_org_locks (
    org_id text NOT NULL
);

CREATE TABLE public.usagectl_org_settings (
    org_id text NOT NULL,
    effective_from timestamp with time zone NOT NULL,
    anchor_day smallint NOT NULL,
    time_zone text NOT NULL,
    set_at timestamp with time zone DEFAULT now() NOT NULL,
    set_by text DEFAULT CURRENT_USER NOT NULL,
    set_by_os text,
    CONSTRAINT usagectl_org_settings_anchor_day_check CHECK (((anchor_day >= 1) AND (anchor_day <= 31))),
    CONSTRAINT usagectl_org_settings_time_zone_check CHECK ((time_zone <> ''::text))
);

CREATE TABLE public.usagectl_org_tiers (
    org_id text NOT NULL,
    tier text NOT NULL,
    assigned_at timestamp with time zone DEFAULT now() NOT NULL
);

CREATE TABLE public.usagectl_rollup_backfill (
    day date NOT NULL,
    done boolean DEFAULT false NOT NULL
);

CREATE TABLE public.usagectl_schema_migrations (
    version integer NOT NULL,
    description text NOT NULL,
    applied_at timestamp with time zone DEFAULT now() NOT NULL,
    checksum text
);

CREATE TABLE public.usagectl_stripe_customers (
    org_id text NOT NULL,
    customer_id text NOT NULL,
    set_at timestamp with time zone DEFAULT now() NOT NULL,
    set_by text DEFAULT CURRENT_USER NOT NULL,
    CONSTRAINT usagectl_stripe_customers_customer_id_check CHECK ((customer_id ~ '^cus_[A-Za-z0-9]+$'::text))
);

CREATE TABLE public.usagectl_stripe_ledger (
    livemode boolean NOT NULL,
    org_id text NOT NULL,
    source text NOT NULL,
    day date NOT NULL,
    revision integer NOT NULL,
    identifier text NOT NULL,
    customer_id text NOT NULL,
    event_name text NOT NULL,
    value bigint NOT NULL,
    usage_after bigint NOT NULL,
    status text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    sent_at timestamp with time zone,
    attempts integer DEFAULT 0 NOT NULL,
    last_error text,
    claimed_until timestamp with time zone,
    claimed_pid integer,
    claimed_backend_start timestamp with time zone,
    CONSTRAINT usagectl_stripe_ledger_identifier_check CHECK ((length(identifier) <= 100)),
    CONSTRAINT usagectl_stripe_ledger_revision_check CHECK ((revision > 0)),
    CONSTRAINT usagectl_stripe_ledger_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'sent'::text, 'manual_credit'::text]))),
    CONSTRAINT usagectl_stripe_ledger_value_check CHECK ((value <> 0))
);

CREATE TABLE public.usagectl_stripe_meters (
    source text NOT NULL,
    event_types text[] NOT NULL,
    event_name text NOT NULL,
    meter_id text,
    from_day date NOT NULL,
    added_at timestamp with time zone DEFAULT now() NOT NULL,
    added_by text DEFAULT CURRENT_USER NOT NULL,
    CONSTRAINT usagectl_stripe_meters_event_name_check CHECK (((length(event_name) >= 1) AND (length(event_name) <= 100))),
    CONSTRAINT usagectl_stripe_meters_event_types_check CHECK ((cardinality(event_types) > 0)),
    CONSTRAINT usagectl_stripe_meters_meter_id_check CHECK ((meter_id ~ '^mtr_[A-Za-z0-9_]+$'::text)),
    CONSTRAINT usagectl_stripe_meters_source_check CHECK ((source ~ '^[a-z0-9_]{1,64}$'::text))
);

CREATE TABLE public.usagectl_stripe_streams (
    livemode boolean NOT NULL,
    org_id text NOT NULL,
    source text NOT NULL
);

CREATE TABLE public.usagectl_tier_limits (
    tier text NOT NULL,
    metric text NOT NULL,
    limit_value bigint NOT NULL,
    CONSTRAINT usagectl_tier_limits_limit_value_check CHECK ((limit_value >= '-1'::integer)),
    CONSTRAINT usagectl_tier_limits_metric_check CHECK ((metric = ANY (ARRAY['csv_uploads'::text, 'csv_rows'::text, 'analyses'::text, 'chat_messages'::text, 'ai_tokens'::text, 'mapping_profiles'::text])))
);

CREATE TABLE public.usagectl_tiers (
    name text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);

ALTER TABLE ONLY public.usage_events ALTER COLUMN usagectl_seq SET DEFAULT nextval('public.usagectl_event_seq'::regclass);

ALTER TABLE ONLY public.usagectl_grants ALTER COLUMN id SET DEFAULT nextval('public.usagectl_grants_id_seq'::regclass);

ALTER TABLE ONLY public.usage_events
    ADD CONSTRAINT usage_events_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.usagectl_alert_attempts
    ADD CONSTRAINT usagectl_alert_attempts_pkey PRIMARY KEY (outbox_id, attempt);

ALTER TABLE ONLY public.usagectl_alert_evaluation
    ADD CONSTRAINT usagectl_alert_evaluation_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.usagectl_alert_outbox
    ADD CONSTRAINT usagectl_alert_outbox_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.usagectl_alert_rules
    ADD CONSTRAINT usagectl_alert_rules_pkey PRIMARY KEY (name);

ALTER TABLE ONLY public.usagectl_alert_states
    ADD CONSTRAINT usagectl_alert_states_pkey PRIMARY KEY (rule, org_id, metric, threshold_pct);

ALTER TABLE ONLY public.usagectl_boundaries
    ADD CONSTRAINT usagectl_boundaries_pkey PRIMARY KEY (org_id, boundary);

ALTER TABLE ONLY public.usagectl_boundary_usage
    ADD CONSTRAINT usagectl_boundary_usage_pkey PRIMARY KEY (org_id, boundary, after_boundary, event_type, model);

ALTER TABLE ONLY public.usagectl_daily_usage
    ADD CONSTRAINT usagectl_daily_usage_pkey PRIMARY KEY (org_id, day, event_type, model);

ALTER TABLE ONLY public.usagectl_fold_state
    ADD CONSTRAINT usagectl_fold_state_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.usagectl_grant_revocations
    ADD CONSTRAINT usagectl_grant_revocations_pkey PRIMARY KEY (grant_id);

ALTER TABLE ONLY public.usagectl_grants
    ADD CONSTRAINT usagectl_grants_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.usagectl_model_prices
    ADD CONSTRAINT usagectl_model_prices_pkey PRIMARY KEY (model, valid_from);

ALTER TABLE ONLY public.usagectl_org_limit_overrides
    ADD CONSTRAINT usagectl_org_limit_overrides_pkey PRIMARY KEY (org_id, metric);

ALTER TABLE ONLY public.usagectl_org_locks
    ADD CONSTRAINT usagectl_org_locks_pkey PRIMARY KEY (org_id);

ALTER TABLE ONLY public.usagectl_org_settings
    ADD CONSTRAINT usagectl_org_settings_pkey PRIMARY KEY (org_id, effective_from);

ALTER TABLE ONLY public.usagectl_org_tiers
    ADD CONSTRAINT usagectl_org_tiers_pkey PRIMARY KEY (org_id);

ALTER TABLE ONLY public.usagectl_rollup_backfill
    ADD CONSTRAINT usagectl_rollup_backfill_pkey PRIMARY KEY (day);

ALTER TABLE ONLY public.usagectl_schema_migrations
    ADD CONSTRAINT usagectl_schema_migrations_pkey PRIMARY KEY (version);

ALTER TABLE ONLY public.usagectl_stripe_customers
    ADD CONSTRAINT usagectl_stripe_customers_pkey PRIMARY KEY (org_id);

ALTER TABLE ONLY public.usagectl_stripe_ledger
    ADD CONSTRAINT usagectl_stripe_ledger_livemode_identifier_key UNIQUE (livemode, identifier);

ALTER TABLE ONLY public.usagectl_stripe_ledger
    ADD CONSTRAINT usagectl_stripe_ledger_pkey PRIMARY KEY (livemode, org_id, source, day, revision);

ALTER TABLE ONLY public.usagectl_stripe_meters
    ADD CONSTRAINT usagectl_stripe_meters_event_name_key UNIQUE (event_name);

ALTER TABLE ONLY public.usagectl_stripe_meters
    ADD CONSTRAINT usagectl_stripe_meters_pkey PRIMARY KEY (source);

ALTER TABLE ONLY public.usagectl_stripe_streams
    ADD CONSTRAINT usagectl_stripe_streams_pkey PRIMARY KEY (livemode, org_id, source);

ALTER TABLE ONLY public.usagectl_tier_limits
    ADD CONSTRAINT usagectl_tier_limits_pkey PRIMARY KEY (tier, metric);

ALTER TABLE ONLY public.usagectl_tiers
    ADD CONSTRAINT usagectl_tiers_pkey PRIMARY KEY (name);

CREATE INDEX idx_usage_events_created_at ON public.usage_events USING btree (created_at DESC);

CREATE INDEX idx_usage_events_org_id ON public.usage_events USING btree (org_id);

CREATE INDEX usagectl_alert_outbox_due ON public.usagectl_alert_outbox USING btree (next_attempt_at) WHERE (status = 'pending'::text);

CREATE INDEX usagectl_alert_outbox_org ON public.usagectl_alert_outbox USING btree (org_id, decided_at);

CREATE INDEX usagectl_boundaries_at ON public.usagectl_boundaries USING btree (boundary);

CREATE INDEX usagectl_daily_usage_day ON public.usagectl_daily_usage USING btree (day);

CREATE UNIQUE INDEX usagectl_events_org_key ON public.usage_events USING btree (org_id, idempotency_key) WHERE (idempotency_key IS NOT NULL);

CREATE INDEX usagectl_events_seq ON public.usage_events USING btree (usagectl_seq) WHERE (usagectl_seq IS NOT NULL);

CREATE INDEX usagectl_grants_org ON public.usagectl_grants USING btree (org_id, period_start);

CREATE INDEX usagectl_model_price_removals_model ON public.usagectl_model_price_removals USING btree (model, valid_from);

CREATE INDEX usagectl_stripe_ledger_pending ON public.usagectl_stripe_ledger USING btree (org_id, source) WHERE (status = 'pending'::text);

CREATE TRIGGER usagectl_grant_revocations_append_only BEFORE DELETE OR UPDATE ON public.usagectl_grant_revocations FOR EACH ROW EXECUTE FUNCTION public.usagectl_append_only();

CREATE TRIGGER usagectl_grant_revocations_no_truncate BEFORE TRUNCATE ON public.usagectl_grant_revocations FOR EACH STATEMENT EXECUTE FUNCTION public.usagectl_append_only();

CREATE TRIGGER usagectl_grants_append_only BEFORE DELETE OR UPDATE ON public.usagectl_grants FOR EACH ROW EXECUTE FUNCTION public.usagectl_append_only();

CREATE TRIGGER usagectl_grants_no_truncate BEFORE TRUNCATE ON public.usagectl_grants FOR EACH STATEMENT EXECUTE FUNCTION public.usagectl_append_only();

CREATE TRIGGER usagectl_rollup_delete AFTER DELETE ON public.usage_events REFERENCING OLD TABLE AS usagectl_old_rows FOR EACH STATEMENT EXECUTE FUNCTION public.usagectl_rollup_on_delete();

CREATE TRIGGER usagectl_rollup_truncate AFTER TRUNCATE ON public.usage_events FOR EACH STATEMENT EXECUTE FUNCTION public.usagectl_rollup_on_truncate();

CREATE TRIGGER usagectl_rollup_update AFTER UPDATE ON public.usage_events REFERENCING OLD TABLE AS usagectl_old_rows NEW TABLE AS usagectl_new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.usagectl_rollup_on_update();

CREATE TRIGGER usagectl_sides_delete AFTER DELETE ON public.usage_events REFERENCING OLD TABLE AS usagectl_old_rows FOR EACH STATEMENT EXECUTE FUNCTION public.usagectl_boundary_on_delete();

CREATE TRIGGER usagectl_sides_truncate AFTER TRUNCATE ON public.usage_events FOR EACH STATEMENT EXECUTE FUNCTION public.usagectl_boundary_on_truncate();

CREATE TRIGGER usagectl_sides_update AFTER UPDATE ON public.usage_events REFERENCING OLD TABLE AS usagectl_old_rows NEW TABLE AS usagectl_new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.usagectl_boundary_on_update();

ALTER TABLE ONLY public.usagectl_alert_attempts
    ADD CONSTRAINT usagectl_alert_attempts_outbox_id_fkey FOREIGN KEY (outbox_id) REFERENCES public.usagectl_alert_outbox(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.usagectl_alert_outbox
    ADD CONSTRAINT usagectl_alert_outbox_rule_fkey FOREIGN KEY (rule) REFERENCES public.usagectl_alert_rules(name) ON DELETE CASCADE;

ALTER TABLE ONLY public.usagectl_alert_states
    ADD CONSTRAINT usagectl_alert_states_rule_fkey FOREIGN KEY (rule) REFERENCES public.usagectl_alert_rules(name) ON DELETE CASCADE;

ALTER TABLE ONLY public.usagectl_boundary_usage
    ADD CONSTRAINT usagectl_boundary_usage_org_id_boundary_fkey FOREIGN KEY (org_id, boundary) REFERENCES public.usagectl_boundaries(org_id, boundary) ON DELETE CASCADE;

ALTER TABLE ONLY public.usagectl_grant_revocations
    ADD CONSTRAINT usagectl_grant_revocations_grant_id_fkey FOREIGN KEY (grant_id) REFERENCES public.usagectl_grants(id);

ALTER TABLE ONLY public.usagectl_org_tiers
    ADD CONSTRAINT usagectl_org_tiers_tier_fkey FOREIGN KEY (tier) REFERENCES public.usagectl_tiers(name);

ALTER TABLE ONLY public.usagectl_tier_limits
    ADD CONSTRAINT usagectl_tier_limits_tier_fkey FOREIGN KEY (tier) REFERENCES public.usagectl_tiers(name);

CREATE POLICY "usagectl boundary rollup per org" ON public.usagectl_boundary_usage FOR SELECT USING ((org_id = current_setting('app.current_org_id'::text, true)));

CREATE POLICY "usagectl rollup per org" ON public.usagectl_daily_usage FOR SELECT USING ((org_id = current_setting('app.current_org_id'::text, true)));

ALTER TABLE public.usagectl_boundary_usage ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.usagectl_daily_usage ENABLE ROW LEVEL SECURITY;

