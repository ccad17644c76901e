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

use crate::app::every_org;
use crate::app::quotas::read_all_quotas;
use crate::db::queries;
use crate::output::{Cell, Output, Render, Style};
use crate::period::Month;
use crate::period::PeriodChoice;
use crate::quota::{self, Metric, UNLIMITED};

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

/// What an org is ranked by: a count of the metric's units, or exact USD.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Figure {
    /// Units of the metric.
    Count(i64),
    /// Exact USD.
    Usd(Decimal),
}

impl Serialize for Figure {
    /// A JSON number either way; USD with every digit (never through a float).
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Figure::Count(n) => s.serialize_i64(*n),
            Figure::Usd(d) => serde_json::value::RawValue::from_string(d.normalize().to_string())
                .map_err(serde::ser::Error::custom)?
                .serialize(s),
        }
    }
}

impl Figure {
    /// `self - other` (of the same kind).
    fn minus(self, other: Figure) -> Figure {
        match (self, other) {
            (Figure::Count(a), Figure::Count(b)) => Figure::Count(a - b),
            (Figure::Usd(a), Figure::Usd(b)) => Figure::Usd(a - b),
            (a, _) => a,
        }
    }

    /// The CSV cell: a number, never formula-guarded (a negative change stays `-5`).
    fn cell(self) -> Cell {
        match self {
            Figure::Count(n) => Cell::Num(n),
            Figure::Usd(d) => Cell::Decimal(d.normalize().to_string()),
        }
    }

    /// For people: a count as is, USD to the cent (`$12.35`, as `costs` shows it).
    fn human(self) -> String {
        match self {
            Figure::Count(n) => n.to_string(),
            Figure::Usd(d) => crate::prices::cents(&d.to_string()),
        }
    }
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
    pub current: Figure,
    /// Its limit (null: unlimited; cost: none).
    pub limit: Option<i64>,
    /// Percent of the limit, one decimal.
    pub percent_of_limit: Option<f64>,
    /// Units over the limit (0 when within).
    pub over_limit: Option<i64>,
    /// The same figure in the previous period (month for cost).
    pub previous: Figure,
    /// current - previous.
    pub change: Figure,
    /// Cost: the tokens of the month no price covers (not in `current`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unpriced_tokens: Option<i64>,
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

impl Top {
    fn by_cost(&self) -> bool {
        self.by == "cost"
    }
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
            "unpriced_tokens",
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
                    r.current.cell(),
                    r.limit.map_or(Cell::Empty, Cell::Num),
                    r.percent_of_limit
                        .map_or(Cell::Empty, |p| Cell::Decimal(format!("{p:.1}"))),
                    r.over_limit.map_or(Cell::Empty, Cell::Num),
                    r.previous.cell(),
                    r.change.cell(),
                    Cell::Time(r.period_start),
                    Cell::Time(r.period_end),
                    r.unpriced_tokens.map_or(Cell::Empty, Cell::Num),
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
        let title = style.bold(&format!("top {} by {}{scope}", self.orgs.len(), self.by));
        // cost has no limit; the tokens no price covers are said, not shown as $0
        let cost = self.by_cost();
        let mut header = vec!["#", "org", "tier", self.by.as_str()];
        if !cost {
            header.extend(["limit", "% of limit", "over"]);
        }
        header.extend(["previous", "change"]);
        if cost {
            header.push("unpriced tokens");
        }
        let mut t = style.table(&header);
        for r in &self.orgs {
            let mut cells = vec![
                r.rank.to_string(),
                r.org_id.clone(),
                r.tier.clone(),
                r.current.human(),
            ];
            if !cost {
                cells.extend([
                    r.limit
                        .map_or_else(|| "unlimited".to_string(), |l| l.to_string()),
                    r.percent_of_limit
                        .map(|p| format!("{p:.1}%"))
                        .unwrap_or_default(),
                    r.over_limit.map(|o| o.to_string()).unwrap_or_default(),
                ]);
            }
            cells.extend([r.previous.human(), r.change.human()]);
            if cost {
                cells.push(r.unpriced_tokens.unwrap_or(0).to_string());
            }
            t.add_row(cells);
        }
        let unpriced: i64 = self.orgs.iter().filter_map(|r| r.unpriced_tokens).sum();
        let note = if unpriced > 0 {
            format!(
                "{} no price covers are not in the costs (usagectl price list; usagectl costs lists them)\n",
                crate::output::count(unpriced, "token", "tokens")
            )
        } else {
            String::new()
        };
        format!("{title}\n{t}\n{note}")
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
        // priced as `costs` prices them: per org, the exact USD and the tokens no price covers
        let cost_of = |m: &Month,
                       tx: &mut postgres::Transaction<'_>|
         -> Result<BTreeMap<String, (Decimal, i64)>> {
            let report = crate::app::costs::report(m, queries::costs(tx, None, m.start, m.end)?)?;
            Ok(report
                .orgs
                .into_iter()
                .map(|o| {
                    let usd = Decimal::from_str(&o.cost_usd).unwrap_or_default();
                    (o.org_id, (usd, o.unpriced_tokens))
                })
                .collect())
        };
        let cur = cost_of(&month, &mut tx)?;
        let before = cost_of(&prev, &mut tx)?;
        let config = queries::load_limit_config(&mut tx, None)?;
        for (org, (c, unpriced)) in cur {
            let tier = config.effective(&org).tier;
            if args.tier.as_ref().is_some_and(|t| *t != tier) {
                continue;
            }
            let (current, previous) = (
                Figure::Usd(c),
                Figure::Usd(before.get(&org).map(|b| b.0).unwrap_or_default()),
            );
            rows.push(TopRow {
                rank: 0,
                org_id: org,
                tier,
                current,
                limit: None,
                percent_of_limit: None,
                over_limit: None,
                previous,
                change: current.minus(previous),
                unpriced_tokens: Some(unpriced),
                period_start: month.start,
                period_end: month.end,
            });
        }
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
            let previous = Figure::Count(before.get(&q.org_id).copied().unwrap_or(0));
            rows.push(TopRow {
                rank: 0,
                org_id: q.org_id.clone(),
                tier,
                current: Figure::Count(current),
                limit: (limit != UNLIMITED).then_some(limit),
                percent_of_limit: quota::percent(current, limit)
                    .filter(|p| p.is_finite())
                    .map(|p| (p * 10.0).round() / 10.0),
                over_limit: (limit != UNLIMITED).then_some((current - limit).max(0)),
                previous,
                change: Figure::Count(current).minus(previous),
                unpriced_tokens: None,
                period_start: q.period.start,
                period_end: q.period.end,
            });
        }
    }
    rows.sort_by(|a, b| b.current.cmp(&a.current).then(a.org_id.cmp(&b.org_id)));
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
