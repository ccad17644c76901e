//! The limits body (the seed's `GET /api/v1/usage/limits`) of one org's quota: what
//! `limits` prints and `demo --month` shows.
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::app::quotas::OrgQuota;
use crate::app::views::{state_color, tier_title};
use crate::output::{Cell, Render, Style};
use crate::period::{Month, Period};
use crate::quota::{self, LimitSource, Metric, MetricUse, TierSource};

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
        let label = if self.period.time_zone == crate::period::DEFAULT_TIME_ZONE && whole_month {
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
