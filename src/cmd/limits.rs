//! `usagectl limits`: the seed's `GET /api/v1/usage/limits` for one org and one month.
use std::collections::BTreeMap;

use anyhow::Result;
use chrono::{DateTime, Utc};
use clap::Args;
use comfy_table::Color;
use postgres::{Client, GenericClient};
use serde::Serialize;

use crate::billing::{BillingPeriod, PeriodChoice};
use crate::db::queries;
use crate::output::{self, Cell, Output, Render, Style};
use crate::quota::{
    self, Effective, LimitSource, Metric, MetricUse, Month, Period, State, TierSource, Usage,
};

/// Examples and exit codes for `--help`.
pub const AFTER_LONG_HELP: &str = concat!(
    "\
Every metric is summed over the org's billing period, [period_start, period_end): a
calendar month in UTC unless `usagectl org set` gave the org an anchor day and a time zone
(then from local midnight on the anchor day to the next one). mapping_profiles counts all
time up to the period's end. Grants for the period (`usagectl grant add`) raise a limit
(limit_source \"grant\", granted). An org without a tier assignment falls back to the
default tier, trial, and the output says so. within_limit is true when the limit is -1
(unlimited) or current < limit.

Examples:
  usagectl limits --org globex-trial
  usagectl limits --org globex-trial --month 2026-11 -o json   # the period starting in 2026-11
  usagectl limits --org globex-trial --at 2026-11-20T12:00:00Z # the period containing an instant

",
    crate::exit_codes!()
);

/// Arguments of `usagectl limits`.
#[derive(Args, Debug)]
pub struct LimitsArgs {
    /// Organisation id
    #[arg(long, value_name = "ORG")]
    pub org: String,

    /// The billing period that starts in this month, in its zone (the longest when a
    /// change of settings starts two; default: the current period)
    #[arg(long, value_name = "YYYY-MM", value_parser = Month::parse)]
    pub month: Option<Month>,

    /// The billing period that contains this instant (RFC 3339)
    #[arg(long, value_name = "RFC3339", value_parser = crate::billing::parse_instant,
          conflicts_with = "month")]
    pub at: Option<DateTime<Utc>>,
}

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

/// The note for an org usagectl has never seen ([`queries::org_is_known`]: a typo, most
/// likely), naming similar org ids this role can see; `None` for a known org. Every per-org
/// read asks this (limits, status --org, tier show, org show, summary, events, export
/// --org, costs --org) and prints the note with [`output::notice`]; the reports' JSON has
/// `known_org`. It runs in a transaction of its own (a savepoint inside the caller's)
/// scoped to `org`, so the seed's RLS policy lets a read-only role see the org's own rows.
///
/// Under RLS, the suggestions come from usagectl's own tables only (tiers, overrides,
/// settings, grants, alert rules, Stripe mappings, as far as the role may read them): the
/// policy hides every other org's events and rollup rows, and usagectl does not go round
/// it to list ids a role confined to one org may not read.
pub fn unknown_org(db: &mut impl GenericClient, org: &str) -> Result<Option<String>> {
    match unknown_org_checked(db, org) {
        // a role that may read the events but not the tier tables: no check, no noise
        Err(e)
            if crate::db::waits::sqlstate(&e)
                == Some(postgres::error::SqlState::INSUFFICIENT_PRIVILEGE) =>
        {
            Ok(None)
        }
        other => other,
    }
}

fn unknown_org_checked(db: &mut impl GenericClient, org: &str) -> Result<Option<String>> {
    let mut tx = crate::db::begin(db)?;
    queries::scope_to_org(&mut tx, org)?;
    if queries::org_is_known(&mut tx, org)? {
        tx.commit()?;
        return Ok(None);
    }
    let ids = queries::known_org_ids(&mut tx)?;
    tx.commit()?;
    let similar = crate::events::similar(org, ids.iter().map(String::as_str), 3);
    Ok(Some(quota::unknown_org_note(org, &similar)))
}

/// Say on stderr that `period` has not begun at `now`, if so.
pub fn note_future_period(period: &BillingPeriod, now: DateTime<Utc>) {
    if let Some(note) = period.future_note(now) {
        output::notice(&note);
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
        }
    }
}

/// Read one org's quota figures in one read-only snapshot; says on stderr when the org is
/// unknown ([`unknown_org`]) or the period has not begun.
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
    for note in unknown.iter().chain(&others_note) {
        output::notice(note);
    }
    note_future_period(&q.period, now);
    q.known_org = unknown.is_none();
    Ok(q)
}

/// `breakdown` of ai_tokens.
#[derive(Debug, Serialize)]
pub struct Breakdown {
    /// ai_tokens_input.
    pub input_tokens: i64,
    /// ai_tokens_output.
    pub output_tokens: i64,
}

/// One metric in the limits body.
#[derive(Debug, Serialize)]
pub struct MetricReport {
    /// Used in the period.
    pub current: i64,
    /// Limit (-1 unlimited).
    pub limit: i64,
    /// limit == -1 or current < limit.
    pub within_limit: bool,
    /// The seed's unit.
    pub unit: &'static str,
    /// Input/output split (ai_tokens only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub breakdown: Option<Breakdown>,
    /// Where the limit comes from ("grant" when this period's grants raise it).
    pub limit_source: LimitSource,
    /// What this period's grants add to the limit (included in `limit`; 0 when none, or
    /// when the metric is unlimited).
    pub granted: i64,
    /// A projection: when the limit is reached at this month's rate so far (null if not
    /// within the month).
    #[serde(serialize_with = "crate::time::ser_opt")]
    pub projected_limit_reached_at: Option<DateTime<Utc>>,
}

/// The seed's limits body plus the exact window.
#[derive(Debug, Serialize)]
pub struct LimitsReport {
    /// Organisation.
    pub org_id: String,
    /// Tier used.
    pub tier: String,
    /// "assigned", or "default" when the org has no assignment.
    pub tier_source: TierSource,
    /// Per metric.
    pub limits: BTreeMap<&'static str, MetricReport>,
    /// The month counted.
    #[serde(flatten)]
    pub period: Period,
    /// False when usagectl has never seen the org (`queries::org_is_known`).
    pub known_org: bool,
}

impl LimitsReport {
    /// Shape the figures.
    pub fn new(q: &OrgQuota) -> LimitsReport {
        let limits = Metric::ALL
            .into_iter()
            .map(|m| {
                let current = q.usage.current(m);
                let (limit, source) = q.effective.limits[&m];
                let breakdown = (m == Metric::AiTokens).then(|| Breakdown {
                    input_tokens: q.usage.month.get("ai_tokens_input").copied().unwrap_or(0),
                    output_tokens: q.usage.month.get("ai_tokens_output").copied().unwrap_or(0),
                });
                let projected = if m.monthly() {
                    quota::projected_exhaustion(current, limit, q.period.window(), q.now)
                } else {
                    None
                };
                (
                    m.name(),
                    MetricReport {
                        current,
                        limit,
                        within_limit: quota::within_limit(current, limit),
                        unit: m.unit(),
                        breakdown,
                        limit_source: source,
                        granted: q.effective.granted_to(m),
                        projected_limit_reached_at: projected,
                    },
                )
            })
            .collect();
        LimitsReport {
            org_id: q.org_id.clone(),
            tier: q.effective.tier.clone(),
            tier_source: q.effective.tier_source(),
            limits,
            period: Period::of(&q.period, q.now),
            known_org: q.known_org,
        }
    }
}

/// Colour for a state.
pub fn state_color(s: State) -> Option<Color> {
    match s {
        State::Ok => Some(Color::Green),
        State::ApproachingLimit => Some(Color::Yellow),
        State::OverLimit => Some(Color::Red),
    }
}

/// A 20-cell usage bar.
fn bar(current: i64, limit: i64) -> String {
    match quota::percent(current, limit) {
        None => "unlimited".to_string(),
        Some(p) => {
            let filled = ((p / 5.0).round() as usize).min(20);
            format!("{}{}", "█".repeat(filled), "░".repeat(20 - filled))
        }
    }
}

/// Title line naming the tier and whether it is a fallback.
pub fn tier_title(org: &str, tier: &str, source: TierSource) -> String {
    if source == TierSource::Default {
        format!("org {org}: tier {tier} (default tier: no tier assigned)")
    } else {
        format!("org {org}: tier {tier}")
    }
}

impl Render for LimitsReport {
    fn csv_header(&self) -> Vec<&'static str> {
        vec![
            "org_id",
            "tier",
            "tier_source",
            "period_start",
            "period_end",
            "metric",
            "current",
            "limit",
            "within_limit",
            "unit",
            "limit_source",
            "granted",
            "time_zone",
        ]
    }

    fn csv_rows(&self) -> Vec<Vec<Cell>> {
        self.limits
            .iter()
            .map(|(name, m)| {
                vec![
                    Cell::text(&self.org_id),
                    Cell::text(&self.tier),
                    Cell::text(self.tier_source.name()),
                    Cell::Time(self.period.period_start),
                    Cell::Time(self.period.period_end),
                    Cell::text(*name),
                    Cell::Num(m.current),
                    Cell::Num(m.limit),
                    Cell::text(m.within_limit.to_string()),
                    Cell::text(m.unit),
                    Cell::text(m.limit_source.name()),
                    Cell::Num(m.granted),
                    Cell::text(&self.period.time_zone),
                ]
            })
            .collect()
    }

    fn human(&self, style: &Style) -> String {
        let mut t = style.table(&[
            "metric",
            "used",
            "limit",
            "usage",
            "%",
            "runs out (projection)",
        ]);
        for m in Metric::ALL {
            let r = &self.limits[m.name()];
            let state = MetricUse {
                metric: m,
                current: r.current,
                limit: r.limit,
            }
            .state(quota::DEFAULT_WARN_AT);
            let mut used = r.current.to_string();
            if let Some(b) = &r.breakdown {
                used = format!("{used} (in {} / out {})", b.input_tokens, b.output_tokens);
            }
            let limit = quota::limit_text(r.limit, r.granted);
            let pct =
                quota::percent(r.current, r.limit).map_or("-".to_string(), |p| format!("{p:.0}%"));
            let runs_out = if !m.monthly() {
                "n/a (all time)".to_string()
            } else if !r.within_limit {
                "reached".to_string()
            } else {
                match r.projected_limit_reached_at {
                    Some(t) => format!("~{}", t.format("%Y-%m-%d")),
                    None if r.limit == quota::UNLIMITED || r.current == 0 => "-".to_string(),
                    None => "not this period".to_string(),
                }
            };
            let name = if m.monthly() {
                m.name().to_string()
            } else {
                format!("{} (all time)", m.name())
            };
            t.add_row(vec![
                style.cell(name, None),
                style.cell(used, None),
                style.cell(limit, None),
                style.cell(bar(r.current, r.limit), state_color(state)),
                style.cell(pct, state_color(state)),
                style.cell(runs_out, None),
            ]);
        }
        // a whole calendar month in UTC is named by its month (not a short period after a
        // change of settings, which its bounds name)
        let whole_month = Month::containing(self.period.period_start)
            == (Month {
                start: self.period.period_start,
                end: self.period.period_end,
            });
        let label = if self.period.time_zone == crate::billing::DEFAULT_TIME_ZONE && whole_month {
            format!("{} ", self.period.period_start.format("%Y-%m"))
        } else {
            String::new()
        };
        format!(
            "{}\nperiod {label}{}\n{t}\n",
            style.bold(&tier_title(&self.org_id, &self.tier, self.tier_source)),
            self.period.describe(),
        )
    }
}

/// Run `usagectl limits`.
pub fn run(client: &mut Client, args: &LimitsArgs, out: &mut Output) -> Result<()> {
    let q = read_org_quota(
        client,
        &args.org,
        PeriodChoice::from_args(args.month, args.at),
    )?;
    out.render(&LimitsReport::new(&q))
}
