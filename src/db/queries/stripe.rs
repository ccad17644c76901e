//! Stripe metered billing (migration 18): customers, meters, streams and the ledger. The
//! rules are in [`crate::stripe`]; usage per day comes from the one read path.
use std::collections::BTreeMap;
use std::time::Duration;

use chrono::NaiveDate;

use super::*;

/// A mapped source.
#[derive(Debug, Clone, Serialize)]
pub struct StripeMeter {
    /// A metric or an event type.
    pub source: String,
    /// The event types it sums.
    pub event_types: Vec<String>,
    /// The Stripe meter's event name.
    pub event_name: String,
    /// The Stripe meter's id (reconcile needs it).
    pub meter_id: Option<String>,
    /// Days before this one are never pushed.
    pub from_day: NaiveDate,
    /// When it was added.
    #[serde(serialize_with = "crate::time::ser")]
    pub added_at: DateTime<Utc>,
    /// By which role.
    pub added_by: String,
}

/// Map an org to a Stripe customer (replacing any earlier mapping).
pub fn set_stripe_customer(db: &mut impl GenericClient, org: &str, customer: &str) -> Result<()> {
    db.exec(
        "INSERT INTO usagectl_stripe_customers (org_id, customer_id) VALUES ($1, $2)
         ON CONFLICT (org_id) DO UPDATE SET customer_id = excluded.customer_id, set_at = now(),
                                            set_by = current_user",
        &[&org, &customer],
    )
    .context("mapping the org to its Stripe customer")?;
    Ok(())
}

/// The org's Stripe customer, if mapped.
pub fn stripe_customer(db: &mut impl GenericClient, org: &str) -> Result<Option<String>> {
    Ok(db
        .opt_row(
            "SELECT customer_id FROM usagectl_stripe_customers WHERE org_id = $1",
            &[&org],
        )
        .context("reading the org's Stripe customer")?
        .map(|r| r.get(0)))
}

/// Every mapped org and its customer (optionally one org).
pub fn stripe_customers(
    db: &mut impl GenericClient,
    org: Option<&str>,
) -> Result<Vec<(String, String)>> {
    Ok(db
        .rows(
            "SELECT org_id, customer_id FROM usagectl_stripe_customers
              WHERE $1::text IS NULL OR org_id = $1 ORDER BY org_id",
            &[&org],
        )
        .context("reading the Stripe customers")?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
}

const METER_COLUMNS: &str =
    "source, event_types, event_name, meter_id, from_day, added_at, added_by";

fn meter_of(r: &postgres::Row) -> StripeMeter {
    StripeMeter {
        source: r.get(0),
        event_types: r.get(1),
        event_name: r.get(2),
        meter_id: r.get(3),
        from_day: r.get(4),
        added_at: r.get(5),
        added_by: r.get(6),
    }
}

/// Add a meter; `Err` names what is taken (the source or the event name).
pub fn add_stripe_meter(
    db: &mut impl GenericClient,
    source: &str,
    event_types: &[&str],
    event_name: &str,
    meter_id: Option<&str>,
    from_day: NaiveDate,
) -> Result<Result<StripeMeter, String>> {
    let taken = db
        .opt_row(
            "SELECT source, event_name FROM usagectl_stripe_meters WHERE source = $1 OR event_name = $2",
            &[&source, &event_name],
        )
        .context("reading the Stripe meters")?;
    if let Some(r) = taken {
        let (s, e): (String, String) = (r.get(0), r.get(1));
        return Ok(Err(if s == source {
            format!(
                "{source} is mapped already (to event name {e}); stripe meter remove {source} first"
            )
        } else {
            format!("event name {e} is used by {s} already: a Stripe meter takes one event name")
        }));
    }
    if let Some(r) = db
        .opt_row(
            "SELECT source FROM usagectl_stripe_ledger WHERE event_name = $1 AND source <> $2 LIMIT 1",
            &[&event_name, &source],
        )
        .context("reading the Stripe ledger")?
    {
        let s: String = r.get(0);
        return Ok(Err(format!(
            "event name {event_name} was pushed as {s}: its ledger is keyed by source, so mapping it to {source} would send its days again; map {s} back instead"
        )));
    }
    let types: Vec<&str> = event_types.to_vec();
    let r = db
        .row(
            &format!(
                "INSERT INTO usagectl_stripe_meters (source, event_types, event_name, meter_id, from_day)
                 VALUES ($1, $2, $3, $4, $5) RETURNING {METER_COLUMNS}"
            ),
            &[&source, &types, &event_name, &meter_id, &from_day],
        )
        .context("adding the Stripe meter")?;
    Ok(Ok(meter_of(&r)))
}

/// Every meter, by source.
pub fn stripe_meters(db: &mut impl GenericClient) -> Result<Vec<StripeMeter>> {
    Ok(db
        .rows(
            &format!("SELECT {METER_COLUMNS} FROM usagectl_stripe_meters ORDER BY source"),
            &[],
        )
        .context("reading the Stripe meters")?
        .iter()
        .map(meter_of)
        .collect())
}

/// Remove a meter mapping (the ledger stays); whether there was one.
pub fn remove_stripe_meter(db: &mut impl GenericClient, source: &str) -> Result<bool> {
    Ok(db
        .exec(
            "DELETE FROM usagectl_stripe_meters WHERE source = $1",
            &[&source],
        )
        .context("removing the Stripe meter")?
        == 1)
}

/// Lock one stream (org, source) for deciding its revisions; false when another push holds
/// it (the caller skips the stream).
pub fn lock_stripe_stream(
    tx: &mut postgres::Transaction<'_>,
    live: bool,
    org: &str,
    source: &str,
) -> Result<bool> {
    tx.exec(
        "INSERT INTO usagectl_stripe_streams (livemode, org_id, source) VALUES ($1, $2, $3)
         ON CONFLICT DO NOTHING",
        &[&live, &org, &source],
    )
    .context("creating the stream's lock row")?;
    Ok(tx
        .opt_row(
            "SELECT 1 FROM usagectl_stripe_streams WHERE livemode = $1 AND org_id = $2 AND source = $3
               FOR UPDATE SKIP LOCKED",
            &[&live, &org, &source],
        )
        .context("locking the stream")?
        .is_some())
}

/// Whether another push is sending one of the stream's revisions now: a claim whose lease
/// has not ended and whose backend is still connected.
pub fn stripe_stream_in_flight(
    db: &mut impl GenericClient,
    live: bool,
    org: &str,
    source: &str,
) -> Result<bool> {
    Ok(db
        .row(
            "SELECT EXISTS (
                SELECT 1 FROM usagectl_stripe_ledger l
                 WHERE l.livemode = $1 AND l.org_id = $2 AND l.source = $3 AND l.status = 'pending'
                   AND l.claimed_until > now()
                   AND EXISTS (SELECT 1 FROM pg_stat_activity a
                                WHERE a.pid = l.claimed_pid AND a.backend_start = l.claimed_backend_start))",
            &[&live, &org, &source],
        )
        .context("checking for a push in flight")?
        .get(0))
}

/// Per UTC day: the sum of the revisions (pending, sent and manual credits) and the last
/// revision number.
pub fn stripe_ledger_days(
    db: &mut impl GenericClient,
    live: bool,
    org: &str,
    source: &str,
) -> Result<BTreeMap<NaiveDate, (i64, i32)>> {
    Ok(db
        .rows(
            "SELECT day, sum(value)::bigint, max(revision) FROM usagectl_stripe_ledger
              WHERE livemode = $1 AND org_id = $2 AND source = $3 GROUP BY day",
            &[&live, &org, &source],
        )
        .context("reading the Stripe ledger")?
        .iter()
        .map(|r| (r.get(0), (r.get(1), r.get(2))))
        .collect())
}

/// Usage per UTC day of these event types for the org over `[from, to)`, through the one
/// read path (`usagectl_usage_of`): the sum of `quantity`, days without events left out.
pub fn usage_per_day(
    db: &mut impl GenericClient,
    org: &str,
    types: &[String],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<BTreeMap<NaiveDate, i64>> {
    let orgs = vec![org.to_string()];
    let types: Vec<String> = types.to_vec();
    Ok(db
        .rows(
            "SELECT day, sum(quantity)::bigint FROM usagectl_usage_of($1, $2, $3, $4) GROUP BY day",
            &[&orgs, &types, &from, &to],
        )
        .with_context(|| format!("reading org {org}'s usage per day"))?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
}

/// A revision to write.
#[derive(Debug, Clone, Serialize)]
pub struct Revision {
    /// Test or live.
    pub livemode: bool,
    /// Organisation.
    pub org_id: String,
    /// Source.
    pub source: String,
    /// UTC day.
    pub day: NaiveDate,
    /// Revision number (1 for a day's first).
    pub revision: i32,
    /// Identifier and Idempotency-Key.
    pub identifier: String,
    /// Customer.
    pub customer_id: String,
    /// Event name.
    pub event_name: String,
    /// Value (negative: a decrease).
    pub value: i64,
    /// The day's usage this revision brings the ledger to.
    pub usage_after: i64,
    /// pending or manual_credit.
    pub status: crate::stripe::RevisionStatus,
}

/// Write a revision.
pub fn insert_stripe_revision(tx: &mut postgres::Transaction<'_>, r: &Revision) -> Result<()> {
    tx.exec(
        "INSERT INTO usagectl_stripe_ledger (livemode, org_id, source, day, revision, identifier,
             customer_id, event_name, value, usage_after, status)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        &[
            &r.livemode,
            &r.org_id,
            &r.source,
            &r.day,
            &r.revision,
            &r.identifier,
            &r.customer_id,
            &r.event_name,
            &r.value,
            &r.usage_after,
            &r.status.as_str(),
        ],
    )
    .context("writing the revision to the Stripe ledger")?;
    Ok(())
}

/// The columns of a pending revision, in [`pending_of`]'s order.
const PENDING_COLUMNS: &str =
    "org_id, source, day, revision, identifier, customer_id, event_name, value, attempts";

fn pending_of(r: &postgres::Row) -> PendingRevision {
    PendingRevision {
        org_id: r.get(0),
        source: r.get(1),
        day: r.get(2),
        revision: r.get(3),
        identifier: r.get(4),
        customer_id: r.get(5),
        event_name: r.get(6),
        value: r.get(7),
        attempts: r.get(8),
    }
}

/// How many of the stream's revisions are pending.
pub fn count_stripe_pending(
    db: &mut impl GenericClient,
    live: bool,
    org: &str,
    source: &str,
) -> Result<usize> {
    let n: i64 = db
        .row(
            "SELECT count(*) FROM usagectl_stripe_ledger
              WHERE livemode = $1 AND org_id = $2 AND source = $3 AND status = 'pending'",
            &[&live, &org, &source],
        )
        .context("counting the stream's pending revisions")?
        .get(0);
    Ok(n as usize)
}

/// A pending revision claimed for sending.
#[derive(Debug, Clone)]
pub struct PendingRevision {
    /// Organisation.
    pub org_id: String,
    /// Source.
    pub source: String,
    /// Day.
    pub day: NaiveDate,
    /// Revision.
    pub revision: i32,
    /// Identifier.
    pub identifier: String,
    /// Customer.
    pub customer_id: String,
    /// Event name.
    pub event_name: String,
    /// Value.
    pub value: i64,
    /// Attempts before this push.
    pub attempts: i32,
}

/// Claim the stream's pending revisions for this session for `lease` (none of them is
/// claimed by a live push: the caller checked); oldest first.
pub fn claim_stripe_pending(
    tx: &mut postgres::Transaction<'_>,
    live: bool,
    org: &str,
    source: &str,
    lease: Duration,
) -> Result<Vec<PendingRevision>> {
    Ok(tx
        .rows(
            &format!(
            "UPDATE usagectl_stripe_ledger l
                SET claimed_until = now() + make_interval(secs => $4), claimed_pid = pg_backend_pid(),
                    claimed_backend_start = (SELECT backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid())
              WHERE l.livemode = $1 AND l.org_id = $2 AND l.source = $3 AND l.status = 'pending'
                AND (l.attempts = 0 OR l.created_at > now() - interval '23 hours')
             RETURNING {PENDING_COLUMNS}"
            ),
            &[&live, &org, &source, &lease.as_secs_f64()],
        )
        .context("claiming the stream's pending revisions")?
        .iter()
        .map(pending_of)
        .collect())
}

/// The stream's pending revisions a push would send (not those tried and older than 23
/// hours: Stripe may hold them already and no longer deduplicate a repeat).
pub fn stripe_pending(
    db: &mut impl GenericClient,
    live: bool,
    org: &str,
    source: &str,
) -> Result<Vec<PendingRevision>> {
    Ok(db
        .rows(
            &format!(
                "SELECT {PENDING_COLUMNS}
               FROM usagectl_stripe_ledger
              WHERE livemode = $1 AND org_id = $2 AND source = $3 AND status = 'pending'
                AND (attempts = 0 OR created_at > now() - interval '23 hours')
              ORDER BY day, revision"
            ),
            &[&live, &org, &source],
        )
        .context("reading the stream's pending revisions")?
        .iter()
        .map(pending_of)
        .collect())
}

/// Pending revisions tried and older than 23 hours (not re-sent: reconcile tells whether
/// Stripe holds them).
pub fn stripe_stale_pending(db: &mut impl GenericClient, live: bool) -> Result<i64> {
    Ok(db
        .row(
            "SELECT count(*) FROM usagectl_stripe_ledger
              WHERE livemode = $1 AND status = 'pending' AND attempts > 0
                AND created_at <= now() - interval '23 hours'",
            &[&live],
        )
        .context("counting stale pending revisions")?
        .get(0))
}

/// Record the outcome of sending a revision: sent, or still pending with the error.
pub fn finish_stripe_revision(
    db: &mut impl GenericClient,
    live: bool,
    identifier: &str,
    error: Option<&str>,
) -> Result<()> {
    match error {
        None => db.exec(
            "UPDATE usagectl_stripe_ledger
                SET status = 'sent', sent_at = now(), attempts = attempts + 1, last_error = NULL,
                    claimed_until = NULL, claimed_pid = NULL, claimed_backend_start = NULL
              WHERE livemode = $1 AND identifier = $2",
            &[&live, &identifier],
        ),
        Some(e) => db.exec(
            "UPDATE usagectl_stripe_ledger
                SET attempts = attempts + 1, last_error = $3,
                    claimed_until = NULL, claimed_pid = NULL, claimed_backend_start = NULL
              WHERE livemode = $1 AND identifier = $2",
            &[&live, &identifier, &e],
        ),
    }
    .context("recording the revision's outcome in the Stripe ledger")?;
    Ok(())
}

/// (org, source, day) -> (sent, pending, manual credit).
pub type LedgerMonth = BTreeMap<(String, String, NaiveDate), (i64, i64, i64)>;

/// Per (org, source, day) of `[from, to)`: what the ledger says was sent (2xx) and what is
/// pending or a manual credit.
pub fn stripe_ledger_month(
    db: &mut impl GenericClient,
    live: bool,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<LedgerMonth> {
    Ok(db
        .rows(
            "SELECT org_id, source, day,
                    coalesce(sum(value) FILTER (WHERE status = 'sent'), 0)::bigint,
                    coalesce(sum(value) FILTER (WHERE status = 'pending'), 0)::bigint,
                    coalesce(sum(value) FILTER (WHERE status = 'manual_credit'), 0)::bigint
               FROM usagectl_stripe_ledger
              WHERE livemode = $1 AND day >= $2 AND day < $3
              GROUP BY 1, 2, 3",
            &[&live, &from, &to],
        )
        .context("reading the Stripe ledger")?
        .iter()
        .map(|r| {
            (
                (r.get(0), r.get(1), r.get(2)),
                (r.get(3), r.get(4), r.get(5)),
            )
        })
        .collect())
}
