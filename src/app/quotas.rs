//! The quota read model: one org's or every org's limits and usage in its billing
//! period, read in one snapshot; what limits, status, top, alert, org and tier show.
use std::collections::{BTreeMap, BTreeSet};

use anyhow::Result;
use chrono::{DateTime, Utc};
use postgres::Client;

use crate::app::every_org;
use crate::app::orgs::unknown_org;
use crate::db::queries;
use crate::period::{BillingPeriod, Month, PeriodChoice};
use crate::quota::{self, Effective, Metric, MetricUse, Usage};

/// One org's limits and usage for one month, read in one snapshot.
#[derive(Debug, Clone)]
pub struct OrgQuota {
    /// Organisation.
    pub org_id: String,
    /// Its effective limits.
    pub effective: Effective,
    /// Its usage.
    pub usage: Usage,
    /// The billing period counted.
    pub period: BillingPeriod,
    /// The server's time when read.
    pub now: DateTime<Utc>,
    /// False when usagectl has never seen the org (`queries::org_is_known`).
    pub known_org: bool,
    /// What the reader should be told beside the figures (an unknown org, a period that
    /// has not begun, other periods in the month asked for), for the command to print.
    pub notices: Vec<String>,
}

impl OrgQuota {
    /// Current use and limit of every metric.
    pub fn uses(&self) -> Vec<MetricUse> {
        Metric::ALL
            .into_iter()
            .map(|metric| MetricUse {
                metric,
                current: self.usage.current(metric),
                limit: self.effective.limits[&metric].0,
            })
            .collect()
    }
}

impl OrgQuota {
    /// One org's limits (`granted`, the period's grants, included) and its `usage` in
    /// `period`: what `limits` and `status` (one org and --all) show.
    pub fn new(
        config: &quota::LimitConfig,
        org: &str,
        period: BillingPeriod,
        usage: Usage,
        granted: BTreeMap<Metric, i64>,
        now: DateTime<Utc>,
    ) -> OrgQuota {
        OrgQuota {
            org_id: org.to_string(),
            effective: config.effective(org).with_grants(granted),
            usage,
            period,
            now,
            known_org: true,
            notices: Vec::new(),
        }
    }
}

/// Read one org's quota figures in one read-only snapshot; its `notices` say when the org
/// is unknown ([`unknown_org`]) or the period has not begun.
pub fn read_org_quota(client: &mut Client, org: &str, choice: PeriodChoice) -> Result<OrgQuota> {
    let mut tx = queries::read_snapshot(client)?;
    let now = queries::scope_to_org_now(&mut tx, org)?;
    let (period, others_note) = match choice {
        PeriodChoice::Month(month) => {
            let pick = queries::month_period(&mut tx, org, &month)?;
            let note = pick.note(org);
            (pick.shown, note)
        }
        _ => (queries::period(&mut tx, org, choice)?, None),
    };
    let config = queries::load_limit_config(&mut tx, Some(org))?;
    let granted = queries::granted(&mut tx, org, &period)?;
    let usage = queries::usage_by_org(&mut tx, Some(org), period.window())?
        .remove(org)
        .unwrap_or_default();
    let mut q = OrgQuota::new(&config, org, period, usage, granted, now);
    let unknown = unknown_org(&mut tx, org)?;
    tx.commit()?;
    q.notices = unknown.iter().chain(&others_note).cloned().collect();
    q.notices.extend(q.period.future_note(now));
    q.known_org = unknown.is_none();
    Ok(q)
}

/// Every org's quota, each in its own billing period: what `status --all` shows and `alert
/// run` decides on.
#[derive(Debug)]
pub struct AllQuotas {
    /// The server's time when read.
    pub now: chrono::DateTime<chrono::Utc>,
    /// The period of the orgs without settings of their own (a calendar month in UTC).
    pub calendar: BillingPeriod,
    /// Every org with events in the calendar month, a tier assignment or billing settings,
    /// in org id order.
    pub quotas: Vec<OrgQuota>,
}

/// Read every org's quota in the period `choice` names, in the transaction given (its
/// isolation decides whether all figures come from one snapshot); only `only`'s when the
/// role sees that org alone ([`every_org::check`]).
pub fn read_all_quotas(
    tx: &mut postgres::Transaction<'_>,
    choice: PeriodChoice,
    only: Option<&str>,
) -> Result<AllQuotas> {
    let now = queries::server_now(tx)?;
    // the calendar month every org without settings of its own is read in, all at once
    let month = match choice {
        PeriodChoice::Current => Month::containing(now),
        PeriodChoice::Month(m) => m,
        PeriodChoice::At(t) => Month::containing(t),
    };
    let config = queries::load_limit_config(tx, None)?;
    // one read of the month for every org: its usage, and which orgs had events
    let (mut usage, mut orgs) = queries::usage_and_orgs_of_month(tx, &month)?;
    orgs.extend(config.assignments.keys().cloned());
    // orgs with settings of their own: each in its own period (the usage read above, over
    // the calendar month, is not theirs)
    let own: Vec<String> = queries::orgs_with_settings(tx)?;
    orgs.extend(own.iter().cloned());
    // the orgs a one-org role cannot see would show as unused
    orgs.retain(|o| every_org::shows(only, o));
    let own_periods = queries::periods(tx, &own, choice)?;
    let calendar = BillingPeriod::calendar(&month);
    // grants are read only for the orgs that have any (one round trip each)
    let with_grants: BTreeSet<String> = queries::orgs_with_grants(tx)?.into_iter().collect();
    // the orgs with their own periods, each over its window, in one statement
    let windows: Vec<(String, _, _)> = own_periods
        .iter()
        .map(|(o, p)| (o.clone(), p.start, p.end))
        .collect();
    let mut own_usage = queries::usage_by_org_windows(tx, &windows)?;
    let mut quotas = Vec::with_capacity(orgs.len());
    for org in orgs {
        let (period, use_of) = match own_periods.get(&org) {
            Some(p) => (p.clone(), own_usage.remove(&org).unwrap_or_default()),
            None => (calendar.clone(), usage.remove(&org).unwrap_or_default()),
        };
        let granted = if with_grants.contains(&org) {
            queries::granted(tx, &org, &period)?
        } else {
            Default::default()
        };
        quotas.push(OrgQuota::new(&config, &org, period, use_of, granted, now));
    }
    Ok(AllQuotas {
        now,
        calendar,
        quotas,
    })
}
