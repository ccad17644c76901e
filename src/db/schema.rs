//! The schema usagectl relies on, as an ordered list of additive migrations.
//!
//! Rules every step follows, because the web app keeps writing to `usage_events`:
//! - never change or drop an existing column, index, policy or row;
//! - an index on an existing table is built `CONCURRENTLY` (outside a transaction), so
//!   inserts are never blocked; an invalid leftover from an interrupted build is dropped
//!   concurrently and rebuilt;
//! - a step that needs a brief exclusive lock (ADD COLUMN, CREATE TRIGGER) waits at most
//!   [`crate::db::waits::SHORT_LOCK`] for it and is retried after a pause, so the web
//!   app's inserts never queue behind it for long;
//! - no step is bound by a role's `statement_timeout` (index builds and backfills run long).

/// One migration step.
#[derive(Debug, Clone, Copy)]
pub struct Step {
    /// Version recorded in `usagectl_schema_migrations` once applied.
    pub version: i32,
    /// What it does, for people.
    pub description: &'static str,
    /// The SQL it runs.
    pub sql: &'static str,
    /// How it runs.
    pub kind: StepKind,
}

/// How a step is executed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepKind {
    /// In a transaction together with recording its version.
    Transactional,
    /// In a transaction under a short lock_timeout, retried on lock timeouts.
    ShortLock,
    /// `CREATE INDEX CONCURRENTLY` of the named index: outside any transaction.
    ConcurrentIndex(&'static str),
}

impl Step {
    /// The SHA-256 of its SQL, recorded when it is applied and compared on every run.
    pub fn checksum(&self) -> String {
        crate::sink::sha256_hex(self.sql.as_bytes())
    }

    /// The SQL as `migrate` runs it, for `--dry-run` to print.
    pub fn script(&self) -> String {
        match self.kind {
            StepKind::ShortLock => {
                format!(
                    "BEGIN;\n{};\n{};\nCOMMIT",
                    crate::db::waits::local_settings(crate::db::waits::long_running(
                        crate::db::waits::SHORT_LOCK
                    )),
                    self.sql
                )
            }
            StepKind::Transactional | StepKind::ConcurrentIndex(_) => self.sql.to_string(),
        }
    }
}

/// The table that records applied versions.
/// `checksum` (the SHA-256 of the step's SQL) came later: versions applied before it are
/// given this build's checksum on the next run.
pub const VERSION_TABLE_SQL: &str = "\
CREATE TABLE IF NOT EXISTS usagectl_schema_migrations (
    version integer PRIMARY KEY,
    description text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE usagectl_schema_migrations ADD COLUMN IF NOT EXISTS checksum text";

/// A version recorded in `usagectl_schema_migrations`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// Its version.
    pub version: i32,
    /// When it was applied (RFC 3339, UTC).
    pub applied_at: String,
    /// The checksum recorded with it; `None` when applied before checksums were kept.
    pub checksum: Option<String>,
}

/// Where one known or recorded version stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MigrationState {
    /// Applied, and its SQL is what this build would run.
    Applied,
    /// Applied before checksums were kept (this build's checksum is recorded on the next
    /// `migrate`).
    AppliedUnchecked,
    /// Not applied yet.
    Pending,
    /// Applied, but this build's SQL for it differs from what was applied.
    Changed,
    /// Applied by a newer usagectl: this build does not know it.
    Unknown,
}

impl MigrationState {
    /// The name shown in every output.
    pub fn name(self) -> &'static str {
        match self {
            MigrationState::Applied => "applied",
            MigrationState::AppliedUnchecked => "applied (no checksum yet)",
            MigrationState::Pending => "pending",
            MigrationState::Changed => "changed after it was applied",
            MigrationState::Unknown => "applied by a newer usagectl",
        }
    }
}

/// Every known step and every recorded version, in version order, with its state: the one
/// place that compares what was applied with what this build would run.
pub fn migration_states(
    applied: &[Applied],
) -> Vec<(i32, Option<&'static Step>, Option<&Applied>, MigrationState)> {
    let mut versions: Vec<i32> = STEPS.iter().map(|s| s.version).collect();
    versions.extend(applied.iter().map(|a| a.version));
    versions.sort_unstable();
    versions.dedup();
    versions
        .into_iter()
        .map(|v| {
            let step = STEPS.iter().find(|s| s.version == v);
            let rec = applied.iter().find(|a| a.version == v);
            let state = match (step, rec) {
                (Some(_), None) => MigrationState::Pending,
                (None, _) => MigrationState::Unknown,
                (Some(_), Some(Applied { checksum: None, .. })) => MigrationState::AppliedUnchecked,
                (
                    Some(s),
                    Some(Applied {
                        checksum: Some(c), ..
                    }),
                ) if *c == s.checksum() => MigrationState::Applied,
                (Some(_), Some(_)) => MigrationState::Changed,
            };
            (v, step, rec, state)
        })
        .collect()
}

/// Every migration, in order.
pub const STEPS: &[Step] = &[
    Step {
        version: 1,
        description: "create usage_events as the seed defines it (kept as is when it already exists)",
        sql: "\
CREATE TABLE IF NOT EXISTS usage_events (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    quantity INTEGER NOT NULL DEFAULT 1,
    metadata JSONB,
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
)",
        kind: StepKind::Transactional,
    },
    Step {
        version: 2,
        description: "index usage_events by org_id (the seed's idx_usage_events_org_id)",
        sql: "CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_usage_events_org_id ON usage_events (org_id)",
        kind: StepKind::ConcurrentIndex("idx_usage_events_org_id"),
    },
    Step {
        version: 3,
        description: "index usage_events by created_at (the seed's idx_usage_events_created_at)",
        sql: "CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_usage_events_created_at ON usage_events (created_at DESC)",
        kind: StepKind::ConcurrentIndex("idx_usage_events_created_at"),
    },
    Step {
        version: 4,
        description: "add the nullable idempotency_key column (metadata-only change, no rewrite)",
        sql: "ALTER TABLE usage_events ADD COLUMN IF NOT EXISTS idempotency_key TEXT",
        kind: StepKind::ShortLock,
    },
    Step {
        version: 5,
        description: "make (org_id, idempotency_key) unique so a retried record is stored once",
        sql: "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS usage_events_org_id_idempotency_key_key ON usage_events (org_id, idempotency_key)",
        kind: StepKind::ConcurrentIndex("usage_events_org_id_idempotency_key_key"),
    },
    Step {
        version: 6,
        description: "add tier, assignment, override and per-org lock tables, seeded with the seed's trial/pilot/subscription limits",
        sql: "\
CREATE TABLE IF NOT EXISTS usagectl_tiers (
    name text PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS usagectl_tier_limits (
    tier text NOT NULL REFERENCES usagectl_tiers (name),
    metric text NOT NULL CHECK (metric IN ('csv_uploads', 'csv_rows', 'analyses', 'chat_messages', 'ai_tokens', 'mapping_profiles')),
    limit_value bigint NOT NULL CHECK (limit_value >= -1),
    PRIMARY KEY (tier, metric)
);
CREATE TABLE IF NOT EXISTS usagectl_org_tiers (
    org_id text PRIMARY KEY,
    tier text NOT NULL REFERENCES usagectl_tiers (name),
    assigned_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS usagectl_org_limit_overrides (
    org_id text NOT NULL,
    metric text NOT NULL CHECK (metric IN ('csv_uploads', 'csv_rows', 'analyses', 'chat_messages', 'ai_tokens', 'mapping_profiles')),
    limit_value bigint NOT NULL CHECK (limit_value >= -1),
    set_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, metric)
);
CREATE TABLE IF NOT EXISTS usagectl_org_locks (
    org_id text PRIMARY KEY
);
INSERT INTO usagectl_tiers (name) VALUES ('trial'), ('pilot'), ('subscription') ON CONFLICT DO NOTHING;
INSERT INTO usagectl_tier_limits (tier, metric, limit_value) VALUES
    ('trial', 'csv_uploads', 5), ('trial', 'csv_rows', 1000), ('trial', 'analyses', 10),
    ('trial', 'chat_messages', 50), ('trial', 'ai_tokens', 100000), ('trial', 'mapping_profiles', 3),
    ('pilot', 'csv_uploads', 50), ('pilot', 'csv_rows', 50000), ('pilot', 'analyses', 100),
    ('pilot', 'chat_messages', 500), ('pilot', 'ai_tokens', 1000000), ('pilot', 'mapping_profiles', 20),
    ('subscription', 'csv_uploads', -1), ('subscription', 'csv_rows', -1), ('subscription', 'analyses', -1),
    ('subscription', 'chat_messages', -1), ('subscription', 'ai_tokens', -1), ('subscription', 'mapping_profiles', -1)
ON CONFLICT DO NOTHING",
        kind: StepKind::Transactional,
    },
    Step {
        version: 7,
        description: "add the daily rollup that triggers keep exact, and plan its backfill",
        sql: ROLLUP_SQL,
        kind: StepKind::ShortLock,
    },
    Step {
        version: 8,
        description: "add usagectl_record_enforced(): lock, quota read and insert in one call",
        sql: ENFORCE_SQL,
        kind: StepKind::Transactional,
    },
];

/// Migration 7: the daily rollup `(org_id, day, event_type) -> events, quantity, first,
/// last`, kept exact by statement-level triggers with transition tables on every INSERT,
/// UPDATE, DELETE and TRUNCATE of `usage_events`, in the same transaction.
///
/// - Every statement a trigger runs touches one org: the functions loop over the
///   org/day/type groups of the transition table, in key order (so concurrent batches take
///   row locks in the same order and cannot deadlock), and upsert with constant values.
/// - Rows that existed before the triggers are counted by a backfill, one UTC day per
///   transaction (`usagectl_rollup_backfill` lists the days still to do). While a day is
///   pending the triggers leave it alone; the backfill of a day locks its row in that table,
///   so an insert into that day either commits before the backfill reads (and is counted by
///   it) or applies its delta after (the triggers see the day as done).
/// - The lock taken while the triggers are created is brief and under lock_timeout, like
///   ADD COLUMN; the backfill itself never blocks inserts.
pub const ROLLUP_SQL: &str = r#"
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
    FOR EACH STATEMENT EXECUTE FUNCTION usagectl_rollup_on_truncate()"#;

/// The triggers migration 7 installs (usagectl doctor checks them).
pub const ROLLUP_TRIGGERS: [&str; 4] = [
    "usagectl_rollup_insert",
    "usagectl_rollup_delete",
    "usagectl_rollup_update",
    "usagectl_rollup_truncate",
];

/// `migrate --roles`: the least-privilege group roles, granted idempotently. Log-in roles
/// are made members (`CREATE ROLE support LOGIN IN ROLE usage_reader`).
///
/// - `usage_reader`: SELECT on the tool's tables; with the seed's RLS policy in force it
///   reads one org at a time (the org usagectl puts in `app.current_org_id`).
/// - `usage_writer`: INSERT (and SELECT, for idempotent retries) on `usage_events`, reads
///   the tier tables, takes the per-org quota lock and runs `usagectl_record_enforced()`
///   (granted explicitly, for databases that revoke EXECUTE from PUBLIC).
///
/// RLS is enabled on `usage_events` with the seed's SELECT policy if missing, and writers
/// get an INSERT policy, so that reads stay per org for both roles.
pub const ROLES_SQL: &str = r#"
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'usage_reader') THEN
        CREATE ROLE usage_reader NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'usage_writer') THEN
        CREATE ROLE usage_writer NOLOGIN;
    END IF;
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO usage_reader, usage_writer', current_schema());
    IF NOT EXISTS (SELECT 1 FROM pg_policies
                   WHERE tablename = 'usage_events' AND policyname = 'Users can view own org usage events') THEN
        CREATE POLICY "Users can view own org usage events" ON usage_events
            FOR SELECT USING (org_id = current_setting('app.current_org_id', true));
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_policies
                   WHERE tablename = 'usage_events' AND policyname = 'usagectl writers insert') THEN
        CREATE POLICY "usagectl writers insert" ON usage_events FOR INSERT TO usage_writer WITH CHECK (true);
    END IF;
END
$$;
ALTER TABLE usage_events ENABLE ROW LEVEL SECURITY;
GRANT SELECT ON usage_events, usagectl_tiers, usagectl_tier_limits, usagectl_org_tiers,
                usagectl_org_limit_overrides, usagectl_schema_migrations, usagectl_daily_usage,
                usagectl_rollup_backfill TO usage_reader;
GRANT SELECT, INSERT ON usage_events TO usage_writer;
GRANT SELECT ON usagectl_tiers, usagectl_tier_limits, usagectl_org_tiers, usagectl_org_limit_overrides,
                usagectl_schema_migrations, usagectl_daily_usage, usagectl_rollup_backfill TO usage_writer;
GRANT SELECT, INSERT, UPDATE ON usagectl_org_locks TO usage_writer;
GRANT EXECUTE ON FUNCTION usagectl_record_enforced TO usage_writer"#;

/// Which role each command needs (printed by `migrate --roles`, and in the README).
pub const COMMAND_ROLES: &[(&str, &str)] = &[
    (
        "summary, limits, status --org, tier list, tier show, export --org",
        "usage_reader",
    ),
    ("record (also --enforce, --file, --adjust)", "usage_writer"),
    (
        "status --all, export (all orgs)",
        "a role that bypasses RLS (or the table owner)",
    ),
    (
        "tier create/set-limit/assign/override, migrate",
        "the owner of the tables",
    ),
];

/// The newest schema version this build knows.
pub fn latest_version() -> i32 {
    STEPS.last().map_or(0, |s| s.version)
}

/// The function migration 8 installs.
pub const ENFORCE_FUNCTION: &str = "usagectl_record_enforced";

/// Migration 8: `record --enforce` in one server-side call. The org's lock row, the quota
/// read and the insert happen inside one function, so the lock is held across one round
/// trip (the COMMIT) instead of one per statement: with more clients than cores, each round
/// trip under the lock waits for its client to be scheduled, and enforced records queue on
/// those waits. SECURITY INVOKER: the caller's privileges and RLS policies apply as they
/// do to its own statements. The caller passes the limit and the event types it counts
/// (tiers stay in usagectl); the rule is `current + quantity <= limit`, as in
/// `quota::check_batch`. Usage comes from the daily rollup when its backfill is done and
/// the caller may read it, else from the raw rows (the rule `queries::use_rollup` applies
/// to reads).
pub const ENFORCE_SQL: &str = r#"
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
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_compare_the_recorded_checksum_with_this_builds() {
        let seven = STEPS.iter().find(|s| s.version == 7).unwrap();
        let rec = |version, checksum: Option<String>| Applied {
            version,
            applied_at: String::new(),
            checksum,
        };
        let applied = [
            rec(1, Some(STEPS[0].checksum())),
            rec(2, None),
            rec(7, Some(crate::sink::sha256_hex(b"CREATE TABLE x ()"))),
            rec(99, Some("abc".into())),
        ];
        let states: Vec<(i32, MigrationState)> = migration_states(&applied)
            .into_iter()
            .map(|(v, _, _, s)| (v, s))
            .collect();
        assert_eq!(states[0], (1, MigrationState::Applied));
        assert_eq!(states[1], (2, MigrationState::AppliedUnchecked));
        assert_eq!(states[2], (3, MigrationState::Pending));
        assert_eq!(states[6], (7, MigrationState::Changed));
        assert_eq!(states.last(), Some(&(99, MigrationState::Unknown)));
        assert_ne!(
            seven.checksum(),
            crate::sink::sha256_hex(b"CREATE TABLE x ()")
        );
        assert_eq!(seven.checksum().len(), 64);
    }

    #[test]
    fn versions_increase_and_indexes_are_concurrent() {
        for w in STEPS.windows(2) {
            assert!(w[0].version < w[1].version);
        }
        for s in STEPS {
            // an index on the web app's table is always built without blocking its inserts
            for line in s.sql.lines() {
                if line.contains("INDEX") && line.contains(" ON usage_events ") {
                    assert!(line.contains("CONCURRENTLY"), "{line}");
                    assert!(
                        matches!(s.kind, StepKind::ConcurrentIndex(name) if line.contains(name))
                    );
                }
            }
            assert!(
                !s.sql.to_uppercase().contains("DROP "),
                "migrations are additive: {}",
                s.sql
            );
        }
    }
}
