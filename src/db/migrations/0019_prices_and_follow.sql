-- AI prices per model, as a history: each row is in force from valid_from (inclusive)
-- until the next row's for the model. USD per million tokens, exact decimals.
CREATE TABLE IF NOT EXISTS usagectl_model_prices (
    model text NOT NULL CHECK (btrim(model) <> '' AND length(model) <= 200),
    valid_from timestamptz NOT NULL,
    input_per_mtok numeric(20, 10) NOT NULL CHECK (input_per_mtok >= 0),
    output_per_mtok numeric(20, 10) NOT NULL CHECK (output_per_mtok >= 0),
    set_at timestamptz NOT NULL DEFAULT now(),
    set_by text NOT NULL DEFAULT current_user,
    PRIMARY KEY (model, valid_from)
);

-- The highest usagectl_seq below which every row is committed or rolled back: the
-- sequence's last value, after waiting (at most p_max_wait) for every transaction that was
-- writing usage_events when it was read — the fold's own technique (migration 11), for
-- `events --follow`, which must print a row that commits late and never print one twice.
-- SECURITY DEFINER: a reader may know how far the numbering has gone, not read the sequence.
CREATE OR REPLACE FUNCTION usagectl_settled_seq(p_max_wait interval) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $f$
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
$f$;
