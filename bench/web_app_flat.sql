-- Not a product: the prototype docs/benchmarks.md ("The web app's SQL API") measured to
-- find what an enforced record could cost at best. One PL/pgSQL function that locks the
-- org, reads the limit, the period's grants, live reservations and the usage (rollup
-- plus the org's rows the fold has not reached) in one statement, and inserts: UTC
-- calendar months only, no idempotency key, no separate rule functions. exp_flat0 is the
-- same without the read of unfolded rows (the floor of any design that reads the rollup).
-- Install it into a database `usagectl migrate` has set up (bench/web_app_api.sh's
-- bench_api, say) and run, beside the plain INSERT, in alternating rounds:
--   pgbench -n -c 8 -j 2 -T 8 -f flat.sql "$DB"    with flat.sql:
--     \set org random(1, 50)
--     SELECT exp_flat('org-' || :org, 'chat_message');
CREATE OR REPLACE FUNCTION exp_flat(p_org text, p_type text, p_quantity int DEFAULT 1) RETURNS text
LANGUAGE plpgsql AS $f$
DECLARE
  v_metric text; v_types text[]; v_monthly boolean; v_limit bigint; v_cur bigint;
  v_start timestamptz; v_end timestamptz; v_at timestamptz := now();
BEGIN
  SELECT m.metric, m.event_types, m.monthly INTO v_metric, v_types, v_monthly
    FROM usagectl_metrics() m WHERE p_type = ANY (m.event_types);
  PERFORM FROM usagectl_org_locks l WHERE l.org_id = p_org FOR UPDATE;
  IF NOT FOUND THEN
    INSERT INTO usagectl_org_locks (org_id) VALUES (p_org) ON CONFLICT (org_id) DO NOTHING;
    PERFORM FROM usagectl_org_locks l WHERE l.org_id = p_org FOR UPDATE;
  END IF;
  v_start := date_trunc('month', v_at, 'UTC');
  v_end := (date_trunc('month', v_at AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC';
  SELECT coalesce((SELECT o.limit_value FROM usagectl_org_limit_overrides o WHERE o.org_id = p_org AND o.metric = v_metric),
                  (SELECT l.limit_value FROM usagectl_tier_limits l WHERE l.metric = v_metric
                      AND l.tier = coalesce((SELECT t.tier FROM usagectl_org_tiers t WHERE t.org_id = p_org), 'trial')), -1)
         + coalesce((SELECT sum(g.amount) FROM usagectl_grants g WHERE g.org_id = p_org AND g.metric = v_metric
                       AND g.period_start >= v_start AND g.period_start < v_end
                       AND NOT EXISTS (SELECT 1 FROM usagectl_grant_revocations r WHERE r.grant_id = g.id)), 0),
         (SELECT coalesce(sum(r.quantity), 0) FROM usagectl_reservations r
           WHERE r.org_id = p_org AND r.metric = v_metric AND r.ended_at IS NULL AND r.expires_at > now())
         + (SELECT coalesce(sum(u.q), 0) FROM (
              SELECT e.quantity::bigint AS q FROM usage_events e
               WHERE e.org_id = p_org AND NOT usagectl_is_folded(e.usagectl_seq, (SELECT f.watermark FROM usagectl_fold_state f))
                 AND e.event_type = ANY (v_types) AND e.created_at <@ tstzrange(v_start, v_end, '[)')
              UNION ALL
              SELECT r.quantity FROM usagectl_rollup r
               WHERE r.org_id = p_org AND r.event_type = ANY (v_types) AND r.bucket >= v_start AND r.bucket < v_end) u)
    INTO v_limit, v_cur;
  IF v_limit = -1 OR v_cur + p_quantity <= v_limit THEN
    INSERT INTO usage_events (org_id, event_type, quantity) VALUES (p_org, p_type, p_quantity);
    RETURN 'recorded';
  END IF;
  RETURN 'refused';
END $f$;

CREATE OR REPLACE FUNCTION exp_flat0(p_org text, p_type text, p_quantity int DEFAULT 1) RETURNS text
LANGUAGE plpgsql AS $f$
DECLARE
  v_metric text; v_types text[]; v_monthly boolean; v_limit bigint; v_cur bigint;
  v_start timestamptz; v_end timestamptz; v_at timestamptz := now();
BEGIN
  SELECT m.metric, m.event_types, m.monthly INTO v_metric, v_types, v_monthly
    FROM usagectl_metrics() m WHERE p_type = ANY (m.event_types);
  PERFORM FROM usagectl_org_locks l WHERE l.org_id = p_org FOR UPDATE;
  IF NOT FOUND THEN
    INSERT INTO usagectl_org_locks (org_id) VALUES (p_org) ON CONFLICT (org_id) DO NOTHING;
    PERFORM FROM usagectl_org_locks l WHERE l.org_id = p_org FOR UPDATE;
  END IF;
  v_start := date_trunc('month', v_at, 'UTC');
  v_end := (date_trunc('month', v_at AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC';
  SELECT coalesce((SELECT o.limit_value FROM usagectl_org_limit_overrides o WHERE o.org_id = p_org AND o.metric = v_metric),
                  (SELECT l.limit_value FROM usagectl_tier_limits l WHERE l.metric = v_metric
                      AND l.tier = coalesce((SELECT t.tier FROM usagectl_org_tiers t WHERE t.org_id = p_org), 'trial')), -1)
         + coalesce((SELECT sum(g.amount) FROM usagectl_grants g WHERE g.org_id = p_org AND g.metric = v_metric
                       AND g.period_start >= v_start AND g.period_start < v_end
                       AND NOT EXISTS (SELECT 1 FROM usagectl_grant_revocations r WHERE r.grant_id = g.id)), 0),
         (SELECT coalesce(sum(r.quantity), 0) FROM usagectl_reservations r
           WHERE r.org_id = p_org AND r.metric = v_metric AND r.ended_at IS NULL AND r.expires_at > now())
         + (SELECT coalesce(sum(u.q), 0) FROM (
              SELECT e.quantity::bigint AS q FROM usage_events e WHERE false AND
                 e.org_id = p_org AND NOT usagectl_is_folded(e.usagectl_seq, (SELECT f.watermark FROM usagectl_fold_state f))
                 AND e.event_type = ANY (v_types) AND e.created_at <@ tstzrange(v_start, v_end, '[)')
              UNION ALL
              SELECT r.quantity FROM usagectl_rollup r
               WHERE r.org_id = p_org AND r.event_type = ANY (v_types) AND r.bucket >= v_start AND r.bucket < v_end) u)
    INTO v_limit, v_cur;
  IF v_limit = -1 OR v_cur + p_quantity <= v_limit THEN
    INSERT INTO usage_events (org_id, event_type, quantity) VALUES (p_org, p_type, p_quantity);
    RETURN 'recorded';
  END IF;
  RETURN 'refused';
END $f$;
