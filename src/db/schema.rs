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
    /// Like [`StepKind::ShortLock`], with this build's definitions installed in the same
    /// transaction: a step that replaces tables the definitions write, so no reader or
    /// trigger ever sees the new tables with the old functions (or the reverse).
    WithDefinitions,
}

impl Step {
    /// The SHA-256 of its SQL, recorded when it is applied and compared on every run.
    pub fn checksum(&self) -> String {
        crate::sink::sha256_hex(self.sql.as_bytes())
    }

    /// The SQL as `migrate` runs it, for `--dry-run` to print.
    pub fn script(&self) -> String {
        match self.kind {
            StepKind::ShortLock | StepKind::WithDefinitions => {
                let mut sql = self.sql.to_string();
                if self.kind == StepKind::WithDefinitions {
                    for d in DEFINITIONS {
                        sql.push_str(&format!(";\n-- definitions: {}.sql\n{}", d.name, d.sql));
                    }
                }
                format!(
                    "BEGIN;\n{};\n{};\nCOMMIT",
                    crate::db::waits::local_settings(crate::db::waits::long_running(
                        crate::db::waits::SHORT_LOCK
                    )),
                    sql
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

/// Who owns `usage_events`, and whether the connecting role may act as that owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableOwner {
    /// The owner's role name.
    pub owner: String,
    /// The role `migrate` connected as (`current_user`).
    pub connected_as: String,
    /// Whether it may `SET ROLE` to the owner: a superuser, or a member of the owner's role.
    pub can_become: bool,
}

/// Which role `migrate` creates usagectl's objects as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunAs {
    /// The connecting role: it owns `usage_events`, or `migrate` creates the table.
    Connected,
    /// The owner of `usage_events`, by `SET ROLE`: a sequence linked to the table must have
    /// its owner, and whoever runs the next `migrate` (or the app) must be able to replace
    /// usagectl's functions and alter its tables.
    Owner(String),
}

/// The one rule for who runs the migrations: the owner of `usage_events`, when the
/// connecting role is not it but may become it; a role that may not is refused (the
/// message says why and what works).
pub fn run_as(table: Option<&TableOwner>) -> Result<RunAs, String> {
    match table {
        None => Ok(RunAs::Connected),
        Some(t) if t.owner == t.connected_as => Ok(RunAs::Connected),
        Some(t) if t.can_become => Ok(RunAs::Owner(t.owner.clone())),
        Some(t) => Err(format!(
            "usage_events is owned by {owner}, and usagectl creates its objects as that owner: {me} is neither a superuser nor a member of {owner}; connect as {owner}, as a member of {owner}, or as a superuser",
            owner = t.owner,
            me = t.connected_as
        )),
    }
}

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

/// A migration's SQL, from `src/db/migrations/NAME.sql`.
macro_rules! migration {
    ($name:literal) => {
        include_str!(concat!("migrations/", $name, ".sql")).trim_ascii()
    };
}

/// Every migration, in order. The SQL lives in `src/db/migrations/NNNN_name.sql`; how each
/// runs (its kind) and what it is for stay here. An applied step's file must never change:
/// its checksum is checked on every run.
pub const STEPS: &[Step] = &[
    Step {
        version: 1,
        description: "create usage_events as the seed defines it (kept as is when it already exists)",
        sql: migration!("0001_create_usage_events"),
        kind: StepKind::Transactional,
    },
    Step {
        version: 2,
        description: "index usage_events by org_id (the seed's idx_usage_events_org_id)",
        sql: migration!("0002_index_org_id"),
        kind: StepKind::ConcurrentIndex("idx_usage_events_org_id"),
    },
    Step {
        version: 3,
        description: "index usage_events by created_at (the seed's idx_usage_events_created_at)",
        sql: migration!("0003_index_created_at"),
        kind: StepKind::ConcurrentIndex("idx_usage_events_created_at"),
    },
    Step {
        version: 4,
        description: "add the nullable idempotency_key column (metadata-only change, no rewrite)",
        sql: migration!("0004_add_idempotency_key"),
        kind: StepKind::ShortLock,
    },
    Step {
        version: 5,
        description: "make (org_id, idempotency_key) unique so a retried record is stored once",
        sql: migration!("0005_unique_idempotency_key"),
        kind: StepKind::ConcurrentIndex("usage_events_org_id_idempotency_key_key"),
    },
    Step {
        version: 6,
        description: "add tier, assignment, override and per-org lock tables, seeded with the seed's trial/pilot/subscription limits",
        sql: migration!("0006_tiers_and_limits"),
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
    Step {
        version: 9,
        description: "add the nullable usagectl_seq column and its sequence (metadata-only change, no rewrite)",
        sql: migration!("0009_event_sequence_column"),
        kind: StepKind::ShortLock,
    },
    Step {
        version: 10,
        description: "index usagectl_seq (the fold's and the reads' way to the rows not folded yet)",
        sql: migration!("0010_index_event_sequence"),
        kind: StepKind::ConcurrentIndex("usagectl_events_seq"),
    },
    Step {
        version: 11,
        description: "number new rows and fold them into the rollup (no insert trigger); one read function and one quota rule",
        sql: FOLD_SQL,
        kind: StepKind::ShortLock,
    },
    Step {
        version: 12,
        description: "make (org_id, idempotency_key) unique where a key is given (rows without one, the web app's, skip the index)",
        sql: migration!("0012_partial_idempotency_index"),
        kind: StepKind::ConcurrentIndex("usagectl_events_org_key"),
    },
    Step {
        version: 13,
        description: "drop migration 5's full (org_id, idempotency_key) index, which version 12 replaces",
        sql: migration!("0013_drop_full_idempotency_index"),
        kind: StepKind::ConcurrentIndex("usage_events_org_id_idempotency_key_key"),
    },
    Step {
        version: 14,
        description: "add billing periods per org (anchor day, time zone), grants, and usagectl_record_in_period()",
        sql: PERIODS_SQL,
        kind: StepKind::Transactional,
    },
    Step {
        version: 15,
        description: "add usagectl_usage_of(): the read path for a set of orgs; usagectl_usage() calls it",
        sql: migration!("0015_read_path_for_org_sets"),
        kind: StepKind::Transactional,
    },
    Step {
        version: 16,
        description: "add usage alert rules, their states per period, and the outbox of decisions to deliver",
        sql: migration!("0016_usage_alerts"),
        kind: StepKind::Transactional,
    },
    Step {
        version: 17,
        description: "collect statistics for usagectl_seq, so reads plan the rows above the watermark as few",
        sql: migration!("0017_analyze_event_sequence"),
        kind: StepKind::Transactional,
    },
    Step {
        version: 18,
        description: "add Stripe customers, meters and the ledger of meter events sent",
        sql: migration!("0018_stripe_metered_billing"),
        kind: StepKind::Transactional,
    },
    Step {
        version: 19,
        description: "add AI prices per model and usagectl_settled_seq() (events --follow)",
        sql: migration!("0019_prices_and_follow"),
        kind: StepKind::Transactional,
    },
    Step {
        version: 20,
        description: "count tokens per model in the daily rollup (costs) and add usagectl_usage_by_model()",
        sql: migration!("0020_rollup_per_model"),
        kind: StepKind::Transactional,
    },
    Step {
        version: 21,
        description: "split the UTC days of billing period boundaries in the rollup (periods in zones off UTC read no raw rows)",
        sql: migration!("0021_boundary_rollup"),
        kind: StepKind::ShortLock,
    },
    Step {
        version: 22,
        description: "count the runs that left an alert delivery for a later run (its backoff)",
        sql: migration!("0022_alert_failed_runs"),
        kind: StepKind::Transactional,
    },
    Step {
        version: 23,
        description: "keep the prices removed by price remove, with who, when and why",
        sql: migration!("0023_price_removals"),
        kind: StepKind::Transactional,
    },
    Step {
        version: 24,
        description: "one rollup: buckets (UTC days cut at registered period boundaries) replace the daily and boundary rollups",
        sql: migration!("0024_one_rollup"),
        kind: StepKind::WithDefinitions,
    },
    Step {
        version: 25,
        description: "the web app's API: reservations, and the usagectl schema its functions live in",
        sql: migration!("0025_web_app_api"),
        kind: StepKind::WithDefinitions,
    },
    Step {
        version: 26,
        description: "index each org's rows not folded yet (what every enforced record reads)",
        sql: migration!("0026_index_unfolded_rows_by_org"),
        kind: StepKind::ConcurrentIndex("usagectl_events_org_seq"),
    },
    Step {
        version: 27,
        description: "archived months: where each month's raw rows went, and what they held",
        sql: migration!("0027_archives"),
        kind: StepKind::Transactional,
    },
    Step {
        version: 28,
        description: "idempotency keys in a table of their own (one arbiter of retries for every table layout)",
        sql: migration!("0028_idempotency_keys"),
        kind: StepKind::WithDefinitions,
    },
    Step {
        version: 29,
        description: "index the rollup's rows of all-time metrics (status --all sums them for every org)",
        sql: migration!("0029_index_all_time_rollup"),
        kind: StepKind::ConcurrentIndex("usagectl_rollup_all_time"),
    },
];

/// One definition file: functions, triggers, policies or grants, installed whole.
#[derive(Debug, Clone, Copy)]
pub struct Definition {
    /// Its file name under `src/db/definitions/`, without `.sql`.
    pub name: &'static str,
    /// Its SQL.
    pub sql: &'static str,
}

/// A definition file's SQL, from `src/db/definitions/NAME.sql`.
macro_rules! definition {
    ($name:literal) => {
        Definition {
            name: $name,
            sql: include_str!(concat!("definitions/", $name, ".sql")).trim_ascii(),
        }
    };
}

/// The database objects as code, in the order they are installed (each file only uses
/// what the files before it define): what earlier builds defined and this one does not
/// (dropped), then the rules, the rollup, the read path and enforcement. Installed by
/// `migrate` (and `doctor --repair`) in one transaction whenever the database's differ from
/// this build's ([`definitions_checksum`]), so a reader never sees half a set.
pub const DEFINITIONS: &[Definition] = &[
    definition!("retired"),
    definition!("periods"),
    definition!("rollup"),
    definition!("read"),
    definition!("enforce"),
    definition!("bodies"),
    definition!("partitions"),
];

/// The grants of `usage_reader` and `usage_writer`: installed after [`DEFINITIONS`] when
/// both roles exist (`migrate --roles` creates them), so a function installed again keeps
/// its grants.
pub const GRANTS: Definition = definition!("grants");

/// The web app's API (`usagectl.*`): installed after [`DEFINITIONS`] when the schema
/// `usagectl` exists (migration 25 creates it where the migrating role may).
pub const API: Definition = definition!("api");

/// The first version whose functions and triggers are the definition files' (before it,
/// versioned migrations defined them).
pub const DEFINITIONS_SINCE: i32 = 24;

/// The first version with `usagectl_event_keys`, the arbiter of idempotency keys.
pub const KEYS_SINCE: i32 = 28;

/// The SHA-256 of every definition file, names included: recorded with the installed
/// definitions, and compared on every `migrate` and `doctor`.
pub fn definitions_checksum() -> String {
    let mut all = String::new();
    for d in DEFINITIONS.iter().chain([&GRANTS, &API]) {
        all.push_str(d.name);
        all.push('\n');
        all.push_str(d.sql);
        all.push('\n');
    }
    crate::sink::sha256_hex(all.as_bytes())
}

/// The functions the definition files define, by name, in install order.
pub fn defined_functions() -> Vec<&'static str> {
    defined("CREATE OR REPLACE FUNCTION ")
}

/// The triggers the definition files define, by name, in install order.
pub fn defined_triggers() -> Vec<&'static str> {
    defined("CREATE OR REPLACE TRIGGER ")
}

fn defined(prefix: &str) -> Vec<&'static str> {
    DEFINITIONS
        .iter()
        .flat_map(|d| statements(d.sql))
        .filter_map(|s| code_of(s).strip_prefix(prefix))
        .map(|rest| {
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .collect()
}

/// Migration 14: billing periods and grants.
///
/// - `usagectl_org_settings` keeps each org's anchor day and IANA zone as a history (a
///   change is in force from the end of the current period); no row means anchor 1 in UTC.
/// - `usagectl_period()` is the one period rule (PostgreSQL's own time zone database, so
///   enforcement, reads and a DBA's psql agree); `usagectl_periods()` lists the periods
///   a batch spans or a month holds (which of them `--month` means is decided by
///   `billing::in_month`; `usagectl_period_in_month()`, which missed a short period after a
///   change of settings, is kept for earlier builds and no longer called).
/// - `usagectl_grants` / `usagectl_grant_revocations` are append-only (a trigger refuses
///   UPDATE, DELETE and TRUNCATE); `usagectl_granted()` is the one grant rule.
/// - `usagectl_record_in_period()`: `record --enforce` with the period, the limit and the
///   grants decided under the org lock.
pub const PERIODS_SQL: &str = migration!("0014_billing_periods_and_grants");

/// Migration 11: the rollup without a per-insert hot row.
///
/// - New rows take a number from `usagectl_event_seq` (the column default) and nothing else:
///   the insert trigger is gone. Setting the default and dropping the trigger happen in one
///   transaction under the brief lock ALTER TABLE takes, so every row is counted exactly
///   once: rows without a number by the old trigger (or the backfill), rows with one by
///   the fold.
/// - `usagectl_fold()` adds the rows numbered `(watermark, L]` to the rollup and moves the
///   watermark to `L`, after waiting for every transaction that was writing `usage_events`
///   when it read `L` (see the function's comment). `usagectl maintain` runs it.
/// - `usagectl_usage()` is the one read path: rollup + rows above the watermark for whole
///   UTC days, raw rows for partial days, raw rows only while a backfill is pending.
/// - `usagectl_quota_check()` is the one quota rule and `usagectl_lock_org()` the one org
///   lock; `usagectl_record_enforced()` and `record --file --enforce` both call them.
/// - UPDATE and DELETE triggers adjust folded rows only, under a share lock on the
///   watermark row that the fold takes for update.
pub const FOLD_SQL: &str = migration!("0011_fold_and_read_path");

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
pub const ROLLUP_SQL: &str = migration!("0007_daily_rollup");

/// `migrate --roles`: the seed's per-org SELECT policy on `usage_events` (if missing) and an
/// INSERT policy for writers, with row-level security enabled, so that reads stay per org
/// for both roles; then the grants ([`GRANTS`]):
///
/// - `usage_reader`: SELECT on the tool's tables; with the seed's RLS policy in force it
///   reads one org at a time (the org usagectl puts in `app.current_org_id`).
/// - `usage_writer`: INSERT (and SELECT, for idempotent retries) on `usage_events`, reads
///   the tier tables, takes the per-org quota lock and runs `usagectl_record_in_period()`
///   (granted explicitly, for databases that revoke EXECUTE from PUBLIC).
///
/// Run as the owner of `usage_events` (see [`RunAs`]), after [`ROLES_CREATE_SQL`].
pub const ROLES_SQL: &str = include_str!("roles.sql").trim_ascii();

/// `migrate --roles`, first: create the two roles and let them use the schema, as the
/// connecting role (CREATEROLE is the connecting role's, not necessarily the owner's).
pub const ROLES_CREATE_SQL: &str = include_str!("roles_create.sql").trim_ascii();

/// Which role each command needs (printed by `migrate --roles`, and in the README).
pub const COMMAND_ROLES: &[(&str, &str)] = &[
    (
        "summary, limits, status --org, tier list, tier show, org show, grant list, alert list, events, price list, export --org",
        "usage_reader",
    ),
    (
        "record (also --enforce, --file, --adjust), maintain",
        "usage_writer",
    ),
    (
        "status --all, top, costs, export (all orgs)",
        "a role that bypasses RLS (or the table owner)",
    ),
    (
        "tier create/set-limit/assign/override, org set, grant add/revoke, alert (all but list), stripe, price set, migrate",
        "the owner of the tables",
    ),
];

/// The statements of a migration's SQL, split at each `;` outside quotes, dollar quotes
/// and comments (a trailing statement without one included), trimmed, empty ones left out.
pub fn statements(sql: &str) -> Vec<&str> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let (mut start, mut i) = (0, 0);
    while i < b.len() {
        match b[i] {
            b'\'' | b'"' => {
                let q = b[i];
                i += 1;
                while i < b.len() && b[i] != q {
                    i += 1;
                }
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i = sql[i + 2..].find("*/").map_or(b.len(), |e| i + 2 + e + 1);
            }
            b'$' => {
                // a dollar quote's tag: $$ or $name$ (a parameter such as $1 is no tag)
                let tag_len = sql[i + 1..]
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .filter(|&n| sql[i + 1 + n..].starts_with('$'))
                    .filter(|&n| n == 0 || !b[i + 1].is_ascii_digit());
                if let Some(n) = tag_len {
                    let tag = &sql[i..i + n + 2];
                    i = sql[i + tag.len()..]
                        .find(tag)
                        .map_or(b.len(), |e| i + tag.len() + e + tag.len() - 1);
                }
            }
            b';' => {
                out.push(sql[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    out.push(sql[start.min(sql.len())..].trim());
    out.retain(|s| !code_of(s).is_empty());
    out
}

/// A statement without its leading comments.
fn code_of(statement: &str) -> &str {
    let mut s = statement.trim_start();
    while s.starts_with("--") {
        s = s.find('\n').map_or("", |e| s[e + 1..].trim_start());
    }
    s
}

/// The newest schema version this build knows.
pub fn latest_version() -> i32 {
    STEPS.last().map_or(0, |s| s.version)
}

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
pub const ENFORCE_SQL: &str = migration!("0008_record_enforced");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_migration_file_is_a_step_and_every_step_a_file() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/db/migrations");
        let mut versions: Vec<i32> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| {
                let name = e.unwrap().file_name().into_string().unwrap();
                assert!(name.ends_with(".sql"), "{name}");
                let version: i32 = name[..4]
                    .parse()
                    .unwrap_or_else(|_| panic!("{name}: NNNN_name.sql"));
                let text = std::fs::read_to_string(dir.join(&name)).unwrap();
                let step = STEPS
                    .iter()
                    .find(|s| s.version == version)
                    .unwrap_or_else(|| panic!("{name} is no step"));
                assert_eq!(step.sql, text.trim_ascii(), "{name}");
                version
            })
            .collect();
        versions.sort_unstable();
        assert_eq!(
            versions,
            STEPS.iter().map(|s| s.version).collect::<Vec<_>>()
        );
    }

    #[test]
    fn every_definition_file_is_installed_once_and_each_object_defined_once() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/db/definitions");
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        files.sort();
        let mut listed: Vec<String> = DEFINITIONS
            .iter()
            .chain([&GRANTS, &API])
            .map(|d| format!("{}.sql", d.name))
            .collect();
        listed.sort();
        assert_eq!(files, listed);
        let functions = defined_functions();
        let triggers = defined_triggers();
        assert!(functions.contains(&"usagectl_fold") && functions.contains(&"usagectl_count"));
        assert_eq!(triggers.len(), 7, "{triggers:?}");
        let mut unique = functions.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), functions.len(), "{functions:?}");
        // a checksum of every file: a one-line change to any of them changes it
        assert_eq!(definitions_checksum().len(), 64);
    }

    #[test]
    fn migrations_run_as_the_table_owner_when_the_connecting_role_may_become_it() {
        let t = |owner: &str, me: &str, can_become| TableOwner {
            owner: owner.into(),
            connected_as: me.into(),
            can_become,
        };
        assert_eq!(run_as(None), Ok(RunAs::Connected));
        assert_eq!(run_as(Some(&t("app", "app", true))), Ok(RunAs::Connected));
        assert_eq!(
            run_as(Some(&t("app", "postgres", true))),
            Ok(RunAs::Owner("app".into()))
        );
        let refused = run_as(Some(&t("app", "bob", false))).unwrap_err();
        assert!(refused.contains("owned by app"), "{refused}");
        assert!(refused.contains("bob is neither"), "{refused}");
        assert!(!refused.contains('\n'));
    }

    #[test]
    fn statements_split_outside_quotes_dollar_quotes_and_comments() {
        let sql = "-- a; comment\nCREATE TABLE t (a text DEFAULT 'x;y');\n\
                   CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $f$ SELECT 1; $f$;\n\
                   DO $$ BEGIN PERFORM $1; END $$;\n/* c; */ SELECT \"a;b\"";
        assert_eq!(
            statements(sql),
            vec![
                "-- a; comment\nCREATE TABLE t (a text DEFAULT 'x;y')",
                "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $f$ SELECT 1; $f$",
                "DO $$ BEGIN PERFORM $1; END $$",
                "/* c; */ SELECT \"a;b\"",
            ]
        );
        assert_eq!(statements("SELECT 1;\n-- the end\n"), vec!["SELECT 1"]);
    }

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
            // additive, except for usagectl's own insert trigger and its function (migration 11),
            // its own full idempotency index (migration 13), and its rollup's key and the two
            // helpers whose signature gained the model (migration 20)
            for line in s.sql.lines() {
                assert!(
                    !line.to_uppercase().contains("DROP ")
                        || line == "DROP TRIGGER IF EXISTS usagectl_rollup_insert ON usage_events;"
                        || line == "DROP FUNCTION IF EXISTS usagectl_rollup_on_insert();"
                        || line
                            == "DROP INDEX CONCURRENTLY IF EXISTS usage_events_org_id_idempotency_key_key"
                        || line
                            == "ALTER TABLE usagectl_daily_usage DROP CONSTRAINT IF EXISTS usagectl_daily_usage_pkey;"
                        || line.starts_with(
                            "DROP FUNCTION IF EXISTS usagectl_rollup_add(text, date, text, bigint"
                        )
                        || line.starts_with(
                            "DROP FUNCTION IF EXISTS usagectl_rollup_sub(text, date, text, bigint"
                        )
                        // migration 24: the two rollups the one replaces (copied first)
                        || line == "DROP TABLE usagectl_boundary_usage;"
                        || line == "DROP TABLE usagectl_daily_usage;",
                    "migrations are additive: {line}"
                );
            }
        }
    }
}
