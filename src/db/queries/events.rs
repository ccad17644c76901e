//! Single events: insert, the enforced record, idempotency lookups, org scoping and locks.
use super::*;

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
         ON CONFLICT (org_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
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
        /// The limit it was checked against (grants for the period included).
        limit: i64,
    },
}

/// Record `ev` if the usage of `metric` in the org's billing period that contains the
/// event's instant, plus its quantity, stays within `limit` plus that period's grants:
/// the org's lock row, the period, the grants, the read and the insert in one call to
/// `usagectl_record_in_period` (migration 14), so the period is decided under the lock.
/// The lock is held until the transaction ends.
pub fn record_enforced(
    db: &mut impl GenericClient,
    ev: &NewEvent,
    metric: Metric,
    limit: i64,
) -> Result<Enforced> {
    let mut params = event_params(ev).to_vec();
    let name = metric.name();
    let types = metric.event_types();
    let all_time = !metric.monthly();
    params.extend([
        (&name as _, Type::TEXT),
        (&types as _, Type::TEXT_ARRAY),
        (&all_time as _, Type::BOOL),
        (&limit as _, Type::INT8),
    ]);
    let row = db
        .query_typed_one(
            "SELECT r_outcome, r_current, r_limit, r_id, r_org_id, r_event_type, r_quantity,
                    r_metadata, r_created_at, r_idempotency_key
             FROM usagectl_record_in_period($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            &params,
        )
        .with_context(|| {
            format!(
                "recording a {} event for org {} within its limit",
                ev.event_type, ev.org_id
            )
        })?;
    use crate::quota::RecordOutcome;
    let outcome: RecordOutcome = row
        .try_get(0)
        .context("reading what usagectl_record_in_period() answered")?;
    Ok(match outcome {
        RecordOutcome::Inserted => Enforced::Inserted(event_row_at(&row, 3)),
        RecordOutcome::Duplicate => Enforced::Duplicate(event_row_at(&row, 3)),
        RecordOutcome::Refused => Enforced::Refused {
            current: row.get(1),
            limit: row.get(2),
        },
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

/// Serialise quota decisions for one org until the transaction ends, with
/// `usagectl_lock_org()` (migration 11): the one org lock, which `usagectl_record_enforced()`
/// takes too. A row lock, not an advisory lock: advisory locks are node-local under Citus
/// and succeed silently on a standby.
pub fn lock_org(db: &mut impl GenericClient, org_id: &str) -> Result<()> {
    db.query_typed("SELECT usagectl_lock_org($1)", &[(&org_id, Type::TEXT)])
        .with_context(|| format!("locking org {org_id} for the quota check"))?;
    Ok(())
}

/// What `usagectl_quota_check()` (migration 11, the one quota rule) says about adding
/// `adding` to the usage of `counted_types` in `[from, to)`: the usage now, and whether
/// `current + adding <= limit`.
pub fn quota_check(
    db: &mut impl GenericClient,
    org_id: &str,
    counted_types: &[&str],
    from: Option<DateTime<Utc>>,
    to: DateTime<Utc>,
    limit: i64,
    adding: i64,
) -> Result<(i64, bool)> {
    let row = db
        .query_typed_one(
            "SELECT current, allowed FROM usagectl_quota_check($1, $2, $3, $4, $5, $6)",
            &[
                (&org_id, Type::TEXT),
                (&counted_types, Type::TEXT_ARRAY),
                (&from, Type::TIMESTAMPTZ),
                (&to, Type::TIMESTAMPTZ),
                (&limit, Type::INT8),
                (&adding, Type::INT8),
            ],
        )
        .with_context(|| format!("checking org {org_id}'s quota"))?;
    Ok((row.get(0), row.get(1)))
}
