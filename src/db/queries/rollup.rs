//! The daily rollup: the fold, backfill, drift and repair.
use super::*;

/// The rows the rollup counts: those from before the sequence (no number) and those the
/// fold has reached. The others are read raw until it does.
const FOLDED: &str =
    "(usagectl_seq IS NULL OR usagectl_seq <= (SELECT watermark FROM usagectl_fold_state))";

/// [`FOLDED`] once migration 11 is in (the rows a rollup day counts); before it every row
/// of a day is the insert trigger's or the backfill's. With `lock`, the watermark row is
/// share-locked first (the rollup's writers); a read-only snapshot reads it as of the
/// snapshot, which agrees with the rollup it sees.
fn folded_condition(db: &mut impl GenericClient, lock: bool) -> Result<&'static str> {
    let folding: bool = db
        .row("SELECT to_regclass('usagectl_fold_state') IS NOT NULL", &[])?
        .get(0);
    if !folding {
        return Ok("true");
    }
    if lock {
        lock_watermark(db, false)?;
    }
    Ok(FOLDED)
}

/// Lock the fold's watermark row: shared (the rollup's other writers: backfill, repair),
/// or for update. The order every writer of the rollup follows: the watermark, then the
/// rollup's rows.
fn lock_watermark(db: &mut impl GenericClient, exclusive: bool) -> Result<i64> {
    let sql = if exclusive {
        "SELECT watermark FROM usagectl_fold_state FOR UPDATE"
    } else {
        "SELECT watermark FROM usagectl_fold_state FOR SHARE"
    };
    Ok(db
        .row(sql, &[])
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
        .context("folding new events into the daily rollup")?;
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
            "SELECT count(*), min(created_at) FROM usage_events WHERE usagectl_seq > $1",
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
/// day's backfill row makes inserts into that day wait (or be waited for), so each row is
/// counted exactly once, by the backfill or by the triggers. Returns the rows counted.
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
    // the day becomes exactly its folded rows (those without a number, or numbered up to
    // the watermark): what the fold added to it meanwhile is part of that, what it has not
    // reached yet it adds later
    let folded = folded_condition(&mut tx, true)?;
    let counted: i64 = tx
        .row(
            &format!("WITH agg AS (
                 INSERT INTO usagectl_daily_usage AS d (org_id, day, event_type, model, events, quantity, first_event, last_event)
                 SELECT org_id, $1::date, event_type, usagectl_model_key(event_type, metadata),
                        count(*), sum(quantity), min(created_at), max(created_at)
                 FROM usage_events
                 WHERE created_at >= ($1::date::timestamp AT TIME ZONE 'UTC')
                   AND created_at < (($1::date + 1)::timestamp AT TIME ZONE 'UTC')
                   AND {folded}
                 GROUP BY org_id, event_type, 4
                 ON CONFLICT (org_id, day, event_type, model) DO UPDATE
                     SET events = EXCLUDED.events, quantity = EXCLUDED.quantity,
                         first_event = EXCLUDED.first_event, last_event = EXCLUDED.last_event
                 RETURNING events)
             SELECT coalesce(sum(events), 0)::bigint FROM agg"),
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
    /// The model the rollup counts these under (`usagectl_model_key`: token events only, `""`
    /// for the rest).
    pub model: String,
    /// For a side of a registered period boundary (the boundary rollup, migration 21): the
    /// boundary; `None` for a day of the daily rollup.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::time::ser_opt"
    )]
    pub boundary: Option<DateTime<Utc>>,
    /// Which side of [`Drift::boundary`]: the part of its UTC day from it on (`true`) or
    /// before it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after_boundary: Option<bool>,
}

/// Recompute the rollup for `[from, to)` (one org or all) from the raw rows and list the
/// groups that disagree (counts, quantities, or first/last instants), and the boundary
/// rollup's sides of the boundaries in the 31 days either side too (migration 21).
pub fn rollup_drift(
    db: &mut impl GenericClient,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
    org: Option<&str>,
) -> Result<Vec<Drift>> {
    let folded = folded_condition(db, false)?;
    Ok(db
        .rows(
            &format!("WITH raw AS (
                 SELECT org_id, (created_at AT TIME ZONE 'UTC')::date AS day, event_type,
                        usagectl_model_key(event_type, metadata) AS model,
                        count(*) AS events, sum(quantity)::bigint AS quantity,
                        min(created_at) AS f, max(created_at) AS l
                 FROM usage_events
                 WHERE created_at >= ($1::date::timestamp AT TIME ZONE 'UTC')
                   AND created_at < ($2::date::timestamp AT TIME ZONE 'UTC')
                   AND ($3::text IS NULL OR org_id = $3) AND {folded}
                 GROUP BY 1, 2, 3, 4),
             roll AS (
                 SELECT org_id, day, event_type, model, events, quantity, first_event AS f, last_event AS l
                 FROM usagectl_daily_usage
                 WHERE day >= $1::date AND day < $2::date AND ($3::text IS NULL OR org_id = $3))
             SELECT coalesce(raw.org_id, roll.org_id), coalesce(raw.day, roll.day),
                    coalesce(raw.event_type, roll.event_type),
                    coalesce(raw.events, 0), coalesce(roll.events, 0),
                    coalesce(raw.quantity, 0), coalesce(roll.quantity, 0),
                    coalesce(raw.model, roll.model)
             FROM raw FULL JOIN roll
               ON raw.org_id = roll.org_id AND raw.day = roll.day AND raw.event_type = roll.event_type
              AND raw.model = roll.model
             WHERE raw.events IS DISTINCT FROM roll.events OR raw.quantity IS DISTINCT FROM roll.quantity
                OR raw.f IS DISTINCT FROM roll.f OR raw.l IS DISTINCT FROM roll.l
             ORDER BY 2, 1, 3, 8"),
            &[&from, &to, &org],
        )
        .context("comparing the rollup with the raw rows")?
        .iter()
        .map(|r| drift_row(r, r.get(1), None))
        // the boundaries of every billing period that overlaps the window: a period of an
        // org off UTC starts up to a month before it (the current period's start is often
        // in the previous UTC month) and ends up to a month after
        .chain(boundary_drift(
            db,
            from - chrono::Days::new(31),
            to + chrono::Days::new(31),
            org,
        )?)
        .collect())
}

/// Register the period boundaries that fall inside UTC days (billing periods in zones off
/// UTC) of the periods within about two months either side of now, for one org or every
/// org with billing settings, counting each new one's two sides from the raw rows
/// (`usagectl_register_boundaries()`, migration 21). Returns how many were new. Reads of a
/// period whose boundaries are registered take its partial days from the boundary rollup.
/// Its own transaction, with usagectl's lock_timeout: it waits for a running fold or
/// correction at most that long.
pub fn register_boundaries(client: &mut postgres::Client, org: Option<&str>) -> Result<i32> {
    let mut tx = crate::db::begin(client)?;
    let new = tx
        .row(
            "SELECT usagectl_register_boundaries($1, now() - interval '70 days', now() + interval '70 days')",
            &[&org],
        )
        .context("registering the billing period boundaries in the boundary rollup")?
        .get(0);
    tx.commit()?;
    Ok(new)
}

/// How far the boundary rollup (migration 21) reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundaryRegistration {
    /// Boundaries registered.
    pub registered: i64,
    /// Orgs whose current period starts or ends inside a UTC day at a boundary that is not
    /// registered (read raw until `maintain` registers it).
    pub unregistered_orgs: i64,
}

/// The boundary rollup's reach; `None` before migration 21.
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
        .context("reading the boundary rollup's registrations")?;
    Ok(Some(BoundaryRegistration {
        registered: r.get(0),
        unregistered_orgs: r.get(1),
    }))
}

/// The boundary rollup's sides (migration 21) of the boundaries in `[from, to)` that
/// disagree with the raw rows.
fn boundary_drift(
    db: &mut impl GenericClient,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
    org: Option<&str>,
) -> Result<Vec<Drift>> {
    if existing_relations(db, &["usagectl_boundaries"])?.is_empty() {
        return Ok(Vec::new());
    }
    Ok(db
        .rows(
            "WITH b AS (
                 SELECT org_id, boundary FROM usagectl_boundaries
                 WHERE day_start >= ($1::date::timestamp AT TIME ZONE 'UTC')
                   AND day_start < ($2::date::timestamp AT TIME ZONE 'UTC')
                   AND ($3::text IS NULL OR org_id = $3)),
             raw AS (
                 SELECT b.org_id, b.boundary, s.after_boundary, s.event_type, s.model, s.events,
                        s.quantity, s.first_event AS f, s.last_event AS l
                 FROM b CROSS JOIN LATERAL usagectl_boundary_sides(b.org_id, b.boundary) s),
             roll AS (
                 SELECT u.org_id, u.boundary, u.after_boundary, u.event_type, u.model, u.events,
                        u.quantity, u.first_event AS f, u.last_event AS l
                 FROM usagectl_boundary_usage u JOIN b USING (org_id, boundary))
             SELECT coalesce(raw.org_id, roll.org_id), coalesce(raw.boundary, roll.boundary),
                    coalesce(raw.event_type, roll.event_type),
                    coalesce(raw.events, 0), coalesce(roll.events, 0),
                    coalesce(raw.quantity, 0), coalesce(roll.quantity, 0),
                    coalesce(raw.model, roll.model), coalesce(raw.after_boundary, roll.after_boundary)
             FROM raw FULL JOIN roll
               ON raw.org_id = roll.org_id AND raw.boundary = roll.boundary
              AND raw.after_boundary = roll.after_boundary AND raw.event_type = roll.event_type
              AND raw.model = roll.model
             WHERE raw.events IS DISTINCT FROM roll.events OR raw.quantity IS DISTINCT FROM roll.quantity
                OR raw.f IS DISTINCT FROM roll.f OR raw.l IS DISTINCT FROM roll.l
             ORDER BY 2, 1, 9, 3, 8",
            &[&from, &to, &org],
        )
        .context("comparing the boundary rollup with the raw rows")?
        .iter()
        .map(|r| {
            let boundary: DateTime<Utc> = r.get(1);
            drift_row(r, boundary.date_naive(), Some((boundary, r.get(8))))
        })
        .collect())
}

/// A drifted group from a row of either comparison, which share their columns but the
/// second (the day, or the boundary) and the side: org, -, event type, raw and rollup
/// events, raw and rollup quantities, model.
fn drift_row(
    r: &postgres::Row,
    day: chrono::NaiveDate,
    side: Option<(DateTime<Utc>, bool)>,
) -> Drift {
    Drift {
        org_id: r.get(0),
        day,
        event_type: r.get(2),
        raw_events: r.get(3),
        rollup_events: r.get(4),
        raw_quantity: r.get(5),
        rollup_quantity: r.get(6),
        model: r.get(7),
        boundary: side.map(|(b, _)| b),
        after_boundary: side.map(|(_, after)| after),
    }
}

/// Groups [`repair_drift`] rewrites per transaction.
pub const REPAIR_BATCH: usize = 10;

/// Rewrite the rollup rows of `drift` from the raw rows, [`REPAIR_BATCH`] groups per
/// transaction. Each batch locks the rollup against the triggers while it recomputes its
/// groups, so every row is counted once; the web app's inserts wait for one batch (tens of
/// milliseconds), never for the whole repair, and get at least as long again before the
/// next batch; a batch that cannot get the lock within [`crate::db::waits::SHORT_LOCK`] lets
/// them through and tries again.
pub fn repair_drift(client: &mut postgres::Client, drift: &[Drift]) -> Result<()> {
    use crate::db::waits;
    let (sides, days): (Vec<&Drift>, Vec<&Drift>) =
        drift.iter().partition(|d| d.boundary.is_some());
    // a drifted boundary's two sides are counted afresh (migration 21), one boundary per
    // transaction, after the watermark as the triggers take it; no daily rollup lock
    let mut boundaries: Vec<(&str, DateTime<Utc>)> = sides
        .iter()
        .filter_map(|d| d.boundary.map(|b| (d.org_id.as_str(), b)))
        .collect();
    boundaries.sort();
    boundaries.dedup();
    for (org, boundary) in boundaries {
        let what = format!(
            "recounting the boundary {} of {org}",
            crate::time::fmt_utc(&boundary)
        );
        waits::retrying(client, &what, |client| {
            let mut tx = waits::begin_with(client, waits::long_running(waits::SHORT_LOCK), "")?;
            lock_watermark(&mut tx, false)?;
            tx.exec(
                "SELECT usagectl_boundary_recount($1, $2)",
                &[&org, &boundary],
            )
            .context(what.clone())?;
            tx.commit().context("committing the recount")
        })?;
    }
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
            // the watermark first, as the fold and the triggers take it
            let folded = folded_condition(&mut tx, true)?;
            tx.batch_execute("LOCK TABLE usagectl_daily_usage IN SHARE ROW EXCLUSIVE MODE")?;
            for d in batch {
                tx.exec(
                    "DELETE FROM usagectl_daily_usage
                     WHERE org_id = $1 AND day = $2 AND event_type = $3 AND model = $4",
                    &[&d.org_id, &d.day, &d.event_type, &d.model],
                )?;
                tx.exec(
                    &format!("INSERT INTO usagectl_daily_usage (org_id, day, event_type, model, events, quantity, first_event, last_event)
                     SELECT org_id, $2::date, event_type, $4, count(*), sum(quantity), min(created_at), max(created_at)
                     FROM usage_events
                     WHERE org_id = $1 AND event_type = $3 AND usagectl_model_key(event_type, metadata) = $4
                       AND created_at >= ($2::date::timestamp AT TIME ZONE 'UTC')
                       AND created_at < (($2::date + 1)::timestamp AT TIME ZONE 'UTC')
                       AND {folded}
                     GROUP BY org_id, event_type"),
                    &[&d.org_id, &d.day, &d.event_type, &d.model],
                )
                .with_context(|| format!("repairing the rollup of {} on {} for {}", d.org_id, d.day, d.event_type))?;
            }
            tx.commit().context("committing the repair")
        })?;
        last = started.elapsed();
    }
    Ok(())
}
