-- bench/enforce.sh only (never a migration): the leanest enforced record the fold's schema
-- allows, to measure a floor. It replaces usagectl_record() in a throwaway
-- database with the org lock (usagectl_lock_org(), which creates the org's lock row on its
-- first call), the watermark, the UTC month's rollup rows, the unfolded rows
-- and the insert: no billing period, no tier or grants (the override only), no idempotency key
-- lookup, none of the read path's functions. Right only for an org in UTC with no
-- settings, grants or keys, which is what the benchmark records.
DROP FUNCTION IF EXISTS usagectl_record(text, text, integer, jsonb, timestamptz, text);
CREATE OR REPLACE FUNCTION usagectl_record(
    p_org text, p_type text, p_quantity integer, p_metadata jsonb, p_created_at timestamptz,
    p_key text)
RETURNS TABLE (r_outcome text, r_metric text, r_current bigint, r_limit bigint,
               r_period_start timestamptz, r_period_end timestamptz, r_message text, r_id uuid,
               r_org_id text, r_event_type text, r_quantity integer, r_metadata jsonb,
               r_created_at timestamptz, r_idempotency_key text)
LANGUAGE plpgsql SET search_path = pg_catalog, public AS $f$
DECLARE
    v_outcome text := 'inserted';
    v_at timestamptz := coalesce(p_created_at, now());
    v_start timestamptz := date_trunc('month', v_at, 'UTC');
    v_end timestamptz := date_trunc('month', v_at, 'UTC') + interval '1 month';
    v_seen bigint;
    v_rollup bigint;
    v_unfolded bigint;
    v_row usage_events%ROWTYPE;
    p_counted_types text[] := ARRAY[p_type];
    p_limit bigint;
BEGIN
    SELECT o.limit_value INTO p_limit FROM usagectl_org_limit_overrides o
     WHERE o.org_id = p_org AND o.metric = 'chat_messages';
    PERFORM usagectl_lock_org(p_org);
    SELECT f.watermark INTO v_seen FROM usagectl_fold_state f;
    SELECT coalesce(sum(d.quantity), 0) INTO v_rollup FROM usagectl_rollup d
     WHERE d.org_id = p_org AND d.event_type = ANY (p_counted_types)
       AND d.bucket >= v_start AND d.bucket < v_end;
    SELECT coalesce(sum(e.quantity), 0) INTO v_unfolded FROM usage_events e
     WHERE e.usagectl_seq > v_seen AND e.org_id = p_org AND e.event_type = ANY (p_counted_types)
       AND e.created_at >= v_start AND e.created_at < v_end;
    IF v_rollup + v_unfolded + p_quantity <= p_limit THEN
        INSERT INTO usage_events AS e (org_id, event_type, quantity, metadata, created_at, idempotency_key)
        VALUES (p_org, p_type, p_quantity, p_metadata, v_at, p_key) RETURNING e.* INTO v_row;
    ELSE
        v_outcome := 'refused';
    END IF;
    RETURN QUERY SELECT v_outcome, 'chat_messages', v_rollup + v_unfolded, p_limit, v_start, v_end, NULL::text, v_row.id, v_row.org_id,
        v_row.event_type, v_row.quantity, v_row.metadata, v_row.created_at, v_row.idempotency_key;
END
$f$;
