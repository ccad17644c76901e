//! The daily rollup: readiness, backfill, drift and repair.
use super::*;

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
/// next batch; a batch that cannot get the lock within [`crate::db::waits::SHORT_LOCK`] lets
/// them through and tries again.
pub fn repair_drift(client: &mut postgres::Client, drift: &[Drift]) -> Result<()> {
    use crate::db::waits;
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
