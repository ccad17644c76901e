//! The export: monthly aggregates and the raw event stream.
use super::*;

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
    /// With `--billing-periods`: the org's period (it belongs to `month`: its local start
    /// falls in it, in its zone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period_start: Option<DateTime<Utc>>,
    /// Its end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period_end: Option<DateTime<Utc>>,
    /// Its zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
}

/// An [`ExportRow`] from (month, org, tier, type, events, quantity[, start, end, zone]).
fn export_row(r: &postgres::Row) -> ExportRow {
    let periods = r.len() > 6;
    ExportRow {
        month: r.get(0),
        org_id: r.get(1),
        tier: r.get(2),
        event_type: r.get(3),
        events: r.get(4),
        quantity: r.get(5),
        period_start: periods.then(|| r.get(6)),
        period_end: periods.then(|| r.get(7)),
        time_zone: periods.then(|| r.get(8)),
    }
}

/// Per month, org and event type over `[start, end)`, sorted by month, then org_id and
/// event_type in byte order (the same on every server, whatever its collation).
pub fn export_aggregate(
    db: &mut impl GenericClient,
    start: &DateTime<Utc>,
    end: &DateTime<Utc>,
    org: Option<&str>,
) -> Result<Vec<ExportRow>> {
    let rows = db
        .rows(
            r#"SELECT to_char(e.day, 'YYYY-MM'), e.org_id,
                  coalesce(t.tier, $4), e.event_type, sum(e.events)::bigint, sum(e.quantity)::bigint
           FROM usagectl_usage($3, NULL, $1, $2) e
           LEFT JOIN usagectl_org_tiers t ON t.org_id = e.org_id
           GROUP BY 1, e.org_id, t.tier, e.event_type
           ORDER BY 1, e.org_id COLLATE "C", e.event_type COLLATE "C""#,
            &[start, end, &org, &crate::quota::DEFAULT_TIER],
        )
        .context("aggregating usage for the export")?;
    Ok(rows.iter().map(export_row).collect())
}

/// Per org, billing period and event type over each org's billing periods that belong to
/// `month` (`--month`: those whose local start falls in it, [`crate::period::in_month`];
/// two for an org whose settings changed in the month), for every org with events in the
/// calendar month or with billing settings of its own; sorted by org_id, period and
/// event_type (byte order). Consecutive months share out every period, and so every
/// event, exactly once. Orgs without settings have the calendar month; each other block
/// reads through the one read path over its own period.
pub fn export_billing_aggregate(
    db: &mut impl GenericClient,
    month: &Month,
    org: Option<&str>,
) -> Result<Vec<ExportRow>> {
    let own: Vec<String> = orgs_with_settings(db)?
        .into_iter()
        .filter(|o| org.is_none_or(|org| org == o))
        .collect();
    let (from, to) = crate::period::month_window(month);
    let mut orgs = Vec::new();
    let (mut starts, mut ends, mut zones) = (Vec::new(), Vec::new(), Vec::new());
    for (o, candidates) in periods_overlapping(db, &own, from, to)? {
        for p in crate::period::in_month(candidates, month) {
            orgs.push(o.clone());
            starts.push(p.start);
            ends.push(p.end);
            zones.push(p.time_zone);
        }
    }
    let rows = db
        .query_typed(
            r#"WITH blocks AS (
                   SELECT w.org_id, e.event_type, sum(e.events) AS events, sum(e.quantity) AS quantity,
                          w.s, w.e, w.zone
                   FROM unnest($5::text[], $6::timestamptz[], $7::timestamptz[], $8::text[]) AS w(org_id, s, e, zone)
                   CROSS JOIN LATERAL usagectl_usage(w.org_id, NULL, w.s, w.e) e
                   GROUP BY w.org_id, e.event_type, w.s, w.e, w.zone
                   UNION ALL
                   SELECT u.org_id, u.event_type, sum(u.events), sum(u.quantity), $1, $2, 'UTC'
                   FROM usagectl_usage($3, NULL, $1, $2) u
                   WHERE u.org_id <> ALL ($9::text[])
                   GROUP BY u.org_id, u.event_type)
           SELECT $10::text, b.org_id, coalesce(t.tier, $4), b.event_type,
                  b.events::bigint, b.quantity::bigint, b.s, b.e, b.zone
           FROM blocks b
           LEFT JOIN usagectl_org_tiers t ON t.org_id = b.org_id
           ORDER BY b.org_id COLLATE "C", b.s, b.event_type COLLATE "C""#,
            &[
                (&month.start, Type::TIMESTAMPTZ),
                (&month.end, Type::TIMESTAMPTZ),
                (&org, Type::TEXT),
                (&crate::quota::DEFAULT_TIER, Type::TEXT),
                (&orgs, Type::TEXT_ARRAY),
                (&starts, Type::TIMESTAMPTZ_ARRAY),
                (&ends, Type::TIMESTAMPTZ_ARRAY),
                (&zones, Type::TEXT_ARRAY),
                (&own, Type::TEXT_ARRAY),
                (&month.label(), Type::TEXT),
            ],
        )
        .context("aggregating usage per billing period for the export")?;
    Ok(rows.iter().map(export_row).collect())
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

/// An instant as a SQL literal, `'2026-12-01T00:00:00Z'::timestamptz`: made from a typed
/// value by [`crate::time::fmt_utc`], whose text holds only digits, `-`, `+`, `:`, `.`, `T`
/// and `Z`, which is checked, so no input can reach the SQL through it.
fn timestamptz_literal(t: &DateTime<Utc>) -> Result<String> {
    let text = crate::time::fmt_utc(t);
    anyhow::ensure!(
        text.bytes()
            .all(|b| b.is_ascii_digit() || b"-+:.TZ".contains(&b)),
        "{text} is not an instant usagectl can put in a COPY"
    );
    Ok(format!("'{text}'::timestamptz"))
}

/// Stream every event of `[start, end)` (one org or all), ordered by created_at then id,
/// with `COPY ... TO STDOUT`. COPY takes no parameters. The window's bounds are typed
/// instants written as literals ([`timestamptz_literal`]), so the planner sees them as
/// psql's query does: it estimates the window's rows and chooses a sequential scan or the
/// created_at index as it would for psql (bounds read from settings were re-parsed for
/// every row of a sequential scan, or, read once, left the planner guessing a window of
/// 0.5% of the table). The org is text from the user: it travels as a transaction-local
/// setting, read once (an InitPlan), so input stays data, never SQL; the org condition is
/// left out when every org is exported.
pub fn copy_raw_events<'a>(
    tx: &'a mut postgres::Transaction<'_>,
    start: &DateTime<Utc>,
    end: &DateTime<Utc>,
    org: Option<&str>,
    format: RawFormat,
) -> Result<crate::db::sql::CopyOut<'a>> {
    let org_filter = match org {
        Some(org) => {
            tx.exec(
                "SELECT set_config('usagectl.export_org', $1, true)",
                &[&org],
            )
            .context("setting the export's org")?;
            "AND org_id = (SELECT current_setting('usagectl.export_org'))"
        }
        None => "",
    };
    let from = format!(
        "FROM usage_events
        WHERE created_at >= {} AND created_at < {}
          {org_filter}
        ORDER BY created_at, id",
        timestamptz_literal(start)?,
        timestamptz_literal(end)?,
    );
    let from = from.as_str();
    const TS: &str = r#"to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"#;
    let sql = match format {
        RawFormat::Csv => format!(
            "COPY (SELECT id, org_id, event_type, quantity, {TS} AS created_at, metadata::text AS metadata {from})
             TO STDOUT WITH (FORMAT csv, HEADER true)"
        ),
        RawFormat::JsonLines => format!(
            "COPY (SELECT json_build_object('id', id, 'org_id', org_id, 'event_type', event_type,
                                            'quantity', quantity, 'created_at', {TS}, 'metadata', metadata) {from})
             TO STDOUT"
        ),
    };
    crate::db::sql::copy_out(tx, &sql, "events")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_instant_becomes_a_literal_of_safe_characters_only() {
        let t: DateTime<Utc> = "2026-12-01T00:00:00.000123Z".parse().unwrap();
        assert_eq!(
            timestamptz_literal(&t).unwrap(),
            "'2026-12-01T00:00:00.000123Z'::timestamptz"
        );
        let far = DateTime::<Utc>::MAX_UTC;
        let lit = timestamptz_literal(&far).unwrap();
        assert!(!lit[1..lit.len() - 14].contains('\''), "{lit}");
    }
}
