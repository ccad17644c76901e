//! Reads over a window: snapshots, the summary, usage per org, orgs with events.
use super::*;

/// The server's transaction time.
pub fn server_now(db: &mut impl GenericClient) -> Result<DateTime<Utc>> {
    Ok(db.row("SELECT now()", &[])?.get(0))
}

/// Start a read-only transaction on one snapshot: every figure it reads agrees.
pub fn read_snapshot<C: GenericClient>(db: &mut C) -> Result<postgres::Transaction<'_>> {
    crate::db::waits::begin_snapshot(db)
}

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

/// Aggregate an org's events with `created_at >= now() - days` (UTC) through
/// `usagectl_usage()`, in one read-only transaction so every figure comes from the same
/// snapshot. The rows are per event type and UTC calendar day, counting only events inside
/// the window (the window's first day from its start instant on); the per-type totals are
/// their sums, so the per-day figures always add up to them.
pub fn summary(db: &mut impl GenericClient, org_id: &str, days: i32) -> Result<SummaryData> {
    let mut tx = read_snapshot(db)?;
    scope_to_org(&mut tx, org_id)?;
    let bounds = tx.row("SELECT now(), now() - make_interval(days => $1)", &[&days])?;
    let generated_at: DateTime<Utc> = bounds.get(0);
    let period_start: DateTime<Utc> = bounds.get(1);
    // no upper bound: events stamped in the future count too, as they always have
    let rows = tx
        .rows(
            "SELECT event_type, day, sum(events)::bigint, sum(quantity)::bigint,
                    min(first_event), max(last_event)
             FROM usagectl_usage($1, NULL, $2, 'infinity')
             GROUP BY 1, 2
             ORDER BY 1, 2",
            &[&org_id, &period_start],
        )
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

/// Usage of the metered event types in the window `[start, end)` (a calendar month or an
/// org's billing period), and mapping profiles created before `end`, per org (`None`:
/// every org with any of them).
pub fn usage_by_org(
    db: &mut impl GenericClient,
    org: Option<&str>,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
) -> Result<std::collections::BTreeMap<String, Usage>> {
    let types = monthly_types();
    // a row with a NULL event type carries the all-time mapping profiles
    let rows = db.query_typed(
        "SELECT org_id, event_type, sum(quantity)::bigint
         FROM usagectl_usage($1, $4, $2, $3)
         GROUP BY org_id, event_type
         UNION ALL
         SELECT org_id, NULL, sum(quantity)::bigint
         FROM usagectl_usage($1, ARRAY['mapping_profile_created'], NULL, $3)
         GROUP BY org_id",
        &[
            (&org, Type::TEXT),
            (&start, Type::TIMESTAMPTZ),
            (&end, Type::TIMESTAMPTZ),
            (&types, Type::TEXT_ARRAY),
        ],
    );
    Ok(usage_rows(rows.context("summing usage for the period")?))
}

/// [`usage_by_org`] for several orgs, each over its own window, in one statement (the
/// orgs with billing periods of their own, for `status --all`): one `usagectl_usage_of()`
/// call per distinct window, for all the orgs that share it.
pub fn usage_by_org_windows(
    db: &mut impl GenericClient,
    windows: &[(String, DateTime<Utc>, DateTime<Utc>)],
) -> Result<std::collections::BTreeMap<String, Usage>> {
    if windows.is_empty() {
        return Ok(Default::default());
    }
    let orgs: Vec<&str> = windows.iter().map(|w| w.0.as_str()).collect();
    let starts: Vec<DateTime<Utc>> = windows.iter().map(|w| w.1).collect();
    let ends: Vec<DateTime<Utc>> = windows.iter().map(|w| w.2).collect();
    let types = monthly_types();
    let rows = db.query_typed(
        "WITH w AS (SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[]) AS w(org, s, e))
         SELECT u.org_id, u.event_type, sum(u.quantity)::bigint
         FROM (SELECT s, e, array_agg(org) AS orgs FROM w GROUP BY s, e) g
         CROSS JOIN LATERAL usagectl_usage_of(g.orgs, $4, g.s, g.e) u
         GROUP BY 1, 2
         UNION ALL
         SELECT u.org_id, NULL, sum(u.quantity)::bigint
         FROM (SELECT e, array_agg(org) AS orgs FROM w GROUP BY e) g
         CROSS JOIN LATERAL usagectl_usage_of(g.orgs, ARRAY['mapping_profile_created'], NULL, g.e) u
         GROUP BY 1",
        &[
            (&orgs, Type::TEXT_ARRAY),
            (&starts, Type::TIMESTAMPTZ_ARRAY),
            (&ends, Type::TIMESTAMPTZ_ARRAY),
            (&types, Type::TEXT_ARRAY),
        ],
    );
    Ok(usage_rows(
        rows.context("summing usage for the orgs' billing periods")?,
    ))
}

/// (org, event type or NULL for the all-time mapping profiles, quantity) rows as usage per
/// org.
fn usage_rows(rows: Vec<postgres::Row>) -> std::collections::BTreeMap<String, Usage> {
    let mut out: std::collections::BTreeMap<String, Usage> = Default::default();
    for r in rows {
        let usage = out.entry(r.get(0)).or_default();
        match r.get::<_, Option<String>>(1) {
            Some(event_type) => {
                usage.month.insert(event_type, r.get(2));
            }
            None => usage.mapping_profiles_all_time = r.get(2),
        }
    }
    out
}

/// The event types of the metrics counted per period (all but mapping profiles).
fn monthly_types() -> Vec<&'static str> {
    Metric::ALL
        .iter()
        .filter(|m| m.monthly())
        .flat_map(|m| m.event_types().iter().copied())
        .collect()
}

/// Every org's usage of every event type in the calendar month, and mapping profiles
/// created before its end, in one read (status --all once read them apart); and the orgs
/// with at least one event in the month.
pub fn usage_and_orgs_of_month(
    db: &mut impl GenericClient,
    month: &Month,
) -> Result<(
    std::collections::BTreeMap<String, Usage>,
    std::collections::BTreeSet<String>,
)> {
    let rows = db
        .rows(
            "SELECT org_id, event_type, sum(quantity)::bigint
               FROM usagectl_usage(NULL, NULL, $1, $2)
              GROUP BY org_id, event_type
             UNION ALL
             SELECT org_id, NULL, sum(quantity)::bigint
               FROM usagectl_totals_before(ARRAY['mapping_profile_created'], $2)
              GROUP BY org_id",
            &[&month.start, &month.end],
        )
        .context("summing every org's usage for the month")?;
    let orgs = rows
        .iter()
        .filter(|r| r.get::<_, Option<String>>(1).is_some())
        .map(|r| r.get(0))
        .collect();
    Ok((usage_rows(rows), orgs))
}
