//! `usagectl top`: the orgs that use the most of a metric in their billing period (or cost
//! the most in AI tokens), with their limits and the change against the period before.
use std::collections::BTreeMap;
use std::str::FromStr;

use anyhow::Result;
use chrono::{DateTime, Utc};
use clap::Args;
use postgres::Client;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::billing::PeriodChoice;
use crate::cmd::every_org;
use crate::cmd::status::read_all_quotas;
use crate::db::queries;
use crate::output::{Cell, Output, Render, Style};
use crate::quota::{self, Metric, Month, UNLIMITED};

/// Examples and exit codes for `--help`.
pub const AFTER_LONG_HELP: &str = concat!(
    "\
Orgs ranked by their use of a metric in their own billing period (the current one, or the
one starting in --month), with tier, limit (grants included), percent of the limit, units
over it (for chargeback) and the change against each org's previous period; or, with --by
cost, ranked by what their AI tokens cost in the UTC calendar month (as `usagectl costs`
prices them) against the month before. Read through the rollup, as status --all is.

Examples:
  usagectl top                                   # ai_tokens, current periods, top 10
  usagectl top --metric chat_messages --tier trial --limit 20
  usagectl top --by cost --month 2026-11 -o csv

",
    crate::exit_codes!()
);

/// What to rank by.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    /// AI cost in the calendar month
    Cost,
}

/// Arguments of `usagectl top`.
#[derive(Args, Debug)]
pub struct TopArgs {
    /// The metric to rank by
    #[arg(long, value_enum, default_value = "ai_tokens", conflicts_with = "by")]
    pub metric: Metric,
    /// Rank by AI cost instead
    #[arg(long, value_enum)]
    pub by: Option<By>,
    /// The period starting in this month (cost: the calendar month)
    #[arg(long, value_name = "YYYY-MM", value_parser = Month::parse)]
    pub month: Option<Month>,
    /// Only orgs on this tier
    #[arg(long, value_name = "TIER")]
    pub tier: Option<String>,
    /// How many
    #[arg(long, value_name = "N", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub limit: u32,
}

/// One ranked org.
#[derive(Debug, Clone, Serialize)]
pub struct TopRow {
    /// 1 for the most.
    pub rank: usize,
    /// Organisation.
    pub org_id: String,
    /// Its tier.
    pub tier: String,
    /// What it is ranked by: use of the metric, or exact USD.
    pub current: String,
    /// Its limit (null: unlimited; cost: none).
    pub limit: Option<i64>,
    /// Percent of the limit, one decimal.
    pub percent_of_limit: Option<f64>,
    /// Units over the limit (0 when within).
    pub over_limit: Option<i64>,
    /// The same figure in the previous period (month for cost).
    pub previous: String,
    /// current - previous.
    pub change: String,
    /// The period counted.
    #[serde(serialize_with = "crate::time::ser")]
    pub period_start: DateTime<Utc>,
    /// Its end.
    #[serde(serialize_with = "crate::time::ser")]
    pub period_end: DateTime<Utc>,
}

/// `usagectl top`.
#[derive(Debug, Serialize)]
pub struct Top {
    /// The metric, or `cost`.
    pub by: String,
    /// Only this tier, if given.
    pub tier: Option<String>,
    /// Ranked.
    pub orgs: Vec<TopRow>,
}

impl Render for Top {
    fn csv_header(&self) -> Vec<&'static str> {
        vec![
            "rank",
            "org_id",
            "tier",
            "by",
            "current",
            "limit",
            "percent_of_limit",
            "over_limit",
            "previous",
            "change",
            "period_start",
            "period_end",
        ]
    }
    fn csv_rows(&self) -> Vec<Vec<Cell>> {
        self.orgs
            .iter()
            .map(|r| {
                vec![
                    Cell::Num(r.rank as i64),
                    Cell::text(&r.org_id),
                    Cell::text(&r.tier),
                    Cell::text(&self.by),
                    Cell::text(&r.current),
                    r.limit.map_or(Cell::Empty, Cell::Num),
                    r.percent_of_limit
                        .map_or(Cell::Empty, |p| Cell::text(format!("{p:.1}"))),
                    r.over_limit.map_or(Cell::Empty, Cell::Num),
                    Cell::text(&r.previous),
                    Cell::text(&r.change),
                    Cell::Time(r.period_start),
                    Cell::Time(r.period_end),
                ]
            })
            .collect()
    }
    fn human(&self, style: &Style) -> String {
        let scope = self
            .tier
            .as_ref()
            .map(|t| format!(" on tier {t}"))
            .unwrap_or_default();
        if self.orgs.is_empty() {
            return format!("no orgs{scope} with {}\n", self.by);
        }
        let mut t = style.table(&[
            "#",
            "org",
            "tier",
            &self.by,
            "limit",
            "% of limit",
            "over",
            "previous",
            "change",
        ]);
        for r in &self.orgs {
            t.add_row(vec![
                style.cell(r.rank, None),
                style.cell(&r.org_id, None),
                style.cell(&r.tier, None),
                style.cell(&r.current, None),
                style.cell(
                    match (self.by.as_str(), r.limit) {
                        ("cost", _) => String::new(),
                        (_, Some(l)) => l.to_string(),
                        (_, None) => "unlimited".to_string(),
                    },
                    None,
                ),
                style.cell(
                    r.percent_of_limit
                        .map(|p| format!("{p:.1}%"))
                        .unwrap_or_default(),
                    None,
                ),
                style.cell(
                    r.over_limit.map(|o| o.to_string()).unwrap_or_default(),
                    None,
                ),
                style.cell(&r.previous, None),
                style.cell(&r.change, None),
            ]);
        }
        format!(
            "{}\n{t}\n",
            style.bold(&format!("top {} by {}{scope}", self.orgs.len(), self.by))
        )
    }
}

/// Run `usagectl top`.
pub fn run(client: &mut Client, args: &TopArgs, out: &mut Output) -> Result<()> {
    let mut tx = queries::read_snapshot(client)?;
    let only = every_org::check(&mut tx, None)?;
    let mut rows: Vec<TopRow> = Vec::new();
    let by;
    if args.by == Some(By::Cost) {
        by = "cost".to_string();
        let now = queries::server_now(&mut tx)?;
        let month = args.month.unwrap_or_else(|| Month::containing(now));
        let prev = month.previous();
        let cost_of = |rows: Vec<queries::CostRow>| -> BTreeMap<String, Decimal> {
            let mut m: BTreeMap<String, Decimal> = BTreeMap::new();
            for r in rows {
                let c = r
                    .cost
                    .as_deref()
                    .and_then(|c| Decimal::from_str(c).ok())
                    .unwrap_or_default();
                *m.entry(r.org_id).or_default() += c;
            }
            m
        };
        let cur = cost_of(queries::costs(&mut tx, None, month.start, month.end)?);
        let before = cost_of(queries::costs(&mut tx, None, prev.start, prev.end)?);
        let config = queries::load_limit_config(&mut tx, None)?;
        for (org, c) in cur {
            let tier = config.effective(&org).tier;
            if args.tier.as_ref().is_some_and(|t| *t != tier) {
                continue;
            }
            let p = before.get(&org).copied().unwrap_or_default();
            rows.push(TopRow {
                rank: 0,
                org_id: org,
                tier,
                current: c.normalize().to_string(),
                limit: None,
                percent_of_limit: None,
                over_limit: None,
                previous: p.normalize().to_string(),
                change: (c - p).normalize().to_string(),
                period_start: month.start,
                period_end: month.end,
            });
        }
        rows.sort_by(|a, b| {
            let (x, y) = (
                Decimal::from_str(&a.current).unwrap_or_default(),
                Decimal::from_str(&b.current).unwrap_or_default(),
            );
            y.cmp(&x).then(a.org_id.cmp(&b.org_id))
        });
    } else {
        let metric = args.metric;
        by = metric.name().to_string();
        let choice = match args.month {
            Some(m) => PeriodChoice::Month(m),
            None => PeriodChoice::Current,
        };
        let all = read_all_quotas(&mut tx, choice, only.as_deref())?;
        // each org's previous period: the one containing the instant before its start; the
        // orgs that share that instant are read together
        let mut before: BTreeMap<String, i64> = BTreeMap::new();
        let mut instants: BTreeMap<DateTime<Utc>, Vec<String>> = BTreeMap::new();
        for q in &all.quotas {
            instants
                .entry(q.period.start - chrono::Duration::microseconds(1))
                .or_default()
                .push(q.org_id.clone());
        }
        for (at, orgs) in instants {
            let prev = read_all_quotas(&mut tx, PeriodChoice::At(at), only.as_deref())?;
            for q in prev.quotas.iter().filter(|q| orgs.contains(&q.org_id)) {
                before.insert(q.org_id.clone(), q.usage.current(metric));
            }
        }
        for q in &all.quotas {
            let tier = q.effective.tier.clone();
            if args.tier.as_ref().is_some_and(|t| *t != tier) {
                continue;
            }
            let current = q.usage.current(metric);
            if current == 0 {
                continue;
            }
            let limit = q.effective.limits[&metric].0;
            let p = before.get(&q.org_id).copied().unwrap_or(0);
            rows.push(TopRow {
                rank: 0,
                org_id: q.org_id.clone(),
                tier,
                current: current.to_string(),
                limit: (limit != UNLIMITED).then_some(limit),
                percent_of_limit: quota::percent(current, limit)
                    .filter(|p| p.is_finite())
                    .map(|p| (p * 10.0).round() / 10.0),
                over_limit: (limit != UNLIMITED).then_some((current - limit).max(0)),
                previous: p.to_string(),
                change: (current - p).to_string(),
                period_start: q.period.start,
                period_end: q.period.end,
            });
        }
        rows.sort_by(|a, b| {
            let (x, y): (i64, i64) = (
                a.current.parse().unwrap_or(0),
                b.current.parse().unwrap_or(0),
            );
            y.cmp(&x).then(a.org_id.cmp(&b.org_id))
        });
    }
    tx.commit()?;
    rows.truncate(args.limit as usize);
    for (i, r) in rows.iter_mut().enumerate() {
        r.rank = i + 1;
    }
    out.render(&Top {
        by,
        tier: args.tier.clone(),
        orgs: rows,
    })
}
