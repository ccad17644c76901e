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
    let mut out: std::collections::BTreeMap<String, Usage> = Default::default();
    let types: Vec<&str> = Metric::ALL
        .iter()
        .filter(|m| m.monthly())
        .flat_map(|m| m.event_types().iter().copied())
        .collect();
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
    for r in rows.context("summing usage for the period")? {
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
    let rows = db.rows(
        "SELECT DISTINCT org_id FROM usagectl_usage(NULL, NULL, $1, $2)",
        &[&month.start, &month.end],
    );
    Ok(rows
        .context("listing orgs with events in the month")?
        .iter()
        .map(|r| r.get(0))
        .collect())
}
