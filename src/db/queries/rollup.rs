//! The rollup: the fold, backfill, drift and repair. The rules themselves (the bucket, the
//! folded predicate, the counting) are SQL functions in `src/db/definitions/rollup.sql`;
//! these queries call them.
use super::*;

/// The rows the rollup counts, by the one folded predicate (`usagectl_is_folded()`): those
/// from before the sequence (no number) and those the fold has reached. The others are
/// read raw until it does.
pub(super) const FOLDED: &str =
    "usagectl_is_folded(usagectl_seq, (SELECT watermark FROM usagectl_fold_state))";

/// Lock the fold's watermark row for update (the recount protocol: backfill, repair).
/// The order every writer of the rollup follows (docs/design.md): `usage_events`, then the
/// watermark row, then the rollup's rows; so this takes `usage_events` first.
fn lock_watermark(db: &mut impl GenericClient) -> Result<i64> {
    db.batch_execute("LOCK TABLE usage_events IN ACCESS SHARE MODE")
        .context("locking usage_events before the fold's watermark")?;
    Ok(db
        .row("SELECT watermark FROM usagectl_fold_state FOR UPDATE", &[])
        .context("locking the fold's watermark")?
        .get(0))
}

/// What one run of `usagectl_fold()` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fold {
    /// The watermark before.
    pub from_seq: i64,
    /// The watermark after.
    pub to_seq: i64,
    /// Events counted into the rollup.
    pub events: i64,
    /// How long it waited for transactions writing usage_events to end.
    #[serde(skip)]
    pub waited: std::time::Duration,
}

/// Run the fold once (see migration 11), waiting at most `max_wait` for the transactions
/// that were writing `usage_events` when it started. Runs in its own READ COMMITTED
/// transaction (autocommit).
pub fn fold(client: &mut postgres::Client, max_wait: std::time::Duration) -> Result<Fold> {
    let max_wait_ms = i64::try_from(max_wait.as_millis()).unwrap_or(i64::MAX);
    let row = client
        .row(
            "SELECT r_from, r_to, r_events, (extract(epoch FROM r_waited) * 1000)::bigint
             FROM usagectl_fold(make_interval(secs => $1::bigint / 1000.0))",
            &[&max_wait_ms],
        )
        .context("folding new events into the rollup")?;
    Ok(Fold {
        from_seq: row.get(0),
        to_seq: row.get(1),
        events: row.get(2),
        waited: std::time::Duration::from_millis(row.get::<_, i64>(3).max(0) as u64),
    })
}

/// Where the fold stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FoldLag {
    /// The watermark.
    pub watermark: i64,
    /// When the fold last moved it (or was installed).
    pub folded_at: DateTime<Utc>,
    /// Events above the watermark: read raw until the next fold.
    pub unfolded_events: i64,
    /// The oldest of them.
    pub oldest_unfolded: Option<DateTime<Utc>>,
}

/// The fold's lag; `None` before migration 11.
pub fn fold_lag(db: &mut impl GenericClient) -> Result<Option<FoldLag>> {
    let exists: bool = db
        .row("SELECT to_regclass('usagectl_fold_state') IS NOT NULL", &[])?
        .get(0);
    if !exists {
        return Ok(None);
    }
    let state = db
        .row("SELECT watermark, folded_at FROM usagectl_fold_state", &[])
        .context("reading the fold's watermark")?;
    let watermark: i64 = state.get(0);
    // planned with the watermark's value: an index range over the rows above it
    let r = db
        .row(
            "SELECT count(*), min(created_at) FROM usage_events WHERE NOT usagectl_is_folded(usagectl_seq, $1)",
            &[&watermark],
        )
        .context("counting the events the fold has not reached")?;
    Ok(Some(FoldLag {
        watermark,
        folded_at: state.get(1),
        unfolded_events: r.get(0),
        oldest_unfolded: r.get(1),
    }))
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
/// day's backfill row makes corrections of that day wait (or be waited for), and the
/// watermark row is held as every recount holds it (`usagectl_recount()`), so each row is
/// counted exactly once. Returns the rows counted.
pub fn backfill_day(client: &mut postgres::Client, day: chrono::NaiveDate) -> Result<i64> {
    use crate::db::waits;
    waits::retrying(client, &format!("backfilling {day}"), |client| {
        backfill_day_once(client, day)
    })
}

fn backfill_day_once(client: &mut postgres::Client, day: chrono::NaiveDate) -> Result<i64> {
    use crate::db::waits;
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
    lock_watermark(&mut tx)?;
    let counted: i64 = tx
        .row("SELECT usagectl_recount(NULL, $1)", &[&day])
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

/// One bucket (org, bucket, event type, model) where the rollup and the raw rows disagree.
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
    /// The model the rollup counts these under (`usagectl_model_key`: token events only, `""`
    /// for the rest).
    pub model: String,
    /// The bucket's first instant when it starts at a registered period boundary (the
    /// part of the day from it); `None` for a bucket that starts at the day's midnight.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::time::ser_opt"
    )]
    pub bucket: Option<DateTime<Utc>>,
}

/// Count the folded rows of each UTC day of `[from, to)` (one org or all) with the one
/// counting function and list the buckets where the rollup disagrees (counts, quantities,
/// or first/last instants). One day's rows at a time.
pub fn rollup_drift(
    db: &mut impl GenericClient,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
    org: Option<&str>,
) -> Result<Vec<Drift>> {
    Ok(db
        .rows(
            &format!("WITH raw AS (
                 SELECT c.* FROM generate_series($1::date, $2::date - 1, interval '1 day') d(day)
                 CROSS JOIN LATERAL usagectl_count(ARRAY(
                     SELECT e FROM usage_events e
                      WHERE e.created_at >= (d.day::date::timestamp AT TIME ZONE 'UTC')
                        AND e.created_at < ((d.day::date + 1)::timestamp AT TIME ZONE 'UTC')
                        AND ($3::text IS NULL OR e.org_id = $3) AND {FOLDED})) c),
             roll AS (
                 SELECT org_id, bucket, event_type, model, events, quantity, first_event, last_event
                 FROM usagectl_rollup
                 WHERE day >= $1::date AND day < $2::date AND ($3::text IS NULL OR org_id = $3))
             SELECT coalesce(raw.org_id, roll.org_id), coalesce(raw.bucket, roll.bucket),
                    coalesce(raw.event_type, roll.event_type),
                    coalesce(raw.events, 0), coalesce(roll.events, 0),
                    coalesce(raw.quantity, 0), coalesce(roll.quantity, 0),
                    coalesce(raw.model, roll.model)
             FROM raw FULL JOIN roll
               ON raw.org_id = roll.org_id AND raw.bucket = roll.bucket AND raw.event_type = roll.event_type
              AND raw.model = roll.model
             WHERE raw.events IS DISTINCT FROM roll.events OR raw.quantity IS DISTINCT FROM roll.quantity
                OR raw.first_event IS DISTINCT FROM roll.first_event
                OR raw.last_event IS DISTINCT FROM roll.last_event
             ORDER BY 2, 1, 3, 8"),
            &[&from, &to, &org],
        )
        .context("comparing the rollup with the raw rows")?
        .iter()
        .map(|r| {
            let bucket: DateTime<Utc> = r.get(1);
            let day = bucket.date_naive();
            let midnight = day.and_hms_opt(0, 0, 0).map(|m| m.and_utc());
            Drift {
                org_id: r.get(0),
                day,
                event_type: r.get(2),
                raw_events: r.get(3),
                rollup_events: r.get(4),
                raw_quantity: r.get(5),
                rollup_quantity: r.get(6),
                model: r.get(7),
                bucket: (Some(bucket) != midnight).then_some(bucket),
            }
        })
        .collect())
}

/// Register the period boundaries that fall inside UTC days (billing periods in zones off
/// UTC) of the periods within about two months either side of now, for one org or every
/// org with billing settings, counting each new one's two sides from the raw rows
/// (`usagectl_register_boundaries()`, migration 21). Returns how many were new. Reads of a
/// period whose boundaries are registered take its partial days from the rollup's buckets.
/// Its own transaction, with usagectl's lock_timeout: it waits for a running fold or
/// correction at most that long.
pub fn register_boundaries(client: &mut postgres::Client, org: Option<&str>) -> Result<i32> {
    let mut tx = crate::db::begin(client)?;
    let new = tx
        .row(
            "SELECT usagectl_register_boundaries($1, now() - interval '70 days', now() + interval '70 days')",
            &[&org],
        )
        .context("registering the billing period boundaries inside UTC days")?
        .get(0);
    tx.commit()?;
    Ok(new)
}

/// How far the registered boundaries reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundaryRegistration {
    /// Boundaries registered.
    pub registered: i64,
    /// Orgs whose current period starts or ends inside a UTC day at a boundary that is not
    /// registered (read raw until `maintain` registers it).
    pub unregistered_orgs: i64,
}

/// The registered boundaries' reach; `None` before migration 21.
pub fn boundary_registration(db: &mut impl GenericClient) -> Result<Option<BoundaryRegistration>> {
    if existing_relations(db, &["usagectl_boundaries"])?.is_empty() {
        return Ok(None);
    }
    let r = db
        .row(
            "SELECT (SELECT count(*) FROM usagectl_boundaries),
                    (SELECT count(DISTINCT o.org_id)
                       FROM (SELECT DISTINCT org_id FROM usagectl_org_settings) o
                      CROSS JOIN LATERAL usagectl_period(o.org_id, now()) p
                      CROSS JOIN LATERAL (VALUES (p.period_start), (p.period_end)) x(at)
                      WHERE isfinite(x.at) AND x.at <> date_trunc('day', x.at, 'UTC')
                        AND NOT EXISTS (SELECT 1 FROM usagectl_boundaries b
                                         WHERE b.org_id = o.org_id AND b.boundary = x.at))",
            &[],
        )
        .context("reading the registered period boundaries")?;
    Ok(Some(BoundaryRegistration {
        registered: r.get(0),
        unregistered_orgs: r.get(1),
    }))
}

/// Org-days [`repair_drift`] counts afresh per transaction.
pub const REPAIR_BATCH: usize = 10;

/// Count the org-days of `drift` afresh from the raw rows (`usagectl_recount()`),
/// [`REPAIR_BATCH`] per transaction, each under the recount protocol (the watermark row FOR
/// UPDATE): no fold or correction runs while a batch counts, the web app's inserts never
/// wait, and its corrections wait for one batch (tens of milliseconds), never for the whole
/// repair, and get at least as long again before the next batch; a batch that cannot get
/// the lock within [`crate::db::waits::SHORT_LOCK`] lets them through and tries again.
pub fn repair_drift(client: &mut postgres::Client, drift: &[Drift]) -> Result<()> {
    use crate::db::waits;
    let mut days: Vec<(&str, chrono::NaiveDate)> =
        drift.iter().map(|d| (d.org_id.as_str(), d.day)).collect();
    days.sort();
    days.dedup();
    let mut last = std::time::Duration::ZERO;
    for (i, batch) in days.chunks(REPAIR_BATCH).enumerate() {
        if i > 0 {
            // as long again for the web app as the last batch held it up
            std::thread::sleep(last.max(std::time::Duration::from_millis(10)));
        }
        let started = std::time::Instant::now();
        let what = format!(
            "repair batch {} of {}",
            i + 1,
            days.len().div_ceil(REPAIR_BATCH)
        );
        waits::retrying(client, &what, |client| {
            let mut tx = waits::begin_with(client, waits::long_running(waits::SHORT_LOCK), "")?;
            lock_watermark(&mut tx)?;
            for (org, day) in batch {
                tx.exec("SELECT usagectl_recount($1, $2)", &[org, day])
                    .with_context(|| format!("counting the rollup of {org} on {day} afresh"))?;
            }
            tx.commit().context("committing the repair")
        })?;
        last = started.elapsed();
    }
    Ok(())
}
