CREATE TABLE IF NOT EXISTS usagectl_daily_usage (
    org_id text NOT NULL,
    day date NOT NULL,
    event_type text NOT NULL,
    events bigint NOT NULL,
    quantity bigint NOT NULL,
    first_event timestamptz NOT NULL,
    last_event timestamptz NOT NULL,
    PRIMARY KEY (org_id, day, event_type)
);
CREATE INDEX IF NOT EXISTS usagectl_daily_usage_day ON usagectl_daily_usage (day);
CREATE TABLE IF NOT EXISTS usagectl_rollup_backfill (
    day date PRIMARY KEY,
    done boolean NOT NULL DEFAULT false
);
ALTER TABLE usagectl_daily_usage ENABLE ROW LEVEL SECURITY;
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_policies
                   WHERE tablename = 'usagectl_daily_usage' AND policyname = 'usagectl rollup per org') THEN
        CREATE POLICY "usagectl rollup per org" ON usagectl_daily_usage
            FOR SELECT USING (org_id = current_setting('app.current_org_id', true));
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION usagectl_rollup_add(p_org text, p_day date, p_type text, p_events bigint,
                                               p_quantity bigint, p_first timestamptz, p_last timestamptz)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $f$
BEGIN
    -- a day still waiting for its backfill is counted by the backfill
    PERFORM 1 FROM usagectl_rollup_backfill WHERE day = p_day AND NOT done FOR SHARE;
    IF FOUND THEN
        RETURN;
    END IF;
    INSERT INTO usagectl_daily_usage AS d (org_id, day, event_type, events, quantity, first_event, last_event)
    VALUES (p_org, p_day, p_type, p_events, p_quantity, p_first, p_last)
    ON CONFLICT (org_id, day, event_type) DO UPDATE
        SET events = d.events + EXCLUDED.events,
            quantity = d.quantity + EXCLUDED.quantity,
            first_event = least(d.first_event, EXCLUDED.first_event),
            last_event = greatest(d.last_event, EXCLUDED.last_event);
END
$f$;

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
                  AND e.created_at < ((p_day + 1)::timestamp AT TIME ZONE 'UTC'))
         WHERE org_id = p_org AND day = p_day AND event_type = p_type;
    END IF;
END
$f$;

CREATE OR REPLACE FUNCTION usagectl_rollup_on_insert() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $f$
DECLARE
    g record;
BEGIN
    -- the web app's single-row inserts come through here: the add is inlined (no nested
    -- function call) to keep their cost down
    FOR g IN SELECT org_id, (created_at AT TIME ZONE 'UTC')::date AS day, event_type,
                    count(*) AS n, sum(quantity)::bigint AS q, min(created_at) AS f, max(created_at) AS l
               FROM usagectl_new_rows GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    LOOP
        PERFORM 1 FROM usagectl_rollup_backfill WHERE day = g.day AND NOT done FOR SHARE;
        CONTINUE WHEN FOUND; -- counted by that day's backfill
        INSERT INTO usagectl_daily_usage AS d (org_id, day, event_type, events, quantity, first_event, last_event)
        VALUES (g.org_id, g.day, g.event_type, g.n, g.q, g.f, g.l)
        ON CONFLICT (org_id, day, event_type) DO UPDATE
            SET events = d.events + EXCLUDED.events,
                quantity = d.quantity + EXCLUDED.quantity,
                first_event = least(d.first_event, EXCLUDED.first_event),
                last_event = greatest(d.last_event, EXCLUDED.last_event);
    END LOOP;
    RETURN NULL;
END
$f$;

CREATE OR REPLACE FUNCTION usagectl_rollup_on_delete() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $f$
DECLARE
    g record;
BEGIN
    FOR g IN SELECT org_id, (created_at AT TIME ZONE 'UTC')::date AS day, event_type,
                    count(*) AS n, sum(quantity)::bigint AS q, min(created_at) AS f, max(created_at) AS l
               FROM usagectl_old_rows GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
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
BEGIN
    -- old and new groups together, in key order (old before new for the same key), so an
    -- UPDATE locks rollup rows in the same order as every other statement
    FOR g IN SELECT * FROM (
                 SELECT org_id, (created_at AT TIME ZONE 'UTC')::date AS day, event_type, 0 AS step,
                        count(*) AS n, sum(quantity)::bigint AS q, min(created_at) AS f, max(created_at) AS l
                   FROM usagectl_old_rows GROUP BY 1, 2, 3
                 UNION ALL
                 SELECT org_id, (created_at AT TIME ZONE 'UTC')::date, event_type, 1,
                        count(*), sum(quantity)::bigint, min(created_at), max(created_at)
                   FROM usagectl_new_rows GROUP BY 1, 2, 3) groups
             ORDER BY org_id, day, event_type, step
    LOOP
        IF g.step = 0 THEN
            PERFORM usagectl_rollup_sub(g.org_id, g.day, g.event_type, g.n, g.q, g.f, g.l);
        ELSE
            PERFORM usagectl_rollup_add(g.org_id, g.day, g.event_type, g.n, g.q, g.f, g.l);
        END IF;
    END LOOP;
    RETURN NULL;
END
$f$;

CREATE OR REPLACE FUNCTION usagectl_rollup_on_truncate() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $f$
BEGIN
    TRUNCATE usagectl_daily_usage, usagectl_rollup_backfill;
    RETURN NULL;
END
$f$;

-- no insert may commit between planning the backfill and arming the triggers
LOCK TABLE usage_events IN SHARE ROW EXCLUSIVE MODE;
INSERT INTO usagectl_rollup_backfill (day)
SELECT generate_series(lo, hi, interval '1 day')::date
  FROM (SELECT (min(created_at) AT TIME ZONE 'UTC')::date AS lo,
               (max(created_at) AT TIME ZONE 'UTC')::date AS hi
          FROM usage_events) b
 WHERE lo IS NOT NULL
ON CONFLICT (day) DO NOTHING;
CREATE OR REPLACE TRIGGER usagectl_rollup_insert AFTER INSERT ON usage_events
    REFERENCING NEW TABLE AS usagectl_new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION usagectl_rollup_on_insert();
CREATE OR REPLACE TRIGGER usagectl_rollup_delete AFTER DELETE ON usage_events
    REFERENCING OLD TABLE AS usagectl_old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION usagectl_rollup_on_delete();
CREATE OR REPLACE TRIGGER usagectl_rollup_update AFTER UPDATE ON usage_events
    REFERENCING OLD TABLE AS usagectl_old_rows NEW TABLE AS usagectl_new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION usagectl_rollup_on_update();
CREATE OR REPLACE TRIGGER usagectl_rollup_truncate AFTER TRUNCATE ON usage_events
    FOR EACH STATEMENT EXECUTE FUNCTION usagectl_rollup_on_truncate()
