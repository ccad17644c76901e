-- Monthly partitions of usage_events: `usagectl partition adopt` turns the live heap into
-- the first partition of a table partitioned by created_at (no row moves), and `maintain`
-- creates the months ahead. Why it is safe, and what the web app must know about `id`:
-- docs/operations.md ("Partitions") and docs/design.md. A definition file; see rollup.sql.

-- The partition of p_month (the first day of a UTC month): an empty table shaped as the
-- parent (its defaults, NOT NULL and CHECK constraints), with the unique indexes a
-- partitioned parent cannot hold (the heap's, on this table: the primary key on id and
-- the idempotency index), attached under SHARE UPDATE EXCLUSIVE on the parent, which
-- inserts do not wait for; the parent's other indexes are built on the empty table as it
-- attaches. Returns false when a partition already covers the month. SECURITY DEFINER:
-- it runs as the owner of usage_events (migrate installs it as that role), so `maintain`
-- run by usage_writer from cron creates partitions the owner owns.
CREATE OR REPLACE FUNCTION usagectl_create_partition(p_month date) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public SET TimeZone = 'UTC' AS $f$
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
$f$;

-- The partitions of usage_events, oldest first, with their bounds (NULL: MINVALUE or
-- MAXVALUE) and whether each is the default. No rows when the table is not partitioned.
CREATE OR REPLACE FUNCTION usagectl_partitions()
RETURNS TABLE (partition regclass, range_from timestamptz, range_to timestamptz, is_default boolean)
LANGUAGE sql STABLE SET search_path = pg_catalog, public SET TimeZone = 'UTC' AS $f$
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
$f$;

-- Turn the heap usage_events into the first partition of a table partitioned by
-- created_at month, holding every row before p_bound. The caller (`partition adopt`)
-- holds usage_events in ACCESS EXCLUSIVE mode, has validated the CHECK constraint
-- usagectl_partition_bound (created_at IS NOT NULL AND created_at < p_bound), so the attach
-- scans nothing, and installs the definitions again in the same transaction (the
-- triggers on the new parent, the functions over its row type). Returns the heap's new
-- name. p_months partitions are created, the bound's month and those after it.
CREATE OR REPLACE FUNCTION usagectl_partition_switch(p_bound timestamptz, p_months integer)
RETURNS text
LANGUAGE plpgsql SET search_path = pg_catalog, public SET TimeZone = 'UTC' AS $f$
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
$f$;

REVOKE EXECUTE ON FUNCTION usagectl_create_partition(date), usagectl_partition_switch(timestamptz, integer)
    FROM PUBLIC;
