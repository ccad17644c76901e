//! The query module: every SQL statement usagectl runs against its tables lives here.
//! Functions take `&mut impl GenericClient` (a client or a transaction), return typed
//! rows and never format anything.
use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use postgres::GenericClient;
use postgres::types::Type;
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use super::schema::{self, Step, StepKind};
use super::sql::Sql;
use crate::quota::{LimitConfig, Metric, Month, Usage};

/// Make the seed's row-level security policy see this org for the rest of the current
/// transaction (`app.current_org_id`), so a read-only role without BYPASSRLS gets the
/// right answer.
pub fn scope_to_org(db: &mut impl GenericClient, org_id: &str) -> Result<()> {
    db.exec(
        "SELECT set_config('app.current_org_id', $1, true)",
        &[&org_id],
    )
    .with_context(|| format!("scoping the transaction to org {org_id}"))?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Migrations

/// Take the migration lock for this session, so two `migrate` runs never interleave.
/// Released when the connection closes.
pub fn lock_migrations(db: &mut impl GenericClient) -> Result<()> {
    db.exec("SELECT pg_advisory_lock(hashtext('usagectl.migrate'))", &[])
        .context("taking the migration lock")?;
    Ok(())
}

/// Prepare migrate's own session: `statement_timeout` off (index builds and backfills run
/// long) and `lock_timeout` at `--lock-timeout` for the waits outside transactions (the
/// migration lock, index builds). Returns the role's statement_timeout when it had one.
pub fn migrate_session(client: &mut postgres::Client) -> Result<Option<String>> {
    let before: String = client
        .row("SELECT current_setting('statement_timeout')", &[])
        .context("reading statement_timeout")?
        .get(0);
    client
        .batch_execute(&format!(
            "SET statement_timeout = 0; SET lock_timeout = {}",
            super::waits::current().lock_timeout.as_millis()
        ))
        .context("setting migrate's session timeouts")?;
    Ok((before != "0").then_some(before))
}

/// Create the version table if it is missing.
pub fn ensure_version_table(db: &mut impl GenericClient) -> Result<()> {
    db.batch_execute(schema::VERSION_TABLE_SQL)
        .context("creating usagectl_schema_migrations")
}

/// Whether the version table exists (without creating it).
pub fn version_table_exists(db: &mut impl GenericClient) -> Result<bool> {
    let row = db
        .row(
            "SELECT to_regclass('usagectl_schema_migrations') IS NOT NULL",
            &[],
        )
        .context("looking for usagectl_schema_migrations")?;
    Ok(row.get(0))
}

/// Versions recorded as applied, oldest first (the checksum column may not exist yet).
pub fn applied_migrations(db: &mut impl GenericClient) -> Result<Vec<schema::Applied>> {
    if !version_table_exists(db)? {
        return Ok(Vec::new());
    }
    let rows = db
        .rows(
            r#"SELECT version, to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                      to_jsonb(m) ->> 'checksum'
               FROM usagectl_schema_migrations m ORDER BY version"#,
            &[],
        )
        .context("reading applied migrations")?;
    Ok(rows
        .iter()
        .map(|r| schema::Applied {
            version: r.get(0),
            applied_at: r.get(1),
            checksum: r.get(2),
        })
        .collect())
}

/// Record this build's checksum for versions applied before checksums were kept.
pub fn record_missing_checksums(db: &mut impl GenericClient) -> Result<u64> {
    let mut n = 0;
    for step in schema::STEPS {
        n += db
            .exec(
                "UPDATE usagectl_schema_migrations SET checksum = $2 WHERE version = $1 AND checksum IS NULL",
                &[&step.version, &step.checksum()],
            )
            .with_context(|| format!("recording the checksum of migration {}", step.version))?;
    }
    Ok(n)
}

/// Create and grant the least-privilege roles (see [`schema::ROLES_SQL`]). Its policies and
/// ENABLE ROW LEVEL SECURITY take a lock the web app's inserts queue behind: each attempt
/// waits at most [`super::waits::SHORT_LOCK`] for it, and is retried.
pub fn apply_roles(client: &mut postgres::Client) -> Result<()> {
    use super::waits;
    waits::retrying(client, "migrate --roles", |client| {
        let mut tx = waits::begin_with(client, waits::long_running(waits::SHORT_LOCK), "")?;
        tx.batch_execute(schema::ROLES_SQL)
            .context("creating the usage_reader and usage_writer roles")?;
        tx.commit()?;
        Ok(())
    })
}

/// How far `replica` is behind `primary`: zero when it has replayed everything the primary
/// has written, else the time since its last replayed commit; never less than its
/// `recovery_min_apply_delay` (a delayed replica has the WAL but holds the commits back);
/// `None` when it is not a replica, is paused, or has never replayed a commit.
pub fn replica_lag(
    replica: &mut impl GenericClient,
    primary: &mut impl GenericClient,
) -> Result<Option<std::time::Duration>> {
    let r = replica
        .row(
            "SELECT pg_is_in_recovery(),
                    CASE WHEN pg_is_in_recovery() THEN pg_is_wal_replay_paused() END,
                    CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()::text END,
                    extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8,
                    (SELECT setting::float8 / 1000 FROM pg_settings
                      WHERE name = 'recovery_min_apply_delay')",
            &[],
        )
        .context("asking the read replica how far behind it is")?;
    let (in_recovery, paused, replayed, since): (bool, Option<bool>, Option<String>, Option<f64>) =
        (r.get(0), r.get(1), r.get(2), r.get(3));
    let delay = std::time::Duration::from_secs_f64(r.get::<_, Option<f64>>(4).unwrap_or(0.0));
    if !in_recovery || paused == Some(true) {
        return Ok(None);
    }
    let Some(replayed) = replayed else {
        return Ok(None);
    };
    let behind: f64 = primary
        .row(
            "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::text::pg_lsn)::float8",
            &[&replayed],
        )
        .context("comparing the replica's position with the primary's")?
        .get(0);
    let lag = if behind <= 0.0 {
        Some(std::time::Duration::ZERO)
    } else {
        since.map(|s| std::time::Duration::from_secs_f64(s.max(0.0)))
    };
    Ok(lag.map(|l| l.max(delay)))
}

/// Whether `usage_events` exists already (an adopted table) before migrating.
pub fn usage_events_exists(db: &mut impl GenericClient) -> Result<bool> {
    let row = db
        .row("SELECT to_regclass('usage_events') IS NOT NULL", &[])
        .context("looking for usage_events")?;
    Ok(row.get(0))
}

fn record_version(db: &mut impl GenericClient, step: &Step) -> Result<()> {
    db.exec(
        "INSERT INTO usagectl_schema_migrations (version, description, checksum) VALUES ($1, $2, $3)
         ON CONFLICT (version) DO NOTHING",
        &[&step.version, &step.description, &step.checksum()],
    )
    .with_context(|| format!("recording migration {}", step.version))?;
    Ok(())
}

/// Apply one step (see [`StepKind`] for how each kind runs). `migrate` runs on a session of
/// its own (not through a transaction pooler), with `statement_timeout` off for it.
pub fn apply_step(client: &mut postgres::Client, step: &Step) -> Result<()> {
    use super::waits;
    let what = format!("migration {}", step.version);
    let context = || format!("migration {}: {}", step.version, step.description);
    match step.kind {
        StepKind::Transactional => {
            let mut tx = waits::begin_with(
                client,
                waits::long_running(waits::current().lock_timeout),
                "",
            )?;
            tx.batch_execute(step.sql).with_context(context)?;
            record_version(&mut tx, step)?;
            tx.commit()?;
        }
        StepKind::ShortLock => {
            // the lock queues the web app's inserts behind it: wait briefly, then let them
            // through and try again
            waits::retrying(client, &what, |client| {
                let mut tx = waits::begin_with(client, waits::long_running(waits::SHORT_LOCK), "")?;
                tx.batch_execute(step.sql).with_context(context)?;
                record_version(&mut tx, step)?;
                tx.commit()?;
                Ok(())
            })?;
        }
        StepKind::ConcurrentIndex(name) => {
            // its waits (for writers, then for older snapshots) queue no insert; an attempt
            // that gives up leaves an invalid index, which the next attempt drops
            // each attempt may wait a third of --lock-timeout, so a build that gave up can be
            // tried again within it (0: wait as long as it takes)
            let per_attempt = waits::current().lock_timeout / 3;
            client
                .batch_execute(&format!("SET lock_timeout = {}", per_attempt.as_millis()))
                .context("setting the index build's lock_timeout")?;
            waits::retrying(client, &what, |client| {
                drop_if_invalid(client, name)?;
                client.batch_execute(step.sql).with_context(context)?;
                Ok(())
            })?;
            record_version(client, step)?;
        }
    }
    Ok(())
}

/// Drop `name` (concurrently) if it is an invalid index: what an interrupted or timed-out
/// `CREATE INDEX CONCURRENTLY` leaves behind, which `IF NOT EXISTS` would silently keep.
pub fn drop_if_invalid(client: &mut postgres::Client, name: &str) -> Result<bool> {
    let invalid: bool = client
        .row(
            "SELECT coalesce((SELECT NOT indisvalid FROM pg_index WHERE indexrelid = to_regclass($1)), false)",
            &[&name],
        )
        .with_context(|| format!("checking index {name}"))?
        .get(0);
    if invalid {
        client
            .batch_execute(&format!(
                "DROP INDEX CONCURRENTLY IF EXISTS {}",
                quote_ident(name)
            ))
            .with_context(|| format!("dropping the invalid index {name}"))?;
    }
    Ok(invalid)
}

// ---------------------------------------------------------------------------------------
// Events

/// An event to insert.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// Organisation.
    pub org_id: String,
    /// Event type.
    pub event_type: String,
    /// Quantity (positive).
    pub quantity: i32,
    /// JSON object, if any.
    pub metadata: Option<Value>,
    /// When it happened; the server's `now()` when absent.
    pub created_at: Option<DateTime<Utc>>,
    /// Retry key, unique per org.
    pub idempotency_key: Option<String>,
}

/// A stored event.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EventRow {
    /// Primary key.
    pub id: Uuid,
    /// Organisation.
    pub org_id: String,
    /// Event type.
    pub event_type: String,
    /// Quantity.
    pub quantity: i32,
    /// Metadata object.
    pub metadata: Option<Value>,
    /// When it happened.
    #[serde(serialize_with = "crate::time::ser")]
    pub created_at: DateTime<Utc>,
    /// Retry key.
    pub idempotency_key: Option<String>,
}

const EVENT_COLUMNS: &str =
    "id, org_id, event_type, quantity, metadata, created_at, idempotency_key";

fn event_row(r: &postgres::Row) -> EventRow {
    event_row_at(r, 0)
}

/// An [`EventRow`] from `EVENT_COLUMNS` starting at column `at`.
fn event_row_at(r: &postgres::Row, at: usize) -> EventRow {
    EventRow {
        id: r.get(at),
        org_id: r.get(at + 1),
        event_type: r.get(at + 2),
        quantity: r.get(at + 3),
        metadata: r.get(at + 4),
        created_at: r.get(at + 5),
        idempotency_key: r.get(at + 6),
    }
}

/// `ev`'s fields as typed parameters, in the order of the columns of `EVENT_COLUMNS` after
/// `id`.
fn event_params(ev: &NewEvent) -> [(&(dyn postgres::types::ToSql + Sync), Type); 6] {
    [
        (&ev.org_id, Type::TEXT),
        (&ev.event_type, Type::TEXT),
        (&ev.quantity, Type::INT4),
        (&ev.metadata, Type::JSONB),
        (&ev.created_at, Type::TIMESTAMPTZ),
        (&ev.idempotency_key, Type::TEXT),
    ]
}

/// Insert one event unless its `(org_id, idempotency_key)` is stored already; `None`
/// then. ON CONFLICT waits for a concurrent holder of the key to commit first.
pub fn insert_event(db: &mut impl GenericClient, ev: &NewEvent) -> Result<Option<EventRow>> {
    let sql = format!(
        "INSERT INTO usage_events (org_id, event_type, quantity, metadata, created_at, idempotency_key)
         VALUES ($1, $2, $3, $4::jsonb, coalesce($5::timestamptz, now()), $6)
         ON CONFLICT (org_id, idempotency_key) DO NOTHING
         RETURNING {EVENT_COLUMNS}"
    );
    let row = db
        .query_typed_opt(&sql, &event_params(ev))
        .with_context(|| format!("recording a {} event for org {}", ev.event_type, ev.org_id))?;
    Ok(row.as_ref().map(event_row))
}

/// What [`record_enforced`] did.
#[derive(Debug)]
pub enum Enforced {
    /// Within the limit: stored.
    Inserted(EventRow),
    /// The idempotency key was stored already: that event, nothing new.
    Duplicate(EventRow),
    /// `current + quantity` would pass the limit: nothing stored.
    Refused {
        /// The metric's usage when the lock was granted.
        current: i64,
    },
}

/// Record `ev` if the usage of `counted_types` in `[from, to)` (`from = None`: since the
/// beginning) plus its quantity stays within `limit`: the org's lock row, the read and the
/// insert in one call to `usagectl_record_enforced` (migration 8). The lock is held until
/// the transaction ends.
pub fn record_enforced(
    db: &mut impl GenericClient,
    ev: &NewEvent,
    counted_types: &[&str],
    from: Option<DateTime<Utc>>,
    to: DateTime<Utc>,
    limit: i64,
) -> Result<Enforced> {
    let mut params = event_params(ev).to_vec();
    params.extend([
        (&counted_types as _, Type::TEXT_ARRAY),
        (&from as _, Type::TIMESTAMPTZ),
        (&to as _, Type::TIMESTAMPTZ),
        (&limit as _, Type::INT8),
    ]);
    let row = db
        .query_typed_one(
            "SELECT * FROM usagectl_record_enforced($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            &params,
        )
        .with_context(|| {
            format!(
                "recording a {} event for org {} within its limit",
                ev.event_type, ev.org_id
            )
        })?;
    Ok(match row.get::<_, &str>(0) {
        "inserted" => Enforced::Inserted(event_row_at(&row, 2)),
        "duplicate" => Enforced::Duplicate(event_row_at(&row, 2)),
        "refused" => Enforced::Refused {
            current: row.get(1),
        },
        other => anyhow::bail!(
            "usagectl_record_enforced() answered {other:?}, which this usagectl does not know"
        ),
    })
}

/// The event stored under an org's idempotency key, if any.
pub fn find_event_by_key(
    db: &mut impl GenericClient,
    org_id: &str,
    key: &str,
) -> Result<Option<EventRow>> {
    let row = db
        .query_typed_opt(
            &format!("SELECT {EVENT_COLUMNS} FROM usage_events WHERE org_id = $1 AND idempotency_key = $2"),
            &[(&org_id, Type::TEXT), (&key, Type::TEXT)],
        )
        .with_context(|| format!("looking up idempotency key {key:?} for org {org_id}"))?;
    Ok(row.as_ref().map(event_row))
}

/// [`scope_to_org`] and the transaction's `now()`, in one round trip.
pub fn scope_to_org_now(db: &mut impl GenericClient, org_id: &str) -> Result<DateTime<Utc>> {
    Ok(db
        .query_typed_one(
            "SELECT now(), set_config('app.current_org_id', $1, true)",
            &[(&org_id, Type::TEXT)],
        )
        .with_context(|| format!("scoping the transaction to org {org_id}"))?
        .get(0))
}

/// Serialise quota decisions for one org: lock its row in `usagectl_org_locks` (created
/// on demand) until the transaction ends. A row lock, not an advisory lock: advisory locks
/// are node-local under Citus and succeed silently on a standby.
pub fn lock_org(db: &mut impl GenericClient, org_id: &str) -> Result<()> {
    const LOCK: &str = "SELECT org_id FROM usagectl_org_locks WHERE org_id = $1 FOR UPDATE";
    let locked = db
        .query_typed_opt(LOCK, &[(&org_id, Type::TEXT)])
        .with_context(|| format!("locking org {org_id} for the quota check"))?;
    if locked.is_none() {
        // the org's first enforced event: create its row (a racing creator wins), then lock
        db.exec(
            "INSERT INTO usagectl_org_locks (org_id) VALUES ($1) ON CONFLICT (org_id) DO NOTHING",
            &[&org_id],
        )
        .with_context(|| format!("creating the quota lock row for org {org_id}"))?;
        db.row(LOCK, &[&org_id])
            .with_context(|| format!("locking org {org_id} for the quota check"))?;
    }
    Ok(())
}

/// The server's transaction time.
pub fn server_now(db: &mut impl GenericClient) -> Result<DateTime<Utc>> {
    Ok(db.row("SELECT now()", &[])?.get(0))
}

/// Start a read-only transaction on one snapshot: every figure it reads agrees.
pub fn read_snapshot<C: GenericClient>(db: &mut C) -> Result<postgres::Transaction<'_>> {
    super::waits::begin_snapshot(db)
}

// ---------------------------------------------------------------------------------------
// The daily rollup

/// Whether reads can use the daily rollup: it exists, this role may read it, and its
/// backfill is complete. Otherwise reads aggregate the raw rows (same answers, slower).
pub fn use_rollup(db: &mut impl GenericClient) -> Result<bool> {
    let exists: bool = db
        .query_typed_one(
            "SELECT CASE WHEN to_regclass('usagectl_rollup_backfill') IS NULL
                          OR to_regclass('usagectl_daily_usage') IS NULL THEN false
                         ELSE has_table_privilege('usagectl_rollup_backfill', 'SELECT')
                          AND has_table_privilege('usagectl_daily_usage', 'SELECT') END",
            &[],
        )
        .context("looking for the daily rollup")?
        .get(0);
    if !exists {
        return Ok(false);
    }
    let pending: bool = db
        .query_typed_one(
            "SELECT EXISTS (SELECT 1 FROM usagectl_rollup_backfill WHERE NOT done)",
            &[],
        )
        .context("checking the rollup's backfill")?
        .get(0);
    Ok(!pending)
}

/// Days the rollup's backfill has still to count, oldest first.
pub fn pending_backfill_days(db: &mut impl GenericClient) -> Result<Vec<chrono::NaiveDate>> {
    let exists: bool = db
        .row(
            "SELECT to_regclass('usagectl_rollup_backfill') IS NOT NULL",
            &[],
        )?
        .get(0);
    if !exists {
        return Ok(Vec::new());
    }
    Ok(db
        .rows(
            "SELECT day FROM usagectl_rollup_backfill WHERE NOT done ORDER BY day",
            &[],
        )
        .context("listing the days the rollup's backfill has to do")?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

/// Count one day of pre-existing rows into the rollup, in its own transaction. Locking the
/// day's backfill row makes inserts into that day wait (or be waited for), so each row is
/// counted exactly once, by the backfill or by the triggers. Returns the rows counted.
pub fn backfill_day(client: &mut postgres::Client, day: chrono::NaiveDate) -> Result<i64> {
    use super::waits;
    waits::retrying(client, &format!("backfilling {day}"), |client| {
        backfill_day_once(client, day)
    })
}

fn backfill_day_once(client: &mut postgres::Client, day: chrono::NaiveDate) -> Result<i64> {
    use super::waits;
    let mut tx = waits::begin_with(client, waits::long_running(waits::SHORT_LOCK), "")?;
    let pending = tx
        .opt_row(
            "SELECT day FROM usagectl_rollup_backfill WHERE day = $1 AND NOT done FOR UPDATE",
            &[&day],
        )?
        .is_some();
    if !pending {
        return Ok(0);
    }
    let counted: i64 = tx
        .row(
            "WITH agg AS (
                 INSERT INTO usagectl_daily_usage AS d (org_id, day, event_type, events, quantity, first_event, last_event)
                 SELECT org_id, $1::date, event_type, count(*), sum(quantity), min(created_at), max(created_at)
                 FROM usage_events
                 WHERE created_at >= ($1::date::timestamp AT TIME ZONE 'UTC')
                   AND created_at < (($1::date + 1)::timestamp AT TIME ZONE 'UTC')
                 GROUP BY org_id, event_type
                 ON CONFLICT (org_id, day, event_type) DO UPDATE
                     SET events = EXCLUDED.events, quantity = EXCLUDED.quantity,
                         first_event = EXCLUDED.first_event, last_event = EXCLUDED.last_event
                 RETURNING events)
             SELECT coalesce(sum(events), 0)::bigint FROM agg",
            &[&day],
        )
        .with_context(|| format!("backfilling the rollup for {day}"))?
        .get(0);
    tx.exec(
        "UPDATE usagectl_rollup_backfill SET done = true WHERE day = $1",
        &[&day],
    )?;
    tx.commit()?;
    Ok(counted)
}

/// Forget the days already backfilled (keeps the triggers' lookups cheap).
pub fn finish_backfill(db: &mut impl GenericClient) -> Result<()> {
    db.exec("DELETE FROM usagectl_rollup_backfill WHERE done", &[])
        .context("tidying the rollup's backfill list")?;
    Ok(())
}

/// One (org, day, event type) where the rollup and the raw rows disagree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Drift {
    /// Organisation.
    pub org_id: String,
    /// UTC day.
    pub day: chrono::NaiveDate,
    /// Event type.
    pub event_type: String,
    /// Events in the raw rows.
    pub raw_events: i64,
    /// Events in the rollup.
    pub rollup_events: i64,
    /// Quantity in the raw rows.
    pub raw_quantity: i64,
    /// Quantity in the rollup.
    pub rollup_quantity: i64,
}

/// Recompute the rollup for `[from, to)` (one org or all) from the raw rows and list the
/// groups that disagree (counts, quantities, or first/last instants).
pub fn rollup_drift(
    db: &mut impl GenericClient,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
    org: Option<&str>,
) -> Result<Vec<Drift>> {
    Ok(db
        .rows(
            "WITH raw AS (
                 SELECT org_id, (created_at AT TIME ZONE 'UTC')::date AS day, event_type,
                        count(*) AS events, sum(quantity)::bigint AS quantity,
                        min(created_at) AS f, max(created_at) AS l
                 FROM usage_events
                 WHERE created_at >= ($1::date::timestamp AT TIME ZONE 'UTC')
                   AND created_at < ($2::date::timestamp AT TIME ZONE 'UTC')
                   AND ($3::text IS NULL OR org_id = $3)
                 GROUP BY 1, 2, 3),
             roll AS (
                 SELECT org_id, day, event_type, events, quantity, first_event AS f, last_event AS l
                 FROM usagectl_daily_usage
                 WHERE day >= $1::date AND day < $2::date AND ($3::text IS NULL OR org_id = $3))
             SELECT coalesce(raw.org_id, roll.org_id), coalesce(raw.day, roll.day),
                    coalesce(raw.event_type, roll.event_type),
                    coalesce(raw.events, 0), coalesce(roll.events, 0),
                    coalesce(raw.quantity, 0), coalesce(roll.quantity, 0)
             FROM raw FULL JOIN roll
               ON raw.org_id = roll.org_id AND raw.day = roll.day AND raw.event_type = roll.event_type
             WHERE raw.events IS DISTINCT FROM roll.events OR raw.quantity IS DISTINCT FROM roll.quantity
                OR raw.f IS DISTINCT FROM roll.f OR raw.l IS DISTINCT FROM roll.l
             ORDER BY 2, 1, 3",
            &[&from, &to, &org],
        )
        .context("comparing the rollup with the raw rows")?
        .iter()
        .map(|r| Drift {
            org_id: r.get(0),
            day: r.get(1),
            event_type: r.get(2),
            raw_events: r.get(3),
            rollup_events: r.get(4),
            raw_quantity: r.get(5),
            rollup_quantity: r.get(6),
        })
        .collect())
}

/// Groups [`repair_drift`] rewrites per transaction.
pub const REPAIR_BATCH: usize = 10;

/// Rewrite the rollup rows of `drift` from the raw rows, [`REPAIR_BATCH`] groups per
/// transaction. Each batch locks the rollup against the triggers while it recomputes its
/// groups, so every row is counted once; the web app's inserts wait for one batch (tens of
/// milliseconds), never for the whole repair, and get at least as long again before the
/// next batch; a batch that cannot get the lock within [`super::waits::SHORT_LOCK`] lets
/// them through and tries again.
pub fn repair_drift(client: &mut postgres::Client, drift: &[Drift]) -> Result<()> {
    use super::waits;
    let mut last = std::time::Duration::ZERO;
    for (i, batch) in drift.chunks(REPAIR_BATCH).enumerate() {
        if i > 0 {
            // as long again for the web app as the last batch held it up
            std::thread::sleep(last.max(std::time::Duration::from_millis(10)));
        }
        let started = std::time::Instant::now();
        let what = format!(
            "repair batch {} of {}",
            i + 1,
            drift.len().div_ceil(REPAIR_BATCH)
        );
        waits::retrying(client, &what, |client| {
            let mut tx = waits::begin_with(client, waits::long_running(waits::SHORT_LOCK), "")?;
            tx.batch_execute("LOCK TABLE usagectl_daily_usage IN SHARE ROW EXCLUSIVE MODE")?;
            for d in batch {
                tx.exec(
                    "DELETE FROM usagectl_daily_usage WHERE org_id = $1 AND day = $2 AND event_type = $3",
                    &[&d.org_id, &d.day, &d.event_type],
                )?;
                tx.exec(
                    "INSERT INTO usagectl_daily_usage (org_id, day, event_type, events, quantity, first_event, last_event)
                     SELECT org_id, $2::date, event_type, count(*), sum(quantity), min(created_at), max(created_at)
                     FROM usage_events
                     WHERE org_id = $1 AND event_type = $3
                       AND created_at >= ($2::date::timestamp AT TIME ZONE 'UTC')
                       AND created_at < (($2::date + 1)::timestamp AT TIME ZONE 'UTC')
                     GROUP BY org_id, event_type",
                    &[&d.org_id, &d.day, &d.event_type],
                )
                .with_context(|| format!("repairing the rollup of {} on {} for {}", d.org_id, d.day, d.event_type))?;
            }
            tx.commit().context("committing the repair")
        })?;
        last = started.elapsed();
    }
    Ok(())
}

/// Triggers of usage_events by name, with whether each is enabled.
pub fn usage_event_triggers(db: &mut impl GenericClient) -> Result<Vec<(String, bool)>> {
    Ok(db
        .rows(
            "SELECT tgname::text, tgenabled <> 'D' FROM pg_trigger
             WHERE tgrelid = to_regclass('usage_events') AND NOT tgisinternal",
            &[],
        )
        .context("listing the triggers on usage_events")?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
}

/// Relations (tables, indexes) by name that exist, of those asked about.
pub fn existing_relations(db: &mut impl GenericClient, names: &[&str]) -> Result<Vec<String>> {
    Ok(db
        .rows(
            "SELECT n FROM unnest($1::text[]) AS n WHERE to_regclass(n) IS NOT NULL",
            &[&names],
        )
        .context("looking for the tool's tables")?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

/// Whether a function of this name exists (on the search path).
pub fn function_exists(db: &mut impl GenericClient, name: &str) -> Result<bool> {
    Ok(db
        .query_typed_one("SELECT to_regproc($1) IS NOT NULL", &[(&name, Type::TEXT)])
        .with_context(|| format!("looking for function {name}"))?
        .get(0))
}

/// Invalid indexes on usage_events (left by an interrupted CREATE INDEX CONCURRENTLY).
pub fn invalid_indexes(db: &mut impl GenericClient) -> Result<Vec<String>> {
    Ok(db
        .rows(
            "SELECT indexrelid::regclass::text FROM pg_index
             WHERE indrelid = to_regclass('usage_events') AND NOT indisvalid",
            &[],
        )
        .context("checking the indexes on usage_events")?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

/// Whether row-level security is enabled on a table.
pub fn rls_enabled(db: &mut impl GenericClient, table: &str) -> Result<bool> {
    Ok(db
        .row(
            "SELECT coalesce((SELECT relrowsecurity FROM pg_class WHERE oid = to_regclass($1)), false)",
            &[&table],
        )?
        .get(0))
}

/// Which of the given roles exist.
pub fn existing_roles(db: &mut impl GenericClient, names: &[&str]) -> Result<Vec<String>> {
    Ok(db
        .rows(
            "SELECT rolname::text FROM pg_roles WHERE rolname = ANY($1) ORDER BY 1",
            &[&names],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

// ---------------------------------------------------------------------------------------
// Summary

/// Aggregate of one event type over a window.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeTotals {
    /// Event type.
    pub event_type: String,
    /// Number of events.
    pub count: i64,
    /// Sum of quantity.
    pub total_quantity: i64,
    /// Earliest created_at.
    pub first_event: DateTime<Utc>,
    /// Latest created_at.
    pub last_event: DateTime<Utc>,
}

/// What the summary command needs from the database.
#[derive(Debug, Clone)]
pub struct SummaryData {
    /// The transaction's `now()`: the instant the window is measured from.
    pub generated_at: DateTime<Utc>,
    /// `now() - days`: the window is `created_at >= period_start`.
    pub period_start: DateTime<Utc>,
    /// Per-type totals, ordered by event type (bytewise).
    pub by_type: Vec<TypeTotals>,
    /// (event type, UTC calendar day, events in the window on that day), ordered by type
    /// and day; per type they add up to its `count`.
    pub daily: Vec<(String, chrono::NaiveDate, i64)>,
}

/// Aggregate an org's events with `created_at >= now() - days` (UTC), in SQL, in one
/// read-only transaction so every figure comes from the same snapshot. The rows are per
/// event type and UTC calendar day, counting only events inside the window (the window's
/// first day from its start instant on); the per-type totals are their sums, so the
/// per-day figures always add up to them, on either read path.
pub fn summary(db: &mut impl GenericClient, org_id: &str, days: i32) -> Result<SummaryData> {
    let mut tx = read_snapshot(db)?;
    scope_to_org(&mut tx, org_id)?;
    let bounds = tx.row("SELECT now(), now() - make_interval(days => $1)", &[&days])?;
    let generated_at: DateTime<Utc> = bounds.get(0);
    let period_start: DateTime<Utc> = bounds.get(1);
    let rows = if use_rollup(&mut tx)? {
        // the window's first (partial) day from the raw rows, the whole days after it from
        // the rollup: exact to the instant
        tx.rows(
            "SELECT event_type, (created_at AT TIME ZONE 'UTC')::date, count(*), sum(quantity)::bigint,
                    min(created_at), max(created_at)
             FROM usage_events
             WHERE org_id = $1 AND created_at >= $2
               AND created_at < ((($2 AT TIME ZONE 'UTC')::date + 1)::timestamp AT TIME ZONE 'UTC')
             GROUP BY 1, 2
             UNION ALL
             SELECT event_type, day, events, quantity, first_event, last_event
             FROM usagectl_daily_usage
             WHERE org_id = $1 AND day > ($2 AT TIME ZONE 'UTC')::date
             ORDER BY 1, 2",
            &[&org_id, &period_start],
        )
    } else {
        tx.rows(
            "SELECT event_type, (created_at AT TIME ZONE 'UTC')::date, count(*), sum(quantity)::bigint,
                    min(created_at), max(created_at)
             FROM usage_events
             WHERE org_id = $1 AND created_at >= $2
             GROUP BY 1, 2
             ORDER BY 1, 2",
            &[&org_id, &period_start],
        )
    }
    .with_context(|| format!("summarising usage for org {org_id}"))?;
    tx.commit()?;
    let mut by_type: std::collections::BTreeMap<String, TypeTotals> = Default::default();
    let mut daily = Vec::with_capacity(rows.len());
    for r in &rows {
        let event_type: String = r.get(0);
        let (events, quantity): (i64, i64) = (r.get(2), r.get(3));
        let (first, last): (DateTime<Utc>, DateTime<Utc>) = (r.get(4), r.get(5));
        let t = by_type
            .entry(event_type.clone())
            .or_insert_with(|| TypeTotals {
                event_type: event_type.clone(),
                count: 0,
                total_quantity: 0,
                first_event: first,
                last_event: last,
            });
        t.count += events;
        t.total_quantity += quantity;
        t.first_event = t.first_event.min(first);
        t.last_event = t.last_event.max(last);
        daily.push((event_type, r.get(1), events));
    }
    Ok(SummaryData {
        generated_at,
        period_start,
        by_type: by_type.into_values().collect(),
        daily,
    })
}

// ---------------------------------------------------------------------------------------
// Tiers and quotas

/// Tier definitions, plus assignments and overrides for `org` (every org when `None`).
pub fn load_limit_config(db: &mut impl GenericClient, org: Option<&str>) -> Result<LimitConfig> {
    // one round trip: (kind, key, sub-key, value) rows from the four tables
    let rows = db
        .query_typed(
            "SELECT 'tier', name, NULL, NULL::bigint FROM usagectl_tiers
             UNION ALL
             SELECT 'limit', tier, metric, limit_value FROM usagectl_tier_limits
             UNION ALL
             SELECT 'assignment', org_id, tier, NULL FROM usagectl_org_tiers
              WHERE $1::text IS NULL OR org_id = $1
             UNION ALL
             SELECT 'override', org_id, metric, limit_value FROM usagectl_org_limit_overrides
              WHERE $1::text IS NULL OR org_id = $1",
            &[(&org, Type::TEXT)],
        )
        .context("reading tiers, limits, assignments and overrides")?;
    let mut cfg = LimitConfig::default();
    for r in &rows {
        let kind: &str = r.get(0);
        let key: String = r.get(1);
        let sub: Option<String> = r.get(2);
        let value: Option<i64> = r.get(3);
        let metric = sub.as_deref().and_then(Metric::from_name);
        match (kind, sub, metric, value) {
            ("tier", _, _, _) => {
                cfg.tiers.entry(key).or_default();
            }
            ("limit", _, Some(m), Some(v)) => {
                cfg.tiers.entry(key).or_default().insert(m, v);
            }
            ("assignment", Some(tier), _, _) => {
                cfg.assignments.insert(key, tier);
            }
            ("override", _, Some(m), Some(v)) => {
                cfg.overrides.entry(key).or_default().insert(m, v);
            }
            _ => {}
        }
    }
    Ok(cfg)
}

/// Usage of the metered event types in `[month.start, month.end)`, and mapping profiles
/// created before `month.end`, per org (`None`: every org with any of them).
pub fn usage_by_org(
    db: &mut impl GenericClient,
    org: Option<&str>,
    month: &Month,
) -> Result<std::collections::BTreeMap<String, Usage>> {
    let mut out: std::collections::BTreeMap<String, Usage> = Default::default();
    let types: Vec<&str> = Metric::ALL
        .iter()
        .filter(|m| m.monthly())
        .flat_map(|m| m.event_types().iter().copied())
        .collect();
    // a row with a NULL event type carries the all-time mapping profiles
    let rows = if use_rollup(db)? {
        db.query_typed(
            "SELECT org_id, event_type, sum(quantity)::bigint
             FROM usagectl_daily_usage
             WHERE ($1::text IS NULL OR org_id = $1) AND day >= $2 AND day < $3 AND event_type = ANY($4)
             GROUP BY org_id, event_type
             UNION ALL
             SELECT org_id, NULL, sum(quantity)::bigint
             FROM usagectl_daily_usage
             WHERE ($1::text IS NULL OR org_id = $1) AND event_type = 'mapping_profile_created' AND day < $3
             GROUP BY org_id",
            &[
                (&org, Type::TEXT),
                (&month.start.date_naive(), Type::DATE),
                (&month.end.date_naive(), Type::DATE),
                (&types, Type::TEXT_ARRAY),
            ],
        )
    } else {
        db.query_typed(
            "SELECT org_id, event_type, sum(quantity)::bigint
             FROM usage_events
             WHERE ($1::text IS NULL OR org_id = $1) AND created_at >= $2 AND created_at < $3
               AND event_type = ANY($4)
             GROUP BY org_id, event_type
             UNION ALL
             SELECT org_id, NULL, sum(quantity)::bigint
             FROM usage_events
             WHERE ($1::text IS NULL OR org_id = $1) AND event_type = 'mapping_profile_created'
               AND created_at < $3
             GROUP BY org_id",
            &[
                (&org, Type::TEXT),
                (&month.start, Type::TIMESTAMPTZ),
                (&month.end, Type::TIMESTAMPTZ),
                (&types, Type::TEXT_ARRAY),
            ],
        )
    };
    for r in rows.context("summing usage for the month")? {
        let usage = out.entry(r.get(0)).or_default();
        match r.get::<_, Option<String>>(1) {
            Some(event_type) => {
                usage.month.insert(event_type, r.get(2));
            }
            None => usage.mapping_profiles_all_time = r.get(2),
        }
    }
    Ok(out)
}

/// Orgs with at least one event of any type in the month.
pub fn orgs_with_events(db: &mut impl GenericClient, month: &Month) -> Result<Vec<String>> {
    let rows = if use_rollup(db)? {
        db.rows(
            "SELECT DISTINCT org_id FROM usagectl_daily_usage WHERE day >= $1 AND day < $2",
            &[&month.start.date_naive(), &month.end.date_naive()],
        )
    } else {
        db.rows(
            "SELECT DISTINCT org_id FROM usage_events WHERE created_at >= $1 AND created_at < $2",
            &[&month.start, &month.end],
        )
    };
    Ok(rows
        .context("listing orgs with events in the month")?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

/// Create a tier with the limits of `from`. Returns false when the name is taken.
pub fn create_tier(db: &mut impl GenericClient, name: &str, from: &str) -> Result<bool> {
    let mut tx = super::begin(db)?;
    let created = tx
        .exec(
            "INSERT INTO usagectl_tiers (name) VALUES ($1) ON CONFLICT (name) DO NOTHING",
            &[&name],
        )
        .with_context(|| format!("creating tier {name}"))?;
    if created == 0 {
        return Ok(false);
    }
    tx.exec(
        "INSERT INTO usagectl_tier_limits (tier, metric, limit_value)
         SELECT $1, metric, limit_value FROM usagectl_tier_limits WHERE tier = $2",
        &[&name, &from],
    )
    .with_context(|| format!("copying the limits of tier {from}"))?;
    tx.commit()?;
    Ok(true)
}

/// Set one limit of a tier.
pub fn set_tier_limit(
    db: &mut impl GenericClient,
    tier: &str,
    metric: Metric,
    limit: i64,
) -> Result<()> {
    db.exec(
        "INSERT INTO usagectl_tier_limits (tier, metric, limit_value) VALUES ($1, $2, $3)
         ON CONFLICT (tier, metric) DO UPDATE SET limit_value = EXCLUDED.limit_value",
        &[&tier, &metric.name(), &limit],
    )
    .with_context(|| format!("setting {} of tier {tier}", metric.name()))?;
    Ok(())
}

/// Assign an org to a tier.
pub fn assign_tier(db: &mut impl GenericClient, org: &str, tier: &str) -> Result<()> {
    db.exec(
        "INSERT INTO usagectl_org_tiers (org_id, tier) VALUES ($1, $2)
         ON CONFLICT (org_id) DO UPDATE SET tier = EXCLUDED.tier, assigned_at = now()",
        &[&org, &tier],
    )
    .with_context(|| format!("assigning org {org} to tier {tier}"))?;
    Ok(())
}

/// Override one limit for an org.
pub fn set_override(
    db: &mut impl GenericClient,
    org: &str,
    metric: Metric,
    limit: i64,
) -> Result<()> {
    db.exec(
        "INSERT INTO usagectl_org_limit_overrides (org_id, metric, limit_value) VALUES ($1, $2, $3)
         ON CONFLICT (org_id, metric) DO UPDATE SET limit_value = EXCLUDED.limit_value, set_at = now()",
        &[&org, &metric.name(), &limit],
    )
    .with_context(|| format!("overriding {} for org {org}", metric.name()))?;
    Ok(())
}

/// Remove an org's override of one limit. Returns whether there was one.
pub fn clear_override(db: &mut impl GenericClient, org: &str, metric: Metric) -> Result<bool> {
    let n = db
        .exec(
            "DELETE FROM usagectl_org_limit_overrides WHERE org_id = $1 AND metric = $2",
            &[&org, &metric.name()],
        )
        .with_context(|| format!("clearing the {} override for org {org}", metric.name()))?;
    Ok(n > 0)
}

// ---------------------------------------------------------------------------------------
// Export

/// One row of the monthly aggregate export (and of a manifest's totals).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ExportRow {
    /// `YYYY-MM` (UTC).
    pub month: String,
    /// Organisation.
    pub org_id: String,
    /// The org's tier when exported (its assignment, or the default tier).
    pub tier: String,
    /// Event type.
    pub event_type: String,
    /// Number of events.
    pub events: i64,
    /// Sum of quantity.
    pub quantity: i64,
}

/// Per month, org and event type over `[start, end)`, sorted by month, then org_id and
/// event_type in byte order (the same on every server, whatever its collation).
pub fn export_aggregate(
    db: &mut impl GenericClient,
    start: &DateTime<Utc>,
    end: &DateTime<Utc>,
    org: Option<&str>,
) -> Result<Vec<ExportRow>> {
    let rows = if use_rollup(db)? {
        // months are whole UTC days, so the rollup's days add up to them exactly
        db.rows(
            r#"SELECT to_char(e.day, 'YYYY-MM'), e.org_id,
                      coalesce(t.tier, $4), e.event_type, sum(e.events)::bigint, sum(e.quantity)::bigint
               FROM usagectl_daily_usage e
               LEFT JOIN usagectl_org_tiers t ON t.org_id = e.org_id
               WHERE e.day >= $1 AND e.day < $2 AND ($3::text IS NULL OR e.org_id = $3)
               GROUP BY 1, e.org_id, t.tier, e.event_type
               ORDER BY 1, e.org_id COLLATE "C", e.event_type COLLATE "C""#,
            &[&start.date_naive(), &end.date_naive(), &org, &crate::quota::DEFAULT_TIER],
        )
    } else {
        db.rows(
            r#"SELECT to_char(date_trunc('month', e.created_at), 'YYYY-MM'), e.org_id,
                      coalesce(t.tier, $4), e.event_type, count(*), coalesce(sum(e.quantity), 0)::bigint
               FROM usage_events e
               LEFT JOIN usagectl_org_tiers t ON t.org_id = e.org_id
               WHERE e.created_at >= $1 AND e.created_at < $2 AND ($3::text IS NULL OR e.org_id = $3)
               GROUP BY 1, e.org_id, t.tier, e.event_type
               ORDER BY 1, e.org_id COLLATE "C", e.event_type COLLATE "C""#,
            &[start, end, &org, &crate::quota::DEFAULT_TIER],
        )
    }
    .context("aggregating usage for the export")?;
    Ok(rows
        .iter()
        .map(|r| ExportRow {
            month: r.get(0),
            org_id: r.get(1),
            tier: r.get(2),
            event_type: r.get(3),
            events: r.get(4),
            quantity: r.get(5),
        })
        .collect())
}

/// How raw events are streamed out of the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawFormat {
    /// CSV with a header: id, org_id, event_type, quantity, created_at, metadata.
    Csv,
    /// One JSON object per line, in COPY's text format (undo its escapes with
    /// [`crate::sink::CopyTextUnescape`]).
    JsonLines,
}

/// Columns of [`RawFormat::Csv`] that hold free text (for the formula guard).
pub const RAW_CSV_TEXT_COLUMNS: [usize; 3] = [1, 2, 5];

/// Stream every event of `[start, end)` (one org or all), ordered by created_at then id,
/// with `COPY ... TO STDOUT`. COPY takes no parameters, so the bounds and the org travel
/// as transaction-local settings: input stays data, never SQL.
pub fn copy_raw_events<'a>(
    tx: &'a mut postgres::Transaction<'_>,
    start: &DateTime<Utc>,
    end: &DateTime<Utc>,
    org: Option<&str>,
    format: RawFormat,
) -> Result<super::sql::CopyOut<'a>> {
    tx.exec(
        "SELECT set_config('usagectl.export_start', $1, true),
                set_config('usagectl.export_end', $2, true),
                set_config('usagectl.export_org', $3, true)",
        &[
            &crate::time::fmt_utc(start),
            &crate::time::fmt_utc(end),
            &org.unwrap_or_default(),
        ],
    )
    .context("setting the export window")?;
    const FROM: &str = "FROM usage_events
        WHERE created_at >= current_setting('usagectl.export_start')::timestamptz
          AND created_at < current_setting('usagectl.export_end')::timestamptz
          AND (current_setting('usagectl.export_org') = '' OR org_id = current_setting('usagectl.export_org'))
        ORDER BY created_at, id";
    const TS: &str = r#"to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"#;
    let sql = match format {
        RawFormat::Csv => format!(
            "COPY (SELECT id, org_id, event_type, quantity, {TS} AS created_at, metadata::text AS metadata {FROM})
             TO STDOUT WITH (FORMAT csv, HEADER true)"
        ),
        RawFormat::JsonLines => format!(
            "COPY (SELECT json_build_object('id', id, 'org_id', org_id, 'event_type', event_type,
                                            'quantity', quantity, 'created_at', {TS}, 'metadata', metadata) {FROM})
             TO STDOUT"
        ),
    };
    super::sql::copy_out(tx, &sql, "events")
}

// ---------------------------------------------------------------------------------------
// Bulk record

/// Create the transaction's staging table for `record --file` (dropped at commit).
pub fn create_staging(db: &mut impl GenericClient) -> Result<()> {
    db.batch_execute(
        "CREATE TEMP TABLE usagectl_staging (
             line bigint NOT NULL,
             org_id text NOT NULL,
             event_type text NOT NULL,
             quantity integer NOT NULL,
             metadata jsonb,
             created_at timestamptz,
             idempotency_key text
         ) ON COMMIT DROP",
    )
    .context("creating the staging table")
}

/// A binary COPY into the staging table.
pub fn staging_writer<'a>(
    tx: &'a mut postgres::Transaction<'_>,
) -> Result<postgres::binary_copy::BinaryCopyInWriter<'a>> {
    use postgres::types::Type;
    let statement = super::sql::prepare_copy(
        tx,
        "COPY usagectl_staging (line, org_id, event_type, quantity, metadata, created_at, idempotency_key)
         FROM STDIN (FORMAT binary)",
    )
    .context("preparing the COPY into the staging table")?;
    let sink = tx
        .copy_in(&statement)
        .context("starting COPY into the staging table")?;
    Ok(postgres::binary_copy::BinaryCopyInWriter::new(
        sink,
        &[
            Type::INT8,
            Type::TEXT,
            Type::TEXT,
            Type::INT4,
            Type::JSONB,
            Type::TIMESTAMPTZ,
            Type::TEXT,
        ],
    ))
}

/// Send one validated row to the staging COPY.
pub fn write_staging(
    w: &mut postgres::binary_copy::BinaryCopyInWriter<'_>,
    line: i64,
    ev: &NewEvent,
) -> Result<()> {
    w.write(&[
        &line,
        &ev.org_id,
        &ev.event_type,
        &ev.quantity,
        &ev.metadata,
        &ev.created_at,
        &ev.idempotency_key,
    ])
    .context("streaming rows to the server")
}

/// Staged rows that would be inserted: keyless rows, and the first row of each key that is
/// not stored yet. Used by --enforce, after the orgs are locked.
const NEW_STAGED_ROWS: &str = "
    SELECT s.* FROM (
        SELECT *, row_number() OVER (PARTITION BY org_id, idempotency_key ORDER BY line) AS n
        FROM usagectl_staging WHERE org_id = $1
    ) s
    WHERE s.idempotency_key IS NULL
       OR (s.n = 1 AND NOT EXISTS (
             SELECT 1 FROM usage_events e
             WHERE e.org_id = s.org_id AND e.idempotency_key = s.idempotency_key))";

/// The orgs in the staging table, in byte order (the order their locks are taken in).
pub fn staged_orgs(db: &mut impl GenericClient) -> Result<Vec<String>> {
    Ok(db
        .rows(
            r#"SELECT DISTINCT org_id COLLATE "C" FROM usagectl_staging ORDER BY 1"#,
            &[],
        )
        .context("listing the orgs in the input")?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

/// Quantity per org, month and event type of the staged rows that would be inserted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagedTotal {
    /// Organisation.
    pub org_id: String,
    /// The first instant of the month (UTC) the rows fall in.
    pub month_start: DateTime<Utc>,
    /// Event type.
    pub event_type: String,
    /// Sum of quantity.
    pub quantity: i64,
}

/// See [`StagedTotal`]; one org at a time, so the transaction can be scoped to it for the
/// seed's RLS policy.
pub fn staged_new_totals(db: &mut impl GenericClient, org: &str) -> Result<Vec<StagedTotal>> {
    Ok(db
        .rows(
            &format!(
                "SELECT org_id, date_trunc('month', coalesce(created_at, now()), 'UTC'),
                        event_type, sum(quantity)::bigint
                 FROM ({NEW_STAGED_ROWS}) t
                 GROUP BY 1, 2, 3"
            ),
            &[&org],
        )
        .context("summing the input per org and month")?
        .iter()
        .map(|r| StagedTotal {
            org_id: r.get(0),
            month_start: r.get(1),
            event_type: r.get(2),
            quantity: r.get(3),
        })
        .collect())
}

/// Insert the staged rows in input order, skipping keys stored already or seen earlier in
/// the input, and every row of the `refused` orgs. Returns how many were inserted.
pub fn insert_from_staging(db: &mut impl GenericClient, refused: &[String]) -> Result<u64> {
    db.exec(
        "INSERT INTO usage_events (org_id, event_type, quantity, metadata, created_at, idempotency_key)
         SELECT org_id, event_type, quantity, metadata, coalesce(created_at, now()), idempotency_key
         FROM usagectl_staging
         WHERE NOT (org_id = ANY($1))
         ORDER BY line
         ON CONFLICT (org_id, idempotency_key) DO NOTHING",
        &[&refused],
    )
    .context("inserting the rows")
}

/// The connected role, for corrections' audit trail.
pub fn current_user(db: &mut impl GenericClient) -> Result<String> {
    Ok(db.row("SELECT current_user::text", &[])?.get(0))
}

// ---------------------------------------------------------------------------------------
// Demo data

/// Whether a database exists on the server.
pub fn database_exists(db: &mut impl GenericClient, name: &str) -> Result<bool> {
    let row = db
        .row(
            "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)",
            &[&name],
        )
        .context("listing databases")?;
    Ok(row.get(0))
}

/// Create a database (the name is quoted as an identifier).
pub fn create_database(db: &mut impl GenericClient, name: &str) -> Result<()> {
    db.batch_execute(&format!("CREATE DATABASE {}", quote_ident(name)))
        .with_context(|| format!("creating database {name}"))
}

/// Quote an SQL identifier.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Load a realistic month of sample events for a few orgs, ending at the current hour,
/// and give them tiers.
/// Keys are derived from the hour, so loading again adds only the hours that are new.
/// Returns how many events were inserted.
pub fn load_demo_month(db: &mut impl GenericClient) -> Result<u64> {
    // Pseudo-random but deterministic per (org, type, hour): busier on weekdays and in
    // working hours, each org at its own scale.
    let n = db
        .exec(
            "INSERT INTO usage_events (org_id, event_type, quantity, metadata, created_at, idempotency_key)
             SELECT o.org_id, t.event_type,
                    CASE t.event_type
                        WHEN 'csv_row_processed' THEN 40 + abs(hashtext(k.key || 'q')) % 2400
                        WHEN 'ai_tokens_input'  THEN 200 + abs(hashtext(k.key || 'q')) % 2600
                        WHEN 'ai_tokens_output' THEN 120 + abs(hashtext(k.key || 'q')) % 1200
                        ELSE 1
                    END,
                    jsonb_build_object('source', 'usagectl demo'),
                    h.at + make_interval(secs => abs(hashtext(k.key || 's')) % 3600),
                    k.key
             FROM (VALUES ('acme-foods', 1.0), ('northwind-plant', 0.6),
                          ('globex-trial', 0.25), ('initech', 0.4)) AS o(org_id, scale)
             CROSS JOIN generate_series(date_trunc('hour', now()) - interval '29 days 23 hours',
                                        date_trunc('hour', now()) - interval '1 hour',
                                        interval '1 hour') AS h(at)
             CROSS JOIN (VALUES ('csv_upload', 60), ('csv_row_processed', 60), ('analysis_run', 150),
                                ('analyzer_execution', 220), ('chat_message', 500), ('ai_tokens_input', 500),
                                ('ai_tokens_output', 500), ('mapping_profile_created', 8),
                                ('mapping_profile_used', 90), ('export_pdf', 25), ('export_csv', 30))
                  AS t(event_type, permille)
             CROSS JOIN LATERAL (SELECT 'demo:' || t.event_type || ':' || to_char(h.at, 'YYYYMMDDHH24') AS key) AS k
             WHERE abs(hashtext(o.org_id || k.key)) % 1000
                   < t.permille * o.scale
                     * CASE WHEN extract(isodow FROM h.at) >= 6 THEN 0.2 ELSE 1 END
                     * CASE WHEN extract(hour FROM h.at) BETWEEN 7 AND 18 THEN 1 ELSE 0.1 END
             ON CONFLICT (org_id, idempotency_key) DO NOTHING",
            &[],
        )
        .context("loading the demo month")?;
    // tiers for the demo orgs, unless someone has changed them since; globex-trial keeps
    // the default tier
    db.exec(
        "INSERT INTO usagectl_org_tiers (org_id, tier)
         VALUES ('acme-foods', 'pilot'), ('northwind-plant', 'pilot'), ('initech', 'subscription')
         ON CONFLICT (org_id) DO NOTHING",
        &[],
    )
    .context("assigning the demo orgs' tiers")?;
    Ok(n)
}

// ---------------------------------------------------------------------------------------
// Known orgs

/// Whether `org` has any event at all, a tier assignment or an override: one round trip of
/// three index-backed `EXISTS` (usage_events' org_id indexes, the tier tables' primary
/// keys). Under the seed's RLS policy the transaction must be scoped to `org` first
/// ([`scope_to_org`]), as every per-org read is.
pub fn org_is_known(db: &mut impl GenericClient, org: &str) -> Result<bool> {
    Ok(db
        .query_typed_one(
            "SELECT EXISTS (SELECT 1 FROM usage_events WHERE org_id = $1)
                 OR EXISTS (SELECT 1 FROM usagectl_org_tiers WHERE org_id = $1)
                 OR EXISTS (SELECT 1 FROM usagectl_org_limit_overrides WHERE org_id = $1)",
            &[(&org, Type::TEXT)],
        )
        .with_context(|| format!("looking for org {org}"))?
        .get(0))
}

/// Most org ids [`known_org_ids`] reads from each source.
pub const KNOWN_ORG_IDS_MAX: i64 = 100_000;

/// Org ids this role can see, for "did you mean": the tier assignments and overrides,
/// and the daily rollup's orgs (a skip scan of its primary key: one index probe per org,
/// never the rows), at most [`KNOWN_ORG_IDS_MAX`] from each. The rollup is subject to the
/// same RLS policy as usage_events, so a role without BYPASSRLS sees no other org's ids
/// there; usage_events itself is never scanned for ids.
pub fn known_org_ids(db: &mut impl GenericClient) -> Result<Vec<String>> {
    let rollup_readable: bool = db
        .query_typed_one(
            "SELECT to_regclass('usagectl_daily_usage') IS NOT NULL
                    AND has_table_privilege('usagectl_daily_usage', 'SELECT')",
            &[],
        )
        .context("looking for the daily rollup")?
        .get(0);
    let tiers = "(SELECT org_id FROM usagectl_org_tiers LIMIT $1)
                 UNION
                 (SELECT org_id FROM usagectl_org_limit_overrides LIMIT $1)";
    let sql = if rollup_readable {
        format!(
            "WITH RECURSIVE rollup(org_id, n) AS (
                 (SELECT org_id, 1 FROM usagectl_daily_usage ORDER BY org_id LIMIT 1)
                 UNION ALL
                 SELECT (SELECT d.org_id FROM usagectl_daily_usage d
                         WHERE d.org_id > r.org_id ORDER BY d.org_id LIMIT 1), r.n + 1
                 FROM rollup r WHERE r.org_id IS NOT NULL AND r.n < $1)
             {tiers}
             UNION
             SELECT org_id FROM rollup WHERE org_id IS NOT NULL"
        )
    } else {
        tiers.to_string()
    };
    Ok(db
        .query_typed(&sql, &[(&KNOWN_ORG_IDS_MAX, Type::INT8)])
        .context("listing known org ids")?
        .iter()
        .map(|r| r.get(0))
        .collect())
}
