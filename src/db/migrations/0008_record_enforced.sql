CREATE OR REPLACE FUNCTION usagectl_record_enforced(
    p_org text, p_type text, p_quantity integer, p_metadata jsonb, p_created_at timestamptz,
    p_key text, p_counted_types text[], p_from timestamptz, p_to timestamptz, p_limit bigint)
RETURNS TABLE (r_outcome text, r_current bigint, r_id uuid, r_org_id text, r_event_type text,
               r_quantity integer, r_metadata jsonb, r_created_at timestamptz, r_idempotency_key text)
LANGUAGE plpgsql SET search_path = pg_catalog, public AS $f$
DECLARE
    v_outcome text := 'inserted';
    v_current bigint;
    v_rollup boolean;
    v_row usage_events%ROWTYPE;
BEGIN
    -- what the lock does not protect is read before it, so the lock is held briefly
    v_rollup := has_table_privilege('usagectl_daily_usage', 'SELECT')
        AND has_table_privilege('usagectl_rollup_backfill', 'SELECT')
        AND NOT EXISTS (SELECT 1 FROM usagectl_rollup_backfill WHERE NOT done);
    -- serialise quota decisions for this org until the transaction ends (the lock row is
    -- created on the org's first enforced event; a racing creator wins)
    PERFORM 1 FROM usagectl_org_locks l WHERE l.org_id = p_org FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO usagectl_org_locks (org_id) VALUES (p_org) ON CONFLICT DO NOTHING;
        PERFORM 1 FROM usagectl_org_locks l WHERE l.org_id = p_org FOR UPDATE;
    END IF;
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
        IF v_rollup THEN
            SELECT coalesce(sum(d.quantity), 0) INTO v_current FROM usagectl_daily_usage d
             WHERE d.org_id = p_org AND d.event_type = ANY (p_counted_types)
               AND (p_from IS NULL OR d.day >= (p_from AT TIME ZONE 'UTC')::date)
               AND d.day < (p_to AT TIME ZONE 'UTC')::date;
        ELSE
            SELECT coalesce(sum(e.quantity), 0) INTO v_current FROM usage_events e
             WHERE e.org_id = p_org AND e.event_type = ANY (p_counted_types)
               AND (p_from IS NULL OR e.created_at >= p_from) AND e.created_at < p_to;
        END IF;
        IF v_current + p_quantity > p_limit THEN
            v_outcome := 'refused';
        ELSE
            INSERT INTO usage_events AS e (org_id, event_type, quantity, metadata, created_at, idempotency_key)
            VALUES (p_org, p_type, p_quantity, p_metadata, coalesce(p_created_at, now()), p_key)
            ON CONFLICT (org_id, idempotency_key) DO NOTHING
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
