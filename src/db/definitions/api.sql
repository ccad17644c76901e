-- The web app's API, version 1: functions in the schema `usagectl`, called inside the
-- app's own transaction, keeping no session state (so a transaction pooler is fine). Each
-- asks the one enforcement rule (enforce.sql: usagectl_allowance, usagectl_record) and adds
-- no rule of its own. Installed by `migrate` when the schema exists (migration 25 creates
-- it where it may). docs/web-app.md is the contract; a change to a signature below is a new
-- version.

CREATE OR REPLACE FUNCTION usagectl.api_version() RETURNS text
LANGUAGE sql IMMUTABLE AS $f$ SELECT '1' $f$;

-- May org add quantity to metric now? Reads only; live reservations count.
CREATE OR REPLACE FUNCTION usagectl.check(org text, metric text, quantity bigint DEFAULT 1)
RETURNS TABLE (allowed boolean, current bigint, "limit" bigint, remaining bigint, status text,
               period_start timestamptz, period_end timestamptz, message text)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, public AS $f$
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
$f$;

-- Record one event; with enforce, only within the org's limit (usagectl_record: the org
-- lock, the stored event of a retried key, the allowance, the insert). outcome: recorded,
-- duplicate (the key's stored event) or refused. current: the metric's use after the
-- event (before it, when refused), live reservations included.
CREATE OR REPLACE FUNCTION usagectl.record(org text, event_type text, quantity integer DEFAULT 1,
                                           metadata jsonb DEFAULT NULL,
                                           idempotency_key text DEFAULT NULL,
                                           enforce boolean DEFAULT true)
RETURNS TABLE (outcome text, event_id uuid, metric text, current bigint, "limit" bigint,
               message text)
LANGUAGE plpgsql SET search_path = pg_catalog, public AS $f$
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
$f$;

-- Hold quantity of metric for work whose size is known only afterwards, for ttl. The
-- reservation counts toward the limit for every other check, record and reservation of
-- the org until it is settled, released or expires (by itself: no job needed).
-- reservation_id is NULL when refused.
CREATE OR REPLACE FUNCTION usagectl.reserve(org text, metric text, quantity bigint,
                                            ttl interval DEFAULT '5 minutes')
RETURNS TABLE (reservation_id uuid, allowed boolean, current bigint, "limit" bigint,
               message text)
LANGUAGE plpgsql SET search_path = pg_catalog, public AS $f$
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
$f$;

-- Record what the reserved work really used and end the reservation, in one transaction.
-- events: a JSON array of {event_type, quantity, metadata, idempotency_key}. Recorded
-- whatever the limit (the work was done); `used` is what the events count toward the
-- reservation's metric (an event whose key was stored already included, as `duplicate`),
-- and the result says whether that exceeded the reservation. A retried settle records
-- nothing and returns the stored result.
CREATE OR REPLACE FUNCTION usagectl.settle(reservation_id uuid, events jsonb) RETURNS jsonb
LANGUAGE plpgsql SET search_path = pg_catalog, public AS $f$
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
$f$;

-- End a reservation without usage; false when it had ended already.
CREATE OR REPLACE FUNCTION usagectl.release(reservation_id uuid) RETURNS boolean
LANGUAGE plpgsql SET search_path = pg_catalog, public AS $f$
#variable_conflict use_column
BEGIN
    PERFORM usagectl_reservation_org($1);
    UPDATE usagectl_reservations r SET ended_at = now(), ended_as = 'released'
     WHERE r.id = $1 AND r.ended_at IS NULL;
    RETURN FOUND;
END
$f$;

-- Who may call what: nobody but the owner unless granted (grants.sql grants usage_writer
-- all of it and usage_reader the reads).
REVOKE ALL ON FUNCTION usagectl.record, usagectl.reserve, usagectl.settle, usagectl.release
    FROM PUBLIC;

-- The seed's three endpoint bodies, one call each, as `usagectl summary|limits|status --org
-- ORG -o json` print them now (bodies.sql; a test compares them with the commands).
-- GET /api/v1/usage/summary?days=N
CREATE OR REPLACE FUNCTION usagectl.summary_json(org text, days integer DEFAULT 30) RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, public AS $f$
BEGIN
    PERFORM usagectl_require_org($1);
    IF $2 IS NULL OR $2 < 1 OR $2 > 365 THEN
        RAISE EXCEPTION 'usagectl: days must be 1 to 365, not %', coalesce($2::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN usagectl_summary_body($1, $2, now());
END
$f$;

-- GET /api/v1/usage/limits
CREATE OR REPLACE FUNCTION usagectl.limits_json(org text) RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, public AS $f$
BEGIN
    PERFORM usagectl_require_org($1);
    RETURN usagectl_limits_body($1, now());
END
$f$;

-- GET /api/v1/usage/quota-status (warning at 80% used, as `status` by default)
CREATE OR REPLACE FUNCTION usagectl.quota_status_json(org text) RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, public AS $f$
BEGIN
    PERFORM usagectl_require_org($1);
    RETURN usagectl_status_body($1, now(), 80);
END
$f$;
