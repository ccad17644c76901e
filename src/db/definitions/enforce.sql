-- Enforcement: the one org lock, the one quota rule, and record --enforce in one call.
-- A definition file: `migrate` installs it; see rollup.sql.

-- THE org lock: the org's row of usagectl_org_locks, created on its first use. A row lock,
-- not an advisory lock: advisory locks are node-local under Citus and succeed silently on
-- a standby. Held until the transaction ends.
CREATE OR REPLACE FUNCTION usagectl_lock_org(p_org text) RETURNS void
LANGUAGE sql AS $f$
    INSERT INTO usagectl_org_locks (org_id) VALUES (p_org) ON CONFLICT (org_id) DO NOTHING;
    SELECT NULL::void FROM usagectl_org_locks l WHERE l.org_id = p_org FOR UPDATE;
$f$;

-- THE quota rule: the usage of p_types in [p_from, p_to) now, and whether adding p_adding
-- keeps it within p_limit (current + adding <= limit).
CREATE OR REPLACE FUNCTION usagectl_quota_check(p_org text, p_types text[], p_from timestamptz,
                                                p_to timestamptz, p_limit bigint, p_adding bigint,
                                                OUT current bigint, OUT allowed boolean)
LANGUAGE sql STABLE AS $f$
    SELECT u.q, u.q + p_adding <= p_limit
      FROM (SELECT coalesce(sum(m.quantity), 0)::bigint AS q
              FROM usagectl_usage_by_model(ARRAY[p_org], p_types, p_from, p_to) m) u
$f$;

-- record --enforce within the org's billing period, in one call: the org lock; then, under
-- it, a retry's stored event (unchecked and unchanged, also one that committed while this
-- call waited for the lock); the period that contains the event's instant; the limit plus
-- the period's grants for p_metric; the usage (all time up to the period's end when
-- p_all_time); and the insert. p_limit is the tier or override limit (never -1: an
-- unlimited metric is not checked). SECURITY INVOKER: the caller's privileges and
-- row-level security apply as they do to its own statements.
CREATE OR REPLACE FUNCTION usagectl_record_in_period(
    p_org text, p_type text, p_quantity integer, p_metadata jsonb, p_created_at timestamptz,
    p_key text, p_metric text, p_counted_types text[], p_all_time boolean, p_limit bigint)
RETURNS TABLE (r_outcome text, r_current bigint, r_limit bigint, r_period_start timestamptz,
               r_period_end timestamptz, r_id uuid, r_org_id text, r_event_type text,
               r_quantity integer, r_metadata jsonb, r_created_at timestamptz, r_idempotency_key text)
LANGUAGE plpgsql SET search_path = pg_catalog, public AS $f$
DECLARE
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
            RETURN QUERY SELECT 'duplicate', NULL::bigint, NULL::bigint, NULL::timestamptz,
                NULL::timestamptz, v_row.id, v_row.org_id, v_row.event_type, v_row.quantity,
                v_row.metadata, v_row.created_at, v_row.idempotency_key;
            RETURN;
        END IF;
    END IF;
    SELECT p.period_start, p.period_end, p_limit + coalesce(g.granted, 0)
      INTO v_start, v_end, v_limit
      FROM usagectl_period(p_org, v_at) p
      LEFT JOIN usagectl_granted(p_org, p.period_start, p.period_end) g ON g.metric = p_metric;
    SELECT c.current, c.allowed INTO v_current, v_allowed
      FROM usagectl_quota_check(p_org, p_counted_types, CASE WHEN p_all_time THEN NULL ELSE v_start END,
                                v_end, v_limit, p_quantity) c;
    IF v_allowed THEN
        INSERT INTO usage_events AS e (org_id, event_type, quantity, metadata, created_at, idempotency_key)
        VALUES (p_org, p_type, p_quantity, p_metadata, v_at, p_key)
        ON CONFLICT (org_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
        RETURNING e.* INTO v_row;
        IF NOT FOUND THEN
            -- the key was stored meanwhile by a writer outside the lock
            SELECT * INTO v_row FROM usage_events e WHERE e.org_id = p_org AND e.idempotency_key = p_key;
            RETURN QUERY SELECT 'duplicate', v_current, v_limit, v_start, v_end, v_row.id, v_row.org_id,
                v_row.event_type, v_row.quantity, v_row.metadata, v_row.created_at, v_row.idempotency_key;
            RETURN;
        END IF;
    END IF;
    RETURN QUERY SELECT CASE WHEN v_allowed THEN 'inserted' ELSE 'refused' END, v_current, v_limit,
        v_start, v_end, v_row.id, v_row.org_id, v_row.event_type, v_row.quantity, v_row.metadata,
        v_row.created_at, v_row.idempotency_key;
END
$f$;
