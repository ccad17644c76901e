-- The read path: usage per org, event type, UTC day and model in [p_from, p_to) (p_from
-- NULL: from the first event), for the orgs in p_orgs (NULL: every org the caller may
-- see) and the event types in p_types (NULL: all). Equal at any instant to psql's
-- aggregate of the raw rows of the same half-open window; why: docs/design.md.
--
-- A read is the rollup's buckets inside the window, plus the rows above the watermark in
-- the span those buckets cover, plus the raw rows of the remainder: the part of a UTC day
-- at either end of the window that no bucket of that org covers exactly. A window edge
-- covers exactly when it is a UTC midnight or a boundary registered for the org.
-- A part read raw that lies in an archived month raises UA001 (usagectl_require_raw).
-- SECURITY INVOKER: the caller's privileges and row-level security apply; a caller that
-- may not read the rollup reads the raw rows only, and so does every caller while the
-- backfill has days to count.
--
-- A definition file: `migrate` installs it; see rollup.sql.
-- The archived months (being removed or removed: `usagectl archive`) that overlap
-- [p_from, p_to) (p_from NULL: from the first event), with their files: their raw rows are
-- not in usage_events. PL/pgSQL: the archives table is younger than the first install of
-- these definitions.
CREATE OR REPLACE FUNCTION usagectl_archived_in(p_from timestamptz, p_to timestamptz)
RETURNS TABLE (month date, file text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $f$
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
$f$;

-- Refuse (SQLSTATE UA001) a read that needs the raw rows of [p_from, p_to) when part of it
-- is archived: the rollup keeps an archived month's figures for whole buckets, not its rows.
CREATE OR REPLACE FUNCTION usagectl_require_raw(p_from timestamptz, p_to timestamptz) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, public AS $f$
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
$f$;

CREATE OR REPLACE FUNCTION usagectl_usage_by_model(p_orgs text[], p_types text[],
                                                   p_from timestamptz, p_to timestamptz)
RETURNS TABLE (org_id text, event_type text, day date, model text, events bigint, quantity bigint,
               first_event timestamptz, last_event timestamptz)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, public
SET plan_cache_mode = force_custom_plan AS $f$
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
$f$;

-- The same without the model, for a set of orgs and for one org (NULL: every org).
CREATE OR REPLACE FUNCTION usagectl_usage_of(p_orgs text[], p_types text[], p_from timestamptz,
                                             p_to timestamptz)
RETURNS TABLE (org_id text, event_type text, day date, events bigint, quantity bigint,
               first_event timestamptz, last_event timestamptz)
LANGUAGE sql STABLE AS $f$
    SELECT m.org_id, m.event_type, m.day, sum(m.events)::bigint, sum(m.quantity)::bigint,
           min(m.first_event), max(m.last_event)
      FROM usagectl_usage_by_model(p_orgs, p_types, p_from, p_to) m
     GROUP BY 1, 2, 3
$f$;

CREATE OR REPLACE FUNCTION usagectl_usage(p_org text, p_types text[], p_from timestamptz,
                                          p_to timestamptz)
RETURNS TABLE (org_id text, event_type text, day date, events bigint, quantity bigint,
               first_event timestamptz, last_event timestamptz)
LANGUAGE sql STABLE AS $f$
    SELECT m.org_id, m.event_type, m.day, sum(m.events)::bigint, sum(m.quantity)::bigint,
           min(m.first_event), max(m.last_event)
      FROM usagectl_usage_by_model(CASE WHEN p_org IS NULL THEN NULL ELSE ARRAY[p_org] END,
                                   p_types, p_from, p_to) m
     GROUP BY 1, 2, 3
$f$;

-- Every org's total quantity of p_types (required) before p_to: the all-time metrics of
-- `status --all` (mapping profiles). The same read as usagectl_usage_by_model(), summed
-- per org and type: when p_to is a UTC midnight, every org's buckets before it plus its
-- rows above the watermark, with no per-day rows in between (at 10,000 orgs those cost
-- seconds); otherwise usagectl_usage_by_model() itself.
CREATE OR REPLACE FUNCTION usagectl_totals_before(p_types text[], p_to timestamptz)
RETURNS TABLE (org_id text, event_type text, quantity bigint)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, public
SET plan_cache_mode = force_custom_plan AS $f$
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
$f$;

-- One org's total quantity of p_types (required) in [p_from, p_to) (p_from NULL: from the
-- first event): what enforcement asks on every enforced record and check. The same read
-- as usagectl_usage_by_model(), summed: when each edge is a bucket start for the org (a
-- UTC midnight, or a boundary registered for it), the buckets inside the window plus the
-- org's rows above the watermark there; otherwise usagectl_usage_by_model() itself. Its
-- statements name one org and plain parameters, so a warm session plans each once, and
-- the rows above the watermark come from the org's own entries in usagectl_events_org_seq.
CREATE OR REPLACE FUNCTION usagectl_org_usage(p_org text, p_types text[], p_from timestamptz,
                                              p_to timestamptz) RETURNS bigint
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, public
SET plan_cache_mode = force_generic_plan AS $f$
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
$f$;
