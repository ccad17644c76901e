//! `usagectl status`: the seed's `/quota-status`, for one org or for every org, with an
//! exit code a cron job can act on.
use anyhow::Result;
use clap::Args;
use postgres::Client;
use serde::Serialize;

use crate::app::every_org;
use crate::app::quotas::{OrgQuota, read_all_quotas, read_org_quota};
use crate::app::views::{state_color, tier_title};
use crate::db::queries;
use crate::output::{Cell, Output, Render, Style};
use crate::period::PeriodChoice;
use crate::period::{Month, Period};
use crate::quota::{self, Metric, State, TierSource};

/// Examples and exit codes for `--help`.
pub const AFTER_LONG_HELP: &str = concat!(
    "\
Status is over_limit when some metric is not within its limit, approaching_limit when
some metric is at or above --warn-at percent of its limit (and none is over), else ok.
Each org is checked in its own billing period (a calendar month in UTC unless `usagectl
org set` gave it an anchor day and a time zone), with its grants for that period.
--all checks every org with events in the calendar month, a tier assignment or billing
settings, worst first; it reads every org's rows, so under the seed's RLS policy it needs
a role that bypasses RLS (or owns the table): a role that row-level security confines
exits 1, one scoped to one org (app.current_org_id) sees that org alone, said on stderr.

Examples:
  usagectl status --org acme                 # exit 0 ok, 3 approaching, 4 over
  usagectl status --org acme -o json
  usagectl status --all --problems-only      # for a cron job's alert

",
    crate::exit_codes!()
);

/// Arguments of `usagectl status`.
#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["org", "all"])))]
pub struct StatusArgs {
    /// Organisation id
    #[arg(long, value_name = "ORG")]
    pub org: Option<String>,

    /// Every org with events in the month or a tier assignment
    #[arg(long)]
    pub all: bool,

    /// With --all: hide the orgs whose status is ok
    #[arg(long, conflicts_with = "org")]
    pub problems_only: bool,

    /// The billing period that starts in this month, in its zone (the longest when a
    /// change of settings starts two; default: the current period)
    #[arg(long, value_name = "YYYY-MM", value_parser = Month::parse)]
    pub month: Option<Month>,

    /// The billing period that contains this instant (RFC 3339)
    #[arg(long, value_name = "RFC3339", value_parser = crate::period::parse_instant,
          conflicts_with = "month")]
    pub at: Option<chrono::DateTime<chrono::Utc>>,

    /// Percentage of a limit at which the status becomes approaching_limit
    #[arg(long, value_name = "PCT", default_value_t = quota::DEFAULT_WARN_AT,
          value_parser = clap::value_parser!(u8).range(1..=100))]
    pub warn_at: u8,
}

/// One org's status, without its window: what `status --org` and each `status --all` row
/// say about the org.
#[derive(Debug, Serialize)]
pub struct Verdict {
    /// Organisation.
    pub org_id: String,
    /// Tier used.
    pub tier: String,
    /// ok, approaching_limit or over_limit.
    pub status: State,
    /// Names the metrics that caused the status.
    pub message: String,
    /// "assigned", or "default" when the org has no assignment.
    pub tier_source: TierSource,
    /// The metric closest to (or furthest past) its limit.
    pub worst_metric: Option<Metric>,
    /// Its current use.
    pub worst_current: Option<i64>,
    /// Its limit.
    pub worst_limit: Option<i64>,
}

/// One org's status in `status --all`: the verdict and the org's own window.
#[derive(Debug, Serialize)]
pub struct StatusRow {
    /// What is said about the org.
    #[serde(flatten)]
    pub verdict: Verdict,
    /// The org's period: first instant counted.
    #[serde(serialize_with = "crate::time::ser")]
    pub period_start: chrono::DateTime<chrono::Utc>,
    /// First instant not counted.
    #[serde(serialize_with = "crate::time::ser")]
    pub period_end: chrono::DateTime<chrono::Utc>,
    /// The zone of its bounds.
    pub time_zone: String,
}

impl Verdict {
    fn new(q: &OrgQuota, warn_at: u8) -> Verdict {
        let (status, message, worst) = quota::evaluate(&q.uses(), warn_at);
        Verdict {
            org_id: q.org_id.clone(),
            tier: q.effective.tier.clone(),
            status,
            message,
            tier_source: q.effective.tier_source(),
            worst_metric: worst.map(|w| w.metric),
            worst_current: worst.map(|w| w.current),
            worst_limit: worst.map(|w| w.limit),
        }
    }

    fn worst_pct(&self) -> f64 {
        match (self.worst_current, self.worst_limit) {
            (Some(c), Some(l)) => quota::percent(c, l).unwrap_or(-1.0),
            _ => -1.0,
        }
    }

    fn worst_text(&self) -> String {
        match (self.worst_metric, self.worst_current, self.worst_limit) {
            (Some(m), Some(c), Some(l)) if l != quota::UNLIMITED => format!("{} {c}/{l}", m.name()),
            (Some(m), Some(c), _) => format!("{} {c}/unlimited", m.name()),
            _ => String::new(),
        }
    }

    /// The CSV row: the verdict, then the window it was decided in.
    fn cells(
        &self,
        start: chrono::DateTime<chrono::Utc>,
        end: chrono::DateTime<chrono::Utc>,
        time_zone: &str,
    ) -> Vec<Cell> {
        vec![
            Cell::text(&self.org_id),
            Cell::text(&self.tier),
            Cell::text(self.tier_source.name()),
            Cell::text(self.status.name()),
            self.worst_metric
                .map_or(Cell::Empty, |m| Cell::text(m.name())),
            self.worst_current.map_or(Cell::Empty, Cell::Num),
            self.worst_limit.map_or(Cell::Empty, Cell::Num),
            Cell::text(&self.message),
            Cell::Time(start),
            Cell::Time(end),
            Cell::text(time_zone),
        ]
    }
}

impl StatusRow {
    fn new(q: &OrgQuota, warn_at: u8) -> StatusRow {
        StatusRow {
            verdict: Verdict::new(q, warn_at),
            period_start: q.period.start,
            period_end: q.period.end,
            time_zone: q.period.time_zone.clone(),
        }
    }

    fn cells(&self) -> Vec<Cell> {
        self.verdict
            .cells(self.period_start, self.period_end, &self.time_zone)
    }
}

const CSV_HEADER: [&str; 11] = [
    "org_id",
    "tier",
    "tier_source",
    "status",
    "worst_metric",
    "worst_current",
    "worst_limit",
    "message",
    "period_start",
    "period_end",
    "time_zone",
];

/// `status --org`: the seed's body plus the window (each key once: the window's bounds
/// and zone come from `period`).
#[derive(Debug, Serialize)]
pub struct OrgStatus {
    /// The seed's fields and the worst metric.
    #[serde(flatten)]
    pub row: Verdict,
    /// The period counted.
    #[serde(flatten)]
    pub period: Period,
    /// The threshold used.
    pub warn_at: u8,
    /// False when usagectl has never seen the org (`queries::org_is_known`).
    pub known_org: bool,
}

impl Render for OrgStatus {
    fn csv_header(&self) -> Vec<&'static str> {
        CSV_HEADER.to_vec()
    }
    fn csv_rows(&self) -> Vec<Vec<Cell>> {
        let p = &self.period;
        vec![self.row.cells(p.period_start, p.period_end, &p.time_zone)]
    }
    fn human(&self, style: &Style) -> String {
        let mut t = style.table(&["status", "worst metric", "message"]);
        t.add_row(vec![
            style.cell(self.row.status.name(), state_color(self.row.status)),
            style.cell(self.row.worst_text(), None),
            style.cell(&self.row.message, None),
        ]);
        format!(
            "{}\nperiod {}, warning at {}%\n{t}\n",
            style.bold(&tier_title(
                &self.row.org_id,
                &self.row.tier,
                self.row.tier_source
            )),
            self.period.describe(),
            self.warn_at
        )
    }
}

/// `status --all`.
#[derive(Debug, Serialize)]
pub struct AllStatus {
    /// The period of the orgs without settings of their own (a calendar month in UTC);
    /// each row names its org's own period.
    #[serde(flatten)]
    pub period: Period,
    /// The threshold used.
    pub warn_at: u8,
    /// One row per org, worst first.
    pub orgs: Vec<StatusRow>,
}

impl Render for AllStatus {
    fn csv_header(&self) -> Vec<&'static str> {
        CSV_HEADER.to_vec()
    }
    fn csv_rows(&self) -> Vec<Vec<Cell>> {
        self.orgs.iter().map(StatusRow::cells).collect()
    }
    fn human(&self, style: &Style) -> String {
        let head = format!(
            "quota status for {}, warning at {}%",
            self.period.describe(),
            self.warn_at
        );
        if self.orgs.is_empty() {
            return format!("{}\nno orgs to show\n", style.bold(&head));
        }
        let mut t = style.table(&["org", "tier", "status", "worst metric"]);
        for r in self.orgs.iter().map(|r| &r.verdict) {
            let tier = if r.tier_source == TierSource::Default {
                format!("{} (default)", r.tier)
            } else {
                r.tier.clone()
            };
            t.add_row(vec![
                style.cell(&r.org_id, None),
                style.cell(tier, None),
                style.cell(r.status.name(), state_color(r.status)),
                style.cell(r.worst_text(), None),
            ]);
        }
        format!("{}\n{t}\n", style.bold(&head))
    }
}

/// Run `usagectl status`; returns the exit code for the worst state shown.
pub fn run(client: &mut Client, args: &StatusArgs, out: &mut Output) -> Result<u8> {
    let choice = PeriodChoice::from_args(args.month, args.at);
    if let Some(org) = &args.org {
        let q = read_org_quota(client, org, choice)?;
        for note in &q.notices {
            crate::printer::notice(note);
        }
        let report = OrgStatus {
            row: Verdict::new(&q, args.warn_at),
            period: Period::of(&q.period, q.now),
            warn_at: args.warn_at,
            known_org: q.known_org,
        };
        out.render(&report)?;
        return Ok(report.row.status.exit_code());
    }
    let mut tx = queries::read_snapshot(client)?;
    let only = every_org::check(&mut tx, Some("usagectl status --org ORG"))?;
    let all = read_all_quotas(&mut tx, choice, only.as_deref())?;
    tx.commit()?;
    if let Some(note) = all.calendar.future_note(all.now) {
        crate::printer::notice(&note);
    }
    let mut rows: Vec<StatusRow> = all
        .quotas
        .iter()
        .map(|q| StatusRow::new(q, args.warn_at))
        .filter(|row| !args.problems_only || row.verdict.status != State::Ok)
        .collect();
    rows.sort_by(|a, b| {
        let (a, b) = (&a.verdict, &b.verdict);
        b.status
            .cmp(&a.status)
            .then(
                b.worst_pct()
                    .partial_cmp(&a.worst_pct())
                    .unwrap_or(std::cmp::Ordering::Equal),
            )
            .then(a.org_id.cmp(&b.org_id))
    });
    let code = rows
        .iter()
        .map(|r| r.verdict.status.exit_code())
        .max()
        .unwrap_or(0);
    out.render(&AllStatus {
        period: Period::of(&all.calendar, all.now),
        warn_at: args.warn_at,
        orgs: rows,
    })?;
    Ok(code)
}
