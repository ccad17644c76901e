//! `usagectl limits`: the seed's `GET /api/v1/usage/limits` for one org and one month.

use anyhow::Result;
use chrono::{DateTime, Utc};
use clap::Args;
use postgres::Client;

use crate::app::limits::LimitsReport;
use crate::app::quotas::read_org_quota;
use crate::output::Output;
use crate::period::Month;
use crate::period::PeriodChoice;

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
    #[arg(long, value_name = "RFC3339", value_parser = crate::period::parse_instant,
          conflicts_with = "month")]
    pub at: Option<DateTime<Utc>>,
}

/// Run `usagectl limits`.
pub fn run(client: &mut Client, args: &LimitsArgs, out: &mut Output) -> Result<()> {
    let q = read_org_quota(
        client,
        &args.org,
        PeriodChoice::from_args(args.month, args.at),
    )?;
    for note in &q.notices {
        crate::printer::notice(note);
    }
    out.render(&LimitsReport::new(&q))
}
