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
/// then. `usagectl_insert_events()` claims the key first, waiting for a concurrent holder
/// of it to commit.
pub fn insert_event(db: &mut impl GenericClient, ev: &NewEvent) -> Result<Option<EventRow>> {
    let sql = format!(
        "SELECT {EVENT_COLUMNS}
         FROM usagectl_insert_events(ARRAY[NULL::uuid], ARRAY[$1::text], ARRAY[$2::text],
                                     ARRAY[$3::integer], ARRAY[$4::jsonb], ARRAY[$5::timestamptz],
                                     ARRAY[$6::text])"
    );
    let row = db
        .query_typed_opt(&sql, &event_params(ev))
        .with_context(|| format!("recording a {} event for org {}", ev.event_type, ev.org_id))?;
    Ok(row.as_ref().map(event_row))
}

/// What [`record_enforced`] did.
#[derive(Debug)]
pub enum Enforced {
    /// Stored: within the limit, or no limit applies.
    Inserted(EventRow),
    /// The idempotency key was stored already: that event, nothing new.
    Duplicate(EventRow),
    /// `current + quantity` would pass the limit of a metric: nothing stored.
    Refused {
        /// The seed's words (`usagectl_refusal()`): "Chat message limit exceeded (45/50
        /// this month). Please upgrade your plan."
        message: String,
    },
}

/// Record `ev` under the one enforcement rule, `usagectl_record()`: the database decides
/// which metric limits the event (none: a plain insert), takes the org lock, returns a
/// retry's stored event, and asks `usagectl_allowance()` (tier or override, the period's
/// grants, the usage of the billing period containing the event's instant) before it
/// inserts. The lock is held until the transaction ends.
pub fn record_enforced(db: &mut impl GenericClient, ev: &NewEvent) -> Result<Enforced> {
    let row = db
        .query_typed_one(
            "SELECT r_outcome, r_message, r_id, r_org_id, r_event_type, r_quantity, r_metadata,
                    r_created_at, r_idempotency_key
             FROM usagectl_record($1, $2, $3, $4, $5, $6)",
            &event_params(ev),
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
        .context("reading what usagectl_record() answered")?;
    Ok(match outcome {
        RecordOutcome::Inserted => Enforced::Inserted(event_row_at(&row, 2)),
        RecordOutcome::Duplicate => Enforced::Duplicate(event_row_at(&row, 2)),
        RecordOutcome::Refused => Enforced::Refused {
            message: row
                .try_get::<_, Option<String>>(1)
                .context("reading why usagectl_record() refused")?
                .context("usagectl_record() refused without saying why: run `usagectl doctor`")?,
        },
    })
}

/// What `usagectl_allowance()` (the one enforcement rule) says about `org` adding
/// `adding` to `metric` at the instant `at`.
#[derive(Debug, Clone)]
pub struct Allowance {
    /// The metric's usage in the billing period containing `at`, plus what live
    /// reservations hold of it.
    pub current: i64,
    /// Its limit there, grants included (-1: unlimited).
    pub limit: i64,
    /// Whether the addition fits.
    pub allowed: bool,
    /// When it does not, the seed's words (`usagectl_refusal()`).
    pub message: Option<String>,
}

/// Ask `usagectl_allowance()` whether `org` may add `adding` to `metric` at `at`.
pub fn allowance(
    db: &mut impl GenericClient,
    org: &str,
    metric: Metric,
    at: DateTime<Utc>,
    adding: i64,
) -> Result<Allowance> {
    let name = metric.name();
    let row = db
        .query_typed_one(
            "SELECT current + reserved, limit_value, allowed, message
             FROM usagectl_allowance($1, $2, $3, $4)",
            &[
                (&org, Type::TEXT),
                (&name, Type::TEXT),
                (&at, Type::TIMESTAMPTZ),
                (&adding, Type::INT8),
            ],
        )
        .with_context(|| format!("checking org {org}'s {name} allowance"))?;
    Ok(Allowance {
        current: row.get(0),
        limit: row.get(1),
        allowed: row.get(2),
        message: row.get(3),
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
