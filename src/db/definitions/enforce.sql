-- Enforcement: the one org lock, the one quota rule, and record --enforce in one call.
-- A definition file: `migrate` installs it; see rollup.sql.

-- THE org lock: the org's row of usagectl_org_locks, created on its first use. A row lock,
-- not an advisory lock: advisory locks are node-local under Citus and succeed silently on
-- a standby. Held until the transaction ends.
CREATE OR REPLACE FUNCTION usagectl_lock_org(p_org text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, public AS $f$
BEGIN
    -- one statement once the row exists (every call but an org's first)
    PERFORM FROM usagectl_org_locks l WHERE l.org_id = p_org FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO usagectl_org_locks (org_id) VALUES (p_org) ON CONFLICT (org_id) DO NOTHING;
        PERFORM FROM usagectl_org_locks l WHERE l.org_id = p_org FOR UPDATE;
    END IF;
END
$f$;

-- THE metrics: what each limits, as the seed's USAGE_LIMITS names it (without
-- `_per_month`): the event types whose quantities it sums, whether it counts the billing
-- period (false: all time up to the period's end), and the words for it. quota.rs's Metric is the same table;
-- a test compares the two.
CREATE OR REPLACE FUNCTION usagectl_metrics()
RETURNS TABLE (metric text, event_types text[], monthly boolean, label text, unit text)
LANGUAGE sql IMMUTABLE AS $f$
    VALUES ('csv_uploads', ARRAY['csv_upload'], true, 'CSV upload', 'uploads'),
           ('csv_rows', ARRAY['csv_row_processed'], true, 'CSV row', 'rows'),
           ('analyses', ARRAY['analysis_run'], true, 'Analysis', 'analyses'),
           ('chat_messages', ARRAY['chat_message'], true, 'Chat message', 'messages'),
           ('ai_tokens', ARRAY['ai_tokens_input', 'ai_tokens_output'], true, 'AI token', 'tokens'),
           ('mapping_profiles', ARRAY['mapping_profile_created'], false, 'Mapping profile', 'profiles')
$f$;

-- THE refusal message, the seed's words: "Chat message limit exceeded (45/50 this month).
-- Please upgrade your plan."; for a quantity above one, what it would have made of the
-- usage ("; 2 more would make 51"). Every refusal says it:
-- record --enforce, record --file --enforce and the web app's API.
CREATE OR REPLACE FUNCTION usagectl_refusal(p_metric text, p_current bigint, p_limit bigint,
                                            p_adding bigint) RETURNS text
LANGUAGE sql IMMUTABLE AS $f$
    SELECT format('%s limit exceeded (%s/%s %s%s). Please upgrade your plan.', m.label,
                  p_current, p_limit, CASE WHEN m.monthly THEN 'this month' ELSE 'in total' END,
                  CASE WHEN p_adding = 1 THEN ''
                       ELSE format('; %s more would make %s', p_adding, p_current + p_adding) END)
      FROM usagectl_metrics() m
     WHERE m.metric = p_metric
$f$;

-- THE limit of an org's metric before grants: its override, else its tier's limit (the
-- assigned tier, else the default tier `trial`); -1 is unlimited, and so is a tier that
-- lacks the metric (hand-edited tables).
CREATE OR REPLACE FUNCTION usagectl_base_limit(p_org text, p_metric text) RETURNS bigint
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, public AS $f$
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
$f$;

-- THE allowance: whether p_org may add p_adding to p_metric at the instant p_at. The
-- billing period is the one containing p_at; the limit is the base limit plus that
-- period's grants (an unlimited metric stays unlimited and is always allowed); the usage is
-- the period's (all time up to the period's end for an all-time metric), and live
-- reservations hold their part of the limit too. Every enforcement path asks this: record
-- --enforce (usagectl_record), record --file --enforce, and the web app's API. The caller
-- holds the org lock when the answer must stay true.
CREATE OR REPLACE FUNCTION usagectl_allowance(p_org text, p_metric text, p_at timestamptz,
                                              p_adding bigint,
                                              OUT period_start timestamptz,
                                              OUT period_end timestamptz, OUT limit_value bigint,
                                              OUT current bigint, OUT reserved bigint,
                                              OUT allowed boolean, OUT message text)
-- PL/pgSQL with few statements: a warm session keeps each one's plan, and every statement
-- costs its executor's start and end (the web app's API calls this on every request), so
-- the period, the base limit and the usage are plain expressions, not queries.
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, public AS $f$
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
$f$;

-- THE insert of usagectl: events in the order given, each keyed one only when its key is
-- claimed first in usagectl_event_keys (the first of a key in the input wins; a key
-- stored already, or claimed by a transaction that commits meanwhile, is skipped: ON
-- CONFLICT waits for it; so is a key the web app stored on an event with its own INSERT,
-- which claims nothing). Keys are claimed in key order, so concurrent batches do not
-- deadlock. Returns the rows inserted (not as usage_events rows: no function depends on
-- the table's row type, see usagectl_count). One arbiter for a heap and a partitioned table
-- alike: no unique index on usage_events is needed (docs/design.md, "Idempotency").
-- p_id's NULLs get a new uuid; p_at's NULLs now().
CREATE OR REPLACE FUNCTION usagectl_insert_events(
    p_id uuid[], p_org text[], p_type text[], p_quantity integer[], p_metadata jsonb[],
    p_at timestamptz[], p_key text[])
RETURNS TABLE (id uuid, org_id text, event_type text, quantity integer, metadata jsonb,
               created_at timestamptz, idempotency_key text)
LANGUAGE plpgsql SET search_path = pg_catalog, public AS $f$
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
$f$;

-- record --enforce in one call. The metric is the one that counts p_type and limits the
-- org (none for an unlimited metric, a type no metric counts, or a quantity below one:
-- then the event is stored as a plain record would be, with no lock). Otherwise: the org
-- lock; then, under it, a retry's stored event (unchecked and unchanged, also one that
-- committed while this call waited for the lock); the allowance at the event's instant;
-- and the insert. SECURITY INVOKER: the caller's privileges and row-level security apply
-- as they do to its own statements.
CREATE OR REPLACE FUNCTION usagectl_record(
    p_org text, p_type text, p_quantity integer, p_metadata jsonb, p_created_at timestamptz,
    p_key text)
RETURNS TABLE (r_outcome text, r_metric text, r_current bigint, r_limit bigint,
               r_period_start timestamptz, r_period_end timestamptz, r_message text, r_id uuid,
               r_org_id text, r_event_type text, r_quantity integer, r_metadata jsonb,
               r_created_at timestamptz, r_idempotency_key text)
LANGUAGE plpgsql SET search_path = pg_catalog, public AS $f$
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
$f$;

-- Who may ask about an org: a role that row-level security confines (the seed's policy on
-- usage_events) only about the org in app.current_org_id, so no one learns another org's
-- usage from a limit check. Every function of the web app's API asks it first.
CREATE OR REPLACE FUNCTION usagectl_require_org(p_org text) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, public AS $f$
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
$f$;

-- The org of a reservation the API was given, which the caller must be allowed to ask
-- about (usagectl_require_org); no_data_found for an unknown id. PL/pgSQL: the
-- reservations table is younger than the first install of these definitions.
CREATE OR REPLACE FUNCTION usagectl_reservation_org(p_id uuid) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, public AS $f$
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
$f$;

-- A metric name the API was given, checked: one of usagectl_metrics().
CREATE OR REPLACE FUNCTION usagectl_require_metric(p_metric text) RETURNS void
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, public AS $f$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM usagectl_metrics() m WHERE m.metric = p_metric) THEN
        RAISE EXCEPTION 'usagectl: unknown metric % (one of: %)', coalesce(p_metric, 'NULL'),
            (SELECT string_agg(m.metric, ', ') FROM usagectl_metrics() m)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
END
$f$;

-- A quantity the API was given, checked: 1 or more.
CREATE OR REPLACE FUNCTION usagectl_require_quantity(p_quantity bigint) RETURNS void
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, public AS $f$
BEGIN
    IF p_quantity IS NULL OR p_quantity < 1 THEN
        RAISE EXCEPTION 'usagectl: quantity must be 1 or more, not %', coalesce(p_quantity::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
END
$f$;

-- THE status of a metric's use, as `status` names it: over_limit when no room is left
-- (current >= limit), approaching_limit at or above p_warn_at percent, else ok (always ok
-- when unlimited). quota.rs's `evaluate` is the same rule for the reports; a test compares.
CREATE OR REPLACE FUNCTION usagectl_status(p_current bigint, p_limit bigint,
                                           p_warn_at integer DEFAULT 80) RETURNS text
LANGUAGE sql IMMUTABLE AS $f$
    SELECT CASE WHEN p_limit = -1 THEN 'ok'
                WHEN p_current >= p_limit THEN 'over_limit'
                WHEN p_current::numeric * 100 >= p_warn_at::numeric * p_limit THEN 'approaching_limit'
                ELSE 'ok' END
$f$;
