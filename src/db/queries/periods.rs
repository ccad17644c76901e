//! Billing periods, org settings and grants (migration 14). The period and grant rules are
//! the SQL functions `usagectl_period()` and `usagectl_granted()`; these queries only call
//! them and read or append the tables.
use std::collections::BTreeMap;

use chrono::NaiveDateTime;

use super::*;
use crate::period::{BillingPeriod, Grant, MonthPick, PeriodChoice, Settings};

/// The columns of a period, from a `usagectl_period()` row aliased `p`.
const PERIOD_COLUMNS: &str = "p.period_start, p.period_end,
    p.period_start AT TIME ZONE p.time_zone, p.period_end AT TIME ZONE p.time_zone,
    p.anchor_day, p.time_zone";

fn period_at(r: &postgres::Row, at: usize) -> BillingPeriod {
    BillingPeriod {
        start: r.get(at),
        end: r.get(at + 1),
        local_start: r.get::<_, NaiveDateTime>(at + 2),
        local_end: r.get::<_, NaiveDateTime>(at + 3),
        anchor_day: r.get::<_, i32>(at + 4) as u8,
        time_zone: r.get(at + 5),
    }
}

/// The period of `org` that `choice` names.
pub fn period(
    db: &mut impl GenericClient,
    org: &str,
    choice: PeriodChoice,
) -> Result<BillingPeriod> {
    one(org, periods(db, &[org.to_string()], choice)?)
}

/// The period of `org` that `--month` shows, and the month's others.
pub fn month_period(db: &mut impl GenericClient, org: &str, month: &Month) -> Result<MonthPick> {
    one(org, month_periods(db, &[org.to_string()], month)?)
}

fn one<T>(org: &str, mut per_org: BTreeMap<String, T>) -> Result<T> {
    per_org
        .remove(org)
        .with_context(|| format!("computing org {org}'s billing period: none found"))
}

/// The period `choice` names for each of `orgs`, in one round trip.
pub fn periods(
    db: &mut impl GenericClient,
    orgs: &[String],
    choice: PeriodChoice,
) -> Result<BTreeMap<String, BillingPeriod>> {
    let at = match choice {
        PeriodChoice::Current => None,
        PeriodChoice::At(t) => Some(t),
        PeriodChoice::Month(m) => {
            return Ok(month_periods(db, orgs, &m)?
                .into_iter()
                .map(|(o, pick)| (o, pick.shown))
                .collect());
        }
    };
    let rows = db
        .rows(
            &format!(
                "SELECT o, {PERIOD_COLUMNS} FROM unnest($1::text[]) o
                 CROSS JOIN LATERAL usagectl_period(o, coalesce($2, now())) p"
            ),
            &[&orgs, &at],
        )
        .context("computing the orgs' billing periods")?;
    Ok(rows.iter().map(|r| (r.get(0), period_at(r, 1))).collect())
}

/// Every period of each of `orgs` that overlaps `[from, to]`, in order.
pub fn periods_overlapping(
    db: &mut impl GenericClient,
    orgs: &[String],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<BTreeMap<String, Vec<BillingPeriod>>> {
    let rows = db
        .rows(
            &format!(
                "SELECT o, {PERIOD_COLUMNS} FROM unnest($1::text[]) o
                 CROSS JOIN LATERAL usagectl_periods(o, $2, $3) w
                 CROSS JOIN LATERAL usagectl_period(o, w.period_start) p
                 ORDER BY o, p.period_start"
            ),
            &[&orgs, &from, &to],
        )
        .context("listing the orgs' billing periods")?;
    let mut out: BTreeMap<String, Vec<BillingPeriod>> = BTreeMap::new();
    for r in &rows {
        out.entry(r.get(0)).or_default().push(period_at(r, 1));
    }
    Ok(out)
}

/// For each of `orgs`, the period `--month` shows and the month's others
/// ([`MonthPick`], by the rule [`crate::period::in_month`]).
pub fn month_periods(
    db: &mut impl GenericClient,
    orgs: &[String],
    month: &Month,
) -> Result<BTreeMap<String, MonthPick>> {
    let (from, to) = crate::period::month_window(month);
    Ok(periods_overlapping(db, orgs, from, to)?
        .into_iter()
        .filter_map(|(o, candidates)| MonthPick::choose(candidates, month).map(|p| (o, p)))
        .collect())
}

/// Orgs with settings of their own (any row of history).
pub fn orgs_with_settings(db: &mut impl GenericClient) -> Result<Vec<String>> {
    Ok(db
        .rows(
            "SELECT DISTINCT org_id FROM usagectl_org_settings ORDER BY 1",
            &[],
        )
        .context("listing orgs with billing settings")?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

/// Orgs with any grant (revoked or not).
pub fn orgs_with_grants(db: &mut impl GenericClient) -> Result<Vec<String>> {
    Ok(db
        .rows("SELECT DISTINCT org_id FROM usagectl_grants", &[])
        .context("listing orgs with grants")?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

/// An org's settings history, oldest first.
pub fn settings_history(db: &mut impl GenericClient, org: &str) -> Result<Vec<Settings>> {
    Ok(db
        .rows(
            "SELECT CASE WHEN effective_from = '-infinity' THEN NULL ELSE effective_from END,
                    anchor_day::integer, time_zone, set_at, set_by, set_by_os
             FROM usagectl_org_settings WHERE org_id = $1 ORDER BY effective_from",
            &[&org],
        )
        .with_context(|| format!("reading org {org}'s billing settings"))?
        .iter()
        .map(|r| Settings {
            effective_from: r.get(0),
            anchor_day: r.get::<_, i32>(1) as u8,
            time_zone: r.get(2),
            set_at: r.get(3),
            set_by: r.get(4),
            set_by_os: r.get(5),
        })
        .collect())
}

/// Whether `org` has any event (through the org_id index).
pub fn org_has_events(db: &mut impl GenericClient, org: &str) -> Result<bool> {
    Ok(db
        .row(
            "SELECT EXISTS (SELECT 1 FROM usage_events WHERE org_id = $1)",
            &[&org],
        )
        .with_context(|| format!("checking whether org {org} has events"))?
        .get(0))
}

/// The zone name as PostgreSQL's time zone database spells it (`None` when it has no such
/// zone). Lookup is case-insensitive, like PostgreSQL's; the `posix/` and `right/` copies
/// are not offered.
pub fn time_zone_names(db: &mut impl GenericClient) -> Result<Vec<String>> {
    Ok(db
        .rows(
            "SELECT name FROM pg_timezone_names
             WHERE name NOT LIKE 'posix/%' AND name NOT LIKE 'right/%' ORDER BY name",
            &[],
        )
        .context("reading PostgreSQL's time zone names")?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

/// Replace the settings of `org` from `from` on (`None`: for all its periods, the whole
/// history replaced): every row in force from `from` or later is deleted first, so a
/// pending change is replaced by the new one.
pub fn set_settings(
    db: &mut impl GenericClient,
    org: &str,
    from: Option<DateTime<Utc>>,
    anchor_day: u8,
    time_zone: &str,
    os_user: Option<&str>,
) -> Result<()> {
    let anchor = i32::from(anchor_day);
    db.exec(
        "DELETE FROM usagectl_org_settings
         WHERE org_id = $1 AND effective_from >= coalesce($2, '-infinity')",
        &[&org, &from],
    )
    .with_context(|| format!("replacing org {org}'s pending billing settings"))?;
    db.exec(
        "INSERT INTO usagectl_org_settings (org_id, effective_from, anchor_day, time_zone, set_by_os)
         VALUES ($1, coalesce($2, '-infinity'), $3::integer, $4, $5)",
        &[&org, &from, &anchor, &time_zone, &os_user],
    )
    .with_context(|| format!("storing org {org}'s billing settings"))?;
    Ok(())
}

/// Delete the settings of `org` that come into force after `from` (a pending change
/// withdrawn).
pub fn drop_settings_from(
    db: &mut impl GenericClient,
    org: &str,
    from: DateTime<Utc>,
) -> Result<u64> {
    db.exec(
        "DELETE FROM usagectl_org_settings WHERE org_id = $1 AND effective_from > $2",
        &[&org, &from],
    )
    .with_context(|| format!("withdrawing org {org}'s pending billing settings"))
}

/// What the grants not revoked add to each metric's limit in `period` of `org`.
pub fn granted(
    db: &mut impl GenericClient,
    org: &str,
    period: &BillingPeriod,
) -> Result<BTreeMap<Metric, i64>> {
    Ok(db
        .rows(
            "SELECT metric, granted FROM usagectl_granted($1, $2, $3)",
            &[&org, &period.start, &period.end],
        )
        .with_context(|| format!("reading org {org}'s grants"))?
        .iter()
        .filter_map(|r| Metric::from_name(r.get(0)).map(|m| (m, r.get(1))))
        .collect())
}

const GRANT_COLUMNS: &str =
    "g.id, g.org_id, g.metric, g.amount, g.period_start, g.period_end, g.reason,
    g.granted_at, g.granted_by, g.granted_by_os, r.revoked_at, r.revoked_by, r.reason";

fn grant_row(r: &postgres::Row) -> Grant {
    Grant {
        id: r.get(0),
        org_id: r.get(1),
        metric: r.get(2),
        amount: r.get(3),
        period_start: r.get(4),
        period_end: r.get(5),
        reason: r.get(6),
        granted_at: r.get(7),
        granted_by: r.get(8),
        granted_by_os: r.get(9),
        revoked_at: r.get(10),
        revoked_by: r.get(11),
        revoke_reason: r.get(12),
    }
}

/// Append a grant.
pub fn add_grant(
    db: &mut impl GenericClient,
    org: &str,
    metric: Metric,
    amount: i64,
    period: &BillingPeriod,
    reason: &str,
    os_user: Option<&str>,
) -> Result<Grant> {
    let row = db
        .row(
            &format!(
                "WITH g AS (INSERT INTO usagectl_grants
                              (org_id, metric, amount, period_start, period_end, reason, granted_by_os)
                            VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *)
                 SELECT {GRANT_COLUMNS} FROM g
                 LEFT JOIN usagectl_grant_revocations r ON false"
            ),
            &[
                &org,
                &metric.name(),
                &amount,
                &period.start,
                &period.end,
                &reason,
                &os_user,
            ],
        )
        .with_context(|| format!("storing a grant for org {org}"))?;
    Ok(grant_row(&row))
}

/// Grants of `org` (every org when `None`), newest first; only those that apply to
/// `period` when given.
pub fn list_grants(
    db: &mut impl GenericClient,
    org: Option<&str>,
    period: Option<&BillingPeriod>,
) -> Result<Vec<Grant>> {
    let (start, end) = period.map(|p| (p.start, p.end)).unzip();
    Ok(db
        .rows(
            &format!(
                "SELECT {GRANT_COLUMNS} FROM usagectl_grants g
                 LEFT JOIN usagectl_grant_revocations r ON r.grant_id = g.id
                 WHERE ($1::text IS NULL OR g.org_id = $1)
                   AND ($2::timestamptz IS NULL OR (g.period_start >= $2 AND g.period_start < $3))
                 ORDER BY g.id DESC"
            ),
            &[&org, &start, &end],
        )
        .context("listing grants")?
        .iter()
        .map(grant_row)
        .collect())
}

/// One grant by id, locked against a concurrent revoke.
pub fn grant_for_revoke(db: &mut impl GenericClient, id: i64) -> Result<Option<Grant>> {
    let row = db
        .opt_row(
            &format!(
                "SELECT {GRANT_COLUMNS} FROM usagectl_grants g
                 LEFT JOIN usagectl_grant_revocations r ON r.grant_id = g.id
                 WHERE g.id = $1 FOR UPDATE OF g"
            ),
            &[&id],
        )
        .with_context(|| format!("reading grant {id}"))?;
    Ok(row.as_ref().map(grant_row))
}

/// Record the revocation of grant `id`.
pub fn revoke_grant(
    db: &mut impl GenericClient,
    id: i64,
    reason: &str,
    os_user: Option<&str>,
) -> Result<()> {
    db.exec(
        "INSERT INTO usagectl_grant_revocations (grant_id, reason, revoked_by_os) VALUES ($1, $2, $3)",
        &[&id, &reason, &os_user],
    )
    .with_context(|| format!("revoking grant {id}"))?;
    Ok(())
}
