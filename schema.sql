-- The schema a fresh `usagectl migrate` leaves (pg_dump --schema-only --no-owner
-- --no-privileges, normalised). Generated: do not edit; a test fails when it is
-- stale. Regenerate: USAGECTL_REGENERATE=1 cargo test --test it schema_snapshot

CREATE SCHEMA usagectl;

CREATE FUNCTION public.usagectl_allowance(p_org text, p_metric text, p_at timestamp with time zone, p_adding bigint, OUT period_start timestamp with time zone, OUT period_end timestamp with time zone, OUT limit_value bigint, OUT current bigint, OUT reserved bigint, OUT allowed boolean, OUT message text) RETURNS record
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'public'
    AS $$
DECLARE
    v_types text[];
    v_monthly boolean;
    v_base bigint;
    v_period record;
BEGIN
    SELECT m.event_types, m.monthly INTO v_types, v_monthly
      FROM usagectl_metrics() m WHERE m.metric = p_metric;
    v_period := usagectl_period(p_org, p_at);
    period_start := v_period.period_start;
    period_end := v_period.period_end;
    v_base := usagectl_base_limit(p_org, p_metric);
    -- the limit with the period's grants, and what live reservations hold (the web app's
    -- API: not settled, released or expired)
    SELECT CASE WHEN v_base = -1 THEN -1
                ELSE v_base + coalesce((SELECT g.granted
                                          FROM usagectl_granted(p_org, period_start, period_end) g
                                         WHERE g.metric = p_metric), 0) END,
           (SELECT coalesce(sum(r.quantity), 0)::bigint FROM usagectl_reservations r
             WHERE r.org_id = p_org AND r.metric = p_metric AND r.ended_at IS NULL
               AND r.expires_at > now())
      INTO limit_value, reserved;
    current := usagectl_org_usage(p_org, v_types, CASE WHEN v_monthly THEN period_start END,
                                  period_end);
    -- THE quota rule: what is used, what live reservations hold and what is added fit
    -- within the limit (current + reserved + adding <= limit), or the metric is unlimited
    allowed := limit_value = -1 OR current + reserved + p_adding <= limit_value;
    message := CASE WHEN NOT allowed
                    THEN usagectl_refusal(p_metric, current + reserved, limit_value, p_adding) END;
END
$$;

CREATE FUNCTION public.usagectl_anchor_instant(p_year integer, p_month integer, p_anchor integer, p_zone text) RETURNS timestamp with time zone
    LANGUAGE sql STABLE
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

CREATE FUNCTION public.usagectl_archived_in(p_from timestamp with time zone, p_to timestamp with time zone) RETURNS TABLE(month date, file text)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public'
    AS $$
BEGIN
    IF to_regclass('usagectl_archives') IS NULL THEN
        RETURN;
    END IF;
    RETURN QUERY
    SELECT a.month, a.file FROM usagectl_archives a
     WHERE a.state IN ('deleting', 'archived')
       AND (a.month::timestamp AT TIME ZONE 'UTC') < p_to
       AND ((a.month + interval '1 month')::timestamp AT TIME ZONE 'UTC') > coalesce(p_from, '-infinity'::timestamptz)
     ORDER BY a.month;
END
$$;

CREATE FUNCTION public.usagectl_base_limit(p_org text, p_metric text) RETURNS bigint
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'public'
    AS $$
BEGIN
    RETURN coalesce(
        (SELECT o.limit_value FROM usagectl_org_limit_overrides o
          WHERE o.org_id = p_org AND o.metric = p_metric),
        (SELECT l.limit_value FROM usagectl_tier_limits l
          WHERE l.metric = p_metric
            AND l.tier = coalesce((SELECT t.tier FROM usagectl_org_tiers t WHERE t.org_id = p_org),
                                  'trial')),
        -1);
END
$$;

CREATE FUNCTION public.usagectl_bucket(p_org text, p_at timestamp with time zone) RETURNS timestamp with time zone
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT coalesce(max(b.boundary), date_trunc('day', p_at, 'UTC'))
      FROM usagectl_boundaries b
     WHERE b.org_id = p_org AND b.boundary > date_trunc('day', p_at, 'UTC') AND b.boundary <= p_at
$$;

CREATE FUNCTION public.usagectl_count(p_rows anyarray) RETURNS TABLE(org_id text, bucket timestamp with time zone, event_type text, model text, events bigint, quantity bigint, first_event timestamp with time zone, last_event timestamp with time zone)
    LANGUAGE sql STABLE
    AS $$
    SELECT r.org_id, usagectl_bucket(r.org_id, r.created_at), r.event_type,
           usagectl_model_key(r.event_type, r.metadata), count(*),
           coalesce(sum(r.quantity), 0)::bigint, min(r.created_at), max(r.created_at)
      FROM unnest(p_rows) r
     GROUP BY 1, 2, 3, 4
     ORDER BY 1, 2, 3, 4
$$;

CREATE FUNCTION public.usagectl_create_partition(p_month date) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public'
    SET "TimeZone" TO 'UTC'
    AS $_$
DECLARE
    v_from timestamptz := p_month::timestamp AT TIME ZONE 'UTC';
    v_to timestamptz := (p_month + interval '1 month')::timestamp AT TIME ZONE 'UTC';
    v_name text := format('usage_events_%s', to_char(p_month, 'YYYY_MM'));
    v_template oid;
    v_index record;
    v_schema text := (SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                       WHERE c.oid = 'usage_events'::regclass);
BEGIN
    IF p_month IS NULL OR p_month <> date_trunc('month', p_month)::date THEN
        RAISE EXCEPTION 'usagectl: % is not the first day of a month', p_month
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF (SELECT c.relkind FROM pg_class c WHERE c.oid = 'usage_events'::regclass) <> 'p' THEN
        RAISE EXCEPTION 'usagectl: usage_events is not partitioned (usagectl partition adopt)'
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    -- a partition that holds any instant of the month already: nothing to do
    IF EXISTS (SELECT 1 FROM usagectl_partitions() p
                WHERE NOT p.is_default AND coalesce(p.range_from, '-infinity') < v_to
                  AND coalesce(p.range_to, 'infinity') > v_from) THEN
        RETURN false;
    END IF;
    -- the unique indexes come from the oldest partition (the adopted heap)
    SELECT i.inhrelid INTO v_template
      FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = 'usage_events'::regclass
     ORDER BY c.oid LIMIT 1;
    EXECUTE format('CREATE TABLE %I.%I (LIKE usage_events INCLUDING DEFAULTS INCLUDING CONSTRAINTS '
                   'INCLUDING STORAGE INCLUDING COMMENTS)', v_schema, v_name);
    FOR v_index IN
        SELECT x.indisprimary AS is_primary, c.relname AS name,
               substring(pg_get_indexdef(x.indexrelid) FROM ' USING .*$') AS how,
               (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY k.n)
                  FROM unnest(x.indkey) WITH ORDINALITY k(attnum, n)
                  JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum) AS columns
          FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid
         WHERE x.indrelid = v_template AND x.indisunique
         ORDER BY c.relname
    LOOP
        IF v_index.is_primary THEN
            EXECUTE format('ALTER TABLE %I.%I ADD PRIMARY KEY (%s)', v_schema, v_name, v_index.columns);
        ELSE
            EXECUTE format('CREATE UNIQUE INDEX %I ON %I.%I %s',
                           left(v_name || '_' || v_index.name, 63), v_schema, v_name, v_index.how);
        END IF;
    END LOOP;
    EXECUTE format('ALTER TABLE usage_events ATTACH PARTITION %I.%I FOR VALUES FROM (%L) TO (%L)',
                   v_schema, v_name, v_from, v_to);
    RETURN true;
END
$_$;

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
$$;

CREATE FUNCTION public.usagectl_granted(p_org text, p_start timestamp with time zone, p_end timestamp with time zone) RETURNS TABLE(metric text, granted bigint)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public'
    AS $$
BEGIN
    RETURN QUERY
    SELECT g.metric, sum(g.amount)::bigint
      FROM usagectl_grants g
     WHERE g.org_id = p_org AND g.period_start >= p_start AND g.period_start < p_end
       AND NOT EXISTS (SELECT 1 FROM usagectl_grant_revocations r WHERE r.grant_id = g.id)
     GROUP BY g.metric;
END
$$;

CREATE FUNCTION public.usagectl_insert_events(p_id uuid[], p_org text[], p_type text[], p_quantity integer[], p_metadata jsonb[], p_at timestamp with time zone[], p_key text[]) RETURNS TABLE(id uuid, org_id text, event_type text, quantity integer, metadata jsonb, created_at timestamp with time zone, idempotency_key text)
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'public'
    AS $$
#variable_conflict use_column
BEGIN
    IF coalesce(cardinality(array_remove(p_key, NULL)), 0) = 0
       AND coalesce(cardinality(p_key), cardinality(p_org)) = cardinality(p_org) THEN
        -- no key to claim: the insert alone (a shorter plan for the web app's every call;
        -- arrays of unequal length take the general path, which pads them as unnest does)
        RETURN QUERY
        INSERT INTO usage_events AS e (id, org_id, event_type, quantity, metadata, created_at)
        SELECT coalesce(i.id, gen_random_uuid()), i.org_id, i.event_type, i.quantity, i.metadata,
               coalesce(i.at, now())
          FROM unnest(p_id, p_org, p_type, p_quantity, p_metadata, p_at)
               WITH ORDINALITY AS i(id, org_id, event_type, quantity, metadata, at, n)
         ORDER BY i.n
        RETURNING e.id, e.org_id, e.event_type, e.quantity, e.metadata, e.created_at, e.idempotency_key;
        RETURN;
    END IF;
    RETURN QUERY
    WITH input AS MATERIALIZED (
        SELECT coalesce(i.id, gen_random_uuid()) AS id, i.org_id, i.event_type, i.quantity,
               i.metadata, coalesce(i.at, now()) AS at, i.idempotency_key, i.n
          FROM unnest(p_id, p_org, p_type, p_quantity, p_metadata, p_at, p_key)
               WITH ORDINALITY AS i(id, org_id, event_type, quantity, metadata, at, idempotency_key, n)),
    claimed AS (
        INSERT INTO usagectl_event_keys AS k (org_id, idempotency_key, event_id)
        SELECT f.org_id, f.idempotency_key, f.id
          FROM (SELECT DISTINCT ON (i.org_id, i.idempotency_key) i.org_id, i.idempotency_key, i.id
                  FROM input i WHERE i.idempotency_key IS NOT NULL
                 ORDER BY i.org_id, i.idempotency_key, i.n) f
         WHERE NOT EXISTS (SELECT 1 FROM usage_events e
                            WHERE e.org_id = f.org_id AND e.idempotency_key = f.idempotency_key)
         ORDER BY f.org_id, f.idempotency_key
        ON CONFLICT DO NOTHING
        RETURNING k.event_id)
    INSERT INTO usage_events AS e (id, org_id, event_type, quantity, metadata, created_at, idempotency_key)
    SELECT i.id, i.org_id, i.event_type, i.quantity, i.metadata, i.at, i.idempotency_key
      FROM input i
     WHERE i.idempotency_key IS NULL OR i.id IN (SELECT c.event_id FROM claimed c)
     ORDER BY i.n
    RETURNING e.id, e.org_id, e.event_type, e.quantity, e.metadata, e.created_at, e.idempotency_key;
END
$$;

CREATE FUNCTION public.usagectl_is_folded(p_seq bigint, p_watermark bigint) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT p_seq IS NULL OR p_seq <= p_watermark
$$;

CREATE FUNCTION public.usagectl_json_time(p_at timestamp with time zone) RETURNS text
    LANGUAGE sql STABLE
    AS $$
    SELECT to_char(p_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
           || CASE WHEN u.us = 0 THEN ''
                   WHEN u.us % 1000 = 0 THEN '.' || lpad((u.us / 1000)::text, 3, '0')
                   ELSE '.' || lpad(u.us::text, 6, '0') END
           || 'Z'
      FROM (SELECT (extract(microseconds FROM p_at)::bigint % 1000000) AS us) u
$$;

CREATE FUNCTION public.usagectl_limits_body(p_org text, p_at timestamp with time zone) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
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
$$;

CREATE FUNCTION public.usagectl_lock_org(p_org text) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'public'
    AS $$
BEGIN
    -- one statement once the row exists (every call but an org's first)
    PERFORM FROM usagectl_org_locks l WHERE l.org_id = p_org FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO usagectl_org_locks (org_id) VALUES (p_org) ON CONFLICT (org_id) DO NOTHING;
        PERFORM FROM usagectl_org_locks l WHERE l.org_id = p_org FOR UPDATE;
    END IF;
END
$$;

CREATE FUNCTION public.usagectl_metric_uses(p_org text, p_at timestamp with time zone) RETURNS TABLE(n bigint, metric text, monthly boolean, unit text, current bigint, limit_value bigint, limit_source text, granted bigint, by_type jsonb)
    LANGUAGE sql STABLE
    AS $$
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
$$;

CREATE FUNCTION public.usagectl_metrics() RETURNS TABLE(metric text, event_types text[], monthly boolean, label text, unit text)
    LANGUAGE sql IMMUTABLE
    AS $$
    VALUES ('csv_uploads', ARRAY['csv_upload'], true, 'CSV upload', 'uploads'),
           ('csv_rows', ARRAY['csv_row_processed'], true, 'CSV row', 'rows'),
           ('analyses', ARRAY['analysis_run'], true, 'Analysis', 'analyses'),
           ('chat_messages', ARRAY['chat_message'], true, 'Chat message', 'messages'),
           ('ai_tokens', ARRAY['ai_tokens_input', 'ai_tokens_output'], true, 'AI token', 'tokens'),
           ('mapping_profiles', ARRAY['mapping_profile_created'], false, 'Mapping profile', 'profiles')
$$;

CREATE FUNCTION public.usagectl_model_key(p_type text, p_metadata jsonb) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT CASE WHEN p_type IN ('ai_tokens_input', 'ai_tokens_output')
                THEN coalesce(left(p_metadata ->> 'model', 200), '')
                ELSE '' END
$$;

CREATE FUNCTION public.usagectl_org_known(p_org text) RETURNS boolean
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'public'
    AS $_$
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
$_$;

CREATE FUNCTION public.usagectl_org_usage(p_org text, p_types text[], p_from timestamp with time zone, p_to timestamp with time zone) RETURNS bigint
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'public'
    SET plan_cache_mode TO 'force_generic_plan'
    AS $$
DECLARE
    v_from timestamptz := coalesce(p_from, '-infinity'::timestamptz);
    v_sum bigint;
BEGIN
    IF p_to IS NULL OR p_types IS NULL THEN
        RAISE EXCEPTION 'usagectl_org_usage(): the window needs an end and the types a list'
            USING ERRCODE = '22004';
    END IF;
    IF v_from >= p_to OR NOT usagectl_rollup_ready()
       OR NOT (v_from = '-infinity'::timestamptz OR date_trunc('day', v_from, 'UTC') = v_from
               OR EXISTS (SELECT 1 FROM usagectl_boundaries b WHERE b.org_id = p_org AND b.boundary = v_from))
       OR NOT (date_trunc('day', p_to, 'UTC') = p_to
               OR EXISTS (SELECT 1 FROM usagectl_boundaries b WHERE b.org_id = p_org AND b.boundary = p_to)) THEN
        RETURN (SELECT coalesce(sum(m.quantity), 0)::bigint
                  FROM usagectl_usage_by_model(ARRAY[p_org], p_types, p_from, p_to) m);
    END IF;
    -- one statement, one snapshot: the watermark (an initplan, still the bound of the index
    -- scan of the org's rows above it, since usagectl_is_folded() is inlined) agrees with
    -- the rollup read below
    SELECT coalesce(sum(u.quantity), 0)::bigint INTO v_sum
      FROM (SELECT e.quantity::bigint AS quantity
              FROM usage_events e
             WHERE e.org_id = p_org
               AND NOT usagectl_is_folded(e.usagectl_seq, (SELECT f.watermark FROM usagectl_fold_state f))
               AND e.event_type = ANY (p_types)
               -- [v_from, p_to) as a range test, which no index answers: the plan (one for
               -- every org and window) must not intersect the org's few rows with the
               -- created_at index's entries for the window, every org's
               AND e.created_at <@ tstzrange(v_from, p_to, '[)')
            UNION ALL
            SELECT r.quantity
              FROM usagectl_rollup r
             WHERE r.org_id = p_org AND r.event_type = ANY (p_types)
               AND r.bucket >= v_from AND r.bucket < p_to) u;
    RETURN v_sum;
END
$$;

CREATE FUNCTION public.usagectl_partition_switch(p_bound timestamp with time zone, p_months integer) RETURNS text
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'public'
    SET "TimeZone" TO 'UTC'
    AS $_$
DECLARE
    v_heap oid := 'usage_events'::regclass;
    v_name text := format('usage_events_before_%s', to_char(p_bound AT TIME ZONE 'UTC', 'YYYY_MM'));
    v_owner text := (SELECT c.relowner::regrole::text FROM pg_class c WHERE c.oid = 'usage_events'::regclass);
    v_schema text := (SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                       WHERE c.oid = 'usage_events'::regclass);
    r record;
BEGIN
    IF (SELECT c.relkind FROM pg_class c WHERE c.oid = v_heap) <> 'r' THEN
        RAISE EXCEPTION 'usagectl: usage_events is partitioned already'
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    -- what a partition may not have (transition-table triggers) and what depends on the
    -- heap's row type: installed again on the new parent by the definitions
    DROP TRIGGER IF EXISTS usagectl_rollup_update ON usage_events;
    DROP TRIGGER IF EXISTS usagectl_rollup_delete ON usage_events;
    DROP TRIGGER IF EXISTS usagectl_rollup_truncate ON usage_events;
    FOR r IN
        SELECT DISTINCT d.objid::regprocedure AS f
          FROM pg_depend d JOIN pg_type t ON t.oid = d.refobjid
         WHERE d.classid = 'pg_proc'::regclass AND d.refclassid = 'pg_type'::regclass
           AND t.oid IN (SELECT c.reltype FROM pg_class c WHERE c.oid = v_heap
                         UNION ALL
                         SELECT y.typarray FROM pg_class c JOIN pg_type y ON y.oid = c.reltype
                          WHERE c.oid = v_heap)
    LOOP
        EXECUTE format('DROP FUNCTION %s', r.f);
    END LOOP;
    EXECUTE format('ALTER TABLE usage_events RENAME TO %I', v_name);
    EXECUTE format('CREATE TABLE %I.usage_events (LIKE %I.%I INCLUDING DEFAULTS INCLUDING CONSTRAINTS '
                   'INCLUDING STORAGE INCLUDING COMMENTS) PARTITION BY RANGE (created_at)',
                   v_schema, v_schema, v_name);
    ALTER TABLE usage_events DROP CONSTRAINT usagectl_partition_bound;
    -- who may do what: the heap's grants, row-level security and policies
    FOR r IN
        SELECT a.privilege_type, a.is_grantable,
               CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END AS grantee
          FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a
         WHERE c.oid = v_heap AND a.grantee::regrole::text IS DISTINCT FROM v_owner
    LOOP
        EXECUTE format('GRANT %s ON usage_events TO %s%s', r.privilege_type, r.grantee,
                       CASE WHEN r.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
    END LOOP;
    IF (SELECT c.relrowsecurity FROM pg_class c WHERE c.oid = v_heap) THEN
        ALTER TABLE usage_events ENABLE ROW LEVEL SECURITY;
    END IF;
    IF (SELECT c.relforcerowsecurity FROM pg_class c WHERE c.oid = v_heap) THEN
        ALTER TABLE usage_events FORCE ROW LEVEL SECURITY;
    END IF;
    FOR r IN
        SELECT p.polname, p.polpermissive, p.polcmd,
               pg_get_expr(p.polqual, p.polrelid) AS qual,
               pg_get_expr(p.polwithcheck, p.polrelid) AS withcheck,
               (SELECT string_agg(CASE WHEN o = 0 THEN 'PUBLIC' ELSE o::regrole::text END, ', ')
                  FROM unnest(p.polroles) o) AS roles
          FROM pg_policy p WHERE p.polrelid = v_heap ORDER BY p.polname
    LOOP
        EXECUTE format('CREATE POLICY %I ON usage_events AS %s FOR %s TO %s%s%s', r.polname,
                       CASE WHEN r.polpermissive THEN 'PERMISSIVE' ELSE 'RESTRICTIVE' END,
                       CASE r.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE'
                                     WHEN 'd' THEN 'DELETE' ELSE 'ALL' END,
                       r.roles,
                       CASE WHEN r.qual IS NOT NULL THEN format(' USING (%s)', r.qual) ELSE '' END,
                       CASE WHEN r.withcheck IS NOT NULL THEN format(' WITH CHECK (%s)', r.withcheck) ELSE '' END);
    END LOOP;
    -- the heap's other indexes, as the parent's: each partition gets one as it is created
    -- or attached (the heap's own are attached, not built again)
    FOR r IN
        SELECT c.relname AS name, substring(pg_get_indexdef(x.indexrelid) FROM ' USING .*$') AS how
          FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid
         WHERE x.indrelid = v_heap AND NOT x.indisunique
         ORDER BY c.relname
    LOOP
        EXECUTE format('CREATE INDEX %I ON usage_events %s', left(r.name || '_all', 63), r.how);
    END LOOP;
    -- sequences owned by a column of the heap (usagectl's event numbers, a serial of the
    -- web app's) follow the column to the parent: dropping the heap one day, after its
    -- months are archived, must not drop a default's sequence
    FOR r IN
        SELECT d.objid::regclass AS seq, a.attname
          FROM pg_depend d JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
         WHERE d.classid = 'pg_class'::regclass AND d.refobjid = v_heap AND d.deptype = 'a'
           AND (SELECT c.relkind FROM pg_class c WHERE c.oid = d.objid) = 'S'
    LOOP
        EXECUTE format('ALTER SEQUENCE %s OWNED BY %I.usage_events.%I', r.seq, v_schema, r.attname);
    END LOOP;
    EXECUTE format('ALTER TABLE usage_events ATTACH PARTITION %I.%I FOR VALUES FROM (MINVALUE) TO (%L)',
                   v_schema, v_name, p_bound);
    EXECUTE format('ALTER TABLE %I.%I DROP CONSTRAINT usagectl_partition_bound', v_schema, v_name);
    PERFORM usagectl_create_partition((date_trunc('month', p_bound AT TIME ZONE 'UTC')
                                       + make_interval(months => m))::date)
       FROM generate_series(0, greatest(p_months, 1) - 1) m;
    RETURN v_name;
END
$_$;

CREATE FUNCTION public.usagectl_partitions() RETURNS TABLE(partition regclass, range_from timestamp with time zone, range_to timestamp with time zone, is_default boolean)
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog', 'public'
    SET "TimeZone" TO 'UTC'
    AS $_$
    SELECT c.oid::regclass,
           CASE WHEN b.lo IN ('MINVALUE', '') THEN NULL ELSE b.lo::timestamptz END,
           CASE WHEN b.hi IN ('MAXVALUE', '') THEN NULL ELSE b.hi::timestamptz END,
           b.bound = 'DEFAULT'
      FROM pg_inherits i
      JOIN pg_class c ON c.oid = i.inhrelid
      CROSS JOIN LATERAL (SELECT pg_get_expr(c.relpartbound, c.oid) AS bound) e
      CROSS JOIN LATERAL (SELECT e.bound,
                                 btrim(substring(e.bound FROM 'FROM \((.*)\) TO'), ''''),
                                 btrim(substring(e.bound FROM 'TO \((.*)\)$'), '''')) b(bound, lo, hi)
     WHERE i.inhparent = 'usage_events'::regclass
     ORDER BY 2 NULLS FIRST
$_$;

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

CREATE FUNCTION public.usagectl_period_json(p_org text, p_at timestamp with time zone) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
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

CREATE FUNCTION public.usagectl_projection(p_current bigint, p_limit bigint, p_start timestamp with time zone, p_end timestamp with time zone, p_now timestamp with time zone) RETURNS timestamp with time zone
    LANGUAGE sql STABLE
    AS $$
    SELECT p_now + x.secs::bigint * interval '1 second'
      FROM (SELECT ceil(CASE WHEN s.elapsed = 0 THEN 0
                             ELSE (p_limit - p_current)::float8 / (p_current::float8 / s.elapsed) END) AS secs
              FROM (SELECT trunc(extract(epoch FROM p_now - p_start))::float8 AS elapsed) s
             WHERE p_limit <> -1 AND p_current > 0 AND p_current < p_limit
               AND p_now > p_start AND p_now < p_end) x
     -- before the period ends (asked before the instant is made: a limit far above the rate
     -- would lie past the last date there is)
     WHERE x.secs::numeric * 1000000 < extract(epoch FROM p_end - p_now) * 1000000
$$;

CREATE FUNCTION public.usagectl_record(p_org text, p_type text, p_quantity integer, p_metadata jsonb, p_created_at timestamp with time zone, p_key text) RETURNS TABLE(r_outcome text, r_metric text, r_current bigint, r_limit bigint, r_period_start timestamp with time zone, r_period_end timestamp with time zone, r_message text, r_id uuid, r_org_id text, r_event_type text, r_quantity integer, r_metadata jsonb, r_created_at timestamp with time zone, r_idempotency_key text)
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'public'
    AS $$
DECLARE
    v_at timestamptz := coalesce(p_created_at, now());
    v_message text;
    v_metric text;
    v_start timestamptz;
    v_end timestamptz;
    v_limit bigint;
    v_current bigint;
    v_allowance record;
    v_row usage_events%ROWTYPE;
BEGIN
    IF p_quantity > 0 THEN
        SELECT m.metric INTO v_metric FROM usagectl_metrics() m WHERE p_type = ANY (m.event_types);
        IF usagectl_base_limit(p_org, v_metric) = -1 THEN
            v_metric := NULL;
        END IF;
    END IF;
    IF v_metric IS NOT NULL THEN
        PERFORM usagectl_lock_org(p_org);
    END IF;
    IF p_key IS NOT NULL THEN
        SELECT * INTO v_row FROM usage_events e WHERE e.org_id = p_org AND e.idempotency_key = p_key;
        IF FOUND THEN
            RETURN QUERY SELECT 'duplicate', v_metric, NULL::bigint, NULL::bigint,
                NULL::timestamptz, NULL::timestamptz, NULL::text, v_row.id, v_row.org_id, v_row.event_type,
                v_row.quantity, v_row.metadata, v_row.created_at, v_row.idempotency_key;
            RETURN;
        END IF;
    END IF;
    IF v_metric IS NOT NULL THEN
        v_allowance := usagectl_allowance(p_org, v_metric, v_at, p_quantity);
        v_start := v_allowance.period_start;
        v_end := v_allowance.period_end;
        v_limit := v_allowance.limit_value;
        v_current := v_allowance.current + v_allowance.reserved;
        v_message := v_allowance.message;
        IF NOT v_allowance.allowed THEN
            RETURN QUERY SELECT 'refused', v_metric, v_current, v_limit, v_start, v_end, v_message,
                NULL::uuid, NULL::text, NULL::text, NULL::integer, NULL::jsonb,
                NULL::timestamptz, NULL::text;
            RETURN;
        END IF;
    END IF;
    SELECT i.id, i.org_id, i.event_type, i.quantity, i.metadata, i.created_at, i.idempotency_key
      INTO v_row.id, v_row.org_id, v_row.event_type, v_row.quantity, v_row.metadata,
           v_row.created_at, v_row.idempotency_key
      FROM usagectl_insert_events(ARRAY[NULL::uuid], ARRAY[p_org], ARRAY[p_type], ARRAY[p_quantity],
                                  ARRAY[p_metadata], ARRAY[v_at], ARRAY[p_key]) i;
    IF NOT FOUND THEN
        -- the key was stored meanwhile by a writer outside the lock
        SELECT * INTO v_row FROM usage_events e WHERE e.org_id = p_org AND e.idempotency_key = p_key;
        RETURN QUERY SELECT 'duplicate', v_metric, v_current, v_limit, v_start, v_end, NULL::text,
            v_row.id, v_row.org_id, v_row.event_type, v_row.quantity,
            v_row.metadata, v_row.created_at, v_row.idempotency_key;
        RETURN;
    END IF;
    RETURN QUERY SELECT 'inserted', v_metric, v_current, v_limit, v_start, v_end, NULL::text,
        v_row.id, v_row.org_id, v_row.event_type, v_row.quantity,
        v_row.metadata, v_row.created_at, v_row.idempotency_key;
END
$$;

CREATE FUNCTION public.usagectl_recount(p_org text, p_day date) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public'
    AS $$
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
$$;

CREATE FUNCTION public.usagectl_refusal(p_metric text, p_current bigint, p_limit bigint, p_adding bigint) RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $$
    SELECT format('%s limit exceeded (%s/%s %s%s). Please upgrade your plan.', m.label,
                  p_current, p_limit, CASE WHEN m.monthly THEN 'this month' ELSE 'in total' END,
                  CASE WHEN p_adding = 1 THEN ''
                       ELSE format('; %s more would make %s', p_adding, p_current + p_adding) END)
      FROM usagectl_metrics() m
     WHERE m.metric = p_metric
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
$$;

CREATE FUNCTION public.usagectl_require_metric(p_metric text) RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO 'pg_catalog', 'public'
    AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM usagectl_metrics() m WHERE m.metric = p_metric) THEN
        RAISE EXCEPTION 'usagectl: unknown metric % (one of: %)', coalesce(p_metric, 'NULL'),
            (SELECT string_agg(m.metric, ', ') FROM usagectl_metrics() m)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
END
$$;

CREATE FUNCTION public.usagectl_require_org(p_org text) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'public'
    AS $$
DECLARE
    v_scope text := nullif(current_setting('app.current_org_id', true), '');
BEGIN
    IF p_org IS NULL OR p_org = '' THEN
        RAISE EXCEPTION 'usagectl: an org id is required' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF row_security_active('usage_events') AND p_org IS DISTINCT FROM v_scope THEN
        RAISE EXCEPTION 'usagectl: this role sees only the org in app.current_org_id (%), not %',
            coalesce(v_scope, 'none set'), p_org
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'SET LOCAL app.current_org_id to the org in the same transaction';
    END IF;
END
$$;

CREATE FUNCTION public.usagectl_require_quantity(p_quantity bigint) RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO 'pg_catalog', 'public'
    AS $$
BEGIN
    IF p_quantity IS NULL OR p_quantity < 1 THEN
        RAISE EXCEPTION 'usagectl: quantity must be 1 or more, not %', coalesce(p_quantity::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
END
$$;

CREATE FUNCTION public.usagectl_require_raw(p_from timestamp with time zone, p_to timestamp with time zone) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'public'
    AS $$
DECLARE
    a record;
BEGIN
    SELECT * INTO a FROM usagectl_archived_in(p_from, p_to) LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'usagectl: % is archived (its rows are in %), and this read needs its raw rows in [%, %)',
            to_char(a.month, 'YYYY-MM'), a.file,
            coalesce(to_char(p_from AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), 'the first event'),
            to_char(p_to AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
            USING ERRCODE = 'UA001',
                  HINT = 'usagectl archive --restore ' || to_char(a.month, 'YYYY-MM') || ' --file ' || a.file
                         || ' puts the month back';
    END IF;
END
$$;

CREATE FUNCTION public.usagectl_reservation_org(p_id uuid) RETURNS text
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'public'
    AS $$
DECLARE
    v_org text;
BEGIN
    SELECT r.org_id INTO v_org FROM usagectl_reservations r WHERE r.id = p_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'usagectl: no reservation %', coalesce(p_id::text, 'NULL')
            USING ERRCODE = 'no_data_found';
    END IF;
    PERFORM usagectl_require_org(v_org);
    RETURN v_org;
END
$$;

CREATE FUNCTION public.usagectl_rollup_apply(p_old anyarray, p_new anyarray) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public'
    AS $$
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
$$;

CREATE FUNCTION public.usagectl_rollup_deleted() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public'
    AS $$
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
$$;

CREATE FUNCTION public.usagectl_rollup_ready() RETURNS boolean
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'public'
    AS $$
BEGIN
    IF NOT (has_table_privilege('usagectl_rollup', 'SELECT')
            AND has_table_privilege('usagectl_rollup_backfill', 'SELECT')
            AND has_table_privilege('usagectl_fold_state', 'SELECT')
            AND has_table_privilege('usagectl_boundaries', 'SELECT')) THEN
        RETURN false;
    END IF;
    RETURN NOT EXISTS (SELECT 1 FROM usagectl_rollup_backfill WHERE NOT done);
END
$$;

CREATE FUNCTION public.usagectl_rollup_truncated() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public'
    AS $$
BEGIN
    TRUNCATE usagectl_rollup, usagectl_rollup_backfill;
    IF to_regclass('usagectl_event_keys') IS NOT NULL THEN
        TRUNCATE usagectl_event_keys;
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION public.usagectl_rollup_updated() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public'
    AS $$
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
$$;

CREATE FUNCTION public.usagectl_settled_seq(p_max_wait interval) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public'
    AS $$
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
$$;

CREATE FUNCTION public.usagectl_status(p_current bigint, p_limit bigint, p_warn_at integer DEFAULT 80) RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $$
    SELECT CASE WHEN p_limit = -1 THEN 'ok'
                WHEN p_current >= p_limit THEN 'over_limit'
                WHEN p_current::numeric * 100 >= p_warn_at::numeric * p_limit THEN 'approaching_limit'
                ELSE 'ok' END
$$;

CREATE FUNCTION public.usagectl_status_body(p_org text, p_at timestamp with time zone, p_warn_at integer) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
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
$$;

CREATE FUNCTION public.usagectl_summary_body(p_org text, p_days integer, p_at timestamp with time zone) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
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
$$;

CREATE FUNCTION public.usagectl_tier_json(p_org text) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT jsonb_build_object('tier', coalesce(t.tier, 'trial'),
                              'tier_source', CASE WHEN t.tier IS NULL THEN 'default' ELSE 'assigned' END)
      FROM (SELECT 1) one LEFT JOIN usagectl_org_tiers t ON t.org_id = p_org
$$;

CREATE FUNCTION public.usagectl_totals_before(p_types text[], p_to timestamp with time zone) RETURNS TABLE(org_id text, event_type text, quantity bigint)
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'public'
    SET plan_cache_mode TO 'force_custom_plan'
    AS $$
#variable_conflict use_column
DECLARE
    v_seen bigint;
BEGIN
    IF p_to IS NULL OR p_types IS NULL THEN
        RAISE EXCEPTION 'usagectl_totals_before(): the window needs an end and the types a list'
            USING ERRCODE = '22004';
    END IF;
    IF date_trunc('day', p_to, 'UTC') <> p_to OR NOT usagectl_rollup_ready() THEN
        RETURN QUERY
        SELECT m.org_id, m.event_type, coalesce(sum(m.quantity), 0)::bigint
          FROM usagectl_usage_by_model(NULL, p_types, NULL, p_to) m
         GROUP BY 1, 2;
        RETURN;
    END IF;
    -- one snapshot (a STABLE function's): the watermark agrees with the rollup read below
    SELECT f.watermark INTO v_seen FROM usagectl_fold_state f;
    RETURN QUERY
    SELECT u.org_id, u.event_type, sum(u.quantity)::bigint
      FROM (SELECT e.org_id, e.event_type, e.quantity::bigint AS quantity
              FROM usage_events e
             WHERE NOT usagectl_is_folded(e.usagectl_seq, v_seen)
               AND e.event_type = ANY (p_types) AND e.created_at < p_to
            UNION ALL
            SELECT r.org_id, r.event_type, r.quantity
              FROM usagectl_rollup r
             WHERE r.event_type = ANY (p_types) AND r.bucket < p_to) u
     GROUP BY 1, 2;
END
$$;

CREATE FUNCTION public.usagectl_usage(p_org text, p_types text[], p_from timestamp with time zone, p_to timestamp with time zone) RETURNS TABLE(org_id text, event_type text, day date, events bigint, quantity bigint, first_event timestamp with time zone, last_event timestamp with time zone)
    LANGUAGE sql STABLE
    AS $$
    SELECT m.org_id, m.event_type, m.day, sum(m.events)::bigint, sum(m.quantity)::bigint,
           min(m.first_event), max(m.last_event)
      FROM usagectl_usage_by_model(CASE WHEN p_org IS NULL THEN NULL ELSE ARRAY[p_org] END,
                                   p_types, p_from, p_to) m
     GROUP BY 1, 2, 3
$$;

CREATE FUNCTION public.usagectl_usage_by_model(p_orgs text[], p_types text[], p_from timestamp with time zone, p_to timestamp with time zone) RETURNS TABLE(org_id text, event_type text, day date, model text, events bigint, quantity bigint, first_event timestamp with time zone, last_event timestamp with time zone)
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'public'
    SET plan_cache_mode TO 'force_custom_plan'
    AS $$
DECLARE
    v_from timestamptz := coalesce(p_from, '-infinity'::timestamptz);
    v_lo timestamptz;
    v_hi timestamptz;
    v_seen bigint;
    v_at_from text[] := '{}'::text[];
    v_at_to text[] := '{}'::text[];
    v_whole_from boolean;
    v_whole_to boolean;
BEGIN
    IF p_to IS NULL THEN
        RAISE EXCEPTION 'usagectl_usage(): the window needs an end (p_to)' USING ERRCODE = '22004';
    END IF;
    -- the first UTC midnight at or after p_from, the last at or before p_to
    v_lo := CASE WHEN p_from IS NULL THEN '-infinity'::timestamptz
                 WHEN date_trunc('day', p_from, 'UTC') = p_from THEN p_from
                 ELSE date_trunc('day', p_from, 'UTC') + interval '24 hours' END;
    v_hi := date_trunc('day', p_to, 'UTC');
    IF v_lo >= v_hi OR NOT usagectl_rollup_ready() THEN
        PERFORM usagectl_require_raw(v_from, p_to);
        RETURN QUERY
        SELECT e.org_id, e.event_type, (e.created_at AT TIME ZONE 'UTC')::date,
               usagectl_model_key(e.event_type, e.metadata), count(*),
               coalesce(sum(e.quantity), 0)::bigint, min(e.created_at), max(e.created_at)
          FROM usage_events e
         WHERE (p_orgs IS NULL OR e.org_id = ANY (p_orgs)) AND (p_types IS NULL OR e.event_type = ANY (p_types))
           AND e.created_at >= v_from AND e.created_at < p_to
         GROUP BY 1, 2, 3, 4;
        RETURN;
    END IF;
    -- the orgs for which an edge inside a UTC day is a registered boundary (a bucket starts there)
    IF v_from < v_lo THEN
        v_at_from := ARRAY(SELECT b.org_id FROM usagectl_boundaries b
                            WHERE b.boundary = v_from AND (p_orgs IS NULL OR b.org_id = ANY (p_orgs)));
    END IF;
    IF v_hi < p_to THEN
        v_at_to := ARRAY(SELECT b.org_id FROM usagectl_boundaries b
                          WHERE b.boundary = p_to AND (p_orgs IS NULL OR b.org_id = ANY (p_orgs)));
    END IF;
    -- a STABLE function's statements all read the calling statement's snapshot, so this
    -- watermark agrees with the rollup the queries below read
    SELECT f.watermark INTO v_seen FROM usagectl_fold_state f;
    -- each edge is a bucket start for every org asked about (a UTC midnight, or a boundary
    -- registered for each of them: a calendar month, an org's own period): no remainder
    v_whole_from := v_from = v_lo OR (p_orgs IS NOT NULL AND p_orgs <@ v_at_from);
    v_whole_to := v_hi = p_to OR (p_orgs IS NOT NULL AND p_orgs <@ v_at_to);
    IF v_whole_from AND v_whole_to THEN
        RETURN QUERY
        SELECT u.org_id, u.event_type, u.day, u.model, sum(u.events)::bigint, sum(u.quantity)::bigint,
               min(u.first_event), max(u.last_event)
          FROM (
            SELECT e.org_id, e.event_type, (e.created_at AT TIME ZONE 'UTC')::date AS day,
                   usagectl_model_key(e.event_type, e.metadata) AS model, 1::bigint AS events,
                   e.quantity::bigint AS quantity, e.created_at AS first_event, e.created_at AS last_event
              FROM usage_events e
             WHERE NOT usagectl_is_folded(e.usagectl_seq, v_seen)
               AND (p_orgs IS NULL OR e.org_id = ANY (p_orgs)) AND (p_types IS NULL OR e.event_type = ANY (p_types))
               AND e.created_at >= v_from AND e.created_at < p_to
            UNION ALL
            SELECT r.org_id, r.event_type, r.day, r.model, r.events, r.quantity, r.first_event, r.last_event
              FROM usagectl_rollup r
             WHERE (p_orgs IS NULL OR r.org_id = ANY (p_orgs)) AND (p_types IS NULL OR r.event_type = ANY (p_types))
               AND r.bucket >= v_from AND r.bucket < p_to
               -- the same range by UTC day, implied by it, so an all-org read takes the day index
               AND r.day >= (v_from AT TIME ZONE 'UTC')::date AND r.day <= (p_to AT TIME ZONE 'UTC')::date
          ) u
         GROUP BY 1, 2, 3, 4;
        RETURN;
    END IF;
    -- the partial days read raw
    IF NOT v_whole_from THEN
        PERFORM usagectl_require_raw(v_from, v_lo);
    END IF;
    IF NOT v_whole_to THEN
        PERFORM usagectl_require_raw(v_hi, p_to);
    END IF;
    RETURN QUERY
    SELECT u.org_id, u.event_type, u.day, u.model, sum(u.events)::bigint, sum(u.quantity)::bigint,
           min(u.first_event), max(u.last_event)
      FROM (
        -- the rows the fold has not reached, in the span the buckets below cover
        SELECT e.org_id, e.event_type, (e.created_at AT TIME ZONE 'UTC')::date AS day,
               usagectl_model_key(e.event_type, e.metadata) AS model, 1::bigint AS events,
               e.quantity::bigint AS quantity, e.created_at AS first_event, e.created_at AS last_event
          FROM usage_events e
         WHERE NOT usagectl_is_folded(e.usagectl_seq, v_seen)
           AND (p_orgs IS NULL OR e.org_id = ANY (p_orgs)) AND (p_types IS NULL OR e.event_type = ANY (p_types))
           AND e.created_at >= v_from AND e.created_at < p_to
           AND (e.created_at >= v_lo OR e.org_id = ANY (v_at_from))
           AND (e.created_at < v_hi OR e.org_id = ANY (v_at_to))
        UNION ALL
        -- the buckets inside the window (usage_events first: the lock order, docs/design.md)
        SELECT r.org_id, r.event_type, r.day, r.model, r.events, r.quantity, r.first_event, r.last_event
          FROM usagectl_rollup r
         WHERE (p_orgs IS NULL OR r.org_id = ANY (p_orgs)) AND (p_types IS NULL OR r.event_type = ANY (p_types))
           AND r.bucket >= v_from AND r.bucket < p_to
           AND r.day >= (v_from AT TIME ZONE 'UTC')::date AND r.day <= (p_to AT TIME ZONE 'UTC')::date
           AND (r.bucket >= v_lo OR r.org_id = ANY (v_at_from))
           AND (r.bucket < v_hi OR r.org_id = ANY (v_at_to))
        UNION ALL
        -- the remainder: the partial day at the start, for the orgs no bucket starts at p_from
        SELECT e.org_id, e.event_type, (e.created_at AT TIME ZONE 'UTC')::date,
               usagectl_model_key(e.event_type, e.metadata), 1::bigint, e.quantity::bigint,
               e.created_at, e.created_at
          FROM usage_events e
         WHERE (p_orgs IS NULL OR e.org_id = ANY (p_orgs)) AND (p_types IS NULL OR e.event_type = ANY (p_types))
           AND NOT v_whole_from AND e.created_at >= v_from AND e.created_at < v_lo
           AND NOT e.org_id = ANY (v_at_from)
        UNION ALL
        -- and the partial day at the end, for the orgs no bucket ends at p_to
        SELECT e.org_id, e.event_type, (e.created_at AT TIME ZONE 'UTC')::date,
               usagectl_model_key(e.event_type, e.metadata), 1::bigint, e.quantity::bigint,
               e.created_at, e.created_at
          FROM usage_events e
         WHERE (p_orgs IS NULL OR e.org_id = ANY (p_orgs)) AND (p_types IS NULL OR e.event_type = ANY (p_types))
           AND NOT v_whole_to AND e.created_at >= v_hi AND e.created_at < p_to
           AND NOT e.org_id = ANY (v_at_to)
      ) u
     GROUP BY 1, 2, 3, 4;
END
$$;

CREATE FUNCTION public.usagectl_usage_of(p_orgs text[], p_types text[], p_from timestamp with time zone, p_to timestamp with time zone) RETURNS TABLE(org_id text, event_type text, day date, events bigint, quantity bigint, first_event timestamp with time zone, last_event timestamp with time zone)
    LANGUAGE sql STABLE
    AS $$
    SELECT m.org_id, m.event_type, m.day, sum(m.events)::bigint, sum(m.quantity)::bigint,
           min(m.first_event), max(m.last_event)
      FROM usagectl_usage_by_model(p_orgs, p_types, p_from, p_to) m
     GROUP BY 1, 2, 3
$$;

CREATE FUNCTION usagectl.api_version() RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT '1' $$;

CREATE FUNCTION usagectl."check"(org text, metric text, quantity bigint DEFAULT 1) RETURNS TABLE(allowed boolean, current bigint, "limit" bigint, remaining bigint, status text, period_start timestamp with time zone, period_end timestamp with time zone, message text)
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'public'
    AS $_$
#variable_conflict use_column
DECLARE
    a record;
BEGIN
    PERFORM usagectl_require_org($1);
    PERFORM usagectl_require_metric($2);
    PERFORM usagectl_require_quantity($3);
    SELECT * INTO a FROM usagectl_allowance($1, $2, now(), $3) x;
    allowed := a.allowed;
    current := a.current + a.reserved;
    "limit" := nullif(a.limit_value, -1);
    remaining := CASE WHEN a.limit_value = -1 THEN NULL
                      ELSE greatest(a.limit_value - a.current - a.reserved, 0) END;
    status := usagectl_status(a.current + a.reserved, a.limit_value);
    period_start := a.period_start;
    period_end := a.period_end;
    message := a.message;
    RETURN NEXT;
END
$_$;

CREATE FUNCTION usagectl.limits_json(org text) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'public'
    AS $_$
BEGIN
    PERFORM usagectl_require_org($1);
    RETURN usagectl_limits_body($1, now());
END
$_$;

CREATE FUNCTION usagectl.quota_status_json(org text) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'public'
    AS $_$
BEGIN
    PERFORM usagectl_require_org($1);
    RETURN usagectl_status_body($1, now(), 80);
END
$_$;

CREATE FUNCTION usagectl.record(org text, event_type text, quantity integer DEFAULT 1, metadata jsonb DEFAULT NULL::jsonb, idempotency_key text DEFAULT NULL::text, enforce boolean DEFAULT true) RETURNS TABLE(outcome text, event_id uuid, metric text, current bigint, "limit" bigint, message text)
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'public'
    AS $_$
#variable_conflict use_column
DECLARE
    r record;
    v_id uuid;
BEGIN
    PERFORM usagectl_require_org($1);
    IF $2 IS NULL OR $2 !~ '^[a-z][a-z0-9_]{0,99}$' THEN
        RAISE EXCEPTION 'usagectl: event_type % is not a lowercase name like chat_message',
            coalesce(quote_literal($2), 'NULL') USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM usagectl_require_quantity($3);
    IF $6 THEN
        SELECT * INTO r FROM usagectl_record($1, $2, $3, $4, NULL, $5) x;
        outcome := CASE r.r_outcome WHEN 'inserted' THEN 'recorded' ELSE r.r_outcome END;
        event_id := r.r_id;
        metric := r.r_metric;
        current := CASE r.r_outcome WHEN 'inserted' THEN r.r_current + $3 ELSE r.r_current END;
        "limit" := nullif(r.r_limit, -1);
        message := r.r_message;
        RETURN NEXT;
        RETURN;
    END IF;
    SELECT e.id INTO v_id
      FROM usagectl_insert_events(ARRAY[NULL::uuid], ARRAY[$1], ARRAY[$2], ARRAY[$3], ARRAY[$4],
                                  ARRAY[NULL::timestamptz], ARRAY[$5]) e;
    IF FOUND THEN
        outcome := 'recorded';
    ELSE
        SELECT e.id INTO v_id FROM usage_events e WHERE e.org_id = $1 AND e.idempotency_key = $5;
        outcome := 'duplicate';
    END IF;
    event_id := v_id;
    RETURN NEXT;
END
$_$;

CREATE FUNCTION usagectl.release(reservation_id uuid) RETURNS boolean
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'public'
    AS $_$
#variable_conflict use_column
BEGIN
    PERFORM usagectl_reservation_org($1);
    UPDATE usagectl_reservations r SET ended_at = now(), ended_as = 'released'
     WHERE r.id = $1 AND r.ended_at IS NULL;
    RETURN FOUND;
END
$_$;

CREATE FUNCTION usagectl.reserve(org text, metric text, quantity bigint, ttl interval DEFAULT '00:05:00'::interval) RETURNS TABLE(reservation_id uuid, allowed boolean, current bigint, "limit" bigint, message text)
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'public'
    AS $_$
#variable_conflict use_column
DECLARE
    a record;
BEGIN
    PERFORM usagectl_require_org($1);
    PERFORM usagectl_require_metric($2);
    PERFORM usagectl_require_quantity($3);
    IF $4 IS NULL OR $4 <= interval '0' OR $4 > interval '1 day' THEN
        RAISE EXCEPTION 'usagectl: ttl must be more than 0 and at most 1 day, not %',
            coalesce($4::text, 'NULL') USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM usagectl_lock_org($1);
    SELECT * INTO a FROM usagectl_allowance($1, $2, now(), $3) x;
    IF a.allowed THEN
        INSERT INTO usagectl_reservations AS res (org_id, metric, quantity, expires_at)
        VALUES ($1, $2, $3, now() + $4)
        RETURNING res.id INTO reservation_id;
    END IF;
    allowed := a.allowed;
    current := a.current + a.reserved + CASE WHEN a.allowed THEN $3 ELSE 0 END;
    "limit" := nullif(a.limit_value, -1);
    message := a.message;
    RETURN NEXT;
END
$_$;

CREATE FUNCTION usagectl.settle(reservation_id uuid, events jsonb) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'public'
    AS $_$
#variable_conflict use_column
DECLARE
    v_org text;
    res usagectl_reservations%ROWTYPE;
    e jsonb;
    v_type text;
    v_qty integer;
    v_id uuid;
    v_out jsonb := '[]'::jsonb;
    v_used bigint := 0;
    v_types text[];
    v_result jsonb;
BEGIN
    v_org := usagectl_reservation_org($1);
    IF $2 IS NULL OR jsonb_typeof($2) <> 'array' THEN
        RAISE EXCEPTION 'usagectl: events must be a JSON array of {event_type, quantity, metadata, idempotency_key}'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- the org lock first (the order every enforcer takes), then the reservation
    PERFORM usagectl_lock_org(v_org);
    SELECT * INTO res FROM usagectl_reservations r WHERE r.id = $1 FOR UPDATE;
    IF res.ended_as = 'settled' THEN
        RETURN res.settled;
    ELSIF res.ended_as = 'released' THEN
        RAISE EXCEPTION 'usagectl: reservation % was released; record the events with usagectl.record', $1
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    SELECT m.event_types INTO v_types FROM usagectl_metrics() m WHERE m.metric = res.metric;
    FOR e IN SELECT x FROM jsonb_array_elements($2) x LOOP
        v_type := e ->> 'event_type';
        IF v_type IS NULL OR v_type !~ '^[a-z][a-z0-9_]{0,99}$' THEN
            RAISE EXCEPTION 'usagectl: event % has no lowercase event_type', e
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        IF jsonb_typeof(coalesce(e -> 'quantity', '1')) <> 'number' THEN
            RAISE EXCEPTION 'usagectl: event % has a quantity that is not a number', e
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        v_qty := coalesce((e ->> 'quantity')::integer, 1);
        IF v_qty < 1 THEN
            RAISE EXCEPTION 'usagectl: event % has a quantity below 1', e
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        SELECT u.id INTO v_id
          FROM usagectl_insert_events(ARRAY[NULL::uuid], ARRAY[res.org_id], ARRAY[v_type], ARRAY[v_qty],
                                      ARRAY[e -> 'metadata'], ARRAY[NULL::timestamptz],
                                      ARRAY[e ->> 'idempotency_key']) u;
        IF v_type = ANY (v_types) THEN
            v_used := v_used + v_qty;
        END IF;
        IF FOUND THEN
            v_out := v_out || jsonb_build_object('event_id', v_id, 'event_type', v_type,
                                                 'quantity', v_qty, 'outcome', 'recorded');
        ELSE
            SELECT u.id INTO v_id FROM usage_events u
             WHERE u.org_id = res.org_id AND u.idempotency_key = e ->> 'idempotency_key';
            v_out := v_out || jsonb_build_object('event_id', v_id, 'event_type', v_type,
                                                 'quantity', v_qty, 'outcome', 'duplicate');
        END IF;
    END LOOP;
    v_result := jsonb_build_object('reservation_id', res.id, 'org_id', res.org_id,
                                   'metric', res.metric, 'reserved', res.quantity,
                                   'used', v_used, 'over_reservation', v_used > res.quantity,
                                   'expired', res.expires_at <= now(), 'events', v_out);
    UPDATE usagectl_reservations r SET ended_at = now(), ended_as = 'settled', settled = v_result
     WHERE r.id = res.id;
    RETURN v_result;
END
$_$;

CREATE FUNCTION usagectl.summary_json(org text, days integer DEFAULT 30) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'public'
    AS $_$
BEGIN
    PERFORM usagectl_require_org($1);
    IF $2 IS NULL OR $2 < 1 OR $2 > 365 THEN
        RAISE EXCEPTION 'usagectl: days must be 1 to 365, not %', coalesce($2::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN usagectl_summary_body($1, $2, now());
END
$_$;

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

CREATE TABLE public.usagectl_archive_kept (
    month date NOT NULL,
    id text NOT NULL
);

CREATE TABLE public.usagectl_archive_totals (
    month date NOT NULL,
    org_id text NOT NULL,
    event_type text NOT NULL,
    events bigint NOT NULL,
    quantity bigint NOT NULL
);

CREATE TABLE public.usagectl_archives (
    month date NOT NULL,
    state text NOT NULL,
    file text NOT NULL,
    sha256 text,
    events bigint,
    quantity bigint,
    columns text[],
    records_done bigint DEFAULT 0 NOT NULL,
    started_by text DEFAULT CURRENT_USER NOT NULL,
    started_at timestamp with time zone DEFAULT now() NOT NULL,
    archived_at timestamp with time zone,
    restored_by text,
    restored_at timestamp with time zone,
    CONSTRAINT usagectl_archives_month_check CHECK ((month = (date_trunc('month'::text, (month)::timestamp with time zone))::date)),
    CONSTRAINT usagectl_archives_state_check CHECK ((state = ANY (ARRAY['writing'::text, 'deleting'::text, 'archived'::text, 'restored'::text])))
);

CREATE TABLE public.usagectl_boundaries (
    org_id text NOT NULL,
    boundary timestamp with time zone NOT NULL,
    day_start timestamp with time zone GENERATED ALWAYS AS ((date_trunc('day'::text, (boundary AT TIME ZONE 'UTC'::text)) AT TIME ZONE 'UTC'::text)) STORED,
    registered_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT usagectl_boundaries_check CHECK (((boundary > day_start) AND (boundary < (day_start + '24:00:00'::interval))))
);

CREATE TABLE public.usagectl_definitions (
    object text NOT NULL,
    hash text NOT NULL,
    build text NOT NULL,
    installed_at timestamp with time zone DEFAULT now() NOT NULL,
    installed_by text DEFAULT CURRENT_USER NOT NULL
);

CREATE TABLE public.usagectl_event_keys (
    org_id text NOT NULL,
    idempotency_key text NOT NULL,
    event_id uuid NOT NULL,
    claimed_at timestamp with time zone DEFAULT now() NOT NULL
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

CREATE TABLE public.usagectl_reservations (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    org_id text NOT NULL,
    metric text NOT NULL,
    quantity bigint NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    ended_at timestamp with time zone,
    ended_as text,
    settled jsonb,
    CONSTRAINT usagectl_reservations_check CHECK (((ended_at IS NULL) = (ended_as IS NULL))),
    CONSTRAINT usagectl_reservations_ended_as_check CHECK ((ended_as = ANY (ARRAY['settled'::text, 'released'::text]))),
    CONSTRAINT usagectl_reservations_quantity_check CHECK ((quantity > 0))
);

CREATE TABLE public.usagectl_rollup (
    org_id text NOT NULL,
    bucket timestamp with time zone NOT NULL,
    day date GENERATED ALWAYS AS (((bucket AT TIME ZONE 'UTC'::text))::date) STORED NOT NULL,
    event_type text NOT NULL,
    model text NOT NULL,
    events bigint NOT NULL,
    quantity bigint NOT NULL,
    first_event timestamp with time zone NOT NULL,
    last_event timestamp with time zone NOT NULL
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

ALTER TABLE ONLY public.usagectl_archive_kept
    ADD CONSTRAINT usagectl_archive_kept_pkey PRIMARY KEY (month, id);

ALTER TABLE ONLY public.usagectl_archive_totals
    ADD CONSTRAINT usagectl_archive_totals_pkey PRIMARY KEY (month, org_id, event_type);

ALTER TABLE ONLY public.usagectl_archives
    ADD CONSTRAINT usagectl_archives_pkey PRIMARY KEY (month);

ALTER TABLE ONLY public.usagectl_boundaries
    ADD CONSTRAINT usagectl_boundaries_pkey PRIMARY KEY (org_id, boundary);

ALTER TABLE ONLY public.usagectl_definitions
    ADD CONSTRAINT usagectl_definitions_pkey PRIMARY KEY (object);

ALTER TABLE ONLY public.usagectl_event_keys
    ADD CONSTRAINT usagectl_event_keys_pkey PRIMARY KEY (org_id, idempotency_key);

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

ALTER TABLE ONLY public.usagectl_reservations
    ADD CONSTRAINT usagectl_reservations_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.usagectl_rollup_backfill
    ADD CONSTRAINT usagectl_rollup_backfill_pkey PRIMARY KEY (day);

ALTER TABLE ONLY public.usagectl_rollup
    ADD CONSTRAINT usagectl_rollup_pkey PRIMARY KEY (org_id, bucket, event_type, model);

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

CREATE UNIQUE INDEX usagectl_events_org_key ON public.usage_events USING btree (org_id, idempotency_key) WHERE (idempotency_key IS NOT NULL);

CREATE INDEX usagectl_events_org_seq ON public.usage_events USING btree (org_id, usagectl_seq) WHERE (usagectl_seq IS NOT NULL);

CREATE INDEX usagectl_events_seq ON public.usage_events USING btree (usagectl_seq) WHERE (usagectl_seq IS NOT NULL);

CREATE INDEX usagectl_grants_org ON public.usagectl_grants USING btree (org_id, period_start);

CREATE INDEX usagectl_model_price_removals_model ON public.usagectl_model_price_removals USING btree (model, valid_from);

CREATE INDEX usagectl_reservations_live ON public.usagectl_reservations USING btree (org_id, metric) WHERE (ended_at IS NULL);

CREATE INDEX usagectl_rollup_all_time ON public.usagectl_rollup USING btree (org_id) INCLUDE (event_type, bucket, quantity) WHERE (event_type = 'mapping_profile_created'::text);

CREATE INDEX usagectl_rollup_day ON public.usagectl_rollup USING btree (day);

CREATE INDEX usagectl_stripe_ledger_pending ON public.usagectl_stripe_ledger USING btree (org_id, source) WHERE (status = 'pending'::text);

CREATE TRIGGER usagectl_grant_revocations_append_only BEFORE DELETE OR UPDATE ON public.usagectl_grant_revocations FOR EACH ROW EXECUTE FUNCTION public.usagectl_append_only();

CREATE TRIGGER usagectl_grant_revocations_no_truncate BEFORE TRUNCATE ON public.usagectl_grant_revocations FOR EACH STATEMENT EXECUTE FUNCTION public.usagectl_append_only();

CREATE TRIGGER usagectl_grants_append_only BEFORE DELETE OR UPDATE ON public.usagectl_grants FOR EACH ROW EXECUTE FUNCTION public.usagectl_append_only();

CREATE TRIGGER usagectl_grants_no_truncate BEFORE TRUNCATE ON public.usagectl_grants FOR EACH STATEMENT EXECUTE FUNCTION public.usagectl_append_only();

CREATE TRIGGER usagectl_rollup_delete AFTER DELETE ON public.usage_events REFERENCING OLD TABLE AS usagectl_old_rows FOR EACH STATEMENT EXECUTE FUNCTION public.usagectl_rollup_deleted();

CREATE TRIGGER usagectl_rollup_truncate AFTER TRUNCATE ON public.usage_events FOR EACH STATEMENT EXECUTE FUNCTION public.usagectl_rollup_truncated();

CREATE TRIGGER usagectl_rollup_update AFTER UPDATE ON public.usage_events REFERENCING OLD TABLE AS usagectl_old_rows NEW TABLE AS usagectl_new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.usagectl_rollup_updated();

ALTER TABLE ONLY public.usagectl_alert_attempts
    ADD CONSTRAINT usagectl_alert_attempts_outbox_id_fkey FOREIGN KEY (outbox_id) REFERENCES public.usagectl_alert_outbox(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.usagectl_alert_outbox
    ADD CONSTRAINT usagectl_alert_outbox_rule_fkey FOREIGN KEY (rule) REFERENCES public.usagectl_alert_rules(name) ON DELETE CASCADE;

ALTER TABLE ONLY public.usagectl_alert_states
    ADD CONSTRAINT usagectl_alert_states_rule_fkey FOREIGN KEY (rule) REFERENCES public.usagectl_alert_rules(name) ON DELETE CASCADE;

ALTER TABLE ONLY public.usagectl_archive_kept
    ADD CONSTRAINT usagectl_archive_kept_month_fkey FOREIGN KEY (month) REFERENCES public.usagectl_archives(month);

ALTER TABLE ONLY public.usagectl_archive_totals
    ADD CONSTRAINT usagectl_archive_totals_month_fkey FOREIGN KEY (month) REFERENCES public.usagectl_archives(month);

ALTER TABLE ONLY public.usagectl_grant_revocations
    ADD CONSTRAINT usagectl_grant_revocations_grant_id_fkey FOREIGN KEY (grant_id) REFERENCES public.usagectl_grants(id);

ALTER TABLE ONLY public.usagectl_org_tiers
    ADD CONSTRAINT usagectl_org_tiers_tier_fkey FOREIGN KEY (tier) REFERENCES public.usagectl_tiers(name);

ALTER TABLE ONLY public.usagectl_tier_limits
    ADD CONSTRAINT usagectl_tier_limits_tier_fkey FOREIGN KEY (tier) REFERENCES public.usagectl_tiers(name);

CREATE POLICY "usagectl rollup per org" ON public.usagectl_rollup FOR SELECT USING ((org_id = current_setting('app.current_org_id'::text, true)));

ALTER TABLE public.usagectl_rollup ENABLE ROW LEVEL SECURITY;

